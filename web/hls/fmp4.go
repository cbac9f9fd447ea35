package hls

import (
	"errors"
	"fmt"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
)

const (
	// trackID is the only track of every rendition's fMP4 stream.
	trackID = 1
	// opusPreSkip is the encoder lookahead the decoder drops at the start.
	opusPreSkip = fmp4.OpusPreSkip
)

// codec is what a rendition carries: its frames, the sample entry of its
// initialization section and the CODECS value of the variants that play it.
type codec struct {
	// codecs is the CODECS attribute (RFC 6381) of the variants.
	codecs string
	// suffix follows the rendition id in its directory: "" for Opus, which
	// keeps the names it always had, ".aac" for AAC ("en.aac/index.m3u8").
	// A rendition id never holds a dot, so the names cannot collide.
	suffix string
	// frame is the duration of one frame in 48 kHz samples.
	frame int64
	// silence is a frame that decodes to silence; it fills gaps.
	silence []byte
	check   func(frame []byte) error
	init    func(lang string) ([]byte, error)
}

var (
	opusCodec = &codec{codecs: "opus", frame: audio.FrameSamples, silence: fmp4.SilenceFrame, check: checkOpus, init: fmp4.OpusInit}
	aacCodec  = &codec{codecs: fmp4.AACCodecs, suffix: ".aac", frame: fmp4.AACFrameSamples, silence: fmp4.AACSilence, check: checkAAC, init: fmp4.AACInit}
)

// silenceFrame is a 20 ms mono CELT packet that decodes to silence; it fills
// gaps in an Opus rendition's timeline.
var silenceFrame = fmp4.SilenceFrame

// initSegment builds the initialization section of a mono 48 kHz Opus track.
func initSegment(lang string) ([]byte, error) { return fmp4.OpusInit(lang) }

// checkOpus accepts one 20 ms Opus packet.
func checkOpus(packet []byte) error {
	n, err := opusSamples(packet)
	if err != nil {
		return err
	}
	if n != audio.FrameSamples {
		return fmt.Errorf("packet of %d samples, want one %d-sample frame", n, audio.FrameSamples)
	}
	return nil
}

// checkAAC accepts a raw AAC frame. Its length is all that can be checked
// without decoding it: the encoder is ours.
func checkAAC(frame []byte) error {
	if len(frame) == 0 {
		return errors.New("empty AAC frame")
	}
	return nil
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

// fragment encodes one fragment of Opus: a moof and an mdat holding the
// concatenated packets, each sample one 20 ms Opus packet starting at start.
// seq is the fragment sequence number (mfhd), increasing along the stream.
func fragment(seq uint32, start int64, sizes []uint32, data []byte) ([]byte, error) {
	return fmp4.Fragment(seq, trackID, start, sizes, data)
}
