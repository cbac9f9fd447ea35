package mixer

import (
	"math"
	"sync"
	"sync/atomic"

	"tolk/internal/audio"
	"tolk/internal/audio/fft"
)

// Verdicts of an InputQuality reading.
const (
	QualitySilent = "silent" // nothing but digital silence in the last 10 s
	QualityGood   = "good"
	QualityFair   = "fair"
	QualityPoor   = "poor"
)

// InputQuality is one reading of a floor input's quality, the speaker's input
// indicator that ISO 24019 §7.3 asks remote interpreters to be given. Every
// value is a plain finite number, so a reading always encodes as JSON;
// silence reads SilenceDB levels, 0 dB SNR and 0 Hz bandwidth.
type InputQuality struct {
	// LoudnessLUFS is the ITU-R BS.1770 short-term loudness over the last 3 s,
	// as the mix meters measure it (a 997 Hz sine at 0 dBFS reads -3.01).
	LoudnessLUFS float64 `json:"loudness_lufs"`
	// PeakDB is the highest sample over the last 3 s, in dBFS.
	PeakDB float64 `json:"peak_db"`
	// ClipRatio is the fraction of samples over the last 10 s that were
	// clipped: at full scale (|x| >= 0.999) or on a flat top (a run of at
	// least 8 equal samples at -6 dBFS or more, left by clipping upstream of
	// a later gain change; a stuck input or a DC offset that large reads as
	// clipped too).
	ClipRatio float64 `json:"clip_ratio"`
	// Clipping is true when a sample clipped in the last second.
	Clipping bool `json:"clipping"`
	// NoiseFloorDB is the background level: the 10th percentile of the RMS
	// levels of the 20 ms frames of the last 10 s, in dBFS to half a
	// decibel. Levels are measured above 38 Hz (the K-weighting's
	// high-pass), so a DC offset is not taken for noise. Frames of digital
	// silence (under -100 dBFS) are left out: a gated input has no audible
	// floor between its words, and its floor is then read off its quietest
	// sounds instead.
	NoiseFloorDB float64 `json:"noise_floor_db"`
	// SpeechDB is the level of the speaker: the 95th percentile of the same
	// frame levels.
	SpeechDB float64 `json:"speech_db"`
	// SNRDB is SpeechDB - NoiseFloorDB. It assumes speech with pauses: a
	// steady signal (a tone, music without breaks, noise) reads about 0.
	SNRDB float64 `json:"snr_db"`
	// BandwidthHz is the upper edge of the audio band present: about 3.4-4 kHz
	// for a telephone line, 7-8 kHz for wideband, over 15 kHz for full band.
	// It is the highest frequency where the averaged spectrum of non-silent
	// frames comes within 60 dB of its peak (a dark voice keeps its top
	// octave 50-55 dB under its peak), taken as the median over the last 9
	// half-seconds of signal, so one click or one odd second does not move
	// it. Broadband noise within those 60 dB counts as band. It is 0 until
	// 1.5 s of signal has been heard and after 10 s of silence.
	BandwidthHz float64 `json:"bandwidth_hz"`
	// Verdict sums the reading up for the console: QualityGood, QualityFair,
	// QualityPoor or QualitySilent. The worst of these decides:
	//   SNR:       >= 30 dB good, >= 15 dB fair, else poor;
	//   clipping:  none good, under 0.1% of samples fair, else poor;
	//   bandwidth: >= 12 kHz good, >= 5 kHz fair, else poor (not judged
	//              before it is known).
	Verdict string `json:"verdict"`
	// IgnoredFrames counts frames that were not FrameSamples long.
	IgnoredFrames uint64 `json:"ignored_frames"`
}

