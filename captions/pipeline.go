package captions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/text/language"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// CueSink stores final cues; the pipeline saves each one before publishing
// it, so a cue a viewer saw survives a restart.
type CueSink interface {
	SaveCue(ctx context.Context, event string, c Cue) error
}

// Health is what a stream reports of the work it does out of the pipeline's
// sight: audio its own queue dropped, and service sessions it reopened by
// itself (the Google backend). Its counts only grow.
type Health struct {
	// Dropped counts frames the stream's own queue could not take.
	Dropped uint64
	// Restarts counts the service sessions it replaced, planned or not.
	Restarts uint64
	// Errors counts sessions that failed; Stalls those of them that stopped
	// taking audio, Hangs those that took it but stopped answering.
	Errors, Stalls, Hangs uint64
	// LastError is the latest failure, nil before any.
	LastError error
}

// progressReporter is implemented by streams that work on the audio out of
// the pipeline's sight (their own queue and goroutine): Progress is the
// program time just after the last audio the recognizer has consumed (the
// decoder's count, not what its queue took), -1 before any. The pipeline
// restarts a stream whose progress stops while it is given audio.
type progressReporter interface{ Progress() int64 }

// healthReporter is implemented by streams with their own queue or their own
// recovery; the pipeline folds their counts into its own and logs each new
// failure.
type healthReporter interface{ Health() Health }

// PipelineStats is a snapshot of one language's caption pipeline.
type PipelineStats struct {
	// Backend is false when the language has no recognizer (no captions).
	Backend bool
	// Frames were given to a stream; Dropped found a queue full (the
	// pipeline's or the stream's own); Lost arrived while no stream was
	// running (the gaps).
	Frames, Dropped, Lost uint64
	// Restarts counts streams that ended or were abandoned and replaced,
	// and the service sessions a stream replaced by itself.
	Restarts uint64
	// Errors counts failures: streams that would not open, failed or hung,
	// service sessions that failed, and cues the sink refused.
	Errors uint64
	// Stalls counts service sessions that stopped taking audio.
	Stalls uint64
	// Hangs counts streams restarted because they stopped working: a Write
	// that did not return, a recognizer whose progress stopped while it was
	// given audio, or a service session that answered none of the sound it
	// was sent (also counted as errors and restarts).
	Hangs     uint64
	LastError string
	// Cues counts final cues published.
	Cues uint64
	// Running is true while a recognizer stream is open.
	Running bool
	// LastCue is the text of the latest final cue, LastCueAt when it was
	// published (zero before any).
	LastCue   string
	LastCueAt time.Time
	// LagMS is how far the latest final cue trailed the audio: the program
	// time of the last frame given to the stream, less the cue's end, when
	// the cue was published.
	LagMS float64
}

// Timing of the pipeline's supervision, in clock time.
const (
	queueFrames = 250 // 5 s of audio between the audio clock and the stream
	backoffMin  = 250 * time.Millisecond
	backoffMax  = 10 * time.Second
	// A Write that has not returned after writeHang, while hangAudio of
	// audio has queued behind it, means a hung stream. Both must hold: a
	// machine that stalled as a whole (the audio stopped coming too) is slow,
	// not hung.
	writeHang = 850 * time.Millisecond
	// hangAudio of audio given to a stream that reports its progress
	// (progressReporter) without the progress moving means a hung
	// recognizer: it took the audio but stopped working on it. Silence is
	// audio it works on too, so pauses never count, and a slow recognizer
	// still moves, however far behind it is.
	hangAudio = 850 * time.Millisecond
	// After a hang, the next stream's bound doubles (up to maxHangAudio)
	// until a stream has run hangForgiven of audio without one: a machine
	// so starved that its recognizer stalls would otherwise reload a decoder
	// (a second of CPU, 90 MB for PocketSphinx) every second, which starves
	// it further.
	maxHangAudio = 30 * time.Second
	hangForgiven = time.Minute
	// A stream that took workedAudio of audio worked, even if it said
	// nothing: its end does not back off the next one.
	workedAudio = 10 * time.Second
	// A stream that was given stallAudio of sound without saying anything
	// has stopped recognizing (silence does not count).
	stallAudio = 60 * time.Second
	// voicedRMS is the frame level (about -50 dBFS) above which audio counts
	// towards stallAudio.
	voicedRMS = 0.003
	// saveTimeout bounds one SaveCue, also while closing.
	saveTimeout = 5 * time.Second
)

