package audiotest

import (
	"math"

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
