package event

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"tolk/captions"
	"tolk/captions/translate"
	"tolk/internal/audio"
	"tolk/internal/media"
)

// fallbackLookBack is how long before a translated cue no interpreter may
// have been on air for it to be shown: a cough or a short handover gap
// inside an interpretation does not let the floor's translation in.
const fallbackLookBack = 3 * time.Second

// fallbackFeed is an interpreted language's captions with the fallback
// captions.fallback: translate: the interpreter's recognized cues, and the
// floor's machine-translated cues for the times nobody was on air in the
// language's mix (an empty booth, a break, a muted booth, a cut link).
// Translated cues of times someone was on air are held back from viewers
// and the store alike.
type fallbackFeed struct {
	voice *captions.Pipeline
	mt    *translate.Feed
	// allow says whether a translated cue may be shown.
	allow  func(captions.Cue) bool
	out    *media.Track[captions.Cue]
	vr, mr *media.Reader[captions.Cue]
	done   chan struct{}

	passed, held atomic.Uint64
	mu           sync.Mutex
	lastCue      string
	lastCueAt    time.Time
}

// newFallbackFeed starts merging voice's cues and mt's; it ends when both
// tracks have closed.
func newFallbackFeed(lang string, voice *captions.Pipeline, mt *translate.Feed, allow func(captions.Cue) bool) *fallbackFeed {
	f := &fallbackFeed{voice: voice, mt: mt, allow: allow, out: media.NewTrack[captions.Cue](lang + "/captions"),
		vr: voice.Cues().Read("fallback", cueQueue), mr: mt.Cues().Read("fallback", cueQueue), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *fallbackFeed) run() {
	defer close(f.done)
	defer f.out.Close()
	vc, mc := f.vr.C, f.mr.C
	for vc != nil || mc != nil {
		select {
		case c, ok := <-vc:
			if !ok {
				vc = nil
				continue
			}
			f.out.Write(c)
		case c, ok := <-mc:
			if !ok {
				mc = nil
				continue
			}
			if !f.allow(c) {
				f.held.Add(1)
				continue
			}
			f.passed.Add(1)
			f.mu.Lock()
			f.lastCue, f.lastCueAt = c.Text, time.Now()
			f.mu.Unlock()
			f.out.Write(c)
		}
	}
}

// wait waits until both sources have closed and the last cue is out.
func (f *fallbackFeed) wait() { <-f.done }

// Cues implements web.CaptionFeed.
func (f *fallbackFeed) Cues() *media.Track[captions.Cue] { return f.out }

// Stats are the recognizer's, with the translated cues shown counted in
// and the translation's errors and drops added.
func (f *fallbackFeed) Stats() captions.PipelineStats {
	s, m := f.voice.Stats(), f.mt.Stats()
	s.Cues += f.passed.Load()
	s.Errors += m.Errors
	s.Dropped += m.Dropped
	f.mu.Lock()
	if f.lastCueAt.After(s.LastCueAt) {
		s.LastCue, s.LastCueAt = f.lastCue, f.lastCueAt
	}
	f.mu.Unlock()
	if s.LastError == "" {
		s.LastError = m.LastError
	}
	return s
}

// Fallback counts the translated cues shown and those held back because
// an interpreter was on air.
func (f *fallbackFeed) Fallback() (shown, held uint64) { return f.passed.Load(), f.held.Load() }

// gatedSink saves only the cues allow lets through.
type gatedSink struct {
	sink  captions.CueSink
	allow func(captions.Cue) bool
}

func (g gatedSink) SaveCue(ctx context.Context, event string, c captions.Cue) error {
	if !g.allow(c) {
		return nil
	}
	return g.sink.SaveCue(ctx, event, c)
}

// noVoiceFor is the fallback's rule for a language's mix: a translated cue
// is shown when no voice was in the mix from fallbackLookBack before it
// to its end.
func noVoiceFor(m interface{ VoiceIn(from, to int64) bool }) func(captions.Cue) bool {
	back := audio.Samples(fallbackLookBack)
	return func(c captions.Cue) bool { return !m.VoiceIn(c.Start-back, c.End) }
}
