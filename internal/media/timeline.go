package media

import (
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

// Timeline is the program's time: program time (48 kHz samples) counted from
// an epoch, the wall-clock time of program time zero, fixed once per run.
// Every output stamps what it writes from it, so languages, captions and
// recordings line up by construction and an output restarted mid-run keeps
// the same times.
type Timeline struct {
	mu    sync.Mutex
	epoch atomic.Pointer[time.Time]
	now   atomic.Int64 // program time of the latest tick; -1 before the first
	// tickAt is the wall clock (Unix ns) when the latest tick began.
	tickAt atomic.Int64
}

// NewTimeline returns a timeline whose epoch is not fixed yet.
func NewTimeline() *Timeline {
	tl := &Timeline{}
	tl.now.Store(-1)
	return tl
}

// Fix fixes the epoch as the wall-clock time of program time zero, if it is
// not fixed already, and returns the epoch in force.
func (tl *Timeline) Fix(epoch time.Time) time.Time {
	if e := tl.epoch.Load(); e != nil {
		return *e
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	if e := tl.epoch.Load(); e != nil {
		return *e
	}
	tl.epoch.Store(&epoch)
	return epoch
}

// Epoch returns the wall-clock time of program time zero, once fixed.
func (tl *Timeline) Epoch() (time.Time, bool) {
	if e := tl.epoch.Load(); e != nil {
		return *e, true
	}
	return time.Time{}, false
}

// Wall is the wall-clock time of program time pts (the zero time before the
// epoch is fixed).
func (tl *Timeline) Wall(pts int64) time.Time {
	e := tl.epoch.Load()
	if e == nil {
		return time.Time{}
	}
	return e.Add(audio.Duration(pts))
}

// Tick records pts as the program time of the latest tick, which began at
// wall-clock time at.
func (tl *Timeline) Tick(pts int64, at time.Time) {
	tl.tickAt.Store(at.UnixNano())
	tl.now.Store(pts)
}

// At is the program time being played at wall-clock time t: the latest
// tick's program time plus the time since it began, at most one frame on.
// Unlike the epoch, it follows the floor's clock: over hours a floor's clock
// drifts from the wall clock by seconds, and latency measured against the
// epoch would grow with it. -1 before the first tick.
func (tl *Timeline) At(t time.Time) int64 {
	pts := tl.now.Load()
	if pts < 0 {
		return -1
	}
	d := t.Sub(time.Unix(0, tl.tickAt.Load()))
	return pts + min(max(audio.Samples(d), 0), audio.FrameSamples)
}

// Now is the program time of the latest tick (-1 before the first).
func (tl *Timeline) Now() int64 { return tl.now.Load() }
