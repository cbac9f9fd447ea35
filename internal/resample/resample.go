// Package resample lowers the sample rate of PCM by an integer factor with a
// Kaiser-windowed sinc low-pass, so the band above the new Nyquist frequency
// is filtered out instead of folding back into speech.
package resample

import (
	"fmt"
	"math"
)

// Decimator lowers the rate of one continuous mono stream by an integer factor.
// It keeps the filter history between calls, so a stream can be fed in frames
// of any length. It is not safe for concurrent use.
type Decimator struct {
	factor int
	taps   []float32
	// hist holds the last len(taps)-1 input samples followed by the new input.
	hist []float32
	// phase counts input samples still to skip before the next output.
	phase int
}

// Filter design relative to the output Nyquist frequency: flat to 7/8 of it
// (7 kHz at 16 kHz output), at least stopDB down from 17/16 of it (8.5 kHz).
const (
	passEdge = 0.875
	stopEdge = 1.0625
	stopDB   = 75.0
)

// NewDecimator returns a decimator that keeps one sample in factor.
func NewDecimator(factor int) (*Decimator, error) {
	if factor < 2 || factor > 64 {
		return nil, fmt.Errorf("resample: factor %d out of range 2..64", factor)
	}
	return &Decimator{factor: factor, taps: design(factor)}, nil
}

// Delay is the filter's group delay in input samples: an output sample
// describes the input this many samples before the position it is taken at.
func (d *Decimator) Delay() int { return (len(d.taps) - 1) / 2 }

// Taps returns a copy of the filter's impulse response (at the input rate).
func (d *Decimator) Taps() []float32 { return append([]float32(nil), d.taps...) }

// Process filters in and appends the decimated samples to dst. Output sample
// k of the stream is taken at input sample k·factor.
func (d *Decimator) Process(dst, in []float32) []float32 {
	n := len(d.taps)
	if d.hist == nil {
		// Start with silence as the history so output k sits at input k·factor.
		d.hist = make([]float32, n-1, n-1+len(in))
	}
	d.hist = append(d.hist, in...)
	i := d.phase
	for ; i < len(d.hist)-(n-1); i += d.factor {
		win := d.hist[i : i+n]
		var acc float32
		for j, t := range d.taps {
			acc += t * win[j]
		}
		dst = append(dst, acc)
	}
	// Keep the last n-1 samples; the next output starts i-consumed into them.
	consumed := len(d.hist) - (n - 1)
	d.phase = i - consumed
	d.hist = append(d.hist[:0], d.hist[consumed:]...)
	return dst
}

// design returns a symmetric low-pass FIR for the given factor, normalised to
// unity gain at DC.
func design(factor int) []float32 {
	nyqOut := 0.5 / float64(factor) // output Nyquist in cycles per input sample
	fPass, fStop := passEdge*nyqOut, stopEdge*nyqOut
	fc := (fPass + fStop) / 2
	width := fStop - fPass
	// Kaiser's formulas for the window length and shape at the wanted attenuation.
	beta := 0.1102 * (stopDB - 8.7)
	n := int(math.Ceil((stopDB-8)/(2.285*2*math.Pi*width))) + 1
	if n%2 == 0 {
		n++
	}
	mid := float64(n-1) / 2
	taps := make([]float64, n)
	var sum float64
	for i := range taps {
		x := float64(i) - mid
		sinc := 2 * fc
		if x != 0 {
			sinc = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		r := x / mid
		w := bessel0(beta*math.Sqrt(1-r*r)) / bessel0(beta)
		taps[i] = sinc * w
		sum += taps[i]
	}
	out := make([]float32, n)
	for i, t := range taps {
		out[i] = float32(t / sum)
	}
	return out
}

// bessel0 is the modified Bessel function of the first kind, order zero.
func bessel0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / 2 / float64(k)) * (x / 2 / float64(k))
		sum += term
		if term < sum*1e-12 {
			break
		}
	}
	return sum
}
