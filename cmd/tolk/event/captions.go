package event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/captions/google"
	"tolk/captions/sphinx"
	"tolk/captions/translate"
	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/locales"
	"tolk/web"
	"tolk/web/hls"
)

// captionLang is one language's captions: its live feed, its WebVTT
// rendition and, in a live event, the recognizer's pipeline that is the
// feed (nil in a rebroadcast, whose feed plays recorded cues, and in a
// translated language, whose feed is mt).
type captionLang struct {
	feed     web.CaptionFeed
	pipeline *captions.Pipeline
	mt       *translate.Feed
	// fallback, with pipeline and mt, is an interpreted language's feed
	// when captions.fallback is translate (fallback.go).
	fallback *fallbackFeed
	subs     *hls.Subtitles
}

// recognizers builds the backends the configuration asks for.
func recognizers(cfg *config.Event, tags []string, live *glossary.Live) (map[string]captions.Recognizer, error) {
	recs := map[string]captions.Recognizer{}
	need := map[string]bool{}
	for _, t := range tags {
		if !cfg.Captions.Translated(t) { // translated from the floor's captions
			need[cfg.Captions.BackendFor(t)] = true
		}
	}
	if need["sphinx"] {
		models := map[string]sphinx.ModelDir{}
		for k, m := range cfg.Captions.Models {
			models[config.Tag(k)] = sphinx.ModelDir{Acoustic: m.Acoustic, Dict: m.Dict, LM: m.LM}
		}
		r, err := sphinx.New(sphinx.Config{Models: models, Glossary: live, NoDenoise: !cfg.Captions.DenoiseOn()})
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
// recognize it, a translation of the floor's captions for every language
// whose backend is translate, and the WebVTT renditions listed in the master
// playlist.
func (e *Event) newCaptions(recs map[string]captions.Recognizer, tr translate.Translator, sink captions.CueSink, hopts hls.Options) []hls.SubtitleRendition {
	var subs []hls.SubtitleRendition
	e.captions = map[string]*captionLang{}
	floor := e.renditions[0]
	for i, r := range e.captionRends {
		c := &captionLang{subs: hls.NewSubtitles(hopts, e.timeline.Epoch)}
		if e.cfg.Captions.Translated(r.Tag) {
			fp := e.captions[floor.Tag]
			if fp == nil || fp.pipeline == nil || tr == nil {
				e.log.Info("no captions: translated captions need the floor's", "lang", r.Tag)
				continue
			}
			mt, err := translate.New(translate.Config{Event: e.cfg.ID, From: floor.Tag, Target: r.Tag,
				Source: fp.pipeline, Translator: tr, Sink: sink, Glossary: e.glossary, Clock: e.clock, Log: e.log})
			if err != nil {
				e.log.Warn("no captions: translation", "lang", r.Tag, "err", err)
				continue
			}
			c.feed, c.mt = mt, mt
			e.markTranslated(i)
			r = e.captionRends[i]
		} else {
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
			c.feed, c.pipeline = p, p
			if fp := e.captions[floor.Tag]; !r.Floor && e.cfg.Captions.Fallback == "translate" && tr != nil && fp != nil && fp.pipeline != nil {
				allow := noVoiceFor(e.mixes[r.Tag])
				mt, err := translate.New(translate.Config{Event: e.cfg.ID, From: floor.Tag, Target: r.Tag,
					Source: fp.pipeline, Translator: tr, Sink: gatedSink{sink: sink, allow: allow}, Glossary: e.glossary,
					Clock: e.clock, Log: e.log})
				if err != nil {
					e.log.Warn("no fallback captions: translation", "lang", r.Tag, "err", err)
				} else {
					c.mt, c.fallback = mt, newFallbackFeed(r.Tag, p, mt, allow)
					c.feed = c.fallback
				}
			}
		}
		e.captions[r.Tag] = c
		subs = append(subs, hls.SubtitleRendition{ID: "cc-" + r.Tag, Name: captionName(r), Language: r.Tag,
			Default: r.Floor, URI: "subs/" + r.Tag + "/index.m3u8"})
	}
	return subs
}

// markTranslated marks captionRends[i], and the audio rendition of the same
// language if it has one, as machine-translated.
func (e *Event) markTranslated(i int) {
	e.captionRends[i].MachineTranslated = true
	if i < len(e.renditions) {
		e.renditions[i].MachineTranslated = true
	}
}

// captionName is what players show for a language's captions: its name,
// and for machine translation a note in that language (a viewer who picks
// French captions reads French).
func captionName(r Rendition) string {
	if !r.MachineTranslated {
		return r.Name
	}
	return strings.ReplaceAll(locales.Catalog(r.Tag)["captions.machine_translation"], "{name}", r.Name)
}

// translated reports whether a language of the event has translated captions.
func (e *Event) translated() bool {
	if e.cfg.Captions.Fallback == "translate" && len(e.renditions) > 1 {
		return true
	}
	for _, r := range e.captionRends {
		if e.cfg.Captions.Translated(r.Tag) {
			return true
		}
	}
	return false
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

// CaptionRenditions lists the languages that have captions, the floor
// first, those without audio last.
func (e *Event) CaptionRenditions() []Rendition {
	var out []Rendition
	for _, r := range e.captionRends {
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
	}
	// After the floor's pipeline, whose last cues they still translate.
	for _, c := range e.captions {
		if c.mt != nil {
			c.mt.Close()
		}
	}
	for _, c := range e.captions {
		if c.fallback != nil {
			c.fallback.wait()
		}
	}
	if e.translator != nil {
		_ = e.translator.Close()
	}
	for _, c := range e.captions {
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

// newCloudTranslate opens Cloud Translation with Application Default
// Credentials.
func newCloudTranslate(t config.CloudTranslate) (*translate.Cloud, error) {
	cl, err := translate.NewCloud(context.Background(), translate.CloudConfig{Project: t.Project, Location: t.Location,
		Model: t.Model, Endpoint: t.Endpoint})
	if err != nil {
		return nil, fmt.Errorf("captions: translate: %w", err)
	}
	return cl, nil
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
