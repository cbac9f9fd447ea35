package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/captions/google"
	"tolk/captions/sphinx"
	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/web"
	"tolk/web/hls"
)

// captionLang is one language's captions: its live feed, its WebVTT
// rendition and, in a live event, the recognizer's pipeline that is the
// feed (nil in a rebroadcast, whose feed plays recorded cues).
type captionLang struct {
	feed     web.CaptionFeed
	pipeline *captions.Pipeline
	subs     *hls.Subtitles
}

// recognizers builds the backends the configuration asks for.
func recognizers(cfg *config.Event, tags []string, live *glossary.Live) (map[string]captions.Recognizer, error) {
	recs := map[string]captions.Recognizer{}
	need := map[string]bool{}
	for _, t := range tags {
		need[cfg.Captions.BackendFor(t)] = true
	}
	if need["sphinx"] {
		models := map[string]sphinx.ModelDir{}
		for k, m := range cfg.Captions.Models {
			models[config.Tag(k)] = sphinx.ModelDir{Acoustic: m.Acoustic, Dict: m.Dict, LM: m.LM}
		}
		r, err := sphinx.New(sphinx.Config{Models: models, Glossary: live})
		if err != nil {
			return nil, fmt.Errorf("captions: sphinx: %w", err)
		}
		recs["sphinx"] = r
	}
	if need["google"] {
		r, err := newGoogle(cfg.Captions.Google, live)
		if err != nil {
			return nil, fmt.Errorf("captions: google: %w", err)
		}
		recs["google"] = r
	}
	return recs, nil
}

// supports says whether rec can recognize tag (backends that cannot tell are
// assumed to).
func supports(rec captions.Recognizer, tag language.Tag) bool {
	l, ok := rec.(interface{ Languages() []language.Tag })
	if !ok {
		return true
	}
	base, _ := tag.Base()
	for _, t := range l.Languages() {
		if b, _ := t.Base(); b == base {
			return true
		}
	}
	return false
}

// newCaptions sets up a pipeline for every language whose backend can
// recognize it, and the WebVTT renditions listed in the master playlist.
func (e *Event) newCaptions(recs map[string]captions.Recognizer, sink captions.CueSink, hopts hls.Options) []hls.SubtitleRendition {
	var subs []hls.SubtitleRendition
	e.captions = map[string]*captionLang{}
	for _, r := range e.renditions {
		rec := recs[e.cfg.Captions.BackendFor(r.Tag)]
		tag := language.Make(r.Tag)
		if rec != nil && !supports(rec, tag) {
			e.log.Info("no captions: the backend has no model for this language", "lang", r.Tag)
			rec = nil
		}
		if rec == nil {
			continue
		}
		p := captions.NewPipeline(e.cfg.ID, r.Tag, rec, tag, sink, e.log, e.clock)
		e.captions[r.Tag] = &captionLang{feed: p, pipeline: p, subs: hls.NewSubtitles(hopts, e.timeline.Epoch)}
		subs = append(subs, hls.SubtitleRendition{ID: "cc-" + r.Tag, Name: r.Name, Language: r.Tag,
			Default: r.Floor, URI: "subs/" + r.Tag + "/index.m3u8"})
	}
	return subs
}

// CaptionFeed returns a language's live cues (partial and final), if it has captions.
func (e *Event) CaptionFeed(tag string) (web.CaptionFeed, bool) {
	c, ok := e.captions[tag]
	if !ok {
		return nil, false
	}
	return c.feed, true
}

// Subtitles returns a language's WebVTT rendition, if it has captions.
func (e *Event) Subtitles(tag string) (*hls.Subtitles, bool) {
	c, ok := e.captions[tag]
	if !ok {
		return nil, false
	}
	return c.subs, true
}

// CaptionRenditions lists the languages that have captions, the floor first.
func (e *Event) CaptionRenditions() []Rendition {
	var out []Rendition
	for _, r := range e.renditions {
		if _, ok := e.captions[r.Tag]; ok {
			out = append(out, r)
		}
	}
	return out
}

func (e *Event) advanceSubtitles(pts int64) {
	at := pts - audio.Samples(e.subDelay)
	if at <= 0 {
		return
	}
	for _, c := range e.captions {
		c.subs.Advance(at)
	}
}

func (e *Event) closeCaptions() {
	for _, c := range e.captions {
		if c.pipeline != nil {
			c.pipeline.Close()
		}
		// Publish what is left, then end the playlist.
		c.subs.Advance(max(e.timeline.Now(), 0) + audio.Samples(time.Duration(e.cfg.HLS.SegmentMS)*time.Millisecond))
		c.subs.Close()
	}
	for _, r := range e.recs {
		if c, ok := r.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// newGoogle opens Cloud Speech-to-Text with Application Default Credentials.
func newGoogle(g config.GoogleSpeech, live *glossary.Live) (captions.Recognizer, error) {
	return google.New(context.Background(), google.Config{Endpoint: g.Endpoint, Model: g.Model, Punctuation: true, Glossary: live})
}

// recordingClock is a cue sink that also knows when an event's recording
// began (*store.Store is one): the wall-clock time of program time zero of
// the event's first run, fixed by the first run that asks.
type recordingClock interface {
	RecordingStart(ctx context.Context, event string, epoch time.Time) (time.Time, error)
}

// recordingSink saves cues in recording time, so that a run after a restart
// continues the stored recording: every run's program time starts at zero,
// and the cues of two runs would otherwise overwrite and interleave. Live
// outputs (WebSocket, WebVTT) keep the run's program time.
type recordingSink struct {
	sink  captions.CueSink
	clock recordingClock
	epoch func() (time.Time, bool)
	log   *slog.Logger

	mu     sync.Mutex
	known  bool
	offset int64 // samples from the recording's start to this run's program time zero
}

// SaveCue saves c shifted by this run's offset in the recording. The offset
// is resolved at the first cue and kept. Until it is resolved, cues are
// refused with an error (the pipeline logs and counts it, and viewers still
// get the cue): saved at offset 0 instead, a later run's cues would replace
// the stored cues of the first run that share a start.
func (s *recordingSink) SaveCue(ctx context.Context, event string, c captions.Cue) error {
	off, err := s.offsetOf(ctx, event)
	if err != nil {
		return err
	}
	c.Start += off
	c.End += off
	return s.sink.SaveCue(ctx, event, c)
}

func (s *recordingSink) offsetOf(ctx context.Context, event string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.known {
		return s.offset, nil
	}
	epoch, ok := s.epoch()
	if !ok {
		return 0, errors.New("recording time: program time zero is not fixed yet")
	}
	first, err := s.clock.RecordingStart(ctx, event, epoch)
	if err != nil {
		return 0, fmt.Errorf("recording time: %w", err)
	}
	d := epoch.Sub(first)
	if d < 0 {
		return 0, fmt.Errorf("recording time: this run began at %s, before the recording did (%s): was the wall clock set back?",
			epoch.UTC().Format(time.RFC3339Nano), first.UTC().Format(time.RFC3339Nano))
	}
	s.offset, s.known = audio.Samples(d), true
	if d > 0 {
		s.log.Info("captions continue the recording", "recording_start", first.UTC(), "offset", d)
	}
	return s.offset, nil
}

// noSink stands in for the cue store when an event runs without one (tests).
type noSink struct{}

func (noSink) SaveCue(context.Context, string, captions.Cue) error { return nil }

// Glossary is the event's live vocabulary, which the producer console
// edits; nil in a rebroadcast, which recognizes nothing.
func (e *Event) Glossary() *glossary.Live { return e.glossary }
