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
	// H264: the payload is one H.264 access unit in AVCC form (each NAL
	// unit preceded by its 4-byte big-endian length, as MP4 and RTMP carry
	// it); every key frame carries its SPS and PPS, so a reader can start
	// at any key frame.
	H264
	// VP8: the payload is one VP8 frame.
	VP8
	// AAC: the payload is one raw AAC-LC frame (no ADTS header) of 1024
	// samples, mono 48 kHz, whose first sample is at PTS.
	AAC
)

// String names the codec.
func (c Codec) String() string {
	switch c {
	case PCM:
		return "pcm"
	case Opus:
		return "opus"
	case H264:
		return "h264"
	case VP8:
		return "vp8"
	case AAC:
		return "aac"
	}
	return "unknown"
}

// Unit is one piece of media on the program timeline: a 20 ms audio frame as
// PCM, as an encoded packet, or both; or one video frame. A unit handed to a track is never
// written again: readers may keep it.
type Unit struct {
	// PTS is the program time of the unit's first sample (48 kHz samples
	// since the program's time zero); for video, the frame's presentation
	// time on the same scale, so pictures and every language line up.
	PTS int64
	// DTS is a video frame's decode time (48 kHz samples, ≤ PTS; equal to
	// PTS when frames are not reordered). Audio leaves it zero.
	DTS int64
	// Key marks a video key frame (an IDR picture, with its parameter sets),
	// where a decoder, a segment or a new viewer can start.
	Key bool
	// Wall is the wall-clock time the program stamped on it: its timeline's
	// epoch plus PTS.
	Wall    time.Time
	Codec   Codec
	Payload []byte    // the encoded packet (nil for PCM)
	PCM     []float32 // the samples, if the producer has them (nil otherwise)
}

// IsVideo tells whether the unit is a video frame.
func (u Unit) IsVideo() bool { return u.Codec == H264 || u.Codec == VP8 }
