package resample

import (
	"math"
	"testing"
)

// response is the filter's gain in dB at f Hz for an input rate of rate Hz.
func response(taps []float32, f, rate float64) float64 {
	var re, im float64
	for i, t := range taps {
		ph := 2 * math.Pi * f / rate * float64(i)
		re += float64(t) * math.Cos(ph)
		im -= float64(t) * math.Sin(ph)
	}
	return 10 * math.Log10(re*re+im*im)
}

func TestFrequencyResponse48to16(t *testing.T) {
	d, err := NewDecimator(3)
	if err != nil {
		t.Fatal(err)
	}
	taps := d.Taps()
	var worstPass, worstStop float64 = 0, -math.Inf(1)
	for f := 0.0; f <= 7000; f += 10 {
		if g := math.Abs(response(taps, f, 48000)); g > worstPass {
			worstPass = g
		}
	}
	for f := 8500.0; f <= 24000; f += 10 {
		if g := response(taps, f, 48000); g > worstStop {
			worstStop = g
		}
	}
	t.Logf("%d taps, pass band 0-7 kHz within ±%.4f dB, stop band ≥8.5 kHz at most %.1f dB", len(taps), worstPass, worstStop)
	if worstPass > 0.5 {
		t.Errorf("pass band ripple %.3f dB > 0.5 dB", worstPass)
	}
	if worstStop > -60 {
		t.Errorf("stop band %.1f dB, want ≤ -60 dB", worstStop)
	}
}

// gainThrough feeds a sine at f Hz through d in 960-sample frames and returns
// the output level relative to the input in dB, after the filter has settled.
func gainThrough(t *testing.T, f float64) float64 {
	t.Helper()
	d, err := NewDecimator(3)
	if err != nil {
		t.Fatal(err)
	}
	const n = 48000
	in := make([]float32, n)
	for i := range in {
		in[i] = float32(0.5 * math.Sin(2*math.Pi*f*float64(i)/48000))
	}
	var out []float32
	for i := 0; i < n; i += 960 {
		out = d.Process(out, in[i:i+960])
	}
	if len(out) != n/3 {
		t.Fatalf("%d outputs for %d inputs, want %d", len(out), n, n/3)
	}
	rms := func(s []float32) float64 {
		var a float64
		for _, v := range s {
			a += float64(v) * float64(v)
		}
		return math.Sqrt(a / float64(len(s)))
	}
	return 20 * math.Log10(rms(out[1000:])/rms(in[3000:]))
}

func TestSinesThroughFrames(t *testing.T) {
	for _, f := range []float64{100, 1000, 3000, 5000, 7000} {
		if g := gainThrough(t, f); math.Abs(g) > 0.5 {
			t.Errorf("%.0f Hz: gain %.2f dB, want within ±0.5 dB", f, g)
		}
	}
	for _, f := range []float64{8500, 9000, 12000, 16000, 20000, 23000} {
		if g := gainThrough(t, f); g > -60 {
			t.Errorf("%.0f Hz: gain %.1f dB, want ≤ -60 dB (aliasing)", f, g)
		}
	}
}

// The output must not depend on how the input is cut into calls.
func TestChunkingInvariant(t *testing.T) {
	in := make([]float32, 5000)
	for i := range in {
		in[i] = float32(math.Sin(float64(i)*0.37) * math.Cos(float64(i)*0.011))
	}
	whole, _ := NewDecimator(3)
	want := whole.Process(nil, in)
	pieces, _ := NewDecimator(3)
	var got []float32
	for i, step := 0, 1; i < len(in); step = step%7 + 1 {
		end := min(i+step, len(in))
		got = pieces.Process(got, in[i:end])
		i = end
	}
	if len(got) != len(want) {
		t.Fatalf("%d outputs in pieces, %d whole", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("output %d differs: %v vs %v", i, got[i], want[i])
		}
	}
}

func TestFactorRange(t *testing.T) {
	for _, f := range []int{-1, 0, 1, 65} {
		if _, err := NewDecimator(f); err == nil {
			t.Errorf("factor %d accepted", f)
		}
	}
}

func BenchmarkDecimate48to16(b *testing.B) {
	d, _ := NewDecimator(3)
	in := make([]float32, 960)
	for i := range in {
		in[i] = float32(math.Sin(float64(i) * 0.1))
	}
	out := make([]float32, 0, 320)
	b.SetBytes(int64(len(in) * 4))
	for b.Loop() {
		out = d.Process(out[:0], in)
	}
}