// Pipeline is the live caption path of one language: audio frames go to a
// recognizer stream, results become cues, final cues are saved and then
// published with the partial line to subscribers. A stream that fails or
// hangs is replaced after a capped exponential backoff.
type Pipeline struct {
	event, lang string
	rec         Recognizer
	tag         language.Tag
	store       CueSink
	log         *slog.Logger
	clock       audio.Clock

	frames  chan audio.Frame
	out     *media.Track[Cue]
	builder *Builder

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	nFrames, dropped, lost, restarts, errs, cues, stalls, hangs atomic.Uint64
	hangRun                                                     int // hangs in a row; only run's goroutine touches it
	// writingSince is the clock time (UnixNano) a Write began, 0 between writes.
	writingSince atomic.Int64
	// voiced is the audio (in samples) of sound given to the stream since
	// its last result.
	voiced atomic.Int64
	// running is true while a stream is open; fed is the program time just
	// after the last frame given to it.
	running atomic.Bool
	fed     atomic.Int64

	mu        sync.Mutex
	lastErr   string
	seen      Health // the running stream's health as last folded in
	lastCue   string
	lastCueAt time.Time
	lagMS     float64
}

// NewPipeline starts the caption pipeline for one language of an event. lang
// labels the cues; tag is what the recognizer is asked for. A nil rec means
// the language has no captions: frames are ignored and Stats says so. store
// may be nil (cues are then only published).
func NewPipeline(event, lang string, rec Recognizer, tag language.Tag, store CueSink, log *slog.Logger, clock audio.Clock) *Pipeline {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if clock == nil {
		clock = audio.SystemClock{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pipeline{
		event: event, lang: lang, rec: rec, tag: tag, store: store,
		log:     log.With("event", event, "lang", lang),
		clock:   clock,
		frames:  make(chan audio.Frame, queueFrames),
		builder: NewBuilder(lang),
		out:     media.NewTrack[Cue](lang + "/cues"),
		ctx:     ctx, cancel: cancel,
	}
	if rec != nil {
		p.wg.Add(1)
		go p.run()
	}
	return p
}

// Write offers one frame to the recognizer. It never blocks: when the queue
// is full the frame is dropped and counted. The frame is queued as it is, not
// copied: the caller hands its samples over and must not change them (the
// mixer's and the voices' PCM subscriptions deliver a fresh copy per frame).
func (p *Pipeline) Write(f audio.Frame) {
	if p.rec == nil || p.ctx.Err() != nil {
		return
	}
	select {
	case p.frames <- f:
	default:
		p.dropped.Add(1)
	}
}

// Cues is the track of partial and final cues, on the program timeline; a
// reader that falls behind loses cues (counted).
func (p *Pipeline) Cues() *media.Track[Cue] { return p.out }

// Stats returns the pipeline's counters.
func (p *Pipeline) Stats() PipelineStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return PipelineStats{
		Backend: p.rec != nil,
		Frames:  p.nFrames.Load(), Dropped: p.dropped.Load(), Lost: p.lost.Load(),
		Restarts: p.restarts.Load(), Errors: p.errs.Load(), Stalls: p.stalls.Load(), Hangs: p.hangs.Load(), LastError: p.lastErr,
		Cues: p.cues.Load(), Running: p.running.Load(),
		LastCue: p.lastCue, LastCueAt: p.lastCueAt, LagMS: p.lagMS,
	}
}

// Close stops recognition, waits for the stream's last results to be saved
// and published, then closes every subscriber. It is safe to call twice.
func (p *Pipeline) Close() {
	p.once.Do(func() {
		p.cancel()
		p.wg.Wait()
		p.out.Close()
	})
}

// foldHealth adds what a self-recovering stream did since the last look to
// the pipeline's counters, logging a new failure.
func (p *Pipeline) foldHealth(st Stream) {
	hr, ok := st.(healthReporter)
	if !ok {
		return
	}
	h := hr.Health()
	p.mu.Lock()
	prev := p.seen
	p.seen = h
	if h.Errors > prev.Errors && h.LastError != nil {
		p.lastErr = h.LastError.Error()
	}
	p.mu.Unlock()
	p.dropped.Add(h.Dropped - min(prev.Dropped, h.Dropped))
	p.restarts.Add(h.Restarts - min(prev.Restarts, h.Restarts))
	p.stalls.Add(h.Stalls - min(prev.Stalls, h.Stalls))
	p.hangs.Add(h.Hangs - min(prev.Hangs, h.Hangs))
	if n := h.Errors - min(prev.Errors, h.Errors); n > 0 {
		p.errs.Add(n)
		p.log.Warn("captions: recognizer service failed; the stream reopens it", "err", h.LastError, "failures", h.Errors)
	}
}

func (p *Pipeline) fail(err error) {
	p.errs.Add(1)
	p.mu.Lock()
	p.lastErr = err.Error()
	p.mu.Unlock()
	p.log.Warn("captions: recognizer failed", "err", err)
}

// run supervises streams: open one, feed it until it ends, back off, repeat.
//
// The first restart after a stream that worked is immediate: a crash or a
// hang costs only the time to notice it and to open the next stream.
// Failures in a row back off from backoffMin, doubling up to backoffMax.
func (p *Pipeline) run() {
	defer p.wg.Done()
	var backoff time.Duration
	for {
		lostBefore := p.lost.Load()
		sctx, scancel := context.WithCancel(p.ctx)
		st, err := p.rec.NewStream(sctx, p.tag)
		if err != nil {
			scancel()
			if p.ctx.Err() != nil {
				return
			}
			p.fail(fmt.Errorf("open stream: %w", err))
		} else {
			healthy := p.session(st, scancel)
			if p.ctx.Err() != nil {
				return
			}
			p.restarts.Add(1)
			if healthy {
				backoff = 0
			}
		}
		if backoff > 0 && !p.pause(backoff) {
			return
		}
		backoff = min(max(2*backoff, backoffMin), backoffMax)
		if n := p.lost.Load() - lostBefore; n > 0 {
			p.log.Warn("captions: gap while the recognizer restarts",
				"lost", time.Duration(n)*audio.FrameDuration, "restarts", p.restarts.Load())
		}
	}
}

// pause waits d on the clock, discarding (and counting) the audio that
// arrives meanwhile; false means the pipeline is closing.
func (p *Pipeline) pause(d time.Duration) bool {
	t := p.clock.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return false
		case <-t.C():
			return true
		case <-p.frames:
			p.lost.Add(1)
		}
	}
}

