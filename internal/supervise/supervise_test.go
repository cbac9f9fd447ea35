package supervise

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
)

// fakeWork is an output whose sessions the test scripts: each session
// takes the next result from results (nil: connected until stopped).
type fakeWork struct {
	l        *Loop
	results  chan error
	sessions atomic.Int32
	idles    atomic.Int32
	closed   atomic.Int32
}

func (w *fakeWork) Session(ctx context.Context) error {
	w.sessions.Add(1)
	w.l.Connecting()
	select {
	case err := <-w.results:
		if err == nil {
			w.l.Connected()
			<-ctx.Done()
			return ctx.Err()
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (w *fakeWork) Idle(ctx context.Context, wake <-chan time.Time) bool {
	w.idles.Add(1)
	select {
	case <-ctx.Done():
		return false
	case <-wake:
		return true
	}
}

func (w *fakeWork) Close() { w.closed.Add(1) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestLoopBacksOff: failed attempts wait 1, 2, 4 s (jitter 0.5 → exactly
// those) on the injected clock, the error's text is redacted, ErrAgain
// connects again at once, a connection counts as a reconnect after the
// first, and Stop and Close end the goroutine and close the work once.
func TestLoopBacksOff(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	l := New(Options{Clock: clock, Jitter: func() float64 { return 0.5 },
		Redact: func(s string) string { return strings.ReplaceAll(s, "secret", "****") }})
	defer l.Close()
	w := &fakeWork{l: l, results: make(chan error, 8)}
	if r := l.Report(0); r.State != StateStopped {
		t.Fatalf("new loop %s", r.State)
	}
	l.Start(func() Work { return w })
	l.Start(func() Work { t.Fatal("a second Start made work"); return nil })

	for i, pause := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		w.results <- fmt.Errorf("dial rtmp://host/live/secret: refused %d", i)
		waitFor(t, "the failure", func() bool { return l.Report(0).State == StateFailed && w.idles.Load() == int32(i+1) })
		r := l.Report(0)
		if r.LastError != fmt.Sprintf("dial rtmp://host/live/****: refused %d", i) || r.LastErrorAt == nil {
			t.Fatalf("attempt %d: last error %q at %v", i, r.LastError, r.LastErrorAt)
		}
		clock.Advance(pause - time.Millisecond)
		time.Sleep(20 * time.Millisecond)
		if n := w.sessions.Load(); n != int32(i+1) {
			t.Fatalf("attempt %d: %d sessions before the %v pause is over", i, n, pause)
		}
		clock.Advance(time.Millisecond)
		waitFor(t, "the next attempt", func() bool { return w.sessions.Load() == int32(i+2) })
	}
	// A changed picture: again at once, no pause.
	w.results <- fmt.Errorf("new picture: %w", ErrAgain)
	waitFor(t, "the immediate attempt", func() bool { return w.sessions.Load() == 5 })
	if n := w.idles.Load(); n != 3 {
		t.Fatalf("%d pauses after ErrAgain, want 3", n)
	}
	w.results <- nil
	waitFor(t, "connected", func() bool { return l.Report(0).State == StateConnected })
	clock.Advance(time.Second)
	l.Report(1000)
	clock.Advance(2 * time.Second)
	if r := l.Report(1000 + 4000); r.BitrateBPS != 16000 || r.Reconnects != 0 {
		t.Fatalf("bitrate %v b/s, %d reconnects; want 16000, 0", r.BitrateBPS, r.Reconnects)
	}
	l.Stop()
	if r := l.Report(0); r.State != StateStopped || r.BitrateBPS != 0 || w.closed.Load() != 1 {
		t.Fatalf("after Stop: %s at %v b/s, work closed %d times", r.State, r.BitrateBPS, w.closed.Load())
	}
	w2 := &fakeWork{l: l, results: make(chan error, 1)}
	w2.results <- nil
	l.Start(func() Work { return w2 })
	waitFor(t, "connected again", func() bool { return l.Report(0).State == StateConnected })
	if r := l.Report(0); r.Reconnects != 1 {
		t.Fatalf("%d reconnects, want 1", r.Reconnects)
	}
	l.Close()
	l.Start(func() Work { t.Fatal("Start after Close made work"); return nil })
	if w2.closed.Load() != 1 {
		t.Fatal("work not closed")
	}
}

// TestLoopNilErrorFails: a session that ends without an error still counts
// as a failure with a reason.
func TestLoopNilErrorFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	l := New(Options{Clock: clock})
	w := &nilWork{}
	l.Start(func() Work { return w })
	waitFor(t, "the failure", func() bool { return l.Report(0).State == StateFailed })
	if r := l.Report(0); r.LastError != "the connection ended" {
		t.Fatalf("last error %q", r.LastError)
	}
	l.Close()
}

type nilWork struct{}

func (nilWork) Session(context.Context) error { return nil }
func (nilWork) Idle(ctx context.Context, _ <-chan time.Time) bool {
	<-ctx.Done()
	return false
}
func (nilWork) Close() {}

func TestJittered(t *testing.T) {
	if got := Jittered(MaxBackoff, 0.999); got > 36*time.Second || got < 35*time.Second {
		t.Fatalf("jittered max %v", got)
	}
	if got := Jittered(MinBackoff, 0); got != 800*time.Millisecond {
		t.Fatalf("jittered min %v", got)
	}
	if !errors.Is(fmt.Errorf("x: %w", ErrAgain), ErrAgain) {
		t.Fatal("ErrAgain not found through wrapping")
	}
}
