package event

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/replay"
	"tolk/web"
	"tolk/web/hls"
)

// A rebroadcast (floor: {source: "replay:EVENT/RUN"}) plays a recorded run
// out again as a live event: every language's packet track and every
// captioned language's cue track are a replay.Player's, fed from the run,
// in place of the mixes and the recognizers; every output (LL-HLS, WebVTT,
// WHEP, the live captions) attaches to them as it does to a live event's.
//
// It is a program of its own, not a run of the original: its timeline
// starts at zero at its start (a new epoch), it is not recorded (the run
// it plays is) and it saves no cues, so the original's recording, its
// stored and edited cues and its replay stay as they were. It may run
// under the original's id (replay:RUN: the repeat on the same watch page)
// or under an id of its own (replay:EVENT/RUN).

// ErrRebroadcast marks what is wrong with the run a rebroadcast names: an
// unknown run, a run still being recorded, languages the configuration
// gives that are not the run's. The CLI reports it as bad input.
var ErrRebroadcast = errors.New("rebroadcast")

// cueReader reads an event's stored cues in recording time (*store.Store):
// a rebroadcast plays the original's edited cues from it.
type cueReader interface {
	Cues(ctx context.Context, event, lang string, from, to int64) ([]media.Cue, error)
}

// openRebroadcast finds and opens the run a rebroadcast plays, takes its
// languages (and its title, if the configuration has none) into the
// event's configuration and builds the player, the HLS renditions and the
// caption feeds.
func (e *Event) openRebroadcast(srcEvent, runID string, opts Options) error {
	lib := opts.Recordings
	if lib == nil {
		return fmt.Errorf("%w: no recordings to play (the data directory's are needed)", ErrRebroadcast)
	}
	src := srcEvent + "/" + runID
	// A run a killed process left is finalised as a restart of its own
	// event would; runs being recorded are left alone.
	if _, err := lib.Recover(srcEvent); err != nil {
		e.log.Warn("recordings", "event", srcEvent, "err", err)
	}
	runs, err := lib.Runs(srcEvent)
	if err != nil {
		return fmt.Errorf("%w: recordings of %q: %v", ErrRebroadcast, srcEvent, err)
	}
	i := slices.IndexFunc(runs, func(r recording.Run) bool { return r.ID == runID })
	switch {
	case i < 0 && len(runs) == 0:
		return fmt.Errorf("%w: no recorded run %s: event %q has no recorded runs under %s", ErrRebroadcast, src, srcEvent, lib.Root())
	case i < 0:
		var ids []string
		for _, r := range runs[max(len(runs)-5, 0):] {
			ids = append(ids, r.ID)
		}
		return fmt.Errorf("%w: no recorded run %s (event %q has %d; the latest: %s)", ErrRebroadcast, src, srcEvent,
			len(runs), strings.Join(ids, ", "))
	case runs[i].Live:
		return fmt.Errorf("%w: run %s is still being recorded: rebroadcast it once it has ended", ErrRebroadcast, src)
	}
	rd, err := lib.Open(srcEvent, runID)
	if err != nil {
		return fmt.Errorf("%w: run %s cannot be read: %v", ErrRebroadcast, src, err)
	}
	e.replayRun = rd
	e.rebroadcast = src
	po := replay.Options{Run: rd, Clock: e.clock, Timeline: e.timeline, Loop: e.cfg.Floor.Loop,
		OnTick: e.advanceSubtitles, Log: e.log.With("rebroadcast", src)}
	if at, ok := e.cfg.Floor.StartTime(); ok {
		po.Start = at
	}
	if cr, ok := opts.Cues.(cueReader); ok {
		// The store's cues are in the original's recording time: the
		// run's program time plus its offset.
		off := rd.Meta().Offset
		po.Cues = func(ctx context.Context, lang string, from, to int64) ([]media.Cue, error) {
			cs, err := cr.Cues(ctx, srcEvent, lang, from+off, to+off)
			for i := range cs {
				cs[i].Start -= off
				cs[i].End -= off
			}
			return cs, err
		}
	}
	p, err := replay.New(po)
	if err != nil {
		return fmt.Errorf("%w: run %s: %v", ErrRebroadcast, src, err)
	}
	e.player = p
	if err := e.takeLanguages(src, p.Languages()); err != nil {
		return err
	}
	if e.cfg.Title == "" {
		e.cfg.Title = rd.Meta().Title
	}
	return nil
}

