package mixer

import (
	"time"

	"tolk/internal/audio"
)

// subBlock is the ducker's decision step: 1 ms. The gain is interpolated per
// sample inside a sub-block, so it never steps.
const subBlock = audio.SampleRate / 1000

// depthSlewDB is how far a producer's depth change moves per sub-block
// (40 dB/s): a slider dragged on the console glides instead of jumping.
const depthSlewDB = 40.0 / 1000

// Ducking shapes how the floor bed makes room for the interpreter's voice.
type Ducking struct {
	// DepthDB is the floor gain while the voice speaks, in dB (≤ 0). It is used
	// as given: 0 means no ducking. DefaultDucking holds the usual −14 dB.
	DepthDB float64
	// Attack is how long the floor takes to go down to DepthDB (0 = 20 ms).
	Attack time.Duration
	// Hold is how long the floor stays down after the voice stops (0 = 300 ms).
	Hold time.Duration
	// Release is how long the floor takes to come back to full level (0 = 600 ms).
	Release time.Duration
	// ThresholdDB is the level of the voice as it arrives (before g_v), RMS
	// over 1 ms in dBFS, above which it counts as speaking (0 = −40 dBFS).
	ThresholdDB float64
}

// Ducking defaults.
const (
	DefaultDepthDB     = -14.0
	DefaultAttack      = 20 * time.Millisecond
	DefaultHold        = 300 * time.Millisecond
	DefaultRelease     = 600 * time.Millisecond
	DefaultThresholdDB = -40.0
)

// DefaultDucking returns the ducking used by a professional interpretation mix.
func DefaultDucking() Ducking {
	return Ducking{
		DepthDB:     DefaultDepthDB,
		Attack:      DefaultAttack,
		Hold:        DefaultHold,
		Release:     DefaultRelease,
		ThresholdDB: DefaultThresholdDB,
	}
}

// withDefaults fills the zero durations and threshold; DepthDB stays as given.
func (d Ducking) withDefaults() Ducking {
	if d.Attack == 0 {
		d.Attack = DefaultAttack
	}
	if d.Hold == 0 {
		d.Hold = DefaultHold
	}
	if d.Release == 0 {
		d.Release = DefaultRelease
	}
	if d.ThresholdDB == 0 {
		d.ThresholdDB = DefaultThresholdDB
	}
	return d
}

// ducker is the side-chain: it follows the voice and produces the floor gain
// for every sample. It is owned by the tick goroutine.
type ducker struct {
	threshold float64 // mean square over a sub-block
	hold      int     // samples
	attack    float64 // samples
	release   float64 // samples

	fast     float64 // release in samples while a release-now is running; 0 otherwise
	holdLeft int     // samples of hold still to run
	depthDB  float64 // depth in force, slewed toward the requested one
	gainDB   float64 // floor gain at the end of the last sub-block
	gain     float32 // linear gainDB
	active   bool    // voice above threshold or holding at the last sub-block
}

// releaseNow skips the hold and brings the floor back within r samples: the
// voice is gone for good (the interpreter left or closed the mic, or the link
// was cut), not pausing.
func (d *ducker) releaseNow(r int64) {
	d.holdLeft = 0
	d.fast = max(float64(r), 1)
}

func newDucker(d Ducking) ducker {
	return ducker{
		threshold: audio.DBToGain(d.ThresholdDB) * audio.DBToGain(d.ThresholdDB),
		hold:      int(audio.Samples(d.Hold)),
		attack:    float64(audio.Samples(d.Attack)),
		release:   float64(audio.Samples(d.Release)),
		depthDB:   d.DepthDB,
		gain:      1,
	}
}

// process writes the floor gain for each sample of one frame into g
// (len(g) a multiple of subBlock). voice is nil when there is no voice this
// tick, which counts as silence: the floor holds, then releases to full.
// targetDB is the depth the producer asked for.
func (d *ducker) process(voice []float32, targetDB float64, g []float32) {
	for b := 0; b+subBlock <= len(g); b += subBlock {
		above := false
		if voice != nil {
			var ms float64
			for _, v := range voice[b : b+subBlock] {
				ms += float64(v) * float64(v)
			}
			above = ms > d.threshold*subBlock
		}
		switch {
		case above:
			d.holdLeft = d.hold
			d.fast = 0
		case d.holdLeft > 0:
			d.holdLeft -= subBlock
		}
		d.active = above || d.holdLeft > 0

		switch {
		case d.depthDB < targetDB:
			d.depthDB = min(targetDB, d.depthDB+depthSlewDB)
		case d.depthDB > targetDB:
			d.depthDB = max(targetDB, d.depthDB-depthSlewDB)
		}
		want := 0.0
		if d.active {
			want = d.depthDB
		}
		// Rates scale with the depth so the floor reaches it in exactly the
		// attack time and returns in exactly the release time, whatever it is.
		span := max(-d.depthDB, 1)
		prev := d.gainDB
		switch {
		case d.gainDB > want:
			d.gainDB = max(want, d.gainDB-span*subBlock/d.attack)
		case d.gainDB < want:
			rel := d.release
			if d.fast > 0 {
				rel = d.fast
			}
			d.gainDB = min(want, d.gainDB+span*subBlock/rel)
			if d.gainDB == 0 {
				d.fast = 0
			}
		}

		from := d.gain
		if d.gainDB != prev {
			d.gain = float32(audio.DBToGain(d.gainDB))
		}
		if from == d.gain {
			for i := b; i < b+subBlock; i++ {
				g[i] = from
			}
			continue
		}
		step := (d.gain - from) / subBlock
		for i := 0; i < subBlock; i++ {
			g[b+i] = from + step*float32(i+1)
		}
		g[b+subBlock-1] = d.gain
	}
}
