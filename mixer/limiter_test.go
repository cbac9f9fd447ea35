package mixer

import (
	"math"
	"testing"

	"tolk/internal/audio"
)

// limit runs x through a fresh limiter and checks that the gain alone, not
// the final safety clamp, kept the samples under the ceiling.
func limit(t *testing.T, x []float32) []float32 {
	t.Helper()
	l := newLimiter()
	y := append([]float32(nil), x...)
	for i := 0; i+fs <= len(y); i += fs {
		l.process(y[i : i+fs])
	}
	if l.clamped != 0 {
		t.Errorf("the gain missed the ceiling on %d samples", l.clamped)
	}
	return y
}

func TestLimiterCeiling(t *testing.T) {
	voice := speech(t, "voice-a")
	voice = voice[:len(voice)/fs*fs]
	over := audio.DBToGain(12) // +12 dB: peaks near +9 dBFS
	cases := map[string][]float32{
		"speech +12 dB": scale(voice, over/audio.Peak(voice)*0.999),
		"sine +12 dB":   tone(1000, over, 100*fs),
		"square +12 dB": square(over, 100*fs),
		"impulses":      impulses(over, 100*fs),
	}
	for name, x := range cases {
		t.Run(name, func(t *testing.T) {
			y := limit(t, x)
			peak := audio.Peak(y)
			t.Logf("input peak %.1f dBFS, output peak %.3f dBFS", audio.GainToDB(audio.Peak(x)), audio.GainToDB(peak))
			if peak > float64(ceiling) {
				t.Fatalf("output peak %.6f over the ceiling %.6f", peak, ceiling)
			}
			// It limits, not squashes: the loudest peaks still reach the ceiling.
			if audio.GainToDB(peak) < CeilingDB-0.5 {
				t.Errorf("output peak %.2f dBFS: gain reduction overshoots", audio.GainToDB(peak))
			}
		})
	}
}

// A signal under the ceiling comes out exactly as it went in, one lookahead later.
func TestLimiterQuietUnchanged(t *testing.T) {
	voice := speech(t, "voice-a")
	voice = voice[:len(voice)/fs*fs]
	x := scale(voice, audio.DBToGain(-2)/audio.Peak(voice)) // peaks at −2 dBFS
	y := limit(t, x)
	want := delayed(x, LookaheadSamples)
	var worst float64
	for i := range y {
		worst = max(worst, math.Abs(float64(y[i]-want[i])))
	}
	if worst > 1e-7 {
		t.Errorf("quiet speech changed by up to %g", worst)
	}
}

// After a loud burst the gain comes back smoothly and fully.
func TestLimiterRecovery(t *testing.T) {
	const quiet = 0.25
	x := append(tone(440, 4, 25*fs), tone(440, quiet, 50*fs)...)
	y := limit(t, x)
	// Gain per sample, where the input is far enough from zero to divide.
	in := delayed(x, LookaheadSamples)
	prev, worst := 0.0, 0.0
	for i := 25 * fs; i < len(y); i++ {
		if math.Abs(float64(in[i])) < 0.1 {
			continue
		}
		g := float64(y[i] / in[i])
		if prev != 0 {
			worst = max(worst, math.Abs(g-prev))
		}
		prev = g
	}
	if worst > 0.01 {
		t.Errorf("gain recovers in steps up to %.4f", worst)
	}
	// Within 0.5 s the quiet tone is back at its own level.
	tail := y[len(y)-10*fs:]
	if got := audio.GainToDB(goertzel(tail, 440) / quiet); math.Abs(got) > 0.05 {
		t.Errorf("quiet tone at %.2f dB after recovery", got)
	}
}

func square(amp float64, n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = float32(amp)
		if (i/240)%2 == 1 {
			o[i] = -o[i]
		}
	}
	return o
}

func impulses(amp float64, n int) []float32 {
	o := make([]float32, n)
	for i := 0; i < n; i += 4801 {
		o[i] = float32(amp)
	}
	return o
}
