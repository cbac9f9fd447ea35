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
	dropped := 0
	p := newPlayout(clock, func(src int64, samples []float32) {
		mu.Lock()
		at = append(at, src)
		when = append(when, clock.Now())
		mu.Unlock()
	}, func() { dropped++ })
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
	if dropped != 0 {
		t.Fatalf("%d frames dropped from steady bursts", dropped)
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
	u := p.underruns.Load()
	clock.Advance(time.Second)
	for deadline := time.Now().Add(10 * time.Second); p.underruns.Load() == u; {
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
	if dropped == 0 || len(p.q) != playoutFrames {
		t.Errorf("after a 2 s backlog: %d dropped, %d waiting (at most %d)", dropped, len(p.q), playoutFrames)
	}
	cancel()
	<-done
}
