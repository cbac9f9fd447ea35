// Package restream pushes a language to a platform: the program's video
// (H.264, passed through) with that language's mix as AAC, over RTMP or
// RTMPS (gortmplib) or SRT (an FFmpeg child fed MPEG-TS). Each push is one
// goroutine that reads its tracks through bounded, dropping readers, starts
// each connection at a video key frame (or at once when the program has no
// picture), stamps everything from program time so the picture and the
// language stay together, and reconnects with a bounded exponential backoff
// when the platform drops it. The push URL carries the platform's stream
// key: only its redacted form (config.Redact) leaves this package.
package restream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/internal/media"
)

// States of a push.
const (
	StateStopped    = "stopped"    // not pushing: configured off, or stopped by the producer
	StateConnecting = "connecting" // waiting for a key frame, dialling, or handshaking
	StateConnected  = "connected"  // sending
	StateFailed     = "failed"     // the last attempt failed; waiting to try again
)

const (
	// audioQueue bounds a push's backlog of AAC frames (≈ 4 s).
	audioQueue = 192
	// videoQueue bounds its backlog of video frames (≈ 4 s at 60 fps).
	videoQueue = 256
	// cueQueue bounds the cues waiting to be captioned.
	cueQueue = 64
	// maxPending bounds the video frames held until the language's audio
	// reaches them; past it the oldest goes out anyway.
	maxPending = 240
	// audioOnlyAfter is how much of the language's audio passes without a
	// single picture before a connection starts without video.
	audioOnlyAfter = 3 * audio.SampleRate
	// keyWait is how long a connection waits for a key frame once pictures
	// come (a long GOP) before it starts without video.
	keyWait = 12 * audio.SampleRate
	// dialTimeout bounds a connection's dial and handshake.
	dialTimeout = 10 * time.Second
	// writeTimeout bounds one write to the platform.
	writeTimeout = 10 * time.Second
	// Backoff between attempts: from minBackoff doubling to maxBackoff,
	// ±20 % jitter; a connection that stayed up stableAfter starts over.
	minBackoff  = time.Second
	maxBackoff  = 30 * time.Second
	stableAfter = 30 * time.Second
)

// Options configure a Push.
type Options struct {
	// ID names the push in the API ("fr-1"); Lang is the language pushed;
	// Name is shown to the producer.
	ID, Lang, Name string
	// URL is where to push (config.CheckOutputURL has accepted it).
	URL string
	// Audio is the language's AAC track (media.AAC units); Video the
	// program's pictures (media.H264), nil when there are none.
	Audio, Video *media.Track[media.Unit]
	// Captions, when set, are the language's cues: final ones go out as
	// CEA-608 captions in the pictures (none without video).
	Captions *media.Track[media.Cue]
	// Clock times the backoff and the bitrate (default the system clock).
	Clock audio.Clock
	Log   *slog.Logger
	// FFmpeg runs SRT pushes (default "ffmpeg").
	FFmpeg string
	// Jitter returns a number in [0, 1) for the backoff's jitter (default
	// math/rand).
	Jitter func() float64
}

// Status is a push as the producer sees it. URL is redacted.
type Status struct {
	ID       string `json:"id"`
	Lang     string `json:"lang"`
	Name     string `json:"name,omitempty"`
	URL      string `json:"url"`
	Protocol string `json:"protocol"`
	State    string `json:"state"`
	// Since is when the push entered its state.
	Since time.Time `json:"since"`
	// Video is true while the connection carries the picture.
	Video bool `json:"video"`
	// BitrateBPS is what went out over the last seconds, in bits/s.
	BitrateBPS float64 `json:"bitrate_bps"`
	// Bytes counts every byte sent, all connections together.
	Bytes uint64 `json:"bytes"`
	// SentSeconds is the media time the connection has sent.
	SentSeconds float64 `json:"sent_seconds"`
	// Reconnects counts the connections made after the first.
	Reconnects uint64 `json:"reconnects"`
	// Dropped counts the frames its readers lost because it fell behind.
	Dropped uint64 `json:"dropped"`
	// Packets counts the RTP packets an SFU output sent (internal/sfu);
	// Errors the sends that failed. Pushes to platforms leave them 0.
	Packets   uint64 `json:"packets,omitempty"`
	Errors    uint64 `json:"errors,omitempty"`
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when the last error happened.
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
}

