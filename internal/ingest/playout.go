package ingest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

const (
	// playoutDelay is how long a live input's first frame (and the first
	// after an underrun) waits before it is played: senders multiplex their
	// audio into MPEG-TS or FLV in bursts (FFmpeg's MPEG-TS muxer packs about
	// 170 ms of 128 kb/s AAC into one PES packet), and the program clock
	// fills any wait over its grace of 100 ms with silence. Frames then go
	// out one every 20 ms, as from a file.
	playoutDelay = 240 * time.Millisecond
	// playoutFrames bounds the frames waiting: the delay plus burstFrames.
	// A backlog released at once (after a network stall) beyond it is
	// dropped and counted, so latency does not grow with every stall.
	playoutFrames = int(playoutDelay/audio.FrameDuration) + burstFrames
)

// playoutFrame is one 20 ms frame of a live input at its source time.
type playoutFrame struct {
	at      int64
	samples [audio.FrameSamples]float32
}

// PlayoutStats are a live input's jitter buffer counts since it was made,
// every publisher together.
type PlayoutStats struct {
	// Dropped counts frames a full buffer threw away: a backlog released at
	// once (after a network stall) beyond the delay and the burst allowance.
	Dropped uint64 `json:"dropped"`
	// Underruns counts the times a frame was due and none was there: the
	// sender stalled, and the next frame waits the playout delay again.
	Underruns uint64 `json:"underruns"`
}

// playoutCounts are the counters a listener keeps over its runs' buffers.
type playoutCounts struct {
	dropped, underruns atomic.Uint64
}

func (c *playoutCounts) stats() PlayoutStats {
	return PlayoutStats{Dropped: c.dropped.Load(), Underruns: c.underruns.Load()}
}

// playout is a live input's jitter buffer: push takes the frames as ffmpeg
// hands them over (never blocking), run hands them to write on a steady
// 20 ms schedule that starts playoutDelay after the first.
type playout struct {
	clock audio.Clock
	write func(at int64, samples []float32)
	count *playoutCounts // drops and underruns, kept beyond this run

	mu      sync.Mutex
	q       []*playoutFrame // oldest first, at most playoutFrames
	free    []*playoutFrame
	arrived chan struct{} // signalled (without blocking) on every push
}

func newPlayout(clock audio.Clock, write func(int64, []float32), count *playoutCounts) *playout {
	return &playout{clock: clock, write: write, count: count, arrived: make(chan struct{}, 1)}
}

// push queues one frame; a full buffer drops it.
func (p *playout) push(at int64, samples []float32) {
	p.mu.Lock()
	if len(p.q) >= playoutFrames {
		p.mu.Unlock()
		p.count.dropped.Add(1)
		return
	}
	var f *playoutFrame
	if n := len(p.free); n > 0 {
		f, p.free = p.free[n-1], p.free[:n-1]
	} else {
		f = new(playoutFrame)
	}
	f.at = at
	copy(f.samples[:], samples)
	p.q = append(p.q, f)
	p.mu.Unlock()
	select {
	case p.arrived <- struct{}{}:
	default:
	}
}

// pop takes the oldest frame, or nil.
func (p *playout) pop() *playoutFrame {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.q) == 0 {
		return nil
	}
	f := p.q[0]
	p.q = append(p.q[:0], p.q[1:]...)
	return f
}

func (p *playout) empty() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.q) == 0
}

func (p *playout) recycle(f *playoutFrame) {
	p.mu.Lock()
	p.free = append(p.free, f)
	p.mu.Unlock()
}

// run plays the frames until ctx ends. After an underrun (the buffer empty
// when a frame is due: the sender stalled) it waits for the next frame and
// plays it playoutDelay later, building the cushion again.
func (p *playout) run(ctx context.Context) {
	timer := p.clock.NewTimer(time.Hour)
	defer timer.Stop()
	var next time.Time // zero: waiting for a frame to start from
	for {
		if next.IsZero() {
			// A signal may be left from frames already played: wait for
			// one that is there.
			for p.empty() {
				select {
				case <-ctx.Done():
					return
				case <-p.arrived:
				}
			}
			next = p.clock.Now().Add(playoutDelay)
		}
		if d := next.Sub(p.clock.Now()); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-timer.C():
			}
		}
		f := p.pop()
		if f == nil {
			p.count.underruns.Add(1)
			next = time.Time{}
			continue
		}
		p.write(f.at, f.samples[:])
		p.recycle(f)
		next = next.Add(audio.FrameDuration)
		if late := p.clock.Now().Sub(next); late > maxLag {
			next = p.clock.Now() // a stalled machine: on from now, not in a burst
		}
	}
}