// Quality meter windows and limits.
const (
	qualityLevelFrames = 10000 / 20 // noise floor, speech level, clip ratio: 10 s
	clipHoldFrames     = 1000 / 20  // Clipping stays on for 1 s
	clipLevel          = 0.999      // a sample this close to full scale is clipped
	flatRun            = 8          // equal samples in a row that make a flat top
	flatLevel          = 0.5        // flat tops count from -6 dBFS up
	// maxSample bounds what is measured (+24 dBFS) so no sum can overflow;
	// NaN is measured as 0 and ±Inf as ±maxSample.
	maxSample = 16.0

	gateDB      = -100.0 // frames under this are digital silence
	histStep    = 0.5    // dB per bin of the frame-level histogram
	histBins    = int((25 - gateDB) / histStep)
	noiseRank   = 0.10
	speechRank  = 0.95
	snrGood     = 30.0
	snrFair     = 15.0
	clipPoor    = 1e-3
	bandGoodHz  = 12000.0
	bandFairHz  = 5000.0
	fftN        = 1024
	fftM        = fftN / 2 // the real FFT runs as a complex FFT of half the length
	binHz       = float64(audio.SampleRate) / fftN
	bandDrop    = 1e-6 // 60 dB below the spectrum's peak
	blockFrames = 25   // non-silent frames per bandwidth estimate: 0.5 s
	blocks      = 9    // estimates the median is taken over
	minBlocks   = 3    // estimates needed before the median is trusted
)

// QualityMeter measures the quality of one floor input, raw, before any gain.
// Write is called from one goroutine (the program's tick) and does not
// allocate or block; Read may be called from any goroutine at any time.
type QualityMeter struct {
	shelf, kHP biquad // K-weighting, for loudness
	hp         biquad // the K-weighting's 38 Hz high-pass alone: no DC or rumble in levels and spectrum
	tab        *fftTables

	n        int64 // frames written
	ksq      [lufsFrames]float64
	peaks    [lufsFrames]float64
	clips    [qualityLevelFrames]int32 // clipped samples per frame
	clipSum  int64
	clipHold int
	prev     float64 // last sample and the length of its run of equal values
	run      int

	levelBin [qualityLevelFrames]int16 // histogram bin of each frame's level, -1 for silence
	hist     [histBins]int32
	active   int // non-silent frames in the level window

	ring     [fftN]float64 // the last fftN high-passed samples
	pos      int
	re, im   [fftM]float64
	acc      [fftM + 1]float64 // power spectrum summed over this block's frames
	accN     int
	est      [blocks]float64 // the last bandwidth estimates, oldest overwritten
	estN     int
	estNext  int
	scratch  [blocks]float64
	ignored  atomic.Uint64
	mu       sync.Mutex
	reading  InputQuality // guarded by mu
	building InputQuality // the tick's own copy
}

// NewQualityMeter returns a meter that reads silence until frames arrive.
func NewQualityMeter() *QualityMeter {
	q := &QualityMeter{tab: fftTablesOnce()}
	q.shelf, q.kHP = kWeighting()
	_, q.hp = kWeighting()
	for i := range q.levelBin {
		q.levelBin[i] = -1
	}
	q.publish()
	return q
}

