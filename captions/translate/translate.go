// Package translate makes machine-translated captions: the floor's settled
// cues, translated into a language that has no captions of its own (no
// interpreter, or a producer's choice), with the timing of the cues they
// translate. A bounded queue stands between the floor's captions and the
// translation service, so a slow or failing service drops cues (counted)
// and never holds up the floor.
package translate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/internal/audio"
	"tolk/internal/media"
)

// Request is one call to a translation service: texts in one language to
// another, in order.
type Request struct {
	// Source and Target are BCP 47 tags.
	Source, Target string
	Texts          []string
	// HTML says the texts are HTML: spans marked translate="no" (glossary
	// terms) are to be kept as they are, and entities stand for characters.
	HTML bool
}

// Translator translates a batch of texts; the answer has one text per text
// asked, in order. *Cloud is one.
type Translator interface {
	Translate(ctx context.Context, req Request) ([]string, error)
}

// Source is the captions that are translated: the floor's pipeline
// (*captions.Pipeline) is one.
type Source interface {
	Cues() *media.Track[captions.Cue]
	Stats() captions.PipelineStats
}

// Config sets up a Feed. Zero values take the defaults given.
type Config struct {
	// Event and Target label the cues saved and published; From is the
	// source's language. Tags are BCP 47.
	Event, From, Target string
	Source              Source
	Translator          Translator
	// Sink stores the translated cues, as a recognizer's pipeline does;
	// nil publishes them only.
	Sink captions.CueSink
	// Glossary's terms and speaker names are sent as text not to translate.
	Glossary *glossary.Live
	Clock    audio.Clock
	Log      *slog.Logger

	// Queue is how many settled cues may wait for the service (32, about
	// a minute and a half of speech); more are dropped and counted.
	Queue int
	// Batch is the most waiting cues sent in one request (8): a service
	// that fell behind catches up in fewer round trips.
	Batch int
	// Attempts is how often a request is tried before its cues are given up
	// (3); Timeout bounds each try (5 s).
	Attempts int
	Timeout  time.Duration
	// BackoffMin and BackoffMax bound the wait between tries (250 ms
	// doubling up to 2 s).
	BackoffMin, BackoffMax time.Duration
	// Drain bounds Close's wait for the cues still queued (2 s).
	Drain time.Duration
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = audio.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	pos := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	pos(&c.Queue, 32)
	pos(&c.Batch, 8)
	pos(&c.Attempts, 3)
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 5*time.Second)
	def(&c.BackoffMin, 250*time.Millisecond)
	def(&c.BackoffMax, 2*time.Second)
	def(&c.Drain, 2*time.Second)
}

// sourceQueue is the feed's reader on the source track: it takes partial
// lines too, which are skipped at once, so it only overflows when the
// machine stalls (counted as dropped).
const sourceQueue = 256

// saveTimeout bounds one SaveCue, also while closing.
const saveTimeout = 5 * time.Second

// job is a settled source cue and when it arrived.
type job struct {
	cue captions.Cue
	at  time.Time
}

// Feed is one language's machine-translated captions. It implements the
// web package's caption feed: Cues and Stats.
type Feed struct {
	cfg   Config
	src   *media.Reader[captions.Cue]
	queue chan job
	out   *media.Track[captions.Cue]

	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{} // the worker ended
	readers sync.WaitGroup
	once    sync.Once

	cues, dropped, errs, retries, requests atomic.Uint64
	closed                                 atomic.Bool

	mu        sync.Mutex
	lastErr   string
	lastCue   string
	lastCueAt time.Time
	addedMS   float64 // queue wait and round trip of the latest cue
	rttMS     float64 // the latest successful request's round trip
}

// New starts translating cfg.Source's settled cues into cfg.Target.
func New(cfg Config) (*Feed, error) {
	cfg.defaults()
	if cfg.Source == nil || cfg.Translator == nil {
		return nil, errors.New("translate: a source and a translator are needed")
	}
	if cfg.From == "" || cfg.Target == "" {
		return nil, errors.New("translate: source and target languages are needed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Feed{
		cfg:   cfg,
		src:   cfg.Source.Cues().Read("translate "+cfg.Target, sourceQueue),
		queue: make(chan job, cfg.Queue),
		out:   media.NewTrack[captions.Cue](cfg.Target + "/cues"),
		ctx:   ctx, cancel: cancel,
		done: make(chan struct{}),
	}
	f.cfg.Log = cfg.Log.With("event", cfg.Event, "lang", cfg.Target, "from", cfg.From)
	f.readers.Add(1)
	go f.read()
	go f.work()
	return f, nil
}

// Cues is the track of translated cues; every one is final (a translation
// of a partial line would change word order under the viewer's eyes).
func (f *Feed) Cues() *media.Track[captions.Cue] { return f.out }

// Stats reports the feed in a caption pipeline's terms: Cues published,
// Dropped (queue full), Errors (requests given up, cues the sink refused),
// Restarts (tries after a failure) and LagMS, the source's lag plus the
// time the latest cue waited and was translated.
func (f *Feed) Stats() captions.PipelineStats {
	src := f.cfg.Source.Stats()
	f.mu.Lock()
	defer f.mu.Unlock()
	return captions.PipelineStats{
		Backend: true, Running: !f.closed.Load(),
		Dropped: f.dropped.Load() + f.src.Dropped(), Errors: f.errs.Load(), Restarts: f.retries.Load(),
		LastError: f.lastErr, Cues: f.cues.Load(), LastCue: f.lastCue, LastCueAt: f.lastCueAt,
		LagMS: src.LagMS + f.addedMS,
	}
}

// RoundTrip is the latest successful request's round trip.
func (f *Feed) RoundTrip() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Duration(f.rttMS * float64(time.Millisecond))
}

