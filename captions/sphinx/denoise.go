package sphinx

import (
	"math"

	"tolk/internal/audio/fft"
)

// The denoiser takes steady noise (air conditioning, projector fans, a
// room's hiss, pink noise) out of the 16 kHz audio before the decoder: a
// short-time Wiener filter whose noise spectrum is the minimum, per
// frequency, of the smoothed power over the last 3 s (noise is what is
// always there; speech comes and goes), with the a priori SNR of the
// decision-directed rule (smooth, so the residual noise does not warble)
// and a gain floor, so that what is left of the noise stays steady and
// speech is never cut to nothing. It delays the audio by one frame
// (denoiseFrame samples, 32 ms).
const (
	denoiseFrame = 512 // 32 ms at 16 kHz: a few pitch periods, 31 Hz bins
	denoiseHop   = denoiseFrame / 2
	denoiseBins  = denoiseFrame/2 + 1
	// denoiseSmooth smooths each bin's power across frames for the
	// noise tracker.
	denoiseSmooth = 0.85
	// denoiseSub frames form one sub-window of the minimum tracker, and
	// denoiseSubs sub-windows its memory: 8 × 24 frames of 16 ms, 3 s,
	// longer than most runs of speech without a pause (with 1.5 s the
	// weak parts of a long sentence were taken for noise).
	denoiseSub  = 24
	denoiseSubs = 8
	// denoiseBias scales the minimum toward the noise's mean power (a
	// minimum of smoothed noise power lies below its mean); 1, with the
	// Wiener rule, removed more noise than speech on the tuning half.
	denoiseBias = 1.0
	// denoiseFloorDB is the most the denoiser lowers a frequency: 10 dB
	// (15 dB made clean speech worse on the tuning half).
	denoiseFloorDB = 10
	// denoiseDD is the decision-directed weight of the last frame's
	// clean estimate in the a priori SNR.
	denoiseDD = 0.98
)

// denoiser is one stream's noise suppressor. Its zero value is unusable:
// newDenoiser makes one.
type denoiser struct {
	floor float64 // the lowest gain (amplitude)
	// sub and bias are the minimum tracker's sub-window (frames) and
	// bias (denoiseSub, denoiseBias unless tuned).
	sub  int
	bias float64
	win  []float64
	plan *fft.Plan
	// frame is the analysis window's samples: the last denoiseFrame
	// inputs, the newest at its end; fill counts the new ones of this hop.
	frame []float64
	fill  int
	// ola is the overlap-add of the filtered frames; ready the hop of
	// finished output given out while the next hop comes in.
	ola    []float64
	ready  []float32
	re, im []float64 // the frame's spectrum
	// Per bin: the smoothed power, the minimum of this sub-window, the
	// minima of the last sub-windows, the noise estimate, and the last
	// frame's clean power over the noise (for the decision-directed rule).
	power, curMin, noise, lastSNR []float64
	mins                          [][]float64
	frames                        int
}

// newDenoiser returns a denoiser that lowers noise by at most floorDB.
func newDenoiser(floorDB float64) *denoiser {
	d := &denoiser{
		floor: math.Pow(10, -floorDB/20), sub: denoiseSub, bias: denoiseBias,
		win: make([]float64, denoiseFrame), plan: fft.New(denoiseFrame),
		frame: make([]float64, denoiseFrame), ola: make([]float64, denoiseFrame),
		ready: make([]float32, denoiseHop), re: make([]float64, denoiseFrame), im: make([]float64, denoiseFrame),
		power: make([]float64, denoiseBins), curMin: make([]float64, denoiseBins),
		noise: make([]float64, denoiseBins), lastSNR: make([]float64, denoiseBins),
	}
	// A periodic Hann's square root, at analysis and synthesis: their
	// product, a Hann window, sums to one at half overlap.
	for i := range d.win {
		d.win[i] = math.Sqrt(0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/denoiseFrame))
	}
	for i := range d.curMin {
		d.curMin[i] = math.Inf(1)
	}
	return d
}

// process denoises 16 kHz samples in place, denoiseFrame samples late.
func (d *denoiser) process(x []float32) {
	for i, v := range x {
		d.frame[denoiseFrame-denoiseHop+d.fill] = float64(v)
		x[i] = d.ready[d.fill]
		d.fill++
		if d.fill == denoiseHop {
			d.step()
			d.fill = 0
		}
	}
}

// step filters the window and moves it on by a hop.
func (d *denoiser) step() {
	for i, v := range d.frame {
		r := d.plan.Rev(i)
		d.re[r], d.im[r] = v*d.win[i], 0
	}
	d.plan.Transform(d.re, d.im)
	d.track()
	for k := range denoiseBins {
		post := power(d.re[k], d.im[k]) / max(d.noise[k], 1e-12)
		prior := denoiseDD*d.lastSNR[k] + (1-denoiseDD)*max(post-1, 0)
		g := max(prior/(1+prior), d.floor)
		d.lastSNR[k] = g * g * post
		d.re[k] *= g
		d.im[k] *= g
		if k > 0 && k < denoiseFrame/2 { // a real signal's spectrum is conjugate-symmetric
			d.re[denoiseFrame-k], d.im[denoiseFrame-k] = d.re[k], -d.im[k]
		}
	}
	// The inverse: the same transform with re and im swapped, scaled by 1/n.
	d.plan.Permute(d.re, d.im)
	d.plan.Transform(d.im, d.re)
	for i := range d.ola {
		d.ola[i] += d.re[i] / denoiseFrame * d.win[i]
	}
	for i := range d.ready {
		d.ready[i] = float32(d.ola[i])
	}
	copy(d.ola, d.ola[denoiseHop:])
	clear(d.ola[denoiseFrame-denoiseHop:])
	copy(d.frame, d.frame[denoiseHop:])
}

// track updates each bin's noise estimate from this frame's spectrum:
// the minimum of its smoothed power over the last denoiseSubs sub-windows
// and this one.
func (d *denoiser) track() {
	first := d.frames == 0
	for k := range denoiseBins {
		p := power(d.re[k], d.im[k])
		if first {
			d.power[k] = p
		} else {
			d.power[k] = denoiseSmooth*d.power[k] + (1-denoiseSmooth)*p
		}
		d.curMin[k] = min(d.curMin[k], d.power[k])
		m := d.curMin[k]
		for _, w := range d.mins {
			m = min(m, w[k])
		}
		d.noise[k] = m * d.bias
	}
	d.frames++
	if d.frames%d.sub == 0 {
		if len(d.mins) == denoiseSubs {
			// The oldest sub-window's slice is reused for the newest.
			old := d.mins[0]
			copy(d.mins, d.mins[1:])
			d.mins[denoiseSubs-1] = old
		} else {
			d.mins = append(d.mins, make([]float64, denoiseBins))
		}
		copy(d.mins[len(d.mins)-1], d.curMin)
		for k := range d.curMin {
			d.curMin[k] = math.Inf(1)
		}
	}
}

// power is |re + i·im|².
func power(re, im float64) float64 { return re*re + im*im }
