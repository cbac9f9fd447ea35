#!/usr/bin/env bash
# Regenerates the speech fixtures from text with flite, sox and ffmpeg.
# The output is deterministic for a given flite/sox/ffmpeg build: run it again
# and the committed files do not change.
#
#   testdata/floor.wav            conference floor, flite voice rms, 16 kHz mono
#   testdata/voice-a.wav          interpreter A, flite voice slt, 48 kHz mono
#   testdata/voice-b.wav          interpreter B, flite voice awb, 48 kHz mono
#   testdata/*.txt                exact transcript of each clip, one sentence a line
#   internal/ingest/demo/floor.ogg the floor clip as Ogg Opus at 32 kb/s for `tolk serve --demo`
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
for tool in flite sox ffmpeg; do
	command -v "$tool" >/dev/null || { echo "make-speech: $tool not found (apt-get install -y flite sox ffmpeg)" >&2; exit 1; }
done

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# clip NAME VOICE RATE GAP SENTENCE...
# Speaks each sentence with VOICE, joins them with GAP seconds of silence, adds
# half a second of lead-in and tail, peak-normalises to -3 dBFS and writes
# testdata/NAME.wav at RATE Hz mono 16-bit and testdata/NAME.txt.
clip() {
	local name="$1" voice="$2" rate="$3" gap="$4"
	shift 4
	local parts=() i=0 s
	: >"$here/$name.txt"
	for s in "$@"; do
		flite -voice "$voice" -t "$s" -o "$work/$name-$i.wav"
		# Trim flite's own leading and trailing silence so GAP is the real pause.
		sox -D "$work/$name-$i.wav" "$work/$name-$i-t.wav" \
			silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 "$gap"
		parts+=("$work/$name-$i-t.wav")
		printf '%s\n' "$s" >>"$here/$name.txt"
		i=$((i + 1))
	done
	# -D: no dither, so the output is the same on every run.
	sox -D "${parts[@]}" -r "$rate" -b 16 -c 1 "$here/$name.wav" \
		pad 0.5 trim 0 "-$gap" pad 0 0.5 norm -3 rate -v "$rate"
}

clip floor rms 16000 0.9 \
	"Good morning, and welcome to the annual meeting of the city network." \
	"Today we will talk about public transport, clean energy and housing." \
	"Our first speaker is the mayor, who will present the results of the pilot project." \
	"Please keep your questions until the end of each session." \
	"The coffee break will start at eleven o'clock in the main hall." \
	"Thank you, and enjoy the conference."

clip voice-a slt 48000 1.2 \
	"Thank you very much for the invitation." \
	"The project started three years ago." \
	"We now have more buses and fewer cars in the city centre." \
	"I am happy to answer your questions."

clip voice-b awb 48000 1.2 \
	"Good afternoon to everyone in the room." \
	"Let me show you the numbers for last year." \
	"Energy use fell by twenty percent." \
	"The next step is to build new homes."

# Ogg Opus for the demo event. bitexact keeps the Ogg serial number and the
# tags fixed so the file is reproducible.
mkdir -p "$root/internal/ingest/demo"
ffmpeg -nostdin -hide_banner -loglevel error -y -i "$here/floor.wav" \
	-ac 1 -ar 48000 -c:a libopus -b:a 32k -application audio \
	-fflags +bitexact -flags:a +bitexact -map_metadata -1 \
	"$root/internal/ingest/demo/floor.ogg"

for f in "$here"/floor.wav "$here"/voice-a.wav "$here"/voice-b.wav "$root"/internal/ingest/demo/floor.ogg; do
	printf '%-40s %8s bytes  %s s\n' "${f#"$root"/}" "$(stat -c %s "$f")" \
		"$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$f")"
done
