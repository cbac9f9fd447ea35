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
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/supervise"
)

// States of a push (internal/supervise's).
const (
	StateStopped    = supervise.StateStopped
	StateConnecting = supervise.StateConnecting
	StateConnected  = supervise.StateConnected
	StateFailed     = supervise.StateFailed
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
	loop     *supervise.Loop

	video   atomic.Bool   // the connection carries the picture
	bytes   atomic.Uint64 // of the connections that have ended
	live    atomic.Pointer[conn]
	dropped atomic.Uint64
	sentPTS atomic.Int64 // media time sent on this connection, 48 kHz samples
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
	u, _ := url.Parse(opts.URL)
	p := &Push{opts: opts, redacted: config.Redact(opts.URL), protocol: u.Scheme}
	p.opts.Log = opts.Log.With("push", opts.ID, "lang", opts.Lang, "url", p.redacted)
	p.loop = supervise.New(supervise.Options{Clock: opts.Clock, Log: p.opts.Log, Jitter: opts.Jitter,
		Redact: func(s string) string { return redactErr(s, opts.URL, p.redacted) }})
	return p, nil
}

// Start starts pushing; it does nothing if the push runs or is closed.
func (p *Push) Start() {
	p.loop.Start(func() supervise.Work {
		rd := readers{a: p.opts.Audio.Read("push "+p.opts.ID, audioQueue)}
		if p.opts.Video != nil {
			rd.v = p.opts.Video.Read("push "+p.opts.ID, videoQueue)
		}
		if p.opts.Captions != nil {
			rd.c = p.opts.Captions.Read("push "+p.opts.ID, cueQueue)
		}
		return &work{p: p, rd: rd}
	})
}

// Stop stops pushing and waits until the connection is closed.
func (p *Push) Stop() { p.loop.Stop() }

// Close stops the push for good.
func (p *Push) Close() { p.loop.Close() }

// ID names the push.
func (p *Push) ID() string { return p.opts.ID }

// Status reads the push's state and counters.
func (p *Push) Status() Status {
	bytes := p.sentBytes()
	r := p.loop.Report(bytes)
	s := Status{ID: p.opts.ID, Lang: p.opts.Lang, Name: p.opts.Name, URL: p.redacted, Protocol: p.protocol,
		State: r.State, Since: r.Since, Bytes: bytes, Reconnects: r.Reconnects, Dropped: p.dropped.Load(),
		BitrateBPS: r.BitrateBPS, LastError: r.LastError, LastErrorAt: r.LastErrorAt}
	if r.State == StateConnected {
		s.Video = p.video.Load()
		s.SentSeconds = float64(p.sentPTS.Load()) / audio.SampleRate
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

// errRestart asks for a new connection at once: the picture appeared on an
// audio-only connection, or its parameter sets changed.
var errRestart = fmt.Errorf("the picture changed: %w", supervise.ErrAgain)

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

// work is a running push: its readers, read by the loop's goroutine.
type work struct {
	p  *Push
	rd readers
}

func (w *work) Session(ctx context.Context) error {
	defer w.p.video.Store(false)
	return w.p.session(ctx, w.rd)
}

// Close detaches the readers, counting what they dropped.
func (w *work) Close() {
	w.p.dropped.Add(w.rd.a.Dropped())
	w.rd.a.Close()
	if w.rd.v != nil {
		w.p.dropped.Add(w.rd.v.Dropped())
		w.rd.v.Close()
	}
	if w.rd.c != nil {
		w.rd.c.Close()
	}
}

// Idle throws away what the readers bring: a push that comes back starts
// from the live edge.
func (w *work) Idle(ctx context.Context, wake <-chan time.Time) bool {
	a, vc, cc := w.rd.a, videoC(w.rd.v), w.rd.cueC()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-wake:
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
