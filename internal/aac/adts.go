// Package aac encodes the event's languages to AAC-LC for the players that
// take no Opus (Apple's among them): one supervised FFmpeg process, fed each
// language's PCM over a pipe of its own, returns ADTS frames that are mapped
// back onto the program timeline. The ADTS reader here is strict: it accepts
// only the mono 48 kHz AAC-LC that tolk asks FFmpeg for, checks every length
// and never panics on bad input.
package aac

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

const (
	// FrameSamples is the duration of one AAC-LC frame at 48 kHz.
	FrameSamples = 1024
	// maxFrame is the largest ADTS frame its 13-bit length can state.
	maxFrame = 1<<13 - 1
	// headerLen is an ADTS header without CRC; a CRC adds two bytes.
	headerLen = 7
)

// ErrFormat marks ADTS data that is not mono 48 kHz AAC-LC in single-block
// frames, or not ADTS at all.
var ErrFormat = errors.New("not mono 48 kHz AAC-LC ADTS")

// Header is the part of an ADTS header (ISO/IEC 13818-7 6.2) tolk reads.
type Header struct {
	// Len is the header's length: 7, or 9 with a CRC.
	Len int
	// FrameLen is the whole frame's length, header included.
	FrameLen int
}

// ParseHeader reads the ADTS header at the start of b, which must hold at
// least the header. It accepts only what tolk's encoder writes: AAC-LC, 48
// kHz, one channel, one raw data block per frame, and a payload of at least
// one byte.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < headerLen {
		return Header{}, fmt.Errorf("%w: %d bytes, short of a header", ErrFormat, len(b))
	}
	// 12 sync bits, then ID (either), layer 00, protection_absent.
	if b[0] != 0xff || b[1]&0xf6 != 0xf0 {
		return Header{}, fmt.Errorf("%w: no sync word", ErrFormat)
	}
	h := Header{Len: headerLen}
	if b[1]&1 == 0 {
		h.Len += 2 // CRC
	}
	profile := b[2] >> 6 // object type - 1
	freq := b[2] >> 2 & 0xf
	channels := b[2]&1<<2 | b[3]>>6
	if profile != 1 || freq != 3 || channels != 1 {
		return Header{}, fmt.Errorf("%w: object type %d, frequency index %d, %d channels", ErrFormat, profile+1, freq, channels)
	}
	h.FrameLen = int(b[3]&3)<<11 | int(b[4])<<3 | int(b[5])>>5
	if h.FrameLen <= h.Len {
		return Header{}, fmt.Errorf("%w: frame length %d leaves no payload", ErrFormat, h.FrameLen)
	}
	if b[6]&3 != 0 {
		return Header{}, fmt.Errorf("%w: %d raw data blocks in a frame", ErrFormat, b[6]&3+1)
	}
	return h, nil
}

// Reader reads the raw AAC frames of an ADTS stream.
type Reader struct {
	r   *bufio.Reader
	buf []byte
}

// NewReader returns a Reader of the ADTS stream r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 4096), buf: make([]byte, maxFrame)}
}

// Next returns the payload of the next frame (the raw AAC frame, header
// removed). The slice is valid until the next call. At the end of the
// stream it returns io.EOF; a stream that ends inside a frame returns
// io.ErrUnexpectedEOF; anything else than tolk's format returns ErrFormat.
func (r *Reader) Next() ([]byte, error) {
	b := r.buf
	if _, err := io.ReadFull(r.r, b[:headerLen]); err != nil {
		return nil, err
	}
	h, err := ParseHeader(b[:headerLen])
	if err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r.r, b[headerLen:h.FrameLen]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return b[h.Len:h.FrameLen], nil
}
