#!/usr/bin/env bash
# Builds the rooms speech set for the recognizer's word error rate benchmark
# (captions/sphinx TestRoomsWER) from testdata/rooms/sentences.txt: flite and
# espeak-ng voices and the recorded human speech of Debian's
# pocketsphinx-testdata, each through sox room, noise and telephone effects.
# Nothing is committed: the set goes to $1 (default
# ${XDG_CACHE_HOME:-~/.cache}/tolk/rooms) and is rebuilt only when missing.
#
#   OUT/{tune,report,fresh}/CONDITION/VOICE.wav  16 kHz mono: the voice's
#                                          sentences, 1 s apart, one continuous
#                                          recording
#   OUT/{tune,report,fresh}/CONDITION/VOICE.txt  what is said, one sentence a line
#
# Sentences 1-30 are the tuning half, 31-60 the report half; the voices of the
# two halves differ too, so nothing reported was tuned on, by sentence or by
# voice. Each of a half's five voices reads every tenth sentence of it (3;
# voice K the sentences K+1, K+11 and K+21 of its half), which keeps a run of
# the benchmark to a few minutes of CPU; the tuning half's two flite voices
# read 15 each (alternate sentences), for a tuning signal above one voice's
# luck. The report half was looked at when
# the front end was judged; sentences 61-90 are a fresh held-out set for what
# is tuned after that: read by Festival's ked and kal diphone voices (15
# each, alternate sentences), with the ALSA speaker-test phrases ("front
# left", ...: a person's recorded voice) as its human speech. Conditions:
#   clean   as synthesized, at the voice's level
#   reverb  sox reverb: a mid-sized reverberant room, wet and dry
#   snr20   pink noise, continuous through the pauses, 20 dB below the speech
#   snr10   the same at 10 dB
#   phone   300-3400 Hz, 8 kHz mu-law and back, as a telephone line
# Voice levels differ (peak -3, -15 or -27 dBFS) as floors do.
# The output is deterministic for a given flite/espeak-ng/sox build.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="${1:-${XDG_CACHE_HOME:-$HOME/.cache}/tolk/rooms}"
human=/usr/share/pocketsphinx/test/data
alsa=/usr/share/sounds/alsa
for tool in flite espeak-ng sox text2wave; do
	command -v "$tool" >/dev/null || { echo "make-rooms: $tool not found (apt-get install -y flite espeak-ng sox festival festvox-kdlpc16k festvox-kallpc16k)" >&2; exit 1; }
done
[ -d "$human/librivox" ] || { echo "make-rooms: $human missing (apt-get install -y pocketsphinx-testdata)" >&2; exit 1; }
[ -f "$alsa/Front_Left.wav" ] || { echo "make-rooms: $alsa missing (apt-get install -y alsa-utils)" >&2; exit 1; }
for v in ked kal; do
	[ -d "/usr/share/festival/voices/english/${v}_diphone" ] || { echo "make-rooms: Festival voice $v missing (apt-get install -y festvox-kdlpc16k festvox-kallpc16k)" >&2; exit 1; }
done
if [ -f "$out/.complete" ] && [ -d "$out/fresh/clean" ]; then
	echo "$out"
	exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mapfile -t sentences <"$root/testdata/rooms/sentences.txt"

# speak ENGINE VOICE TEXT OUT: one sentence, 16 kHz mono, own silence trimmed.
speak() {
	local engine="$1" voice="$2" text="$3" dst="$4"
	case "$engine" in
	flite) flite -voice "$voice" -t "$text" -o "$work/raw.wav" ;;
	espeak) espeak-ng -v "$voice" -s 150 -w "$work/raw.wav" "$text" ;;
	festival) printf '%s\n' "$text" | text2wave -eval "(voice_${voice}_diphone)" -o "$work/raw.wav" ;;
	esac
	sox -D "$work/raw.wav" -r 16000 -c 1 -b 16 "$dst" gain -3 \
		silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse rate -v 16000
}

