package sphinx

import (
	"math"
	"math/rand/v2"
	"testing"
)

// rmsDB is the level of x in dBFS.
func rmsDB(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return 10 * math.Log10(s/float64(len(x))+1e-20)
}

// denoised runs x through a new denoiser in 10 ms blocks, as a stream does,
// and returns its output moved back by the denoiser's delay.
func denoised(x []float32, floorDB float64) []float32 {
	d := newDenoiser(floorDB)
	y := append([]float32(nil), x...)
	for i := 0; i < len(y); i += 160 {
		d.process(y[i:min(i+160, len(y))])
	}
	return y[denoiseFrame:]
}

// TestDenoiserKeepsCleanSpeech: without noise, a tone that comes and goes
// (speech-like bursts of 300 ms) passes within half a decibel, in its
// place: the filter adds a delay of denoiseFrame samples and nothing else.
func TestDenoiserKeepsCleanSpeech(t *testing.T) {
	const fs = 16000
	x := make([]float32, 4*fs)
	for i := range x {
		if (i/(fs*3/10))%2 == 1 {
			x[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/fs))
		}
	}
	y := denoised(x, 15)
	burst := func(s []float32) []float32 { return s[fs*3/10*3+800 : fs*3/10*4-800] } // inside the second burst
	if d := rmsDB(burst(y)) - rmsDB(burst(x)); math.Abs(d) > 0.5 {
		t.Errorf("clean tone changed by %.2f dB", d)
	}
	var diff float64
	for i, v := range burst(y) {
		diff = max(diff, math.Abs(float64(v-burst(x)[i])))
	}
	if diff > 0.02 {
		t.Errorf("clean tone differs by up to %.3f after the delay: not in place", diff)
	}
}

// TestDenoiserLowersSteadyNoise: white noise 10 dB below a tone that comes
// and goes: after 2 s to learn it, the noise in the pauses is 12 dB or more
// lower and the bursts lose under 1.5 dB.
func TestDenoiserLowersSteadyNoise(t *testing.T) {
	const fs = 16000
	rng := rand.New(rand.NewPCG(3, 4))
	tone := make([]float32, 6*fs)
	noise := make([]float32, len(tone))
	x := make([]float32, len(tone))
	for i := range x {
		if (i/(fs/2))%2 == 1 {
			tone[i] = float32(0.3 * math.Sin(2*math.Pi*440*float64(i)/fs))
		}
		noise[i] = float32(rng.NormFloat64() * 0.3 / math.Sqrt2 / math.Sqrt(10)) // 10 dB below the tone's RMS
		x[i] = tone[i] + noise[i]
	}
	y := denoised(x, 15)
	pause := func(s []float32) []float32 { return s[4*fs+800 : 4*fs+fs/2-800] }
	burst := func(s []float32) []float32 { return s[4*fs+fs/2+800 : 5*fs-800] }
	if d := rmsDB(pause(y)) - rmsDB(pause(noise)); d > -12 {
		t.Errorf("noise lowered by %.1f dB, want 12 or more", -d)
	}
	if d := rmsDB(burst(y)) - rmsDB(burst(tone)); d < -1.5 {
		t.Errorf("tone in noise lowered by %.1f dB", -d)
	}
	for _, v := range y {
		if math.IsNaN(float64(v)) || math.Abs(float64(v)) > 2 {
			t.Fatalf("output %v", v)
		}
	}
}

func BenchmarkDenoiser(b *testing.B) {
	d := newDenoiser(15)
	x := make([]float32, 160)
	rng := rand.New(rand.NewPCG(5, 6))
	b.SetBytes(int64(len(x)) * 4)
	for b.Loop() {
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 0.1)
		}
		d.process(x)
	}
}
