// Package sfu hands an event's languages to a selective forwarding unit
// that serves their WebRTC listeners beyond what one tolk can: RTP
// forwarding into Janus's streaming plugin (one mountpoint per language,
// created through the Janus HTTP API or configured in Janus) and WHIP
// publishing (RFC 9725) to any WHIP server. Each output sends a language's
// Opus packets as the mix made them (20 ms, RTP timestamps in program time,
// numbered by internal/rtc) from one goroutine that reads a bounded,
// dropping reader, supervised by internal/supervise (reconnection with a
// bounded, jittered exponential backoff). Outputs report as restream.Status, so the producer's status,
// console and /metrics show them beside the pushes to platforms.
package sfu

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/restream"
	"tolk/internal/rtc"
	"tolk/internal/supervise"
)

const (
	// queue bounds an output's backlog of Opus packets (≈ 1 s).
	queue = 50
	// dialTimeout bounds setting up one link (API calls, WHIP exchange,
	// ICE and DTLS).
	dialTimeout = 15 * time.Second
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
}

// Output is one language sent to an SFU. Its methods are safe for
// concurrent use.
type Output struct {
	opts     Common
	protocol string
	dial     func(ctx context.Context) (link, error)
	loop     *supervise.Loop

	target                        atomic.Pointer[string]
	packets, bytes, errs, dropped atomic.Uint64
	sentPTS                       atomic.Int64 // media time sent on this link
	seq                           uint16       // the stream's sequence number, kept across links
	ssrc                          uint32       // the stream's, random (a WHIP peer sets its own)
}

func newOutput(opts Common, protocol, target string, dial func(context.Context) (link, error)) *Output {
	opts.defaults()
	o := &Output{opts: opts, protocol: protocol, dial: dial, ssrc: rand.Uint32() | 1}
	o.target.Store(&target)
	o.opts.Log = opts.Log.With("sfu", opts.ID, "lang", opts.Lang)
	o.loop = supervise.New(supervise.Options{Clock: opts.Clock, Log: o.opts.Log, Jitter: opts.Jitter})
	return o
}

// ID names the output.
func (o *Output) ID() string { return o.opts.ID }

// Start starts sending; it does nothing if the output runs or is closed.
func (o *Output) Start() {
	o.loop.Start(func() supervise.Work {
		return &work{o: o, r: o.opts.Packets.Read("sfu "+o.opts.ID, queue)}
	})
}

// Stop stops sending and waits until the link is closed.
func (o *Output) Stop() { o.loop.Stop() }

// Close stops the output for good.
func (o *Output) Close() { o.loop.Close() }

// Status reads the output's state and counters.
func (o *Output) Status() restream.Status {
	bytes := o.bytes.Load()
	r := o.loop.Report(bytes)
	s := restream.Status{ID: o.opts.ID, Lang: o.opts.Lang, Name: o.opts.Name, URL: *o.target.Load(),
		Protocol: o.protocol, State: r.State, Since: r.Since, Bytes: bytes, Reconnects: r.Reconnects,
		Dropped: o.dropped.Load(), Packets: o.packets.Load(), Errors: o.errs.Load(), BitrateBPS: r.BitrateBPS,
		LastError: r.LastError, LastErrorAt: r.LastErrorAt}
	if r.State == restream.StateConnected {
		s.SentSeconds = float64(o.sentPTS.Load()) / audio.SampleRate
	}
	return s
}

// work is a running output: its reader, read by the loop's goroutine.
type work struct {
	o *Output
	r *media.Reader[media.Unit]
}

// Close detaches the reader, counting what it dropped.
func (w *work) Close() {
	w.o.dropped.Add(w.r.Dropped())
	w.r.Close()
}

// Session makes one link and sends until it fails or ctx ends.
func (w *work) Session(ctx context.Context) error {
	o, r := w.o, w.r
	o.loop.Connecting()
	dctx, cancel := context.WithTimeout(ctx, dialTimeout)
	l, err := o.dial(dctx)
	cancel()
	if err != nil {
		return err
	}
	defer l.close()
	t := l.target()
	o.target.Store(&t)
	o.loop.Connected()
	o.opts.Log.Info("sfu output connected", "to", t)
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

// Idle throws away what the reader brings: an output that comes back
// starts from the live edge.
func (w *work) Idle(ctx context.Context, wake <-chan time.Time) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case <-wake:
			return true
		case _, ok := <-w.r.C:
			if !ok {
				return false
			}
		}
	}
}
