package audiotest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// Paced calls send(i) for frames i = 0, 1, … at start + i·FrameDuration, a
// schedule fixed in advance: a sender that falls behind (a loaded machine)
// catches up with a burst, as a real network does after a stall, instead of
// sending fewer frames than real time like a time.Ticker that drops ticks.
// It stops after frames calls (frames < 0: until ctx is done), when send
// returns false, or when ctx is done.
func Paced(ctx context.Context, frames int, send func(i int) bool) {
	start := time.Now()
	t := time.NewTimer(time.Hour)
	t.Stop()
	for i := 0; frames < 0 || i < frames; i++ {
		if !send(i) {
			return
		}
		if wait := time.Until(start.Add(time.Duration(i+1) * audio.FrameDuration)); wait > 0 {
			t.Reset(wait)
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() != nil {
			return
		}
	}
}

// Tap collects a stream of frames on the program timeline: each frame is
// placed at its PTS, so what a test measures is what was produced for a
// given stretch of program time, however late the test reads it.
type Tap struct {
	mu      sync.Mutex
	pcm     []float32
	start   int64 // program time of pcm[0]; -1 before the first frame
	missing int   // samples of gaps between frames
	cond    chan struct{}
	done    chan struct{}
}

// NewTap collects the frames of c until it is closed.
func NewTap(c <-chan media.Unit) *Tap {
	tp := &Tap{start: -1, cond: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(tp.done)
		for f := range c {
			tp.add(f.PTS, f.PCM)
		}
	}()
	return tp
}

// add places samples at program time pts; samples before the tap's start or
// already held are ignored.
func (tp *Tap) add(pts int64, samples []float32) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.start < 0 {
		tp.start = pts
	}
	end := tp.start + int64(len(tp.pcm))
	switch {
	case pts > end:
		gap := int(pts - end)
		if gap > 60*audio.SampleRate {
			return // a jump no test makes: ignore rather than allocate it
		}
		tp.missing += gap
		tp.pcm = append(tp.pcm, make([]float32, gap)...)
	case pts < end:
		skip := int(end - pts)
		if skip >= len(samples) {
			return
		}
		samples = samples[skip:]
	}
	tp.pcm = append(tp.pcm, samples...)
	close(tp.cond)
	tp.cond = make(chan struct{})
}

// Wait returns when the tap holds program time up to to.
func (tp *Tap) Wait(ctx context.Context, to int64) error {
	for {
		tp.mu.Lock()
		ok := tp.start >= 0 && tp.start+int64(len(tp.pcm)) >= to
		c := tp.cond
		tp.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-c:
		case <-tp.done:
			return fmt.Errorf("the stream ended before program time %d", to)
		case <-ctx.Done():
			return fmt.Errorf("waiting for program time %d (have until %d): %w", to, tp.End(), ctx.Err())
		}
	}
}

// Span waits for and returns the samples of program time [from, to).
func (tp *Tap) Span(ctx context.Context, from, to int64) ([]float32, error) {
	if err := tp.Wait(ctx, to); err != nil {
		return nil, err
	}
	tp.mu.Lock()
	defer tp.mu.Unlock()
	i, j := from-tp.start, to-tp.start
	if i < 0 || j < i {
		return nil, fmt.Errorf("program time [%d, %d) is not in the tap, which starts at %d", from, to, tp.start)
	}
	return append([]float32(nil), tp.pcm[i:j]...), nil
}

// End is the program time just after the latest sample held (-1 before any).
func (tp *Tap) End() int64 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	if tp.start < 0 {
		return -1
	}
	return tp.start + int64(len(tp.pcm))
}

// Start is the program time of the first sample held (-1 before any).
func (tp *Tap) Start() int64 {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.start
}

// Missing is how many samples were absent between frames (dropped frames,
// or a stream that pauses, as a voice does while nobody is on air).
func (tp *Tap) Missing() int {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	return tp.missing
}

// Done is closed when the stream the tap reads has ended.
func (tp *Tap) Done() <-chan struct{} { return tp.done }
