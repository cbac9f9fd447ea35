package mixer

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
)

// TestProgramTicksOnTheFloorOrOnSilence: without a floor the program ticks
// every 20 ms of clock once the grace has passed; floor frames then drive it,
// one tick each; every tick advances the timeline, whose epoch the first tick
// fixes, and reaches onTick.
func TestProgramTicksOnTheFloorOrOnSilence(t *testing.T) {
	clock := audiotest.NewClock()
	m, err := New(Config{Lang: "en", Floor: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tl := media.NewTimeline()
	var last atomic.Int64
	last.Store(-1)
	p := NewProgram(clock, tl, []*Mix{m}, func(pts int64) { last.Store(pts) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, p.Stats())
			}
			time.Sleep(time.Millisecond)
		}
	}
	wait("the timer", func() bool { return clock.Pending() > 0 })
	start := clock.Now()
	clock.Advance(FloorGrace)
	wait("a silent tick", func() bool { return p.Stats().SilentTicks == 1 })
	if e, ok := tl.Epoch(); !ok || !e.Equal(start.Add(FloorGrace)) {
		t.Errorf("epoch %v %v, want the first tick's time", e, ok)
	}
	for i := range 3 {
		wait("the timer", func() bool { return clock.Pending() > 0 })
		clock.Advance(audio.FrameDuration)
		want := uint64(i + 2)
		wait("silent ticks", func() bool { return p.Stats().SilentTicks == want })
	}
	for range 5 {
		p.WriteFloorPacket(make([]float32, audio.FrameSamples), nil)
	}
	p.WriteFloorPacket(make([]float32, 10), nil) // not a frame: dropped
	wait("floor ticks", func() bool { return p.Stats().Ticks == 9 })
	s := p.Stats()
	if s.FloorFrames != 5 || s.FloorDropped != 1 || s.SilentTicks != 4 || p.LastFloor().IsZero() {
		t.Errorf("stats %+v", s)
	}
	if tl.Now() != 8*audio.FrameSamples || last.Load() != 8*audio.FrameSamples || m.Stats().Frames != 9 {
		t.Errorf("timeline at %d, onTick at %d, mix frames %d: want the ninth tick (pts %d)", tl.Now(), last.Load(), m.Stats().Frames, 8*audio.FrameSamples)
	}
}
