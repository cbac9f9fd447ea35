package fmp4

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/Eyevinn/mp4ff/mp4"
)

// maxText bounds the text of one tx3g sample (its length is 16 bits).
const maxText = 0xffff

// tx3gSampleEntry builds the 3GPP timed-text sample entry (3GPP TS 26.245
// 5.16): centred at the bottom, white sans-serif on a transparent
// background. mp4ff has no type for it, so it is written as raw bytes.
func tx3gSampleEntry() *mp4.UnknownBox {
	const font = "Sans-Serif"
	b := make([]byte, 0, 64)
	b = append(b, 0, 0, 0, 0, 0, 0) // reserved
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint32(b, 0) // displayFlags
	b = append(b, 1, 0xff)                  // horizontal centre, vertical bottom
	b = append(b, 0, 0, 0, 0)               // background rgba
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)   // default text box
	// Default style: characters 0-0, font 1, plain, 18 px, opaque white.
	b = append(b, 0, 0, 0, 0, 0, 1, 0, 18, 0xff, 0xff, 0xff, 0xff)
	ftab := 8 + 2 + 2 + 1 + len(font)
	b = binary.BigEndian.AppendUint32(b, uint32(ftab))
	b = append(b, "ftab"...)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, byte(len(font)))
	b = append(b, font...)
	return mp4.CreateUnknownBox("tx3g", uint64(8+len(b)), b)
}

// TextSample encodes a tx3g sample: the text's length in 16 bits and its
// UTF-8 bytes; "" is the empty sample that fills the time between cues.
// Text over 65535 bytes is cut at a character boundary.
func TextSample(text string) []byte {
	if len(text) > maxText {
		n := maxText
		for n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		text = text[:n]
	}
	b := make([]byte, 2, 2+len(text))
	binary.BigEndian.PutUint16(b, uint16(len(text)))
	return append(b, text...)
}

// ParseTextSample returns the text of a tx3g sample (modifier boxes after
// the text are ignored).
func ParseTextSample(b []byte) (string, error) {
	if len(b) < 2 {
		return "", errors.New("tx3g sample shorter than its length field")
	}
	n := int(binary.BigEndian.Uint16(b))
	if 2+n > len(b) {
		return "", errors.New("tx3g text longer than its sample")
	}
	return string(b[2 : 2+n]), nil
}
