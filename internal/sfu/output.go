// Package sfu hands an event's languages to a selective forwarding unit
// that serves their WebRTC listeners beyond what one tolk can: RTP
// forwarding into Janus's streaming plugin (one mountpoint per language,
// created through the Janus HTTP API or configured in Janus) and WHIP
// publishing (RFC 9725) to any WHIP server. Each output sends a language's
// Opus packets as the mix made them (20 ms, RTP timestamps in program time,
// numbered by internal/rtc) from one goroutine that reads a bounded,
// dropping reader, and reconnects with a bounded, jittered exponential
// backoff. Outputs report as restream.Status, so the producer's status,
// console and /metrics show them beside the pushes to platforms.
package sfu

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/restream"
	"tolk/internal/rtc"
)

const (
	// queue bounds an output's backlog of Opus packets (≈ 1 s).
	queue = 50
	// dialTimeout bounds setting up one link (API calls, WHIP exchange,
	// ICE and DTLS).
	dialTimeout = 15 * time.Second
	// Backoff between attempts: from minBackoff doubling to maxBackoff,
	// ±20 % jitter; a link that stayed up stableAfter starts over.
	minBackoff  = time.Second
	maxBackoff  = 30 * time.Second
	stableAfter = 30 * time.Second
)

// link is one connection of an output to the SFU.
type link interface {
	// send sends one RTP packet; an error counts but does not end the link.
	send(p *rtp.Packet) error
	// failed reports the error that ends the link (Janus gone, the peer
	// connection failed).
	failed() <-chan error
	// target is the output's destination as the producer may see it.
	target() string
	// close ends the link: the mountpoint is destroyed, the WHIP session
	// deleted.
	close()
}

// Common are the options every output has.
type Common struct {
	// ID names the output in the API ("janus-fr", "whip-fr-1"); Lang is
	// the language sent; Name is shown to the producer.
	ID, Lang, Name string
	// Packets is the language's Opus track (media.Opus units).
	Packets *media.Track[media.Unit]
	// Clock times the backoff (default the system clock).
	Clock audio.Clock
	Log   *slog.Logger
	// Jitter returns a number in [0, 1) for the backoff's jitter (default
	// math/rand).
	Jitter func() float64
}

func (c *Common) defaults() {
	if c.Clock == nil {
		c.Clock = audio.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.Jitter == nil {
		c.Jitter = rand.Float64
	}
}

// Output is one language sent to an SFU. Its methods are safe for
// concurrent use.
type Output struct {
	opts     Common
	protocol string
	dial     func(ctx context.Context) (link, error)

	mu       sync.Mutex
	cancel   context.CancelFunc // of the running goroutine, nil while stopped
	done     chan struct{}
	closed   bool
	state    string
	since    time.Time
	target   string
	lastErr  string
	errAt    time.Time
	rate     float64
	rateAt   time.Time
	rateB    uint64
	attempts uint64 // links made; only the goroutine writes it

	packets, bytes, errs, reconnects, dropped atomic.Uint64
	sentPTS                                   atomic.Int64 // media time sent on this link
	seq                                       uint16       // the stream's sequence number, kept across links
	ssrc                                      uint32       // the stream's, random (a WHIP peer sets its own)
}

func newOutput(opts Common, protocol, target string, dial func(context.Context) (link, error)) *Output {
	opts.defaults()
	o := &Output{opts: opts, protocol: protocol, dial: dial, state: restream.StateStopped, since: opts.Clock.Now(),
		target: target, ssrc: rand.Uint32() | 1}
	o.opts.Log = opts.Log.With("sfu", opts.ID, "lang", opts.Lang)
	return o
}

// ID names the output.
func (o *Output) ID() string { return o.opts.ID }

// Start starts sending; it does nothing if the output runs or is closed.
func (o *Output) Start() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cancel != nil || o.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel, o.done = cancel, make(chan struct{})
	r := o.opts.Packets.Read("sfu "+o.opts.ID, queue)
	o.setStateLocked(restream.StateConnecting)
	go o.run(ctx, r, o.done)
}

// Stop stops sending and waits until the link is closed.
func (o *Output) Stop() {
	o.mu.Lock()
	cancel, done := o.cancel, o.done
	o.cancel = nil
	o.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	o.mu.Lock()
	o.setStateLocked(restream.StateStopped)
	o.mu.Unlock()
}