// session feeds one stream until it ends, fails, hangs or the pipeline
// closes; healthy reports whether it produced any result or took
// workedAudio of audio.
func (p *Pipeline) session(st Stream, scancel context.CancelFunc) (healthy bool) {
	var once sync.Once
	var stopped atomic.Bool // by us: what the stream says next is not news
	stop := func() {
		once.Do(func() {
			stopped.Store(true)
			scancel()
			_ = st.Close()
		})
	}
	var got atomic.Bool
	done := make(chan struct{})
	p.voiced.Store(0)
	p.mu.Lock()
	p.seen = Health{}
	p.mu.Unlock()
	var given, givenAtProgress int64 // samples given to this stream
	go p.read(st, done, stop, &got)
	p.running.Store(true)
	pr, _ := st.(progressReporter)
	hangLimit := min(hangAudio<<min(p.hangRun, 8), maxHangAudio)
	lastProgress, progressAt := int64(-1), p.clock.Now()
	if pr != nil {
		lastProgress = pr.Progress()
	}
	defer func() {
		p.running.Store(false)
		stop()
		<-done
		p.foldHealth(st)
		// A stream that said something, or that took a while of audio
		// (silence says nothing), worked: its failure is not one in a row.
		healthy = got.Load() || given >= audio.Samples(workedAudio)
	}()
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-done:
			if stopped.Load() {
				return
			}
			err := errors.New("stream ended")
			if e, ok := st.(interface{ Err() error }); ok && e.Err() != nil {
				err = e.Err()
			}
			p.fail(err)
			return
		case f := <-p.frames:
			p.writingSince.Store(p.clock.Now().UnixNano())
			err := st.Write(f)
			p.writingSince.Store(0)
			if err != nil {
				p.lost.Add(1)
				if p.ctx.Err() == nil && !stopped.Load() {
					p.fail(fmt.Errorf("write: %w", err))
				}
				return
			}
			p.nFrames.Add(1)
			p.fed.Store(f.PTS + int64(len(f.Samples)))
			given += int64(len(f.Samples))
			if pr != nil {
				// Both the audio and the clock must have moved on: audio
				// that comes in a burst after the machine stalled is not
				// the recognizer's fault.
				if g := pr.Progress(); g != lastProgress {
					lastProgress, givenAtProgress, progressAt = g, given, p.clock.Now()
				} else if given-givenAtProgress >= audio.Samples(hangLimit) && p.clock.Now().Sub(progressAt) >= hangLimit {
					p.hangs.Add(1)
					p.hangRun++
					p.fail(fmt.Errorf("recognizer hung: no progress over %v of audio", hangLimit))
					return
				}
				if given >= audio.Samples(hangForgiven) {
					p.hangRun = 0
				}
			}
			if audio.RMS(f.Samples) > voicedRMS &&
				p.voiced.Add(int64(len(f.Samples))) > audio.Samples(stallAudio) {
				p.fail(fmt.Errorf("no result after %v of sound", stallAudio))
				return
			}
		}
	}
}

