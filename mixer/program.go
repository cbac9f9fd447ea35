package mixer

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
)

const (
	// FloorQueue bounds how many floor frames may wait for the clock (≈ 400 ms).
	FloorQueue = 20
	// FloorGrace is how long the clock waits for a late floor frame before it
	// ticks on the wall clock with silence.
	FloorGrace = 100 * time.Millisecond
)

// floorFrame is one queued 20 ms of floor, pooled to keep the clock
// allocation-free; packet is the Opus packet it came as, if it came as one.
type floorFrame struct {
	pcm    [audio.FrameSamples]float32
	packet []byte
}

// ProgramStats counts the program clock's ticks and the floor it was given.
type ProgramStats struct {
	Ticks, SilentTicks, LateTicks uint64
	FloorFrames, FloorDropped     uint64
}

// Program is the event's program: one clock that ticks every mix once per
// 20 ms and advances the program timeline. The floor drives it, one tick per
// floor frame, so nothing drifts from the floor's clock; while no floor
// frame has come for FloorGrace it ticks on the wall clock with silence, so
// outputs never stall. WriteFloorPacket is safe from any goroutine; Run is
// the clock's goroutine.
type Program struct {
	clock    audio.Clock
	timeline *media.Timeline
	mixes    []*Mix
	onTick   func(pts int64)

	floorQ chan *floorFrame
	pool   sync.Pool

	ticks, silentTicks, lateTicks atomic.Uint64
	floorFrames, floorDropped     atomic.Uint64
	lastFloor                     atomic.Int64 // unix ns of the last floor frame
}

// NewProgram returns the program of mixes (the floor rendition first) on
// timeline; onTick, when set, runs after every tick with its program time
// (the captions' renditions follow the audio with it).
func NewProgram(clock audio.Clock, timeline *media.Timeline, mixes []*Mix, onTick func(pts int64)) *Program {
	p := &Program{clock: clock, timeline: timeline, mixes: mixes, onTick: onTick, floorQ: make(chan *floorFrame, FloorQueue)}
	p.pool.New = func() any { return new(floorFrame) }
	return p
}

// WriteFloorPacket queues one 20 ms floor frame for the clock; packet, when
// not nil, is the Opus packet it was decoded from, which the floor rendition
// forwards without re-encoding. It never blocks: when the clock is behind,
// the frame is dropped and counted.
func (p *Program) WriteFloorPacket(samples []float32, packet []byte) {
	if len(samples) != audio.FrameSamples {
		p.floorDropped.Add(1)
		return
	}
	buf := p.pool.Get().(*floorFrame)
	copy(buf.pcm[:], samples)
	buf.packet = append(buf.packet[:0], packet...) // empty: no packet (Run passes nil)
	select {
	case p.floorQ <- buf:
	default:
		p.pool.Put(buf)
		p.floorDropped.Add(1)
	}
}

// Stats returns the clock's counters.
func (p *Program) Stats() ProgramStats {
	return ProgramStats{
		Ticks: p.ticks.Load(), SilentTicks: p.silentTicks.Load(), LateTicks: p.lateTicks.Load(),
		FloorFrames: p.floorFrames.Load(), FloorDropped: p.floorDropped.Load(),
	}
}

// LastFloor is when the clock last took a floor frame (zero before the first).
func (p *Program) LastFloor() time.Time {
	if ns := p.lastFloor.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// Run is the program clock; it returns when ctx is done.
func (p *Program) Run(ctx context.Context) {
	silence := make([]float32, audio.FrameSamples)
	var pts int64
	timer := p.clock.NewTimer(FloorGrace)
	defer timer.Stop()
	due := p.clock.Now().Add(FloorGrace)
	tick := func(floor []float32, packet []byte) {
		began := p.clock.Now()
		// Program time zero is the wall-clock time of the first tick.
		p.timeline.Fix(began.Add(-audio.Duration(pts)))
		p.timeline.Tick(pts, began)
		for _, m := range p.mixes {
			m.ProcessPacket(pts, floor, packet)
		}
		if p.onTick != nil {
			p.onTick(pts)
		}
		pts += audio.FrameSamples
		p.ticks.Add(1)
		if p.clock.Now().Sub(began) > audio.FrameDuration {
			p.lateTicks.Add(1)
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-p.floorQ:
			p.floorFrames.Add(1)
			p.lastFloor.Store(p.clock.Now().UnixNano())
			var packet []byte
			if len(f.packet) > 0 {
				packet = f.packet
			}
			tick(f.pcm[:], packet)
			p.pool.Put(f)
			due = p.clock.Now().Add(FloorGrace)
			timer.Reset(FloorGrace)
		case now := <-timer.C():
			if now.Sub(due) > audio.FrameDuration {
				p.lateTicks.Add(1)
			}
			tick(silence, nil)
			p.silentTicks.Add(1)
			due = due.Add(audio.FrameDuration)
			wait := due.Sub(p.clock.Now())
			if wait < 0 {
				// Far behind (a stalled machine): re-anchor instead of bursting.
				if wait < -10*audio.FrameDuration {
					due = p.clock.Now()
				}
				wait = 0
			}
			timer.Reset(wait)
		}
	}
}
