package sphinx

import (
	"math"
	"testing"
)

func tone(hz, amp float64, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(amp * math.Sin(2*math.Pi*hz*float64(i)/16000))
	}
	return x
}

func rms(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

func dB(r float64) float64 { return 20 * math.Log10(r) }

// The high-pass takes mains hum out and leaves the voice band alone.
func TestHighPassRemovesHum(t *testing.T) {
	for _, c := range []struct {
		hz           float64
		minDB, maxDB float64
	}{
		{30, -40, -15}, // hum: at least 15 dB down
		{50, -40, -8},
		{300, -0.5, 0.5}, // voice: within half a dB
		{1000, -0.5, 0.5},
		{4000, -0.5, 0.5},
	} {
		f := newFrontEnd(frontEndTuning{highPass: true})
		x := tone(c.hz, 0.5, 32000)
		in := rms(x[16000:])
		f.process(x)
		got := dB(rms(x[16000:]) / in) // after a second: no transient
		if got < c.minDB || got > c.maxDB {
			t.Errorf("%g Hz: %.1f dB, want %g..%g dB", c.hz, got, c.minDB, c.maxDB)
		}
	}
}

// speechLike is bursts of a 200 Hz tone (300 ms) at amp with pauses (200 ms)
// of a quieter 3 kHz tone at floor, for n seconds at 16 kHz.
func speechLike(amp, floor float64, seconds int) []float32 {
	x := make([]float32, 16000*seconds)
	for i := range x {
		ts := float64(i) / 16000
		if i%8000 < 4800 {
			x[i] = float32(amp * math.Sqrt2 * math.Sin(2*math.Pi*200*ts))
		} else {
			x[i] = float32(floor * math.Sqrt2 * math.Sin(2*math.Pi*3000*ts))
		}
	}
	return x
}

// Quiet speech (-40 dBFS) comes out near the target (-20 dBFS), loud speech
// is brought down, and the pauses are raised by no more than the speech.
func TestGainBringsSpeechToTarget(t *testing.T) {
	for _, c := range []struct {
		name         string
		speechDB     float64
		minDB, maxDB float64
	}{
		{"quiet", -40, -23, -17},
		{"target", -20, -23, -17},
		{"loud", -6, -23, -15},
		{"too quiet for the gain", -60, -33, -29}, // +30 dB at most
	} {
		amp, floor := math.Pow(10, c.speechDB/20), math.Pow(10, (c.speechDB-40)/20)
		x := speechLike(amp, floor, 6)
		f := newFrontEnd(frontEndTuning{gain: true})
		// In 20 ms pieces as the stream gives them.
		for i := 0; i < len(x); i += 320 {
			f.process(x[i : i+320])
		}
		// The last burst, away from its edges.
		last := x[len(x)-8000+800 : len(x)-8000+4000]
		got := dB(rms(last))
		if got < c.minDB || got > c.maxDB {
			t.Errorf("%s: speech at %.1f dBFS, want %g..%g", c.name, got, c.minDB, c.maxDB)
		}
		pause := x[len(x)-8000+4800+800 : len(x)-200]
		if gained, was := dB(rms(pause)), c.speechDB-40; gained-was > got-c.speechDB+0.5 {
			t.Errorf("%s: the pause gained %.1f dB, the speech %.1f dB", c.name, gained-was, got-c.speechDB)
		}
	}
}

// The first word after a long silence gets the gain at once, not a second
// later: the level is set by the first speech block.
func TestGainPrimedByFirstSpeech(t *testing.T) {
	silence := make([]float32, 3*16000)
	for i := range silence {
		silence[i] = float32(1e-4 * math.Sin(float64(i))) // -80 dBFS
	}
	word := tone(200, 0.01*math.Sqrt2, 1600) // -40 dBFS, 100 ms
	x := append(silence, word...)
	f := newFrontEnd(frontEndTuning{gain: true})
	for i := 0; i+320 <= len(x); i += 320 {
		f.process(x[i : i+320])
	}
	// From 20 ms into the word on, within 3 dB of the target.
	if got := dB(rms(x[len(silence)+320:])); got < -23 || got > -17 {
		t.Errorf("first word at %.1f dBFS, want -20 ± 3", got)
	}
}

// Silence stays silence; NaN-free output for empty and odd-sized input.
func TestFrontEndEdges(t *testing.T) {
	f := newFrontEnd(frontEndTuning{highPass: true, gain: true})
	f.process(nil)
	x := make([]float32, 16000+7)
	f.process(x)
	for i, v := range x {
		if v != 0 {
			t.Fatalf("sample %d of silence is %g", i, v)
		}
	}
}