// Push is one output. Its methods are safe for concurrent use.
type Push struct {
	opts     Options
	redacted string
	protocol string

	mu      sync.Mutex
	cancel  context.CancelFunc // of the running goroutine, nil while stopped
	done    chan struct{}      // closed when it returns
	closed  bool
	state   string
	since   time.Time
	video   bool
	lastErr string
	errAt   time.Time
	rate    float64
	rateAt  time.Time
	rateB   uint64

	bytes      atomic.Uint64 // of the connections that have ended
	live       atomic.Pointer[conn]
	reconnects atomic.Uint64
	dropped    atomic.Uint64
	sentPTS    atomic.Int64 // media time sent on this connection, 48 kHz samples
	attempts   uint64       // connections made, only the goroutine touches it
}

// conn is one connection to the platform.
type conn interface {
	// writeVideo sends an access unit (NAL units) at its times since the
	// connection's start.
	writeVideo(pts, dts time.Duration, au [][]byte) error
	// writeAudio sends a raw AAC frame.
	writeAudio(pts time.Duration, frame []byte) error
	// sent counts the bytes written so far.
	sent() uint64
	close() error
}

// New makes a push, stopped; Start starts it.
func New(opts Options) (*Push, error) {
	if err := config.CheckOutputURL(opts.URL); err != nil {
		return nil, fmt.Errorf("push %s: %w", opts.ID, err)
	}
	if opts.Audio == nil {
		return nil, fmt.Errorf("push %s: no audio track", opts.ID)
	}
	if opts.Clock == nil {
		opts.Clock = audio.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.FFmpeg == "" {
		opts.FFmpeg = "ffmpeg"
	}
	if opts.Jitter == nil {
		opts.Jitter = rand.Float64
	}
	u, _ := url.Parse(opts.URL)
	p := &Push{opts: opts, redacted: config.Redact(opts.URL), protocol: u.Scheme, state: StateStopped,
		since: opts.Clock.Now()}
	p.opts.Log = opts.Log.With("push", opts.ID, "lang", opts.Lang, "url", p.redacted)
	return p, nil
}

// Start starts pushing; it does nothing if the push runs or is closed.
func (p *Push) Start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cancel != nil || p.closed {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	a := p.opts.Audio.Read("push "+p.opts.ID, audioQueue)
	var v *media.Reader[media.Unit]
	if p.opts.Video != nil {
		v = p.opts.Video.Read("push "+p.opts.ID, videoQueue)
	}
	var c *media.Reader[media.Cue]
	if p.opts.Captions != nil {
		c = p.opts.Captions.Read("push "+p.opts.ID, cueQueue)
	}
	p.setStateLocked(StateConnecting)
	go p.run(ctx, readers{a: a, v: v, c: c}, p.done)
}

// Stop stops pushing and waits until the connection is closed.
func (p *Push) Stop() {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.cancel = nil
	p.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
	p.mu.Lock()
	p.setStateLocked(StateStopped)
	p.video = false
	p.mu.Unlock()
}

// Close stops the push for good.
func (p *Push) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Stop()
}

// ID names the push.
func (p *Push) ID() string { return p.opts.ID }

// Status reads the push's state and counters.
func (p *Push) Status() Status {
	bytes := p.sentBytes()
	now := p.opts.Clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	// The bitrate is measured between status reads at least a second
	// apart, so it follows what the producer watches.
	if d := now.Sub(p.rateAt); d >= time.Second || p.rateAt.IsZero() {
		if !p.rateAt.IsZero() && bytes >= p.rateB {
			p.rate = float64(bytes-p.rateB) * 8 / d.Seconds()
		}
		p.rateAt, p.rateB = now, bytes
	}
	s := Status{ID: p.opts.ID, Lang: p.opts.Lang, Name: p.opts.Name, URL: p.redacted, Protocol: p.protocol,
		State: p.state, Since: p.since.UTC(), Video: p.video, Bytes: bytes, Reconnects: p.reconnects.Load(),
		Dropped: p.dropped.Load(), LastError: p.lastErr}
	if p.state == StateConnected {
		s.BitrateBPS = p.rate
		s.SentSeconds = float64(p.sentPTS.Load()) / audio.SampleRate
	}
	if !p.errAt.IsZero() {
		at := p.errAt.UTC()
		s.LastErrorAt = &at
	}
	return s
}

