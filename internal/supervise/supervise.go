// Package supervise keeps an output connected: one goroutine makes a
// connection, sends until it fails, waits out a bounded, jittered
// exponential backoff while throwing away what its readers bring (so that
// it comes back at the live edge), and tries again, until it is stopped.
// It keeps what the producer sees of the output: its state and since when,
// the last error, the bitrate and the reconnections. Pushes to platforms
// (internal/restream) and outputs to an SFU (internal/sfu) run on it.
package supervise

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

// States of an output.
const (
	StateStopped    = "stopped"    // not sending: configured off, or stopped by the producer
	StateConnecting = "connecting" // waiting for a start point, dialling, or handshaking
	StateConnected  = "connected"  // sending
	StateFailed     = "failed"     // the last attempt failed; waiting to try again
)

// Backoff between attempts: from MinBackoff doubling to MaxBackoff, ±20 %
// jitter so that outputs dropped together do not come back together; a
// connection that stayed up StableAfter starts over from MinBackoff.
const (
	MinBackoff  = time.Second
	MaxBackoff  = 30 * time.Second
	StableAfter = 30 * time.Second
)

// ErrAgain, wrapped in the error a session returns, asks for a new
// connection at once rather than after the backoff (the picture changed).
var ErrAgain = errors.New("connect again")

// Work is what a supervised output does while it runs. One goroutine calls
// its methods, one at a time.
type Work interface {
	// Session makes one connection and sends until it fails or ctx ends;
	// it calls Loop.Connected once the connection is up.
	Session(ctx context.Context) error
	// Idle throws away what the output's readers bring until wake fires
	// (true) or ctx ends or the input ends (false).
	Idle(ctx context.Context, wake <-chan time.Time) bool
	// Close detaches the readers; it is called once, when the loop ends.
	Close()
}

// Options configure a Loop.
type Options struct {
	// Clock times the backoff, the states and the bitrate (default the
	// system clock).
	Clock audio.Clock
	// Log carries the output's attributes (default slog.Default()).
	Log *slog.Logger
	// Jitter returns a number in [0, 1) for the backoff's jitter (default
	// math/rand).
	Jitter func() float64
	// Redact cleans an error's text before anyone sees it (the URL's stream
	// key); nil leaves it as it is.
	Redact func(string) string
}

// Loop supervises one output. Its methods are safe for concurrent use; the
// zero value is not usable, New makes one.
type Loop struct {
	opts Options

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running goroutine, nil while stopped
	done    chan struct{}      // closed when it returns
	closed  bool
	state   string
	since   time.Time
	lastErr string
	errAt   time.Time
	rate    float64
	rateAt  time.Time
	rateB   uint64

	reconnects atomic.Uint64
	attempts   uint64 // connections made; only the goroutine touches it
}

// New makes a stopped loop.
func New(opts Options) *Loop {
	if opts.Clock == nil {
		opts.Clock = audio.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	if opts.Redact == nil {
		opts.Redact = func(s string) string { return s }
	}
	return &Loop{opts: opts, state: StateStopped, since: opts.Clock.Now()}
}

// Start starts the output with the work that start makes (its readers
// attached); it does nothing, and does not call start, if the output runs
// or is closed.
func (l *Loop) Start(start func() Work) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil || l.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.cancel, l.done = cancel, make(chan struct{})
	l.setStateLocked(StateConnecting)
	go l.run(ctx, start(), l.done)
}

// Stop stops the output and waits until its connection is closed.
func (l *Loop) Stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.cancel = nil
	l.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	l.mu.Lock()
	l.setStateLocked(StateStopped)
	l.mu.Unlock()
}

// Close stops the output for good.
func (l *Loop) Close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.Stop()
}

// Connecting marks the start of an attempt.
func (l *Loop) Connecting() { l.setState(StateConnecting) }

// Connected marks the connection up and counts it; a session calls it.
func (l *Loop) Connected() {
	l.attempts++
	if l.attempts > 1 {
		l.reconnects.Add(1)
	}
	l.setState(StateConnected)
}

// Report is the loop's part of an output's status.
type Report struct {
	State string
	// Since is when the output entered its state.
	Since time.Time
	// BitrateBPS is what went out between the last reports at least a
	// second apart, while connected (0 otherwise).
	BitrateBPS float64
	// Reconnects counts the connections made after the first.
	Reconnects  uint64
	LastError   string
	LastErrorAt *time.Time
}

// Report reads the state; bytes is everything the output has sent so far,
// from which the bitrate is measured between reads at least a second apart,
// so it follows what the producer watches.
func (l *Loop) Report(bytes uint64) Report {
	now := l.opts.Clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if d := now.Sub(l.rateAt); d >= time.Second || l.rateAt.IsZero() {
		if !l.rateAt.IsZero() && bytes >= l.rateB {
			l.rate = float64(bytes-l.rateB) * 8 / d.Seconds()
		}
		l.rateAt, l.rateB = now, bytes
	}
	r := Report{State: l.state, Since: l.since.UTC(), Reconnects: l.reconnects.Load(), LastError: l.lastErr}
	if l.state == StateConnected {
		r.BitrateBPS = l.rate
	}
	if !l.errAt.IsZero() {
		at := l.errAt.UTC()
		r.LastErrorAt = &at
	}
	return r
}

func (l *Loop) setStateLocked(s string) {
	if l.state != s {
		l.state, l.since = s, l.opts.Clock.Now()
	}
}

func (l *Loop) setState(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setStateLocked(s)
}

// fail records a failed attempt and returns the error's cleaned text.
func (l *Loop) fail(err error) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setStateLocked(StateFailed)
	l.lastErr = l.opts.Redact(err.Error())
	l.errAt = l.opts.Clock.Now()
	return l.lastErr
}

// run is the output's goroutine: connect, send, and after a failure wait
// out the backoff, until ctx ends. It closes the work on return.
func (l *Loop) run(ctx context.Context, w Work, done chan struct{}) {
	defer close(done)
	defer w.Close()
	backoff := MinBackoff
	for ctx.Err() == nil {
		began := l.opts.Clock.Now()
		err := w.Session(ctx)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrAgain) {
			l.opts.Log.Info("output connects again", "why", l.opts.Redact(err.Error()))
			continue
		}
		if err == nil {
			err = errors.New("the connection ended")
		}
		if l.opts.Clock.Now().Sub(began) >= StableAfter {
			backoff = MinBackoff
		}
		msg := l.fail(err)
		wait := Jittered(backoff, l.opts.Jitter())
		l.opts.Log.Warn("output failed; trying again", "err", msg, "in", wait)
		t := l.opts.Clock.NewTimer(wait)
		ok := w.Idle(ctx, t.C())
		t.Stop()
		if !ok {
			return
		}
		backoff = min(2*backoff, MaxBackoff)
	}
}

// Jittered spreads d by ±20 % (r in [0, 1)).
func Jittered(d time.Duration, r float64) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}