// Write measures one frame of audio.FrameSamples samples. Frames of any other
// length are counted in IgnoredFrames and otherwise ignored.
func (q *QualityMeter) Write(frame []float32) {
	if len(frame) != audio.FrameSamples {
		q.ignored.Add(1)
		return
	}
	var peak, ksq, hsq float64
	clipped := 0
	// Filter state in locals for the loops, as in meter.process. The
	// high-pass for levels and spectrum runs in a second pass over the ring:
	// all three sections in one loop need more registers than amd64 has.
	s, k := q.shelf, q.kHP
	prev, run, start := q.prev, q.run, q.pos
	pos := start
	for _, v := range frame {
		x := float64(v)
		switch {
		case x != x:
			x = 0
		case x > maxSample:
			x = maxSample
		case x < -maxSample:
			x = -maxSample
		}
		a := math.Abs(x)
		if a > peak {
			peak = a
		}
		if x == prev && a >= flatLevel {
			run++
		} else {
			run = 1
		}
		prev = x
		switch {
		case a >= clipLevel:
			clipped++
		case run == flatRun:
			clipped += flatRun // the run's earlier samples count too
		case run > flatRun:
			clipped++
		}
		y := s.b0*x + s.b1*s.x1 + s.b2*s.x2 - s.a1*s.y1 - s.a2*s.y2
		s.x2, s.x1, s.y2, s.y1 = s.x1, x, s.y1, y
		z := k.b0*y + k.b1*k.x1 + k.b2*k.x2 - k.a1*k.y1 - k.a2*k.y2
		k.x2, k.x1, k.y2, k.y1 = k.x1, y, k.y1, z
		ksq += z * z
		q.ring[pos] = x
		pos = (pos + 1) & (fftN - 1)
	}
	h := q.hp
	for i := range audio.FrameSamples {
		p := (start + i) & (fftN - 1)
		x := q.ring[p]
		w := h.b0*x + h.b1*h.x1 + h.b2*h.x2 - h.a1*h.y1 - h.a2*h.y2
		h.x2, h.x1, h.y2, h.y1 = h.x1, x, h.y1, w
		hsq += w * w
		q.ring[p] = w
	}
	s.flush()
	k.flush()
	h.flush()
	q.shelf, q.kHP, q.hp = s, k, h
	q.prev, q.run, q.pos = prev, run, pos

	i := int(q.n % lufsFrames)
	q.ksq[i], q.peaks[i] = ksq, peak

	j := int(q.n % qualityLevelFrames)
	q.clipSum += int64(clipped) - int64(q.clips[j])
	q.clips[j] = int32(clipped)
	if clipped > 0 {
		q.clipHold = clipHoldFrames
	} else if q.clipHold > 0 {
		q.clipHold--
	}

	bin := int16(-1)
	if db := 10 * math.Log10(hsq/audio.FrameSamples); db >= gateDB {
		bin = int16(min(int((db-gateDB)/histStep), histBins-1))
	}
	if old := q.levelBin[j]; old >= 0 {
		q.hist[old]--
		q.active--
	}
	q.levelBin[j] = bin
	if bin >= 0 {
		q.hist[bin]++
		q.active++
		q.spectrum()
	} else if q.active == 0 && (q.estN > 0 || q.accN > 0) {
		// 10 s of silence: whatever comes next is measured afresh.
		q.estN, q.accN = 0, 0
		q.acc = [fftM + 1]float64{}
	}
	q.n++
	q.publish()
}

// Read returns the latest reading.
func (q *QualityMeter) Read() InputQuality {
	q.mu.Lock()
	r := q.reading
	q.mu.Unlock()
	r.IgnoredFrames = q.ignored.Load()
	return r
}

// publish works out the reading and hands it to Read. It never waits for a
// reader: if Read holds the lock, this frame's reading is skipped and the
// next one goes out.
func (q *QualityMeter) publish() {
	r := &q.building
	n := int(min(q.n, lufsFrames))
	var ksq, peak float64
	for i := 0; i < n; i++ {
		ksq += q.ksq[i]
		peak = max(peak, q.peaks[i])
	}
	r.LoudnessLUFS, r.PeakDB = SilenceDB, SilenceDB
	if n > 0 {
		r.LoudnessLUFS = clampDB(-0.691 + 10*math.Log10(ksq/float64(n*audio.FrameSamples)))
		r.PeakDB = clampDB(audio.GainToDB(peak))
	}
	r.ClipRatio = 0
	if n := min(q.n, qualityLevelFrames); n > 0 {
		r.ClipRatio = float64(q.clipSum) / float64(n*audio.FrameSamples)
	}
	r.Clipping = q.clipHold > 0
	r.NoiseFloorDB, r.SpeechDB, r.SNRDB, r.BandwidthHz = SilenceDB, SilenceDB, 0, 0
	if q.active > 0 {
		r.NoiseFloorDB = q.percentile(noiseRank)
		r.SpeechDB = q.percentile(speechRank)
		r.SNRDB = r.SpeechDB - r.NoiseFloorDB
		r.BandwidthHz = q.bandwidth()
	}
	r.Verdict = verdict(r)
	if q.mu.TryLock() {
		q.reading = *r
		q.mu.Unlock()
	}
}

// percentile returns the level under which the fraction p of the non-silent
// frames of the window lie, to the histogram's half-decibel.
func (q *QualityMeter) percentile(p float64) float64 {
	rank := max(1, int32(math.Ceil(p*float64(q.active))))
	var cum int32
	for b, c := range q.hist {
		cum += c
		if cum >= rank {
			return gateDB + (float64(b)+0.5)*histStep
		}
	}
	return gateDB + float64(histBins)*histStep
}

// bandwidth is the median of the block estimates, 0 while there are too few.
func (q *QualityMeter) bandwidth() float64 {
	if q.estN < minBlocks {
		return 0
	}
	e := q.scratch[:q.estN]
	copy(e, q.est[:q.estN])
	for i := 1; i < len(e); i++ { // insertion sort: at most 9 values
		for j := i; j > 0 && e[j] < e[j-1]; j-- {
			e[j], e[j-1] = e[j-1], e[j]
		}
	}
	return e[len(e)/2]
}

