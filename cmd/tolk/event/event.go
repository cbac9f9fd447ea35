// Package event composes one live event at the top of the house: the floor
// source, the program clock and timeline, a mix per language, the booths,
// the recognizers and every output (outputs.go: LL-HLS, WebVTT, the WebRTC
// listener tracks and booth feeds, the recognizers' audio). Nothing below
// imports it: web serves it through web.Event and adds the network sessions
// that take its outputs.
package event

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/captions/translate"
	"tolk/internal/audio"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/replay"
	"tolk/internal/rtc"
	"tolk/interpreter"
	"tolk/locales"
	"tolk/mixer"
	"tolk/web"
	"tolk/web/hls"
)

// Options are the event's dependencies.
type Options struct {
	Clock audio.Clock
	Log   *slog.Logger
	// Cues stores final cues before they are published (nil: not stored).
	// A sink that also has RecordingStart (*store.Store) gets them in
	// recording time: the run's program time plus the time from the
	// recording's start to this run's program time zero. A rebroadcast
	// saves none: when the sink can read cues too (*store.Store), it plays
	// the original event's edited cues from it.
	Cues captions.CueSink
	// Recognizer, when set, recognizes every language instead of the
	// configured backends (tests use captionstest.Scripted).
	Recognizer captions.Recognizer
	// Translator, when set, translates the captions of the languages whose
	// backend is translate instead of Cloud Translation (tests).
	Translator translate.Translator
	// SubtitleDelay holds the WebVTT renditions back from the audio's live
	// edge. Zero, the default, publishes them in step with the audio; cues
	// settled later go into the next segment with their own times.
	SubtitleDelay time.Duration
	// Recordings is where the event's runs are recorded (nil: nowhere).
	// Unless the configuration says record: false, this run is recorded
	// into it, placed on the recording timeline by Cues when it has
	// RecordingStart; runs a killed process left are recovered first. A
	// rebroadcast reads the run it plays from it and records nothing.
	Recordings *recording.Library
	// WebRTC selects the network of the event's own peers: its WHIP
	// publications to SFUs (config sfu.whip).
	WebRTC rtc.Options
	// Settings keeps what the producer changes on the running event (the
	// glossary) across restarts (*store.Store is one; nil: nothing is
	// kept). What it holds wins over the configuration.
	Settings SettingStore
	// HLSState is the file where the event keeps its LL-HLS numbering
	// between runs (hls.State; serve puts it at DATA/hls/{event}.json):
	// a run started after a crash continues the playlists of the run
	// before, which players at the live edge follow without reloading.
	// Empty: every run's playlists start at zero.
	HLSState string
	// BoothState keeps who is on air in each booth across restarts (nil:
	// nothing is kept): each booth starts from what it holds and saves
	// every change to it.
	BoothState *interpreter.StateFile
}

// Rendition is one language a viewer can pick.
type Rendition = web.Rendition

// Stats is a snapshot of the event's counters.
type Stats = web.EventStats

var _ web.Event = (*Event)(nil)

// Event is one running event.
type Event struct {
	cfg    *config.Event
	clock  audio.Clock
	log    *slog.Logger
	webrtc rtc.Options

	// timeline is the program's: every output stamps what it writes from it.
	timeline   *media.Timeline
	hlsState   string // Options.HLSState
	renditions []Rendition
	// captionRends are the languages that may have captions: every
	// rendition, then those with captions and no audio (config.CaptionOnly,
	// or a rebroadcast run's caption tracks without an audio track).
	captionRends []Rendition
	mixes        map[string]*mixer.Mix
	order        []*mixer.Mix
	hls          *hls.Muxer
	out          outputs
	captions     map[string]*captionLang
	subDelay     time.Duration
	recs         map[string]captions.Recognizer
	glossary     *glossary.Live
	glossaryMu   sync.Mutex        // orders saving and setting the glossary
	configured   glossary.Glossary // the configuration's glossary
	settings     SettingStore
	// translator is the Cloud Translation client the event opened, closed
	// with it (nil when no language is translated or a test gave one).
	translator *translate.Cloud
	booths     map[string]*interpreter.Booth
	voices     map[string]*interpreter.Voice

	program *mixer.Program // the clock that ticks every mix

	cancel context.CancelFunc
	inputs sync.WaitGroup // the clock and the floor source
	closed sync.Once

	floor []*floorInput // the program's floor inputs and their sources

	recordings *recording.Library
	recClock   recording.RecordingClock // nil: the library places the run

	// A rebroadcast (rebroadcast.go) has a player in place of the program,
	// the mixes, the booths and the recognizers: the run it plays
	// (EVENT/RUN), read from replayRun.
	player      *replay.Player
	replayRun   *recording.Reader
	rebroadcast string
}