// read turns one stream's results into cues until Results closes; it also
// closes the stream when the pipeline closes or a Write does not return.
func (p *Pipeline) read(st Stream, done chan<- struct{}, stop func(), got *atomic.Bool) {
	defer close(done)
	live := false // a partial line with text is showing
	defer func() {
		if live { // the stream ended mid-sentence: clear the line
			p.out.Write(Cue{Lang: p.lang})
		}
	}()
	t := p.clock.NewTimer(writeHang / 4)
	defer t.Stop()
	closing := p.ctx.Done()
	for {
		select {
		case <-closing:
			// The feeder may be inside Write: closing the stream frees it,
			// and its last results are still read.
			closing = nil
			stop()
		case r, ok := <-st.Results():
			if !ok {
				return
			}
			got.Store(true)
			p.voiced.Store(0)
			live = p.handle(r)
		case now := <-t.C():
			p.foldHealth(st)
			if since := p.writingSince.Load(); since != 0 && now.Sub(time.Unix(0, since)) >= writeHang &&
				len(p.frames) >= int(hangAudio/audio.FrameDuration) {
				p.hangs.Add(1)
				p.fail(fmt.Errorf("write blocked for %v with %v of audio waiting", writeHang, hangAudio))
				stop()
			}
			t.Reset(writeHang / 4)
		}
	}
}

// handle builds, saves and publishes the cues of one result and reports
// whether a partial line with text is now showing.
func (p *Pipeline) handle(r Result) (live bool) {
	partial, finals := p.builder.Add(r)
	for _, c := range finals {
		if p.store != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), saveTimeout)
			err := p.store.SaveCue(ctx, p.event, c)
			cancel()
			if err != nil {
				// Viewers still get the cue; the gap in the store is reported.
				p.fail(fmt.Errorf("save cue: %w", err))
			}
		}
		p.cues.Add(1)
		p.mu.Lock()
		p.lastCue, p.lastCueAt = c.Text, p.clock.Now()
		p.lagMS = float64(max(p.fed.Load()-c.End, 0)) * 1000 / audio.SampleRate
		p.mu.Unlock()
		p.out.Write(c)
	}
	if partial != nil {
		p.out.Write(*partial)
		return partial.Text != ""
	}
	return false
}
