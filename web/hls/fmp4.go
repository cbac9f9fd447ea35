package hls

import (
	"errors"
	"fmt"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
	"golang.org/x/text/language"

	"tolk/internal/audio"
)

const (
	// trackID is the only track of every rendition's fMP4 stream.
	trackID = 1
	// opusPreSkip is the encoder lookahead the decoder drops at the start
	// (libopus at 48 kHz; hraban/opus cannot report it).
	opusPreSkip = 312
)

// silenceFrame is a 20 ms mono CELT packet that decodes to silence; it fills
// gaps in a rendition's timeline.
var silenceFrame = []byte{0xf8, 0xff, 0xfe}

// initSegment builds the initialization section of a mono 48 kHz Opus track.
func initSegment(lang string) ([]byte, error) {
	init := mp4.CreateEmptyInit()
	init.Ftyp = mp4.NewFtyp("iso6", 0, []string{"iso6", "cmfc", "mp41"})
	init.Children[0] = init.Ftyp
	trak := init.AddEmptyTrack(audio.SampleRate, "audio", iso639(lang))
	dops := &mp4.DopsBox{
		Version:              0,
		OutputChannelCount:   1,
		PreSkip:              opusPreSkip,
		InputSampleRate:      audio.SampleRate,
		OutputGain:           0,
		ChannelMappingFamily: 0,
	}
	entry := mp4.CreateAudioSampleEntryBox("Opus", 1, 16, audio.SampleRate, dops)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(entry)
	sw := bits.NewFixedSliceWriter(int(init.Size()))
	if err := init.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode init segment: %w", err)
	}
	return sw.Bytes(), nil
}

// iso639 maps a BCP 47 tag to the three-letter code an mdhd box carries.
func iso639(tag string) string {
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

// fragment encodes one partial segment: a moof and an mdat holding the
// concatenated packets, each sample one 20 ms Opus packet starting at start.
// seq is the fragment sequence number (mfhd), increasing along the stream.
func fragment(seq uint32, start int64, sizes []uint32, data []byte) ([]byte, error) {
	frag, err := mp4.CreateFragment(seq, trackID)
	if err != nil {
		return nil, fmt.Errorf("create fragment: %w", err)
	}
	samples := make([]mp4.Sample, len(sizes))
	for i, n := range sizes {
		samples[i] = mp4.Sample{Flags: mp4.SyncSampleFlags, Dur: audio.FrameSamples, Size: n}
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

// opusSamples returns the duration of an Opus packet in 48 kHz samples, read
// from its TOC and framing (RFC 6716 section 3).
func opusSamples(packet []byte) (int, error) {
	info, ok := audio.ParseOpus(packet)
	if !ok {
		return 0, errors.New("not an Opus packet: impossible framing or over 120 ms")
	}
	return info.Samples, nil
}
