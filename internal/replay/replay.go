// Package replay plays a recorded run out again as a live program: every
// language's recorded Opus packets, exactly as they were first sent, and
// every captioned language's cues, paced by a 20 ms clock on a new program
// timeline. A rebroadcast (cmd/tolk/event) attaches its outputs to the
// Player's tracks in place of the mixes' and the recognizers', so the
// time-zone repeat of an event needs no interpreters and encodes nothing.
package replay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
	"tolk/internal/media"
	"tolk/internal/recording"
)

// Run is the recorded run a Player plays (*recording.Reader is one). Times
// are the run's program time (48 kHz samples).
type Run interface {
	Tracks() []recording.Track
	Range() (start, end int64)
	Packets(track uint32, from, to int64) ([]recording.Packet, error)
	Cues(track uint32, from, to int64) ([]media.Cue, error)
}

// CueSource gives a language's cues overlapping [from, to) of the run's
// program time, in order of their start: the original event's edited cues
// (the store's, shifted from recording time), which a rebroadcast plays
// instead of the captions the run recorded live.
type CueSource func(ctx context.Context, lang string, from, to int64) ([]media.Cue, error)

// Options configure a Player.
type Options struct {
	Run Run
	// Cues, when set, replaces the run's recorded captions (nil: play the
	// captions tracks of the run). The captioned languages are the run's
	// either way.
	Cues CueSource
	// Clock paces the program (default: the wall clock).
	Clock audio.Clock
	// Timeline is the new program's: the Player fixes its epoch at Start
	// and advances it on every tick.
	Timeline *media.Timeline
	// Start is the wall-clock time of the new program time zero (zero:
	// when Play is called). Before it the program is scheduled and sends
	// nothing; a Play that begins after it joins the run where it would be
	// had it started on time, so a restarted server keeps the schedule and
	// the timeline.
	Start time.Time
	// Loop plays the run again from its beginning when it ends, on the
	// same timeline; without it the program ends with the run.
	Loop bool
	// OnTick, when set, runs after every tick with its program time.
	OnTick func(pts int64)
	Log    *slog.Logger
}

// State of a Player.
type State int32

// States.
const (
	// Scheduled: before Start, nothing is sent.
	Scheduled State = iota
	// Playing: every 20 ms every language gets its recorded packet.
	Playing
	// Ended: the run has played to its end (without Loop), or Play
	// returned; every track is closed.
	Ended
)

// String names the state.
func (s State) String() string {
	switch s {
	case Scheduled:
		return "scheduled"
	case Playing:
		return "playing"
	}
	return "ended"
}

// maxBehind is how late the clock may fall behind its schedule (a machine
// suspended, a stalled disk) before it skips to where the program should
// be, rather than sending the backlog in a burst no listener could use.
const maxBehind = time.Second

// chunkSamples is how much of the run one read takes: the recording's
// fragment, so that a read touches one fragment of every track.
const chunkSamples = recording.FragmentSamples

// Stats count a Player's work.
type Stats struct {
	// Ticks are the 20 ms frames played, Late those that began more than a
	// frame after their time, Skipped the frames jumped over after falling
	// more than a second behind.
	Ticks, Late, Skipped uint64
	// Filled counts frames of a language the run had no packet for (sent
	// as silence); ReadErrors the chunks that could not be read (their
	// frames are silence, their cues missing).
	Filled, ReadErrors uint64
	// Laps counts the times a looping run started again.
	Laps uint64
}

// CueStats are one captioned language's cues played.
type CueStats struct {
	Cues uint64
	// Last is the text of the latest cue, At when it was played.
	Last string
	At   time.Time
}

// lang is one of the run's tracks and the live track it is played on.
type lang struct {
	rec     recording.Track
	packets *media.Track[media.Unit] // audio
	cues    *media.Track[media.Cue]  // captions

	// cursor is the clock goroutine's place in the current chunk's
	// packets or cues.
	cursor int
	filled atomic.Uint64 // frames sent as silence
	n      atomic.Uint64 // cues played

	mu     sync.Mutex
	last   string
	lastAt time.Time
}

