package media

import "time"

// Codec says what a unit's payload is.
type Codec uint8

// Codecs.
const (
	// PCM: the unit carries only PCM (48 kHz mono float samples).
	PCM Codec = iota
	// Opus: the payload is one Opus packet (20 ms).
	Opus
)

// String names the codec.
func (c Codec) String() string {
	switch c {
	case PCM:
		return "pcm"
	case Opus:
		return "opus"
	}
	return "unknown"
}

// Unit is one piece of media on the program timeline: a 20 ms audio frame as
// PCM, as an encoded packet, or both. A unit handed to a track is never
// written again: readers may keep it.
type Unit struct {
	// PTS is the program time of the unit's first sample (48 kHz samples
	// since the program's time zero).
	PTS int64
	// Wall is the wall-clock time the program stamped on it: its timeline's
	// epoch plus PTS.
	Wall    time.Time
	Codec   Codec
	Payload []byte    // the encoded packet (nil for PCM)
	PCM     []float32 // the samples, if the producer has them (nil otherwise)
}