// New builds the event's mixes and HLS muxer; Start runs them.
func New(cfg *config.Event, opts Options) (*Event, error) {
	if opts.Clock == nil {
		opts.Clock = audio.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	e := &Event{
		cfg:      cfg,
		clock:    opts.Clock,
		log:      opts.Log.With("event", cfg.ID),
		webrtc:   opts.WebRTC,
		mixes:    map[string]*mixer.Mix{},
		timeline: media.NewTimeline(),
		hlsState: opts.HLSState,
	}
	if src, run, ok := cfg.Floor.Replay(cfg.ID); ok {
		if err := e.newRebroadcast(src, run, opts); err != nil {
			e.Close()
			return nil, err
		}
		return e, nil
	}

	floorTag := config.Tag(cfg.Floor.Language)
	e.renditions = append(e.renditions, Rendition{Tag: floorTag, Name: displayName(floorTag, cfg.Floor.Name), Floor: true})
	for _, l := range cfg.Languages {
		tag := config.Tag(l.Tag)
		e.renditions = append(e.renditions, Rendition{Tag: tag, Name: displayName(tag, l.Name)})
	}
	var hr []hls.AudioRendition
	for _, r := range e.renditions {
		mc := mixer.Config{
			Timeline:   e.timeline,
			Lang:       r.Tag,
			Floor:      r.Floor,
			Bitrate:    cfg.Audio.Bitrate,
			Complexity: cfg.Audio.Complexity,
		}
		if !r.Floor {
			mc.Ducking = mixer.DefaultDucking()
			if d := e.langConfig(r.Tag); d != nil && d.DuckDB != nil {
				mc.Ducking.DepthDB = *d.DuckDB
			}
		}
		m, err := mixer.New(mc)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("mix %s: %w", r.Tag, err)
		}
		e.mixes[r.Tag] = m
		e.order = append(e.order, m)
		hr = append(hr, hls.AudioRendition{ID: r.Tag, Name: r.Name, Language: r.Tag, Default: r.Floor,
			Translation: !r.Floor, Bitrate: cfg.Audio.Bitrate})
	}
	if err := e.newProgram(); err != nil {
		e.Close()
		return nil, err
	}
	hopts := e.hlsOptions()
	e.captionRends = append([]Rendition(nil), e.renditions...)
	for _, tag := range cfg.CaptionOnly() {
		e.captionRends = append(e.captionRends, Rendition{Tag: tag, Name: displayName(tag, "")})
	}
	var tags []string
	for _, r := range e.captionRends {
		tags = append(tags, r.Tag)
	}
	g, err := LoadGlossary(cfg.Captions.Glossary)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("captions.glossary: %w", err)
	}
	e.configured, e.settings = g, opts.Settings
	e.glossary = glossary.NewLive(e.savedGlossary(g))
	recs := map[string]captions.Recognizer{"sphinx": opts.Recognizer, "google": opts.Recognizer}
	if opts.Recognizer == nil {
		var err error
		if recs, err = recognizers(cfg, tags, e.glossary); err != nil {
			e.Close()
			return nil, err
		}
	}
	e.subDelay = max(opts.SubtitleDelay, 0)
	e.recs = recs
	sink := opts.Cues
	if sink == nil {
		sink = noSink{}
	} else if rc, ok := sink.(recordingClock); ok {
		sink = &recordingSink{sink: sink, clock: rc, epoch: e.timeline.Epoch, log: e.log}
		e.recClock = rc
	}
	e.recordings = opts.Recordings
	tr := opts.Translator
	if tr == nil && e.translated() {
		cl, err := newCloudTranslate(cfg.Captions.Translate)
		if err != nil {
			e.Close()
			return nil, err
		}
		e.translator, tr = cl, cl
	}
	hopts.Subtitles = e.newCaptions(recs, tr, sink, hopts)
	h, err := hls.New(hopts, hr)
	if err != nil {
		e.Close()
		return nil, fmt.Errorf("hls: %w", err)
	}
	if err := h.StateErr(); err != nil {
		e.log.Warn("hls state not saved: a crash now would number the next run's playlists from an older state", "err", err)
	}
	e.hls = h
	if err := e.newBooths(opts.BoothState); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.attachOutputs(); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// hlsOptions are the LL-HLS packager's settings, the WebVTT renditions'