// takeLanguages makes the run's languages the event's. The configuration
// may leave them out; the languages it gives must be the run's (a name it
// gives replaces the recorded one).
func (e *Event) takeLanguages(src string, tracks []recording.Track) error {
	cfg := e.cfg
	var have, want []string
	for _, t := range tracks {
		have = append(have, t.Lang)
	}
	if cfg.Floor.Language != "" || len(cfg.Languages) > 0 {
		want = append(want, config.Tag(cfg.Floor.Language))
		for _, l := range cfg.Languages {
			want = append(want, config.Tag(l.Tag))
		}
		if !slices.Equal(have[:1], want[:1]) || !sameSet(have[1:], want[1:]) {
			return fmt.Errorf("%w: run %s has the languages %s (the floor first); the configuration gives %s: leave floor.language and languages out, or give the run's",
				ErrRebroadcast, src, strings.Join(have, ", "), strings.Join(want, ", "))
		}
	}
	names := map[string]string{config.Tag(cfg.Floor.Language): cfg.Floor.Name}
	for _, l := range cfg.Languages {
		names[config.Tag(l.Tag)] = l.Name
	}
	floor := config.Floor{Language: tracks[0].Lang, Name: cfg.Floor.Name, Source: cfg.Floor.Source, Loop: cfg.Floor.Loop,
		Start: cfg.Floor.Start}
	if floor.Name == "" {
		floor.Name = tracks[0].Name
	}
	var langs []config.Language
	for _, t := range tracks[1:] {
		name := names[t.Lang]
		if name == "" {
			name = t.Name
		}
		langs = append(langs, config.Language{Tag: t.Lang, Name: name})
	}
	cfg.Floor, cfg.Languages = floor, langs
	off := false
	cfg.Record = &off // its run is recorded already
	for i, t := range tracks {
		e.renditions = append(e.renditions, Rendition{Tag: t.Lang, Name: displayName(t.Lang, langName(cfg, i)), Floor: i == 0})
	}
	return nil
}

func langName(cfg *config.Event, i int) string {
	if i == 0 {
		return cfg.Floor.Name
	}
	return cfg.Languages[i-1].Name
}

func sameSet(a, b []string) bool {
	return len(a) == len(b) && !slices.ContainsFunc(a, func(s string) bool { return !slices.Contains(b, s) })
}

// newReplayCaptions gives every captioned language of the run, those
// without audio included, a feed that plays its cues and a WebVTT
// rendition; captions the run marks as machine translation keep the mark.
func (e *Event) newReplayCaptions(hopts hls.Options) []hls.SubtitleRendition {
	var subs []hls.SubtitleRendition
	e.captions = map[string]*captionLang{}
	e.captionRends = append([]Rendition(nil), e.renditions...)
	for _, t := range e.player.Captions() {
		if !slices.ContainsFunc(e.renditions, func(r Rendition) bool { return r.Tag == t.Lang }) {
			e.captionRends = append(e.captionRends, Rendition{Tag: t.Lang, Name: displayName(t.Lang, t.Name)})
		}
	}
	mt := e.replayRun.Meta().MachineTranslated
	for i, r := range e.captionRends {
		cues, ok := e.player.Cues(r.Tag)
		if !ok {
			continue
		}
		if slices.Contains(mt, r.Tag) {
			e.markTranslated(i)
			r = e.captionRends[i]
		}
		e.captions[r.Tag] = &captionLang{feed: &replayCaptions{p: e.player, lang: r.Tag, cues: cues},
			subs: hls.NewSubtitles(hopts, e.timeline.Epoch)}
		subs = append(subs, hls.SubtitleRendition{ID: "cc-" + r.Tag, Name: captionName(r), Language: r.Tag,
			Default: r.Floor, URI: "subs/" + r.Tag + "/index.m3u8"})
	}
	return subs
}

// replayCaptions is a captioned language of a rebroadcast as the server
// takes it: the recorded cues, each played when the program reaches it.
type replayCaptions struct {
	p    *replay.Player
	lang string
	cues *media.Track[media.Cue]
}

func (c *replayCaptions) Cues() *media.Track[captions.Cue] { return c.cues }

func (c *replayCaptions) Stats() captions.PipelineStats {
	s, _ := c.p.CueStats(c.lang)
	return captions.PipelineStats{Backend: true, Running: c.p.State() == replay.Playing, Cues: s.Cues,
		LastCue: s.Last, LastCueAt: s.At}
}

// runRebroadcast plays the run until it ends or ctx is done. At its end the
// event ends cleanly: once the outputs have written the last packets and
// cues, every playlist gets its ENDLIST; WHEP listeners and the live
// captions' sockets were ended by the tracks closing.
func (e *Event) runRebroadcast(ctx context.Context) {
	e.inputs.Add(1)
	go func() {
		defer e.inputs.Done()
		if err := e.player.Play(ctx); err != nil {
			return // the event is closing: Close ends the rest
		}
		e.out.media.Wait()
		e.hls.Close()
		for _, c := range e.captions {
			c.subs.Advance(max(e.timeline.Now(), 0) + audio.Samples(time.Duration(e.cfg.HLS.SegmentMS)*time.Millisecond))
			c.subs.Close()
		}
		e.log.Info("rebroadcast over: the event has ended", "run", e.rebroadcast)
	}()
}

// Rebroadcast names the run the event plays out again (EVENT/RUN); ok is
// false for a live event.
func (e *Event) Rebroadcast() (run string, ok bool) { return e.rebroadcast, e.player != nil }

// replayState is the floor's state in a rebroadcast: "missing" while it is
// scheduled (what a live floor that has not arrived reports), "live" while
// it plays, "ended" after.
func (e *Event) replayState() string {
	switch e.player.State() {
	case replay.Scheduled:
		return "missing"
	case replay.Playing:
		return "live"
	}
	return "ended"
}

// replayInput is the rebroadcast's one floor input, as the producer sees it.
func (e *Event) replayInput() web.FloorInput {
	st := e.player.Stats()
	return web.FloorInput{ID: config.MainInput, Name: "Rebroadcast of " + e.rebroadcast, Source: e.cfg.Floor.Source,
		State: e.replayState(), OnProgram: true, Frames: st.Ticks, Dropped: st.Skipped}
}
