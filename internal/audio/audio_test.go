package audio

import (
	"math"
	"testing"
	"time"
)

func TestSamplesAndDuration(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want int64
	}{
		{0, 0},
		{time.Millisecond, 48},
		{20 * time.Millisecond, 960},
		{90*time.Minute + 7*time.Millisecond, 90*60*48000 + 7*48},
		// Past the 53 hours where d·48000 overflows int64 nanoseconds.
		{400 * 24 * time.Hour, 400 * 24 * 3600 * 48000},
		{400*24*time.Hour + 999_999_999, 400*24*3600*48000 + 47999},
	} {
		if got := Samples(c.d); got != c.want {
			t.Errorf("Samples(%v) = %d, want %d", c.d, got, c.want)
		}
		// Back to a duration: exact to the sample.
		if got := Duration(c.want); c.d-got < 0 || c.d-got > time.Second/SampleRate {
			t.Errorf("Duration(%d) = %v, want %v within a sample", c.want, got, c.d)
		}
	}
	if got := Duration(-FrameSamples); got != -FrameDuration {
		t.Errorf("Duration(-%d) = %v", FrameSamples, got)
	}
}

func TestInt16(t *testing.T) {
	for _, c := range []struct {
		v    float32
		want int16
	}{
		{0, 0}, {1, math.MaxInt16}, {2, math.MaxInt16}, {-1, -math.MaxInt16}, {-7, -math.MaxInt16},
		{0.5, 16384}, {-0.5, -16384}, {float32(math.NaN()), 0},
		{float32(math.Inf(1)), math.MaxInt16}, {float32(math.Inf(-1)), -math.MaxInt16},
	} {
		if got := Int16(c.v); got != c.want {
			t.Errorf("Int16(%v) = %d, want %d", c.v, got, c.want)
		}
	}
}