// too: numbered on from the run before when the state file says where it
// stopped.
func (e *Event) hlsOptions() hls.Options {
	o := hls.Options{
		Timeline:        e.timeline,
		PartDuration:    time.Duration(e.cfg.HLS.PartMS) * time.Millisecond,
		SegmentDuration: time.Duration(e.cfg.HLS.SegmentMS) * time.Millisecond,
		Window:          e.cfg.HLS.Window,
		Run:             hls.NewRun(), // one token for this run's audio and captions
		StateFile:       e.hlsState,
		// A restart is marked in every playlist (Opus, AAC, video,
		// captions), as RFC 8216 asks of a gap in the media; the web
		// player loads a master whose main audio is its language
		// (master.m3u8?audio=), with which hls.js plays across it.
		RestartDiscontinuity: true,
	}
	if e.hlsState == "" {
		return o
	}
	seg := o.SegmentDuration
	if seg == 0 {
		seg = 2 * time.Second // hls.Options' default
	}
	c, err := hls.LoadContinuation(e.hlsState, seg, e.clock.Now())
	if err != nil {
		// The continuation is still safe (numbered from the clock): the
		// event goes on, players may have to reload.
		e.log.Warn("hls state unreadable: playlists numbered from the clock", "err", err)
	}
	o.Continue = c
	if c.Resumed {
		e.log.Info("hls playlists continue an earlier run", "msn", c.MSN, "discontinuity", c.Discontinuity+1)
	}
	return o
}

// newRebroadcast builds an event that plays a recorded run out again: the
// run's languages and captions on the player's tracks, the same outputs as
// a live event, no mixes, booths or recognizers (see rebroadcast.go).
func (e *Event) newRebroadcast(srcEvent, run string, opts Options) error {
	cfg := *e.cfg // the run's languages are written into the event's own copy
	e.cfg = &cfg
	e.recordings = opts.Recordings
	if err := e.openRebroadcast(srcEvent, run, opts); err != nil {
		return err
	}
	hopts := e.hlsOptions()
	var hr []hls.AudioRendition
	for _, r := range e.renditions {
		hr = append(hr, hls.AudioRendition{ID: r.Tag, Name: r.Name, Language: r.Tag, Default: r.Floor,
			Translation: !r.Floor, Bitrate: cfg.Audio.Bitrate})
	}
	hopts.Subtitles = e.newReplayCaptions(hopts)
	h, err := hls.New(hopts, hr)
	if err != nil {
		return fmt.Errorf("hls: %w", err)
	}
	e.hls = h
	return e.attachOutputs()
}

// newBooths gives every interpreted language a booth whose voice feeds its
// mix, starting from what kept holds for it.
func (e *Event) newBooths(kept *interpreter.StateFile) error {
	e.booths = map[string]*interpreter.Booth{}
	e.voices = map[string]*interpreter.Voice{}
	for _, r := range e.renditions[1:] {
		v, err := interpreter.NewVoice(e.cfg.Audio.Bitrate)
		if err != nil {
			return fmt.Errorf("booth %s: %w", r.Tag, err)
		}
		m := e.mixes[r.Tag]
		m.SetVoice(v)
		e.voices[r.Tag] = v
		var o interpreter.BoothOptions
		if kept != nil {
			tag := r.Tag
			o.Saved = kept.Load(tag)
			o.Save = func(sv interpreter.Saved) { kept.Save(tag, sv) }
		}
		e.booths[r.Tag] = interpreter.NewBoothWith(r.Tag, v, m, e.clock, e.log, o)
	}
	return nil
}

// Booth returns an interpreted language's booth.
func (e *Event) Booth(tag string) (*interpreter.Booth, bool) {
	b, ok := e.booths[tag]
	return b, ok
}

// ProgramTime is the program time (48 kHz samples) of the latest tick.
func (e *Event) ProgramTime() int64 { return e.timeline.Now() }

// ProgramAt is the program time being played at t.
func (e *Event) ProgramAt(t time.Time) int64 { return e.timeline.At(t) }

