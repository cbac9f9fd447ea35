package event

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/captions/google"
	"tolk/captions/sphinx"
	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/internal/fanout"
	"tolk/web/hls"
)

// subtitleDelay is how far the WebVTT renditions trail the audio: a cue is
// settled up to 7 s (its longest) plus the recognizer's lag after it starts,
// and published segments never change.
const subtitleDelay = 10 * time.Second

// captionLang is one language's captions: its pipeline and its WebVTT rendition.
type captionLang struct {
	tag      string
	pipeline *captions.Pipeline
	subs     *hls.Subtitles
	source   *fanout.Sub[audio.Frame] // the clean audio recognized
}

// recognizers builds the backends the configuration asks for.
func recognizers(cfg *config.Event, tags []string) (map[string]captions.Recognizer, error) {
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
		r, err := sphinx.New(sphinx.Config{Models: models})
		if err != nil {
			return nil, fmt.Errorf("captions: sphinx: %w", err)
		}
		recs["sphinx"] = r
	}
	if need["google"] {
		r, err := newGoogle(cfg.Captions.Google)
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
		c := &captionLang{tag: r.Tag,
			pipeline: captions.NewPipeline(e.cfg.ID, r.Tag, rec, tag, sink, e.log, e.clock)}
		c.subs = hls.NewSubtitles(hopts, func() (time.Time, bool) {
			if e.hls == nil { // not built yet
				return time.Time{}, false
			}
			return e.hls.Epoch()
		})
		e.captions[r.Tag] = c
		subs = append(subs, hls.SubtitleRendition{ID: "cc-" + r.Tag, Name: r.Name, Language: r.Tag,
			Default: r.Floor, URI: "subs/" + r.Tag + "/index.m3u8"})
	}
	return subs
}

// startCaptions connects each pipeline to its clean audio (the floor, or the
// booth's voice, never the mix) and its cues to the WebVTT rendition.
func (e *Event) startCaptions() {
	for tag, c := range e.captions {
		if v, ok := e.voices[tag]; ok {
			c.source = v.SubscribePCM(250)
		} else {
			c.source = e.mixes[tag].SubscribePCM(250)
		}
		e.outputs.Add(2)
		go func() { // ends when the source hub closes
			defer e.outputs.Done()
			for f := range c.source.C {
				c.pipeline.Write(f)
			}
		}()
		cues := c.pipeline.Subscribe(64)
		go func() { // ends when the pipeline closes
			defer e.outputs.Done()
			for cue := range cues.C {
				if cue.Final {
					c.subs.Add(cue.Start, cue.End, cue.Text)
				}
			}
		}()
	}
}

// CaptionFeed returns a language's live cues (partial and final), if it has captions.
func (e *Event) CaptionFeed(tag string) (*captions.Pipeline, bool) {
	c, ok := e.captions[tag]
	if !ok {
		return nil, false
	}
	return c.pipeline, true
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
		c.pipeline.Close()
		// Publish what is left, then end the playlist.
		c.subs.Advance(e.lastPTS.Load() + audio.Samples(time.Duration(e.cfg.HLS.SegmentMS)*time.Millisecond))
		c.subs.Close()
	}
	for _, r := range e.recs {
		if c, ok := r.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// newGoogle opens Cloud Speech-to-Text with Application Default Credentials.
func newGoogle(g config.GoogleSpeech) (captions.Recognizer, error) {
	return google.New(context.Background(), google.Config{Endpoint: g.Endpoint, Model: g.Model, Punctuation: true})
}

// noSink stands in for the cue store when an event runs without one (tests).
type noSink struct{}

func (noSink) SaveCue(context.Context, string, captions.Cue) error { return nil }
