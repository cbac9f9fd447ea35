package audiotest

import (
	"math"
	"slices"

	"tolk/internal/audio"
)

// Tone returns n samples of a sine at freq Hz and linear amplitude amp, starting at sample offset.
func Tone(freq, amp float64, offset, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(offset+i)/audio.SampleRate))
	}
	return out
}

// Goertzel returns the amplitude of the freq component of samples (a full-scale
// sine of that frequency gives about 1).
func Goertzel(samples []float32, freq float64, rate int) float64 {
	if len(samples) == 0 {
		return 0
	}
	w := 2 * math.Pi * freq / float64(rate)
	coeff := 2 * math.Cos(w)
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - coeff*s1*s2
	return 2 * math.Sqrt(math.Max(power, 0)) / float64(len(samples))
}

// Levels returns the amplitude of freq in consecutive windows of win samples.
// Its median is a tone's level that a loaded machine's gaps and phase jumps
// (a concealed packet) do not pull down, as they do one measure over seconds.
func Levels(samples []float32, freq float64, rate, win int) []float64 {
	var out []float64
	for i := 0; i+win <= len(samples); i += win {
		out = append(out, Goertzel(samples[i:i+win], freq, rate))
	}
	return out
}

// Median returns the middle value of x (the upper one of an even count), 0
// for none. x is not changed.
func Median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	y := slices.Clone(x)
	slices.Sort(y)
	return y[len(y)/2]
}

// DominantFrequency scans lo..hi Hz in steps and returns the strongest frequency
// and its amplitude.
func DominantFrequency(samples []float32, rate int, lo, hi, step float64) (freq, amp float64) {
	for f := lo; f <= hi; f += step {
		if a := Goertzel(samples, f, rate); a > amp {
			freq, amp = f, a
		}
	}
	return freq, amp
}
