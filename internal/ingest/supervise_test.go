package ingest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
)

// fakeRun is one scripted run of a fakeSource: it lasts dur of clock time and
// returns err.
type fakeRun struct {
	dur time.Duration
	err error
}

type fakeSource struct {
	clock   *audiotest.Clock
	script  []fakeRun
	started chan time.Time
	running atomic.Int32
	overlap atomic.Bool // two runs at once
	mu      sync.Mutex
	n       int
	release chan struct{} // if set, a cancelled run waits for it before returning
	exited  atomic.Bool
}

func (f *fakeSource) String() string { return "fake" }

func (f *fakeSource) Run(ctx context.Context, _ Writer) error {
	if f.running.Add(1) > 1 {
		f.overlap.Store(true)
	}
	defer f.running.Add(-1)
	f.exited.Store(false)
	defer f.exited.Store(true)
	f.mu.Lock()
	r := fakeRun{dur: time.Hour, err: errors.New("script over")}
	if f.n < len(f.script) {
		r = f.script[f.n]
	}
	f.n++
	f.mu.Unlock()
	f.started <- f.clock.Now()
	if r.dur > 0 {
		t := f.clock.NewTimer(r.dur)
		defer t.Stop()
		select {
		case <-t.C():
		case <-ctx.Done():
			if f.release != nil {
				<-f.release
			}
			return ctx.Err()
		}
	}
	return r.err
}

// The pause before each restart doubles from 250 ms to a 5 s cap and starts
// over after a healthy run; every return is reported to onRestart.
func TestSuperviseBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	var script []fakeRun
	for i := range 8 {
		script = append(script, fakeRun{err: fmt.Errorf("failure %d", i)})
	}
	script = append(script,
		fakeRun{dur: healthyRun, err: errors.New("after a healthy run")},
		fakeRun{err: errors.New("quick failure")},
		fakeRun{dur: healthyRun - time.Millisecond, err: errors.New("not quite healthy")},
		fakeRun{err: errors.New("last")},
	)
	ms := time.Millisecond
	wantPause := []time.Duration{250 * ms, 500 * ms, 1000 * ms, 2000 * ms, 4000 * ms, 5000 * ms, 5000 * ms, 5000 * ms,
		250 * ms, 500 * ms, 1000 * ms}

	src := &fakeSource{clock: clock, script: script, started: make(chan time.Time, 1)}
	var mu sync.Mutex
	var reported []error
	onRestart := func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }
	nReported := func() int { mu.Lock(); defer mu.Unlock(); return len(reported) }

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); Supervise(ctx, src, &recorder{}, clock, onRestart) }()

	next := func() time.Time {
		select {
		case at := <-src.started:
			return at
		case <-ctx.Done():
			t.Fatal("source not started")
			return time.Time{}
		}
	}
	start := next()
	for i, run := range script {
		if run.dur > 0 {
			eventually(t, 5*time.Second, "run timer", func() bool { return clock.Pending() == 1 })
			clock.Advance(run.dur)
		}
		end := start.Add(run.dur)
		// Reported, and the supervisor waits on its backoff timer.
		eventually(t, 5*time.Second, "restart report", func() bool { return nReported() == i+1 && clock.Pending() == 1 })
		if i == len(script)-1 {
			break
		}
		clock.Advance(wantPause[i] - ms)
		if clock.Pending() != 1 {
			t.Fatalf("restart %d: restarted before %v", i+1, wantPause[i])
		}
		clock.Advance(ms)
		start = next()
		if got := start.Sub(end); got != wantPause[i] {
			t.Fatalf("restart %d: paused %v, want %v", i+1, got, wantPause[i])
		}
	}
	cancel()
	<-done
	for i, err := range reported {
		if err == nil || err.Error() != script[i].err.Error() {
			t.Errorf("report %d: %v, want %v", i, err, script[i].err)
		}
	}
	if src.overlap.Load() {
		t.Error("two runs of the source overlapped")
	}
}

// Cancelling the context stops Supervise during a pause or a run; it returns
// only after the source has, and does not report the cancelled run.
func TestSuperviseStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, during := range []string{"pause", "run"} {
		t.Run(during, func(t *testing.T) {
			clock := audiotest.NewClock()
			src := &fakeSource{clock: clock, started: make(chan time.Time, 1), release: make(chan struct{}),
				script: []fakeRun{{err: errors.New("first")}, {dur: time.Hour}}}
			var reports atomic.Int32
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() {
				defer close(done)
				Supervise(runCtx, src, &recorder{}, clock, func(error) { reports.Add(1) })
			}()
			<-src.started
			eventually(t, 5*time.Second, "backoff", func() bool { return reports.Load() == 1 && clock.Pending() == 1 })
			if during == "run" {
				clock.Advance(minBackoff)
				<-src.started
				// Let the cancelled run finish a moment after Supervise is asked
				// to stop.
				go func() { time.Sleep(10 * time.Millisecond); close(src.release) }()
			}
			stop()
			select {
			case <-done:
			case <-ctx.Done():
				t.Fatal("Supervise did not return")
			}
			if !src.exited.Load() {
				t.Error("Supervise returned while the source was running")
			}
			if n := reports.Load(); n != 1 {
				t.Errorf("%d reports, want 1 (a cancelled run is not a restart)", n)
			}
		})
	}
}

// A source that ended for good (a file that does not loop) is not run again:
// Supervise returns its error at once, with no restart reported, while a
// publisher that left is restarted.
func TestSuperviseEnded(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	ended := fmt.Errorf("file x: %w", ErrEnded)
	src := &fakeSource{clock: clock, started: make(chan time.Time, 4),
		script: []fakeRun{{err: fmt.Errorf("rtmp: %w", ErrLeft)}, {err: ended}, {dur: time.Hour}}}
	var reports atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Supervise(ctx, src, &recorder{}, clock, func(error) { reports.Add(1) }) }()
	<-src.started
	eventually(t, 5*time.Second, "backoff after the publisher left", func() bool { return reports.Load() == 1 && clock.Pending() == 1 })
	clock.Advance(minBackoff)
	<-src.started
	select {
	case err := <-done:
		if !errors.Is(err, ErrEnded) {
			t.Fatalf("Supervise = %v, want the source's ErrEnded", err)
		}
	case <-ctx.Done():
		t.Fatal("Supervise restarts a source that ended")
	}
	if n := reports.Load(); n != 1 {
		t.Errorf("%d restarts reported, want 1 (the publisher that left)", n)
	}
	clock.Advance(time.Hour)
	select {
	case <-src.started:
		t.Error("the ended source was run again")
	default:
	}
}
