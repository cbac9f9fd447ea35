package fmp4

import (
	"fmt"

	"github.com/Eyevinn/mp4ff/bits"
	"github.com/Eyevinn/mp4ff/mp4"
)

const (
	// AACFrameSamples is the duration of one AAC-LC frame (1024 samples,
	// 21.3 ms at 48 kHz).
	AACFrameSamples = 1024
	// AACCodecs is the RFC 6381 codecs string of an AAC-LC track, as the
	// CODECS attribute of an HLS variant names it.
	AACCodecs = "mp4a.40.2"
)

// AACConfig is the AudioSpecificConfig (ISO/IEC 14496-3 1.6.2.1) of a mono
// 48 kHz AAC-LC stream: object type 2, frequency index 3, one channel.
var AACConfig = []byte{0x11, 0x88}

// AACSilence is one AAC-LC frame (mono, 48 kHz, raw, no ADTS header) that
// decodes to 1024 samples of silence: what FFmpeg's encoder makes of
// digital silence. It fills gaps in an AAC track's timeline. Callers must
// not modify it.
var AACSilence = []byte{0x01, 0x18, 0x20, 0x07}

// AACInit builds the initialization section of a single mono 48 kHz AAC-LC
// track (track 1), as an HLS rendition uses it.
func AACInit(lang string) ([]byte, error) {
	init := mp4.CreateEmptyInit()
	init.Ftyp = mp4.NewFtyp("iso6", 0, []string{"iso6", "cmfc", "mp41"})
	init.Children[0] = init.Ftyp
	trak := init.AddEmptyTrack(Timescale, "audio", ISO639(lang))
	esds := mp4.CreateEsdsBox(AACConfig)
	trak.Mdia.Minf.Stbl.Stsd.AddChild(mp4.CreateAudioSampleEntryBox("mp4a", 1, 16, Timescale, esds))
	sw := bits.NewFixedSliceWriter(int(init.Size()))
	if err := init.EncodeSW(sw); err != nil {
		return nil, fmt.Errorf("encode init segment: %w", err)
	}
	return sw.Bytes(), nil
}