func (p *Push) sentBytes() uint64 {
	n := p.bytes.Load()
	if c := p.live.Load(); c != nil {
		n += (*c).sent()
	}
	return n
}

func (p *Push) setStateLocked(s string) {
	if p.state != s {
		p.state, p.since = s, p.opts.Clock.Now()
	}
}

func (p *Push) setState(s string, video bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setStateLocked(s)
	p.video = video
}

func (p *Push) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.setStateLocked(StateFailed)
	p.video = false
	p.lastErr = redactErr(err.Error(), p.opts.URL, p.redacted)
	p.errAt = p.opts.Clock.Now()
}

// errRestart asks for a new connection at once: the picture appeared on an
// audio-only connection, or its parameter sets changed.
var errRestart = errors.New("the picture changed")

// readers are a push's queues: the language's AAC, the program's
// pictures and the language's cues (v and c may be nil).
type readers struct {
	a, v *media.Reader[media.Unit]
	c    *media.Reader[media.Cue]
}

// cueC is the cue channel, nil (never ready) without captions.
func (r readers) cueC() chan media.Cue {
	if r.c == nil {
		return nil
	}
	return r.c.C
}

// run is the push's goroutine: connect, send, and after a failure wait
// out the backoff, until ctx ends. It detaches its readers on return.
func (p *Push) run(ctx context.Context, rd readers, done chan struct{}) {
	defer close(done)
	a, v := rd.a, rd.v
	defer func() {
		p.dropped.Add(a.Dropped())
		a.Close()
		if v != nil {
			p.dropped.Add(v.Dropped())
			v.Close()
		}
		if rd.c != nil {
			rd.c.Close()
		}
	}()
	backoff := minBackoff
	for ctx.Err() == nil {
		began := p.opts.Clock.Now()
		err := p.session(ctx, rd)
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, errRestart) {
			p.opts.Log.Info("push reconnects for the new picture")
			continue
		}
		if p.opts.Clock.Now().Sub(began) >= stableAfter {
			backoff = minBackoff
		}
		p.fail(err)
		wait := jittered(backoff, p.opts.Jitter())
		p.opts.Log.Warn("push failed; trying again", "err", p.lastError(), "in", wait)
		if !p.pause(ctx, wait, rd) {
			return
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

func (p *Push) lastError() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

// jittered spreads d by ±20 % so that pushes dropped together do not come
// back together.
func jittered(d time.Duration, r float64) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*r))
}

// pause waits d on the clock while throwing away what the readers bring:
// a push that comes back starts from the live edge.
func (p *Push) pause(ctx context.Context, d time.Duration, rd readers) bool {
	t := p.opts.Clock.NewTimer(d)
	defer t.Stop()
	a, vc, cc := rd.a, videoC(rd.v), rd.cueC()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-t.C():
			return true
		case _, ok := <-a.C:
			if !ok {
				return false
			}
		case _, ok := <-vc:
			if !ok {
				vc = nil
			}
		case _, ok := <-cc:
			if !ok {
				cc = nil
			}
		}
	}
}

func videoC(v *media.Reader[media.Unit]) chan media.Unit {
	if v == nil {
		return nil
	}
	return v.C
}

// redactErr takes the URL and its secrets out of an error's text,
// whatever form the library quoted them in.
func redactErr(s, raw, redacted string) string {
	s = strings.ReplaceAll(s, raw, redacted)
	u, err := url.Parse(raw)
	if err != nil {
		return s
	}
	secrets := []string{u.RawQuery, u.Fragment}
	if i := strings.LastIndex(u.Path, "/"); i >= 0 {
		secrets = append(secrets, u.Path[i+1:])
	}
	if u.User != nil {
		pw, _ := u.User.Password()
		secrets = append(secrets, pw)
	}
	for _, k := range secrets {
		if len(k) >= 4 {
			s = strings.ReplaceAll(s, k, "****")
		}
	}
	return s
}
