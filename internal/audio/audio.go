// Package audio holds the frame type that travels between floor sources, mixes
// and recognizers, the program timeline units and the clock that drives them.
package audio

import (
	"math"
	"time"
)

const (
	// SampleRate is the program rate: every PCM frame inside tolk is 48 kHz.
	SampleRate = 48000
	// FrameSamples is one 20 ms frame at SampleRate, the unit of the mix clock.
	FrameSamples = SampleRate / 50
	// FrameDuration is the wall-clock length of one frame.
	FrameDuration = 20 * time.Millisecond
)

// Frame is 20 ms of mono PCM on the program timeline.
type Frame struct {
	// PTS is the first sample's position in 48 kHz samples since the event started.
	PTS int64
	// Samples holds FrameSamples values in [-1, 1]. Consumers must not retain it.
	Samples []float32
}

// Duration converts a program-time sample count to a duration. Whole
// seconds and the rest are converted apart, so no product overflows for any
// count a duration can hold (a recording continued days later included).
func Duration(samples int64) time.Duration {
	return time.Duration(samples/SampleRate)*time.Second + time.Duration(samples%SampleRate)*time.Second/SampleRate
}

// Samples converts a duration to a program-time sample count, without
// overflow for any duration.
func Samples(d time.Duration) int64 {
	return int64(d/time.Second)*SampleRate + int64(d%time.Second)*SampleRate/int64(time.Second)
}

// Int16 converts a sample in [-1, 1] to 16-bit PCM, clipping what lies
// outside and mapping NaN to silence.
func Int16(v float32) int16 {
	switch {
	case v != v: // NaN
		return 0
	case v >= 1:
		return math.MaxInt16
	case v <= -1:
		return -math.MaxInt16
	}
	return int16(math.Round(float64(v) * math.MaxInt16))
}

// DBToGain converts decibels to a linear amplitude factor.
func DBToGain(db float64) float64 { return math.Pow(10, db/20) }

// GainToDB converts a linear amplitude factor to decibels; zero maps to -inf.
func GainToDB(g float64) float64 {
	if g <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(g)
}

// RMS returns the root-mean-square level of samples (linear).
func RMS(samples []float32) float64 {
	if len(samples) == 0 {
		return 0
	}
	var s float64
	for _, v := range samples {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(samples)))
}

// SilenceDB is the floor of every level reading: digital silence reads this
// instead of −Inf so readings stay plain numbers (JSON, Prometheus).
const SilenceDB = -120.0

// LevelDB is the RMS level of samples in dBFS, never below SilenceDB.
func LevelDB(samples []float32) float64 { return max(SilenceDB, GainToDB(RMS(samples))) }

// Peak returns the largest absolute sample value (linear).
func Peak(samples []float32) float64 {
	var p float32
	for _, v := range samples {
		if v < 0 {
			v = -v
		}
		if v > p {
			p = v
		}
	}
	return float64(p)
}

// Clock is the time source of everything that paces or stamps media, so tests
// can run mixing and segmenting in deterministic time.
type Clock interface {
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is the part of time.Timer that tolk uses.
type Timer interface {
	C() <-chan time.Time
	Stop() bool
	Reset(d time.Duration) bool
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// NewTimer wraps time.NewTimer.
func (SystemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (s sysTimer) C() <-chan time.Time        { return s.t.C }
func (s sysTimer) Stop() bool                 { return s.t.Stop() }
func (s sysTimer) Reset(d time.Duration) bool { return s.t.Reset(d) }
