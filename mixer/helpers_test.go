package mixer

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// speech returns testdata/name.wav of the repository as 48 kHz mono.
func speech(t testing.TB, name string) []float32 {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	x, err := audiotest.Decode(context.Background(), filepath.Join("..", "testdata", name+".wav"))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// clip is a Source over a slice: frame k of the program is x[k*960:], and
// nothing past its end.
type clip struct {
	x     []float32
	start int64 // program sample where x begins
}

func (c *clip) ReadFrame(pts int64) (audio.Frame, bool) {
	i := pts - c.start
	if i < 0 || i+audio.FrameSamples > int64(len(c.x)) {
		return audio.Frame{}, false
	}
	return audio.Frame{PTS: pts, Samples: c.x[i : i+audio.FrameSamples]}, true
}

// frameAt returns frame k of x, zero past its end.
func frameAt(x []float32, k int) []float32 {
	f := make([]float32, audio.FrameSamples)
	if lo := k * audio.FrameSamples; lo < len(x) {
		copy(f, x[lo:])
	}
	return f
}

// run feeds floor to m for frames ticks and returns the mixed output PCM and
// the meters after every tick.
func run(t testing.TB, m *Mix, floor []float32, frames int) ([]float32, []Meters) {
	t.Helper()
	sub := m.PCM().Read("test", 4)
	defer sub.Close()
	out := make([]float32, 0, frames*audio.FrameSamples)
	ms := make([]Meters, 0, frames)
	for k := 0; k < frames; k++ {
		m.Process(int64(k*audio.FrameSamples), frameAt(floor, k))
		f := <-sub.C
		out = append(out, f.PCM...)
		ms = append(ms, m.Meters())
	}
	return out, ms
}

// goertzel returns the amplitude of the freq component of x, through a Hann
// window so loud content elsewhere in the spectrum does not leak into it.
func goertzel(x []float32, freq float64) float64 {
	w := 2 * math.Pi * freq / audio.SampleRate
	c := 2 * math.Cos(w)
	var s1, s2, sum float64
	n := float64(len(x))
	for i, v := range x {
		h := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n)
		sum += h
		s1, s2 = float64(v)*h+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / sum
}

// envelope returns the RMS of x in consecutive windows of win samples.
func envelope(x []float32, win int) []float64 {
	e := make([]float64, len(x)/win)
	for i := range e {
		e[i] = audio.RMS(x[i*win : (i+1)*win])
	}
	return e
}

// corr is the Pearson correlation of a and b (same length).
func corr(a, b []float64) float64 {
	n := float64(len(a))
	var sa, sb float64
	for i := range a {
		sa += a[i]
		sb += b[i]
	}
	ma, mb := sa/n, sb/n
	var ab, aa, bb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	return ab / math.Sqrt(aa*bb)
}

func f64(x []float32) []float64 {
	o := make([]float64, len(x))
	for i, v := range x {
		o[i] = float64(v)
	}
	return o
}

// delayed returns x shifted later by d samples (zeros in front), same length.
func delayed(x []float32, d int) []float32 {
	o := make([]float32, len(x))
	copy(o[d:], x)
	return o
}

func scale(x []float32, g float64) []float32 {
	o := make([]float32, len(x))
	for i, v := range x {
		o[i] = float32(float64(v) * g)
	}
	return o
}

func tone(freq, amp float64, n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/audio.SampleRate))
	}
	return o
}