// Close stops the output for good.
func (o *Output) Close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.Stop()
}

// Status reads the output's state and counters.
func (o *Output) Status() restream.Status {
	bytes := o.bytes.Load()
	now := o.opts.Clock.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if d := now.Sub(o.rateAt); d >= time.Second || o.rateAt.IsZero() {
		if !o.rateAt.IsZero() && bytes >= o.rateB {
			o.rate = float64(bytes-o.rateB) * 8 / d.Seconds()
		}
		o.rateAt, o.rateB = now, bytes
	}
	s := restream.Status{ID: o.opts.ID, Lang: o.opts.Lang, Name: o.opts.Name, URL: o.target, Protocol: o.protocol,
		State: o.state, Since: o.since.UTC(), Bytes: bytes, Reconnects: o.reconnects.Load(),
		Dropped: o.dropped.Load(), Packets: o.packets.Load(), Errors: o.errs.Load(), LastError: o.lastErr}
	if o.state == restream.StateConnected {
		s.BitrateBPS = o.rate
		s.SentSeconds = float64(o.sentPTS.Load()) / audio.SampleRate
	}
	if !o.errAt.IsZero() {
		at := o.errAt.UTC()
		s.LastErrorAt = &at
	}
	return s
}

func (o *Output) setStateLocked(s string) {
	if o.state != s {
		o.state, o.since = s, o.opts.Clock.Now()
	}
}

func (o *Output) setState(s, target string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.setStateLocked(s)
	if target != "" {
		o.target = target
	}
}

func (o *Output) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.setStateLocked(restream.StateFailed)
	o.lastErr = err.Error()
	o.errAt = o.opts.Clock.Now()
}

// run is the output's goroutine: link, send, and after a failure wait out
// the backoff, until ctx ends. It detaches its reader on return.
func (o *Output) run(ctx context.Context, r *media.Reader[media.Unit], done chan struct{}) {
	defer close(done)
	defer func() {
		o.dropped.Add(r.Dropped())
		r.Close()
	}()
	backoff := minBackoff
	for ctx.Err() == nil {
		began := o.opts.Clock.Now()
		err := o.session(ctx, r)
		if ctx.Err() != nil {
			return
		}
		if o.opts.Clock.Now().Sub(began) >= stableAfter {
			backoff = minBackoff
		}
		o.fail(err)
		wait := time.Duration(float64(backoff) * (0.8 + 0.4*o.opts.Jitter()))
		o.opts.Log.Warn("sfu output failed; trying again", "err", err, "in", wait)
		if !o.pause(ctx, wait, r) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session makes one link and sends until it fails or ctx ends.
func (o *Output) session(ctx context.Context, r *media.Reader[media.Unit]) error {
	o.setState(restream.StateConnecting, "")
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	l, err := o.dial(dctx)
	cancel()
	if err != nil {
		return err
	}
	defer l.close()
	o.attempts++
	if o.attempts > 1 {
		o.reconnects.Add(1)
	}
	o.setState(restream.StateConnected, l.target())
	o.opts.Log.Info("sfu output connected", "to", l.target())
	o.sentPTS.Store(0)
	pkt := rtc.OpusPacket()
	pkt.SSRC = o.ssrc
	first := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-l.failed():
			return err
		case u, ok := <-r.C:
			if !ok {
				return errors.New("the language's audio ended")
			}
			if first < 0 {
				first = u.PTS
			}
			rtc.NextPacket(&pkt, &o.seq, u)
			if err := l.send(&pkt); err != nil {
				o.errs.Add(1)
				continue
			}
			o.packets.Add(1)
			o.bytes.Add(uint64(pkt.MarshalSize()))
			o.sentPTS.Store(u.PTS - first)
		}
	}
}

// pause waits d on the clock while throwing away what the reader brings: an
// output that comes back starts from the live edge.
func (o *Output) pause(ctx context.Context, d time.Duration, r *media.Reader[media.Unit]) bool {
	t := o.opts.Clock.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C():
			return true
		case _, ok := <-r.C:
			if !ok {
				return false
			}
		}
	}
}