// verdict applies the thresholds documented on InputQuality.Verdict.
func verdict(r *InputQuality) string {
	if r.SpeechDB <= SilenceDB {
		return QualitySilent
	}
	bad := 0 // 0 good, 1 fair, 2 poor
	judge := func(poor, fair bool) {
		switch {
		case poor:
			bad = 2
		case fair:
			bad = max(bad, 1)
		}
	}
	judge(r.SNRDB < snrFair, r.SNRDB < snrGood)
	judge(r.ClipRatio >= clipPoor, r.ClipRatio > 0)
	if r.BandwidthHz > 0 {
		judge(r.BandwidthHz < bandFairHz, r.BandwidthHz < bandGoodHz)
	}
	return [...]string{QualityGood, QualityFair, QualityPoor}[bad]
}

// spectrum adds the power spectrum of the last fftN samples (Hann window) to
// the block, and turns a full block into a bandwidth estimate.
func (q *QualityMeter) spectrum() {
	t := q.tab
	// Even samples to the real part, odd to the imaginary, stored in
	// bit-reversed order for the in-place transform.
	for n := 0; n < fftM; n++ {
		r := t.plan.Rev(n)
		q.re[r] = q.ring[(q.pos+2*n)&(fftN-1)] * t.hann[2*n]
		q.im[r] = q.ring[(q.pos+2*n+1)&(fftN-1)] * t.hann[2*n+1]
	}
	t.plan.Transform(q.re[:], q.im[:])
	// Split the half-length complex transform Z into the real transform X:
	// X[k] = (Z[k] + Z*[M-k])/2 + e^(-2πik/N) (Z[k] - Z*[M-k])/2i.
	for k := 0; k <= fftM; k++ {
		a, b := k&(fftM-1), (fftM-k)&(fftM-1)
		zr, zi := q.re[a], q.im[a]
		cr, ci := q.re[b], -q.im[b]
		er, ei := (zr+cr)/2, (zi+ci)/2
		or, oi := (zi-ci)/2, -(zr-cr)/2
		wr, wi := t.splitCos[k], t.splitSin[k]
		xr := er + wr*or - wi*oi
		xi := ei + wr*oi + wi*or
		q.acc[k] += xr*xr + xi*xi
	}
	q.accN++
	if q.accN < blockFrames {
		return
	}
	var ref float64
	for k := 2; k <= fftM; k++ { // above 90 Hz, where hum would set the reference
		ref = max(ref, q.acc[k])
	}
	if ref > 0 {
		thr := ref * bandDrop
		k := fftM
		for k > 0 && q.acc[k] < thr {
			k--
		}
		f := float64(k)
		if k < fftM {
			// Where between bins k and k+1 the spectrum crosses the threshold,
			// interpolated in dB.
			up := math.Log(q.acc[k] / thr)
			down := math.Log(thr / max(q.acc[k+1], thr*1e-30))
			f += up / (up + down)
		}
		q.est[q.estNext] = f * binHz
		q.estNext = (q.estNext + 1) % blocks
		q.estN = min(q.estN+1, blocks)
	}
	q.accN = 0
	q.acc = [fftM + 1]float64{}
}

// fftTables are the constant tables of the real FFT, shared by every meter:
// the window, the complex FFT of half the length (internal/audio/fft) and
// the split that makes the real spectrum of it.
type fftTables struct {
	hann               [fftN]float64
	plan               *fft.Plan         // size fftM
	splitCos, splitSin [fftM + 1]float64 // e^(-2πik/N)
}

var fftTablesOnce = sync.OnceValue(func() *fftTables {
	t := &fftTables{plan: fft.New(fftM)}
	for n := range t.hann {
		t.hann[n] = 0.5 - 0.5*math.Cos(2*math.Pi*float64(n)/fftN)
	}
	for k := range t.splitCos {
		t.splitCos[k] = math.Cos(2 * math.Pi * float64(k) / fftN)
		t.splitSin[k] = -math.Sin(2 * math.Pi * float64(k) / fftN)
	}
	return t
})
