package ingest

import (
	"context"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// A sender that hands its audio over in bursts (9 frames every 180 ms, as
// an MPEG-TS muxer packs AAC) is played one frame every 20 ms from
// playoutDelay after the first, in order, without an underrun; a backlog
// released at once beyond the buffer is dropped and counted.
func TestPlayoutSmoothsBursts(t *testing.T) {
	clock := audiotest.NewClock()
	var mu sync.Mutex
	var at []int64
	var when []time.Time
	var count playoutCounts
	p := newPlayout(clock, func(src int64, samples []float32) {
		mu.Lock()
		at = append(at, src)
		when = append(when, clock.Now())
		mu.Unlock()
	}, &count)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var src int64
	burst := func(n int) {
		for range n {
			p.push(src, make([]float32, audio.FrameSamples))
			src += audio.FrameSamples
		}
	}
	start := clock.Now()
	burst(9)
	go func() { defer close(done); p.run(ctx) }()
	// settle waits until the player has armed its timer again (it is
	// blocked), or fails: it would be waiting for a frame (an underrun).
	settle := func(step int) {
		deadline := time.Now().Add(10 * time.Second)
		for clock.Pending() != 1 {
			if time.Now().After(deadline) {
				t.Fatalf("step %d: the player never waited on its timer again (an underrun?)", step)
			}
			time.Sleep(time.Millisecond)
		}
	}
	settle(0)
	const steps = 150 // 3 s
	for i := 1; i <= steps; i++ {
		clock.Advance(audio.FrameDuration)
		if i%9 == 0 {
			burst(9)
		}
		settle(i)
	}
	mu.Lock()
	n := len(at)
	mu.Unlock()
	if want := steps - int(playoutDelay/audio.FrameDuration) + 1; n != want {
		t.Fatalf("%d frames played in 3 s, want %d", n, want)
	}
	for i := range n {
		if at[i] != int64(i)*audio.FrameSamples {
			t.Fatalf("frame %d is source %d, want %d", i, at[i], int64(i)*audio.FrameSamples)
		}
		if want := start.Add(playoutDelay + time.Duration(i)*audio.FrameDuration); !when[i].Equal(want) {
			t.Fatalf("frame %d played at %v, want %v", i, when[i].Sub(start), want.Sub(start))
		}
	}
	if d := count.dropped.Load(); d != 0 {
		t.Fatalf("%d frames dropped from steady bursts", d)
	}
	// The sender stops: the buffer runs dry, the player waits for a frame,
	// and the next one plays playoutDelay after it came (the cushion is
	// built again).
	for !p.empty() {
		clock.Advance(audio.FrameDuration)
		time.Sleep(time.Millisecond)
		deadline := time.Now().Add(10 * time.Second)
		for clock.Pending() != 1 && !p.empty() {
			if time.Now().After(deadline) {
				t.Fatal("the player never drained its buffer")
			}
			time.Sleep(time.Millisecond)
		}
	}
	u := count.underruns.Load()
	clock.Advance(time.Second)
	for deadline := time.Now().Add(10 * time.Second); count.underruns.Load() == u; {
		if time.Now().After(deadline) {
			t.Fatal("no underrun when the sender stopped")
		}
		time.Sleep(time.Millisecond)
	}
	came := clock.Now()
	burst(1)
	settle(-1)
	clock.Advance(playoutDelay)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		last, n := when[len(when)-1], len(when)
		mu.Unlock()
		if last.Equal(came.Add(playoutDelay)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the underrun the frame played at %v, %d frames in all; want %v after it came", last.Sub(came), n, playoutDelay)
		}
		time.Sleep(time.Millisecond)
	}
	// A stalled network releases 2 s at once: what the buffer cannot hold is
	// dropped.
	burst(100)
	if d := count.dropped.Load(); d == 0 || len(p.q) != playoutFrames {
		t.Errorf("after a 2 s backlog: %d dropped, %d waiting (at most %d)", d, len(p.q), playoutFrames)
	}
	cancel()
	<-done
}

// A listener's Playout (what /metrics and the console status show) counts
// the drops and underruns of its jitter buffer, on an injected clock.
func TestListenerPlayoutCounts(t *testing.T) {
	clock := audiotest.NewClock()
	l := &Listener{clock: clock}
	played := make(chan struct{}, playoutFrames)
	p := newPlayout(l.clock, func(int64, []float32) { played <- struct{}{} }, &l.playout)
	// A backlog of 5 frames more than the buffer holds: 5 dropped.
	for range playoutFrames + 5 {
		p.push(0, make([]float32, audio.FrameSamples))
	}
	if got := l.Playout(); got.Dropped != 5 || got.Underruns != 0 {
		t.Fatalf("after the backlog: %+v, want 5 dropped and no underrun", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.run(ctx) }()
	defer func() { cancel(); <-done }()
	// Play the buffer out, then one frame is due with none there. However
	// the steps fall against the player's timer, the counts are the same:
	// nothing more is pushed, so it waits for a frame after its underrun.
	for deadline := time.Now().Add(10 * time.Second); l.Playout().Underruns == 0; {
		if time.Now().After(deadline) {
			t.Fatalf("no underrun after the buffer played out: %+v, %d played", l.Playout(), len(played))
		}
		clock.Advance(audio.FrameDuration)
		time.Sleep(time.Millisecond)
	}
	clock.Advance(time.Second) // nothing more to play: no second underrun
	time.Sleep(10 * time.Millisecond)
	if got := l.Playout(); got.Dropped != 5 || got.Underruns != 1 || len(played) != playoutFrames {
		t.Errorf("after playing out: %+v, %d frames played; want 5 dropped, 1 underrun, %d played", got, len(played), playoutFrames)
	}
}
