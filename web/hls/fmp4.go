package hls

import (
	"errors"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
)

const (
	// trackID is the only track of every rendition's fMP4 stream.
	trackID = 1
	// opusPreSkip is the encoder lookahead the decoder drops at the start.
	opusPreSkip = fmp4.OpusPreSkip
)

// silenceFrame is a 20 ms mono CELT packet that decodes to silence; it fills
// gaps in a rendition's timeline.
var silenceFrame = fmp4.SilenceFrame

// initSegment builds the initialization section of a mono 48 kHz Opus track.
func initSegment(lang string) ([]byte, error) { return fmp4.OpusInit(lang) }

// fragment encodes one partial segment: a moof and an mdat holding the
// concatenated packets, each sample one 20 ms Opus packet starting at start.
// seq is the fragment sequence number (mfhd), increasing along the stream.
func fragment(seq uint32, start int64, sizes []uint32, data []byte) ([]byte, error) {
	return fmp4.Fragment(seq, trackID, start, sizes, data)
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