// Player plays one run. Play runs it; the tracks are ready from New, so
// outputs attach before it starts.
type Player struct {
	opts  Options
	audio []*lang // the floor first
	text  []*lang
	// start and lap are the run's first sample and its length, rounded up
	// to whole frames: lap is the program time one pass takes.
	start, lap int64

	state                      atomic.Int32
	ticks, late, skipped, laps atomic.Uint64
	readErrs                   atomic.Uint64
	closeOnce                  sync.Once
	errOnce                    sync.Once
}

// New prepares the run's tracks: one packet track per language, one cue
// track per captioned language.
func New(opts Options) (*Player, error) {
	if opts.Run == nil || opts.Timeline == nil {
		return nil, errors.New("replay: a run and a timeline are needed")
	}
	if opts.Clock == nil {
		opts.Clock = audio.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	start, end := opts.Run.Range()
	if start < 0 || end <= start {
		return nil, errors.New("replay: the run holds no audio")
	}
	p := &Player{opts: opts, start: start, lap: ceilTo(end-start, audio.FrameSamples)}
	for _, t := range opts.Run.Tracks() {
		switch t.Kind {
		case fmp4.Audio:
			l := &lang{rec: t, packets: media.NewTrack[media.Unit](t.Lang + "/replay")}
			if t.Floor {
				p.audio = append([]*lang{l}, p.audio...)
			} else {
				p.audio = append(p.audio, l)
			}
		case fmp4.Text:
			p.text = append(p.text, &lang{rec: t, cues: media.NewTrack[media.Cue](t.Lang + "/replay cues")})
		}
	}
	if len(p.audio) == 0 {
		return nil, errors.New("replay: the run has no audio track")
	}
	return p, nil
}

// Languages are the run's audio tracks, the floor first.
func (p *Player) Languages() []recording.Track {
	out := make([]recording.Track, len(p.audio))
	for i, l := range p.audio {
		out[i] = l.rec
	}
	return out
}

// Captions are the run's captioned languages.
func (p *Player) Captions() []recording.Track {
	out := make([]recording.Track, len(p.text))
	for i, l := range p.text {
		out[i] = l.rec
	}
	return out
}

// Packets is the track a language's recorded packets are played on,
// stamped with the new program time.
func (p *Player) Packets(tag string) (*media.Track[media.Unit], bool) {
	for _, l := range p.audio {
		if l.rec.Lang == tag {
			return l.packets, true
		}
	}
	return nil, false
}

// Cues is the track a captioned language's cues are played on (final
// cues, new program time), each when the program reaches its start.
func (p *Player) Cues(tag string) (*media.Track[media.Cue], bool) {
	if l := p.textLang(tag); l != nil {
		return l.cues, true
	}
	return nil, false
}

func (p *Player) textLang(tag string) *lang {
	for _, l := range p.text {
		if l.rec.Lang == tag {
			return l
		}
	}
	return nil
}

// CueStats counts a captioned language's cues played.
func (p *Player) CueStats(tag string) (CueStats, bool) {
	l := p.textLang(tag)
	if l == nil {
		return CueStats{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return CueStats{Cues: l.n.Load(), Last: l.last, At: l.lastAt}, true
}

// Length is the program time one pass of the run takes.
func (p *Player) Length() time.Duration { return audio.Duration(p.lap) }

// State is where the program is: scheduled, playing or ended.
func (p *Player) State() State { return State(p.state.Load()) }

// Stats returns the counts.
func (p *Player) Stats() Stats {
	s := Stats{Ticks: p.ticks.Load(), Late: p.late.Load(), Skipped: p.skipped.Load(),
		ReadErrors: p.readErrs.Load(), Laps: p.laps.Load()}
	for _, l := range p.audio {
		s.Filled += l.filled.Load()
	}
	return s
}

// Close ends the program: every track closes, so every output reading one
// ends. Play calls it when it returns; it is safe to call more than once.
func (p *Player) Close() {
	p.closeOnce.Do(func() {
		p.state.Store(int32(Ended))
		for _, l := range p.audio {
			l.packets.Close()
		}
		for _, l := range p.text {
			l.cues.Close()
		}
	})
}

// chunk is up to a second of the run, read ahead of the clock: every
// language's packets and every captioned language's cues that start in it.
type chunk struct {
	// from and to are the run's program time it covers; at is the new
	// program time of from.
	from, to, at int64
	packets      [][]recording.Packet // by p.audio
	cues         [][]media.Cue        // by p.text
}

// chunkAt is the chunk holding new program time pts, unread: the run's
// fragment (a second of its program time) that holds the frame.
func (p *Player) chunkAt(pts int64) chunk {
	lapAt := pts - pts%p.lap
	t := p.start + pts%p.lap
	from := max(p.start, t-t%chunkSamples)
	to := min(t-t%chunkSamples+chunkSamples, p.start+p.lap)
	return chunk{from: from, to: to, at: lapAt + from - p.start}
}

// read fills c from the run. A language that cannot be read is left empty
// (silence, no cues) and the error returned; the others are read.
func (p *Player) read(ctx context.Context, c chunk) (chunk, error) {
	var errs []error
	c.packets = make([][]recording.Packet, len(p.audio))
	for i, l := range p.audio {
		ps, err := p.opts.Run.Packets(l.rec.ID, c.from, c.to)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", l.rec.Lang, err))
		}
		c.packets[i] = ps
	}
	// The first chunk of a pass also takes the cues that begin before the
	// run's audio does.
	from := c.from
	if from == p.start {
		from = 0
	}
	c.cues = make([][]media.Cue, len(p.text))
	for i, l := range p.text {
		var cs []media.Cue
		var err error
		if p.opts.Cues != nil {
			cs, err = p.opts.Cues(ctx, l.rec.Lang, from, c.to)
		} else {
			cs, err = p.opts.Run.Cues(l.rec.ID, from, c.to)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s captions: %w", l.rec.Lang, err))
		}
		// Overlapping cues come back from both sides of a boundary: a
		// chunk keeps those that start in it.
		k := 0
		for _, cue := range cs {
			if cue.Start >= from && cue.Start < c.to && cue.Text != "" {
				cs[k] = cue
				k++
			}
		}
		c.cues[i] = cs[:k]
	}
	return c, errors.Join(errs...)
}

// Play runs the program until the run ends (without Loop) or ctx is done,
// then closes every track. It waits for Start first. One goroutine reads
// the run a chunk ahead of the clock, so the clock never waits on the disk
// unless the disk is slower than the program; Play waits for it to end.
func (p *Player) Play(ctx context.Context) error {
	defer p.Close()
	clock := p.opts.Clock
	epoch := p.opts.Start
	if epoch.IsZero() {
		epoch = clock.Now()
	}
	timer := clock.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	wait := func(d time.Duration) bool {
		if d <= 0 {
			return ctx.Err() == nil
		}
		timer.Reset(d)
		select {
		case <-ctx.Done():
			return false
		case <-timer.C():
			return true
		}
	}
	if d := epoch.Sub(clock.Now()); d > 0 {
		p.opts.Log.Info("rebroadcast scheduled", "start", epoch, "in", d.Round(time.Second))
	}
	if !wait(epoch.Sub(clock.Now())) {
		return ctx.Err()
	}
	// Join where the program is: at zero when on time.
	pts := max(floorTo(audio.Samples(clock.Now().Sub(epoch)), audio.FrameSamples), 0)
	if !p.opts.Loop && pts >= p.lap {
		p.opts.Log.Info("rebroadcast already over: its start and length lie in the past", "start", epoch,
			"length", p.Length())
		return nil
	}
	p.opts.Timeline.Fix(epoch)
	p.state.Store(int32(Playing))
	p.opts.Log.Info("rebroadcast playing", "from", audio.Duration(pts%p.lap).Round(time.Millisecond),
		"length", p.Length(), "languages", len(p.audio), "captions", len(p.text), "loop", p.opts.Loop)

	lctx, stop := context.WithCancel(ctx)
	req := make(chan chunk, 1)
	resp := make(chan chunk, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		// The reader: exits when req closes or ctx ends.
		defer wg.Done()
		for c := range req {
			c, err := p.read(lctx, c)
			if err != nil {
				p.readErr(err)
			}
			select {
			case resp <- c:
			case <-lctx.Done():
				return
			}
		}
	}()
	defer func() {
		close(req)
		stop()
		wg.Wait()
	}()

	pending := false // a chunk has been asked for
	var cur chunk
	cur.to = -1
	// next gives the chunk holding pts, asking for the one after it.
	next := func(pts int64) bool {
		want := p.chunkAt(pts)
		for {
			if !pending {
				req <- want
				pending = true
			}
			select {
			case c := <-resp:
				pending = false
				if c.at != want.at || c.from != want.from {
					continue // read before a skip
				}
				cur = c
				for _, l := range p.audio {
					l.cursor = 0
				}
				for _, l := range p.text {
					l.cursor = 0
				}
				if after := c.at + c.to - c.from; p.opts.Loop || after < p.lap {
					req <- p.chunkAt(after)
					pending = true
				}
				return true
			case <-ctx.Done():
				return false
			}
		}
	}
	for {
		due := epoch.Add(audio.Duration(pts))
		if !wait(due.Sub(clock.Now())) {
			return ctx.Err()
		}
		now := clock.Now()
		if behind := now.Sub(due); behind > maxBehind {
			to := floorTo(audio.Samples(now.Sub(epoch)), audio.FrameSamples)
			p.skipped.Add(uint64((to - pts) / audio.FrameSamples))
			p.opts.Log.Warn("rebroadcast fell behind its schedule: skipping ahead", "behind", behind, "skipped", audio.Duration(to-pts))
			if pts/p.lap != to/p.lap {
				p.laps.Add(uint64(to/p.lap - pts/p.lap))
			}
			pts = to
			if !p.opts.Loop && pts >= p.lap {
				break
			}
		} else if behind > audio.FrameDuration {
			p.late.Add(1)
		}
		run := p.start + pts%p.lap
		if run < cur.from || run >= cur.to || pts-(run-cur.from) != cur.at {
			if !next(pts) {
				return ctx.Err()
			}
		}
		p.opts.Timeline.Tick(pts, now)
		p.tick(pts, run, &cur, epoch)
		if p.opts.OnTick != nil {
			p.opts.OnTick(pts)
		}
		p.ticks.Add(1)
		pts += audio.FrameSamples
		if pts%p.lap == 0 {
			if !p.opts.Loop {
				break
			}
			p.laps.Add(1)
			p.opts.Log.Info("rebroadcast starts again (loop)", "lap", p.laps.Load()+1)
		}
	}
	p.opts.Log.Info("rebroadcast ended", "played", audio.Duration(pts), "late", p.late.Load(), "skipped", p.skipped.Load())
	return nil
}

// tick plays the frame at run time run as new program time pts: every
// language's packet (silence where the run has none) and the cues that
// start by the frame's end.
func (p *Player) tick(pts, run int64, c *chunk, epoch time.Time) {
	wall := epoch.Add(audio.Duration(pts))
	for i, l := range p.audio {
		ps := c.packets[i]
		for l.cursor < len(ps) && ps[l.cursor].PTS < run {
			l.cursor++
		}
		data := fmp4.SilenceFrame
		if l.cursor < len(ps) && ps[l.cursor].PTS == run {
			data = ps[l.cursor].Data
			l.cursor++
		} else {
			l.filled.Add(1)
		}
		l.packets.Write(media.Unit{PTS: pts, Wall: wall, Codec: media.Opus, Payload: data})
	}
	shift := pts - run // new program time minus the run's
	lapAt := pts - pts%p.lap
	for i, l := range p.text {
		cs := c.cues[i]
		for l.cursor < len(cs) && cs[l.cursor].Start < run+audio.FrameSamples {
			cue := cs[l.cursor]
			l.cursor++
			if cue.End < run {
				continue // over before the program joined the run
			}
			cue.Lang, cue.Final = l.rec.Lang, true
			cue.Start, cue.End = max(cue.Start+shift, lapAt), cue.End+shift
			cue.End = max(cue.End, cue.Start)
			l.cues.Write(cue)
			l.n.Add(1)
			l.mu.Lock()
			l.last, l.lastAt = cue.Text, wall
			l.mu.Unlock()
		}
	}
}

// readErr counts a chunk that could not be read; the first is logged.
func (p *Player) readErr(err error) {
	p.readErrs.Add(1)
	p.errOnce.Do(func() {
		p.opts.Log.Error("rebroadcast: reading the run failed (its frames go out as silence)", "err", err)
	})
}

func floorTo(x, step int64) int64 {
	if x < 0 {
		return -((-x + step - 1) / step * step)
	}
	return x / step * step
}

func ceilTo(x, step int64) int64 { return (x + step - 1) / step * step }