// Epoch is the wall-clock time of program time zero, once the program runs.
func (e *Event) Epoch() (time.Time, bool) { return e.timeline.Epoch() }

// Voice returns an interpreted language's clean voice: what its mix takes as
// the interpreter's voice, before the floor is added.
func (e *Event) Voice(tag string) (*interpreter.Voice, bool) {
	v, ok := e.voices[tag]
	return v, ok
}

func (e *Event) langConfig(tag string) *config.Language {
	for i := range e.cfg.Languages {
		if config.Tag(e.cfg.Languages[i].Tag) == tag {
			return &e.cfg.Languages[i]
		}
	}
	return nil
}

func displayName(tag, name string) string {
	if name != "" {
		return name
	}
	if l, ok := locales.LookupLanguage(tag); ok {
		return l.Native
	}
	return tag
}

// ID is the event's id, as in its URLs.
func (e *Event) ID() string { return e.cfg.ID }

// Title is the event's title.
func (e *Event) Title() string { return e.cfg.Title }

// Config returns the configuration the event runs with. Callers must not modify it.
func (e *Event) Config() *config.Event { return e.cfg }

// Renditions lists the languages, the floor first.
func (e *Event) Renditions() []Rendition { return append([]Rendition(nil), e.renditions...) }

// Mix returns the mix of a language.
func (e *Event) Mix(tag string) (*mixer.Mix, bool) {
	m, ok := e.mixes[tag]
	return m, ok
}

// HLS serves the event's LL-HLS tree; the caller strips the "/hls/{event}/" prefix.
func (e *Event) HLS() http.Handler { return e.hls }

// SetVoice puts a voice on a language's mix (nil takes it off).
func (e *Event) SetVoice(tag string, src mixer.Source) error {
	m, ok := e.mixes[tag]
	if !ok || e.isFloor(tag) {
		return fmt.Errorf("no interpreted language %q", tag)
	}
	m.SetVoice(src)
	return nil
}

func (e *Event) isFloor(tag string) bool { return e.renditions[0].Tag == tag }

// Start runs the floor source, the program clock and the outputs.
func (e *Event) Start() error {
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel

	e.runOutputs()
	e.runPushes()
	if e.player != nil {
		e.runRebroadcast(ctx)
		e.log.Info("event started: a rebroadcast", "floor", e.cfg.Floor.Source, "start", e.cfg.Floor.Start,
			"languages", len(e.renditions), "captions", len(e.captions))
		return nil
	}
	e.inputs.Add(1)
	go func() {
		defer e.inputs.Done()
		e.program.Run(ctx)
	}()
	e.runFloor(ctx)
	e.log.Info("event started", "floor", e.cfg.Floor.Source, "inputs", len(e.floor), "languages", len(e.renditions))
	return nil
}

// Stats returns the event's counters.
func (e *Event) Stats() Stats {
	s := Stats{OutputDropped: map[string]uint64{}}
	if e.player != nil {
		st := e.player.Stats()
		s.ProgramStats = mixer.ProgramStats{Ticks: st.Ticks, LateTicks: st.Late, FloorFrames: st.Ticks, FloorDropped: st.Skipped}
	} else {
		s.ProgramStats = e.program.Stats()
	}
	for _, fi := range e.floor {
		s.IngestRestarts += fi.restarts.Load()
	}
	for tag, sub := range e.out.hls {
		s.OutputDropped[tag] = sub.Dropped()
	}
	return s
}

// Close stops the source and the clock, finalises the playlists and waits for
// every goroutine of the event. It is safe to call more than once, and on an
// event that New left half built: New calls it on every failure.
func (e *Event) Close() error {
	e.closed.Do(func() {
		if e.cancel != nil {
			e.cancel()
		}
		e.inputs.Wait()
		for _, b := range e.booths {
			b.Close()
		}
		e.closeMixes() // ends the output goroutines and the floor feed
		if e.player != nil {
			e.player.Close() // the rebroadcast's tracks: ends its outputs
		}
		for _, v := range e.voices {
			v.Close() // ends the relay feeds and the captions' sources
		}
		e.closeCaptions()
		e.closeOutputs()
		if e.hls != nil { // nil when New failed before building it
			e.hls.Close()
		}
		if e.replayRun != nil {
			_ = e.replayRun.Close()
		}
		e.log.Info("event closed")
	})
	return nil
}

func (e *Event) closeMixes() {
	for _, m := range e.order {
		m.Close()
	}
}
