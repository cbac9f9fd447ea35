// Package fmp4 writes and reads the fragmented MP4 that tolk stores and
// serves: Opus audio tracks (the sample entry with its dOps box is built by
// hand, mp4ff has no helper for it), 3GPP timed-text (tx3g) caption tracks,
// single-track fragments for HLS and multi-track fragments for recordings.
// Writing uses github.com/Eyevinn/mp4ff; reading a recording back (the
// recovery scan and its index) uses the small parser in parse.go, which
// checks every length against its buffer and never panics on bad input.
package fmp4

import (
	"fmt"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
	"golang.org/x/text/language"

	"tolk/internal/audio"
)

const (
	// OpusPreSkip is the encoder lookahead the decoder drops at the start
	// (libopus at 48 kHz; hraban/opus cannot report it).
	OpusPreSkip = 312
	// Timescale is the timescale of every track tolk writes: program time
	// in 48 kHz samples, the captions' included.
	Timescale = audio.SampleRate
)

// SilenceFrame is a 20 ms mono CELT packet that decodes to silence; it fills
// gaps in a track's timeline. Callers must not modify it.
var SilenceFrame = []byte{0xf8, 0xff, 0xfe}

// OpusSampleEntry returns the sample entry of a mono 48 kHz Opus track
// (an "Opus" entry holding its dOps box).
func OpusSampleEntry() *mp4.AudioSampleEntryBox {
	dops := &mp4.DopsBox{
		Version:              0,
		OutputChannelCount:   1,
		PreSkip:              OpusPreSkip,
		InputSampleRate:      audio.SampleRate,
		OutputGain:           0,
		ChannelMappingFamily: 0,
	}
	return mp4.CreateAudioSampleEntryBox("Opus", 1, 16, audio.SampleRate, dops)
}

// OpusInit builds the initialization section of a single mono 48 kHz Opus
// track (track 1), as an HLS rendition uses it.
func OpusInit(lang string) ([]byte, error) {
	init := mp4.CreateEmptyInit()
	init.Ftyp = mp4.NewFtyp("iso6", 0, []string{"iso6", "cmfc", "mp41"})
	init.Children[0] = init.Ftyp
	trak := init.AddEmptyTrack(Timescale, "audio", ISO639(lang))
	trak.Mdia.Minf.Stbl.Stsd.AddChild(OpusSampleEntry())
	sw := bits.NewFixedSliceWriter(int(init.Size()))
	if err := init.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode init segment: %w", err)
	}
	return sw.Bytes(), nil
}

// ISO639 maps a BCP 47 tag to the three-letter ISO 639-2/T code an mdhd box
// carries ("und" when there is none).
func ISO639(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return "und"
	}
	base, _ := t.Base()
	if c := base.ISO3(); len(c) == 3 {
		return c
	}
	return "und"
}

// Fragment encodes one single-track fragment: a moof and an mdat holding
// the concatenated packets, each sample one 20 ms Opus packet, the first
// at start. seq is the fragment sequence number (mfhd), increasing along
// the stream.
func Fragment(seq, trackID uint32, start int64, sizes []uint32, data []byte) ([]byte, error) {
	return FrameFragment(seq, trackID, start, audio.FrameSamples, sizes, data)
}

// FrameFragment is Fragment for samples of frameDur each (Timescale
// units): 960 for Opus, AACFrameSamples for AAC.
func FrameFragment(seq, trackID uint32, start int64, frameDur uint32, sizes []uint32, data []byte) ([]byte, error) {
	frag, err := mp4.CreateFragment(seq, trackID)
	if err != nil {
		return nil, fmt.Errorf("create fragment: %w", err)
	}
	samples := make([]mp4.Sample, len(sizes))
	for i, n := range sizes {
		samples[i] = mp4.Sample{Flags: mp4.SyncSampleFlags, Dur: frameDur, Size: n}
	}
	frag.AddSamples(samples, uint64(start))
	frag.Mdat.SetData(data)
	// Every sample has the same duration and flags: move them to tfhd.
	if err := frag.Moof.Traf.OptimizeTfhdTrun(); err != nil {
		return nil, fmt.Errorf("optimize fragment: %w", err)
	}
	sw := bits.NewFixedSliceWriter(int(frag.Size()))
	if err := frag.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode fragment: %w", err)
	}
	return sw.Bytes(), nil
}