// Requests counts the requests sent, tries included.
func (f *Feed) Requests() uint64 { return f.requests.Load() }

// Close stops taking cues, gives the ones still queued up to Drain to be
// translated (the rest are dropped and counted), then closes the track.
// It is safe to call twice.
func (f *Feed) Close() {
	f.once.Do(func() {
		f.closed.Store(true)
		f.src.Close() // what it holds is still read
		t := f.cfg.Clock.NewTimer(f.cfg.Drain)
		select {
		case <-f.done:
		case <-t.C():
			f.cancel()
			<-f.done
		}
		t.Stop()
		f.readers.Wait()
		f.cancel()
		f.out.Close()
	})
}

// read moves settled source cues to the queue, dropping what it cannot take.
func (f *Feed) read() {
	defer f.readers.Done()
	defer close(f.queue)
	for c := range f.src.C {
		if !c.Final || strings.TrimSpace(c.Text) == "" {
			continue
		}
		select {
		case f.queue <- job{cue: c, at: f.cfg.Clock.Now()}:
		default:
			f.dropped.Add(1)
		}
	}
}

// work translates the queue in order, a batch of waiting cues at a time.
func (f *Feed) work() {
	defer close(f.done)
	for j := range f.queue {
		batch := []job{j}
	more:
		for len(batch) < f.cfg.Batch {
			select {
			case j, ok := <-f.queue:
				if !ok {
					break more
				}
				batch = append(batch, j)
			default:
				break more
			}
		}
		if f.ctx.Err() != nil {
			f.dropped.Add(uint64(len(batch)))
			continue
		}
		f.translate(batch)
	}
}

// translate sends one batch, with retries, and publishes its cues.
func (f *Feed) translate(batch []job) {
	var terms []string
	if f.cfg.Glossary != nil {
		g, _ := f.cfg.Glossary.Get()
		terms = g.Phrases()
	}
	texts := make([]string, len(batch))
	html := false
	for i, j := range batch {
		// Lines of a cue are one sentence to the service: the line
		// breaks of the source do not fit the translation.
		texts[i] = strings.Join(strings.Fields(j.cue.Text), " ")
		if p, ok := Protect(texts[i], terms); ok {
			texts[i], html = p, true
		}
	}
	if html {
		for i := range texts {
			if !strings.Contains(texts[i], noTranslateOpen) {
				texts[i] = escape(texts[i])
			}
		}
	}
	req := Request{Source: f.cfg.From, Target: f.cfg.Target, Texts: texts, HTML: html}
	got, err := f.call(req)
	if err != nil {
		f.errs.Add(1)
		f.dropped.Add(uint64(len(batch)))
		f.mu.Lock()
		f.lastErr = err.Error()
		f.mu.Unlock()
		if f.ctx.Err() == nil {
			f.cfg.Log.Warn("captions: translation failed; cues dropped", "err", err, "cues", len(batch))
		}
		return
	}
	for i, j := range batch {
		text := got[i]
		if html {
			text = Unprotect(text)
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		c := captions.Cue{Lang: f.cfg.Target, Start: j.cue.Start, End: j.cue.End, Text: text, Final: true, MachineTranslated: true}
		if f.cfg.Sink != nil {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(f.ctx), saveTimeout)
			err := f.cfg.Sink.SaveCue(ctx, f.cfg.Event, c)
			cancel()
			if err != nil {
				// Viewers still get the cue; the gap in the store is reported.
				f.errs.Add(1)
				f.mu.Lock()
				f.lastErr = fmt.Sprintf("save cue: %v", err)
				f.mu.Unlock()
			}
		}
		now := f.cfg.Clock.Now()
		f.cues.Add(1)
		f.mu.Lock()
		f.lastCue, f.lastCueAt = c.Text, now
		f.addedMS = float64(now.Sub(j.at)) / float64(time.Millisecond)
		f.mu.Unlock()
		f.out.Write(c)
	}
}

// call tries req up to Attempts times, backing off between tries.
func (f *Feed) call(req Request) ([]string, error) {
	backoff := f.cfg.BackoffMin
	var err error
	for try := range f.cfg.Attempts {
		if try > 0 {
			f.retries.Add(1)
			t := f.cfg.Clock.NewTimer(backoff)
			select {
			case <-f.ctx.Done():
				t.Stop()
				return nil, fmt.Errorf("translate: %w (closing)", err)
			case <-t.C():
			}
			backoff = min(2*backoff, f.cfg.BackoffMax)
		}
		f.requests.Add(1)
		start := f.cfg.Clock.Now()
		ctx, cancel := context.WithTimeout(f.ctx, f.cfg.Timeout)
		var got []string
		got, err = f.cfg.Translator.Translate(ctx, req)
		cancel()
		if err == nil && len(got) != len(req.Texts) {
			err = fmt.Errorf("%d translations for %d texts", len(got), len(req.Texts))
		}
		if err == nil {
			f.mu.Lock()
			f.rttMS = float64(f.cfg.Clock.Now().Sub(start)) / float64(time.Millisecond)
			f.mu.Unlock()
			return got, nil
		}
		err = fmt.Errorf("translate to %s: %w", req.Target, err)
		if f.ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}