# effects SPLIT VOICE LEVEL CLEAN TEXT: the five conditions of one voice from
# its clean recording (speech joined with 1 s pauses, half a second each end).
effects() {
	local split="$1" voice="$2" level="$3" clean="$4" text="$5" c
	for c in clean reverb snr20 snr10 phone; do mkdir -p "$out/$split/$c"; done
	sox -D "$clean" "$work/lev.wav" gain -n "$level"
	local dur rms
	dur="$(soxi -D "$work/lev.wav")"
	# Speech RMS over the speech only (pauses excluded), for the SNR.
	sox -D "$work/lev.wav" "$work/speech.wav" silence 1 0.02 0.5% -1 0.1 0.5%
	rms="$(sox "$work/speech.wav" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')"
	cp "$work/lev.wav" "$out/$split/clean/$voice.wav"
	sox -D "$work/lev.wav" "$out/$split/reverb/$voice.wav" reverb 60 50 80 100 10 0
	sox -D -n -r 16000 -c 1 -b 16 "$work/pink.wav" synth "$dur" pinknoise
	local nrms snr v
	nrms="$(sox "$work/pink.wav" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}')"
	for snr in 20 10; do
		v="$(awk -v s="$rms" -v n="$nrms" -v d="$snr" 'BEGIN {printf "%.6f", s / n / 10^(d/20)}')"
		sox -D -m "$work/lev.wav" -v "$v" "$work/pink.wav" "$out/$split/snr$snr/$voice.wav"
	done
	sox -D "$work/lev.wav" -r 8000 -e mu-law "$work/phone.wav" sinc 300-3400 rate -v 8000
	sox -D "$work/phone.wav" -r 16000 -e signed-integer -b 16 "$out/$split/phone/$voice.wav" rate -v 16000
	for c in clean reverb snr20 snr10 phone; do cp "$text" "$out/$split/$c/$voice.txt"; done
}

# synth SPLIT ENGINE VOICE LEVEL FIRST K [M]: the voice reads sentences
# FIRST..FIRST+29 whose index is K modulo M (default 10).
synth() {
	local split="$1" engine="$2" voice="$3" level="$4" first="$5" k="$6" m="${7:-10}" i n=0
	local parts=() name="$engine-${voice//+/-}"
	: >"$work/text"
	for ((i = first; i < first + 30; i++)); do
		((i % m == k)) || continue
		speak "$engine" "$voice" "${sentences[i]}" "$work/s$n.wav"
		sox -D "$work/s$n.wav" "$work/p$n.wav" pad 0 1
		parts+=("$work/p$n.wav")
		printf '%s\n' "${sentences[i]}" >>"$work/text"
		n=$((n + 1))
	done
	sox -D "${parts[@]}" "$work/joined.wav" pad 0.5 0
	effects "$split" "$name" "$level" "$work/joined.wav" "$work/text"
}

# Tuning half: sentences 1-30.
synth tune flite rms -3 0 0 2
synth tune flite slt -15 0 1 2
synth tune espeak en-us -27 0 2
synth tune espeak en-gb-x-rp+f2 -3 0 3
synth tune espeak fr -15 0 4
# Report half: sentences 31-60, other voices.
synth report flite awb -3 30 0
synth report flite kal16 -15 30 1
synth report espeak en-gb-scotland -27 30 2
synth report espeak en-029+f3 -3 30 3
synth report espeak de -15 30 4

# Fresh held-out half: sentences 61-90.
synth fresh festival ked -3 60 0 2
synth fresh festival kal -15 60 1 2

# Recorded human speech (report only): LibriVox "Sense and Sensibility"
# (one reader) and the "cards" clips, with their transcripts.
human_set() {
	local name="$1" dir="$2" level="$3" parts=() id text
	: >"$work/text"
	while read -r line; do
		id="$(sed -E 's/.*\(([^)]*)\) *$/\1/' <<<"$line")"
		text="$(sed -E 's/<s>//; s/<\/s>.*//; s/^ +//; s/ +$//' <<<"$line")"
		sox -D "$dir/$id.wav" "$work/h$id.wav" pad 0 1
		parts+=("$work/h$id.wav")
		printf '%s\n' "$text" >>"$work/text"
	done <"$4"
	sox -D "${parts[@]}" "$work/joined.wav" pad 0.5 0
	effects report "$name" "$level" "$work/joined.wav" "$work/text"
}
human_set human-librivox "$human/librivox" -6 "$human/librivox/transcription"
human_set human-cards "$human/cards" -20 "$human/cards/cards.transcription"

# The ALSA speaker-test phrases (fresh half): two words each, the file name.
parts=()
: >"$work/text"
for f in Front_Left Front_Center Front_Right Side_Left Side_Right Rear_Left Rear_Center Rear_Right; do
	sox -D "$alsa/$f.wav" -r 16000 -c 1 -b 16 "$work/a$f.wav" pad 0 1 rate -v 16000
	parts+=("$work/a$f.wav")
	tr '_' ' ' <<<"$f" | tr 'A-Z' 'a-z' >>"$work/text"
done
sox -D "${parts[@]}" "$work/joined.wav" pad 0.5 0
effects fresh human-alsa -12 "$work/joined.wav" "$work/text"

touch "$out/.complete"
echo "$out"
