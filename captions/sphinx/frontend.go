package sphinx

import "math"

// The front end shapes the 16 kHz audio before the decoder: a high-pass that
// removes hum, rumble and handling noise below the voice, and a slow
// automatic gain that brings speech to one level whatever the floor's mix.
// PocketSphinx's own voice detector and cepstral mean normalization then see
// the same speech level on every floor. Chosen on the tuning half of the rooms
// set (scripts/make-rooms.sh), it did not help the held-out half, so it is
// off unless Config.FrontEnd asks for it; docs/benchmarks.md, "Rooms".
const (
	// highPassHz is the high-pass corner: below every voice's fundamental
	// that matters to the model (its filter bank starts at 133 Hz).
	highPassHz = 90
	// agcTarget is the level the gain brings speech to: the RMS of a
	// 10 ms block at the speech's loud end, -20 dBFS.
	agcTarget = 0.1
	// agcMaxGain bounds the gain (+30 dB): quieter input stays quiet rather
	// than bring the room's noise up to speech level.
	agcMaxGain = 31.6
	// agcMinGain bounds the cut (-12 dB).
	agcMinGain = 0.25
	// agcAttack and agcRelease are how far the speech level estimate moves
	// toward a 10 ms block's RMS per block: fast up (about 100 ms), slow
	// down (about 1 s), and down only for blocks at least 12 dB above the
	// noise floor (speech), so that a pause does not bring the noise up.
	agcAttack  = 0.1
	agcRelease = 0.01
	agcGate    = 4
	agcBlock   = 160
	// noiseRise is how fast the noise floor estimate (the lowest block RMS)
	// rises per block when the room gets louder: 4.3 dB a second.
	noiseRise = 1.005
	// agcPrimeBlocks is how long the noise floor is watched (100 ms) before
	// a block can be the first speech.
	agcPrimeBlocks = 10
	// noiseMin is the lowest noise floor, -100 dBFS.
	noiseMin = 1e-5
)

// frontEndTuning is what a stream's front end does.
type frontEndTuning struct {
	highPass, gain bool
	// denoise is the noise suppressor's floor in dB (0: off);
	// denoiseSub and denoiseBias tune its noise tracker (0: defaults).
	denoise     float64
	denoiseSub  int
	denoiseBias float64
	// decoderArgs are PocketSphinx options added to the decoder's.
	decoderArgs []string
}

// tunedFrontEnd is the front end chosen on the rooms set's tuning half.
var tunedFrontEnd = frontEndTuning{highPass: true, gain: true}

// frontEnd is the front end the configuration asks for.
func (c Config) frontEnd() frontEndTuning {
	var t frontEndTuning
	switch {
	case c.tuning != nil:
		return *c.tuning
	case c.FrontEnd:
		t = tunedFrontEnd
	}
	if !c.NoDenoise {
		t.denoise = denoiseFloorDB
	}
	return t
}

// biquad is a second-order IIR section (direct form I).
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

// highPass returns a Butterworth high-pass biquad at fc Hz for rate fs.
func highPass(fc, fs float64) biquad {
	w := 2 * math.Pi * fc / fs
	// Q = 1/√2: alpha = sin(w)/(2Q).
	cos, alpha := math.Cos(w), math.Sin(w)/math.Sqrt2
	a0 := 1 + alpha
	return biquad{
		b0: (1 + cos) / 2 / a0, b1: -(1 + cos) / a0, b2: (1 + cos) / 2 / a0,
		a1: -2 * cos / a0, a2: (1 - alpha) / a0,
	}
}

func (f *biquad) process(x []float32) {
	for i, v := range x {
		in := float64(v)
		out := f.b0*in + f.b1*f.x1 + f.b2*f.x2 - f.a1*f.y1 - f.a2*f.y2
		f.x2, f.x1 = f.x1, in
		f.y2, f.y1 = f.y1, out
		x[i] = float32(out)
	}
}

// frontEnd is one stream's high-pass and gain. Its zero value is unusable:
// newFrontEnd makes one.
type frontEnd struct {
	hp biquad
	// level is the estimate of the speech's loud-block RMS; gain the gain
	// applied at the end of the last block.
	level, gain float64
	// noise is the noise floor estimate: the lowest recent block RMS.
	noise float64
	// blocks counts blocks up to agcPrimeBlocks; primed is set once the
	// first speech block has set the level outright, so that the first
	// utterance of a quiet floor is not heard at the wrong level.
	blocks             int
	primed             bool
	highPassOn, gainOn bool
	dn                 *denoiser // nil: off
	// pending holds samples of a block not yet complete.
	pending int
	sum     float64
}

func newFrontEnd(t frontEndTuning) *frontEnd {
	f := &frontEnd{level: agcTarget, gain: 1, highPassOn: t.highPass, gainOn: t.gain}
	if t.highPass {
		f.hp = highPass(highPassHz, 16000)
	}
	if t.denoise > 0 {
		f.dn = newDenoiser(t.denoise)
		if t.denoiseSub > 0 {
			f.dn.sub = t.denoiseSub
		}
		if t.denoiseBias > 0 {
			f.dn.bias = t.denoiseBias
		}
	}
	return f
}

// delay is how late the front end's output is, in 48 kHz samples: the
// denoiser's frame (the filters' and the gain's delays are a sample or two).
func (f *frontEnd) delay() int64 {
	if f.dn == nil {
		return 0
	}
	return denoiseFrame * decimation
}

// on says whether the tuning does anything to the audio.
func (t frontEndTuning) on() bool { return t.highPass || t.gain || t.denoise > 0 }

// process filters and scales 16 kHz samples in place. The level estimate
// moves once a 10 ms block; the gain follows it with a 10 ms time constant,
// so that it never steps.
func (f *frontEnd) process(x []float32) {
	if f.highPassOn {
		f.hp.process(x)
	}
	if f.dn != nil {
		f.dn.process(x)
	}
	if !f.gainOn {
		return
	}
	for i, v := range x {
		target := f.gainFor()
		f.gain += (target - f.gain) / agcBlock
		x[i] = v * float32(f.gain)
		f.sum += float64(v) * float64(v)
		f.pending++
		if f.pending == agcBlock {
			f.update(math.Sqrt(f.sum / agcBlock))
			f.pending, f.sum = 0, 0
		}
	}
}

func (f *frontEnd) gainFor() float64 {
	return max(agcMinGain, min(agcMaxGain, agcTarget/f.level))
}

// update moves the speech level estimate with one block's RMS.
func (f *frontEnd) update(rms float64) {
	if f.noise == 0 || rms < f.noise {
		f.noise = max(rms, noiseMin)
	} else {
		f.noise *= noiseRise
	}
	if f.blocks < agcPrimeBlocks {
		f.blocks++
	}
	switch {
	case !f.primed && f.blocks >= agcPrimeBlocks && rms > f.noise*agcGate:
		f.level, f.primed = rms, true
	case rms > f.level:
		f.level += (rms - f.level) * agcAttack
	case rms > f.noise*agcGate:
		f.level += (rms - f.level) * agcRelease
	}
	f.level = max(f.level, agcTarget/agcMaxGain)
}
