package mixer

import (
	"math"

	"tolk/internal/audio"
)

// SilenceDB is the floor of every meter reading (audio.SilenceDB).
const SilenceDB = audio.SilenceDB

// Meter windows in frames.
const (
	shortFrames = 300 / 20  // peak and RMS: 300 ms
	lufsFrames  = 3000 / 20 // short-term loudness: 3 s
)

// biquad is a direct-form-I second-order section in float64, so the low
// corner of the K-weighting stays accurate.
type biquad struct {
	b0, b1, b2, a1, a2 float64
	x1, x2, y1, y2     float64
}

// flush zeroes state that has decayed to nothing.
func (f *biquad) flush() {
	for _, v := range []*float64{&f.x1, &f.x2, &f.y1, &f.y2} {
		if *v < 1e-30 && *v > -1e-30 {
			*v = 0
		}
	}
}

// kWeighting returns the two stages of the ITU-R BS.1770 K-weighting at 48 kHz:
// a high shelf of about +4 dB above 1.5 kHz modelling the head, then the
// revised low-frequency B-weighting high-pass at about 38 Hz.
func kWeighting() (shelf, highpass biquad) {
	shelf = biquad{
		b0: 1.53512485958697, b1: -2.69169618940638, b2: 1.19839281085285,
		a1: -1.69065929318241, a2: 0.73248077421585,
	}
	highpass = biquad{
		b0: 1, b1: -2, b2: 1,
		a1: -1.99004745483398, a2: 0.99007225036621,
	}
	return shelf, highpass
}

// meter measures the mixed output frame by frame. It is owned by the tick
// goroutine; readings go out through Mix's atomics.
type meter struct {
	shelf, hp biquad

	peaks  [shortFrames]float64 // per-frame peak
	sq     [shortFrames]float64 // per-frame sum of squares
	ksq    [lufsFrames]float64  // per-frame sum of K-weighted squares
	frames int                  // frames seen, to average over a filling window
}

func newMeter() meter {
	var m meter
	m.shelf, m.hp = kWeighting()
	return m
}

// reading is one set of meter values in dB.
type reading struct {
	peakDB, rmsDB, lufs float64
}

func (m *meter) process(x []float32) reading {
	var peak, sq, ksq float64
	// The filter state lives in locals for the loop: the two sections run
	// per sample and field loads and stores would dominate.
	s, h := m.shelf, m.hp
	for _, v := range x {
		f := float64(v)
		sq += f * f
		if a := math.Abs(f); a > peak {
			peak = a
		}
		y := s.b0*f + s.b1*s.x1 + s.b2*s.x2 - s.a1*s.y1 - s.a2*s.y2
		s.x2, s.x1, s.y2, s.y1 = s.x1, f, s.y1, y
		k := h.b0*y + h.b1*h.x1 + h.b2*h.x2 - h.a1*h.y1 - h.a2*h.y2
		h.x2, h.x1, h.y2, h.y1 = h.x1, y, h.y1, k
		ksq += k * k
	}
	// Flush the decaying tail after silence: denormals are slow on x86.
	s.flush()
	h.flush()
	m.shelf, m.hp = s, h
	m.peaks[m.frames%shortFrames] = peak
	m.sq[m.frames%shortFrames] = sq
	m.ksq[m.frames%lufsFrames] = ksq
	m.frames++

	var r reading
	n := min(m.frames, shortFrames)
	peak, sq = 0, 0
	for i := 0; i < n; i++ {
		peak = max(peak, m.peaks[i])
		sq += m.sq[i]
	}
	r.peakDB = clampDB(audio.GainToDB(peak))
	r.rmsDB = clampDB(10 * math.Log10(sq/float64(n*len(x))))
	n = min(m.frames, lufsFrames)
	ksq = 0
	for i := 0; i < n; i++ {
		ksq += m.ksq[i]
	}
	r.lufs = clampDB(-0.691 + 10*math.Log10(ksq/float64(n*len(x))))
	return r
}

func clampDB(db float64) float64 {
	if math.IsNaN(db) || db < SilenceDB {
		return SilenceDB
	}
	return db
}
