package mixer

import (
	"context"
	"errors"
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
	p, err := NewProgram(clock, tl, []*Mix{m}, []InputConfig{{ID: "main"}}, func(pts int64) { last.Store(pts) })
	if err != nil {
		t.Fatal(err)
	}
	in, _ := p.Input("main")
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
		in.WriteFloorPacket(make([]float32, audio.FrameSamples), nil)
	}
	in.WriteFloorPacket(make([]float32, 10), nil) // not a frame: dropped
	wait("floor ticks", func() bool { return p.Stats().Ticks == 9 })
	s := p.Stats()
	if s.FloorFrames != 5 || s.FloorDropped != 1 || s.SilentTicks != 4 || p.LastFloor().IsZero() {
		t.Errorf("stats %+v", s)
	}
	if tl.Now() != 8*audio.FrameSamples || last.Load() != 8*audio.FrameSamples || m.Stats().Frames != 9 {
		t.Errorf("timeline at %d, onTick at %d, mix frames %d: want the ninth tick (pts %d)", tl.Now(), last.Load(), m.Stats().Frames, 8*audio.FrameSamples)
	}
}

// TestProgramSwitchCrossFades: switching the floor between two live inputs
// fades from one to the other over SwitchFrames, never a gap; the other
// input is drained while it waits, so the switch takes its latest audio;
// a switch to an input that sends nothing is refused.
func TestProgramSwitchCrossFades(t *testing.T) {
	clock := audiotest.NewClock()
	m, err := New(Config{Lang: "en", Floor: true})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	out := m.PCM().Read("test", 1000)
	p, err := NewProgram(clock, media.NewTimeline(), []*Mix{m},
		[]InputConfig{{ID: "a", Name: "Studio A"}, {ID: "b", Name: "Studio B"}, {ID: "c"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.Input("a")
	b, _ := p.Input("b")
	if err := p.Switch("c"); !errors.Is(err, ErrInputNotLive) {
		t.Fatalf("switch to an input that sends nothing: %v", err)
	}
	if err := p.Switch("x"); err == nil {
		t.Fatal("switch to an unknown input")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	const fa, fb = 440.0, 1000.0
	// Each step B's frame comes first, then A's, which makes the tick.
	var got []float32
	step := func(i int) {
		t.Helper()
		b.WriteFloor(audiotest.Tone(fb, 0.3, i*audio.FrameSamples, audio.FrameSamples))
		a.WriteFloor(audiotest.Tone(fa, 0.3, i*audio.FrameSamples, audio.FrameSamples))
		select {
		case u := <-out.C:
			got = append(got, u.PCM...)
		case <-time.After(10 * time.Second):
			t.Fatalf("no tick %d: %+v", i, p.Stats())
		}
	}
	for i := range 20 {
		step(i)
	}
	if err := p.Switch("b"); err != nil {
		t.Fatal(err)
	}
	if p.Active().ID != "b" {
		t.Errorf("active %q while switching, want b", p.Active().ID)
	}
	// During and after the fade, B's frames drive the clock once it is on.
	for i := 20; i < 40; i++ {
		if i < 20+SwitchFrames {
			step(i)
			continue
		}
		b.WriteFloor(audiotest.Tone(fb, 0.3, i*audio.FrameSamples, audio.FrameSamples))
		select {
		case u := <-out.C:
			got = append(got, u.PCM...)
		case <-time.After(10 * time.Second):
			t.Fatalf("no tick %d after the switch: %+v", i, p.Stats())
		}
	}
	const fs = audio.FrameSamples
	for k := 0; k < len(got)/fs; k++ {
		if rms := audio.RMS(got[k*fs : (k+1)*fs]); rms < 0.15 {
			t.Fatalf("frame %d: RMS %.3f: a gap in the floor at the switch", k, rms)
		}
	}
	level := func(k int, hz float64) float64 { return audiotest.Goertzel(got[k*fs:(k+1)*fs], hz, audio.SampleRate) }
	if level(15, fa) < 0.1 || level(15, fb) > 0.01 {
		t.Errorf("before the switch: A %.3f, B %.3f", level(15, fa), level(15, fb))
	}
	mid := 20 + SwitchFrames/2
	if level(mid, fa) < 0.05 || level(mid, fb) < 0.05 {
		t.Errorf("mid-fade: A %.3f, B %.3f: both should be heard", level(mid, fa), level(mid, fb))
	}
	if k := 20 + SwitchFrames + 2; level(k, fb) < 0.1 || level(k, fa) > 0.01 {
		t.Errorf("after the switch: A %.3f, B %.3f", level(k, fa), level(k, fb))
	}
	if s := p.Stats(); s.Switches != 1 || p.Active().ID != "b" {
		t.Errorf("stats %+v, active %s", s, p.Active().ID)
	}
	if q := b.Quality(); q.PeakDB > -10 || q.PeakDB < -11.5 {
		t.Errorf("input B's meter reads peak %.1f dBFS, want -10.5", q.PeakDB)
	}
}
