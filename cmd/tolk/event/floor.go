package event

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"tolk/internal/config"
	"tolk/internal/ingest"
	"tolk/internal/media"
	"tolk/mixer"
	"tolk/web"
)

// floorInput is one floor input as the event runs it: the program's input,
// the source that feeds it (none for WHIP: the web server writes it) and
// what became of that source.
type floorInput struct {
	cfg      config.Input
	in       *mixer.Input
	src      ingest.Source
	restarts atomic.Uint64
	ended    atomic.Bool // the source ended for good (a file that does not loop)
}

// newProgram builds the program over the configured floor inputs and the
// sources that feed them.
func (e *Event) newProgram() error {
	var ins []mixer.InputConfig
	for _, c := range e.cfg.Floor.AllInputs() {
		ins = append(ins, mixer.InputConfig{ID: c.ID, Name: c.Name})
	}
	p, err := mixer.NewProgram(e.clock, e.timeline, e.order, ins, e.advanceSubtitles)
	if err != nil {
		return err
	}
	e.program = p
	for _, c := range e.cfg.Floor.AllInputs() {
		in, _ := p.Input(c.ID)
		fi := &floorInput{cfg: c, in: in}
		if fi.src, err = e.sourceOf(c); err != nil {
			return fmt.Errorf("floor input %s: %w", c.ID, err)
		}
		e.floor = append(e.floor, fi)
	}
	return nil
}

func (e *Event) sourceOf(c config.Input) (ingest.Source, error) {
	switch s := c.Source; {
	case s == "whip":
		return nil, nil
	case strings.HasPrefix(s, "file:"):
		return ingest.NewFileLog(strings.TrimPrefix(s, "file:"), c.Loop, e.clock, e.log), nil
	default:
		return ingest.NewListener(s, e.log)
	}
}

// runFloor supervises every input's source until ctx ends.
func (e *Event) runFloor(ctx context.Context) {
	for _, fi := range e.floor {
		if fi.src == nil {
			continue
		}
		e.inputs.Add(1)
		go func() {
			defer e.inputs.Done()
			log := e.log.With("input", fi.cfg.ID, "source", fi.src.String())
			err := ingest.Supervise(ctx, fi.src, fi.in, e.clock, func(err error) {
				fi.restarts.Add(1)
				log.Warn("floor source restarts", "err", err)
			})
			if err != nil {
				fi.ended.Store(true)
				if fi.in == e.program.Active() {
					log.Info("floor ended; the program goes on with silence", "err", err)
				} else {
					log.Info("floor input ended", "err", err)
				}
			}
		}()
	}
}

// state is "live", "missing" or "ended" (see FloorState).
func (fi *floorInput) state() string {
	switch {
	case fi.in.Live():
		return "live"
	case fi.ended.Load():
		return "ended"
	}
	return "missing"
}

// FloorState says whether the floor on the program is arriving: "live";
// "missing" while the clock runs on silence waiting for it; "ended" once a
// source that ends (a file that does not loop) has played to its end, and
// the program goes on with silence.
func (e *Event) FloorState() string {
	if e.player != nil {
		return e.replayState()
	}
	active := e.program.Active()
	for _, fi := range e.floor {
		if fi.in == active {
			return fi.state()
		}
	}
	return "missing"
}

// playoutReporter is a live source with a jitter buffer (*ingest.Listener).
type playoutReporter interface {
	Playout() ingest.PlayoutStats
}

// FloorInputs describes every floor input, the one on the program marked.
func (e *Event) FloorInputs() []web.FloorInput {
	if e.player != nil {
		return []web.FloorInput{e.replayInput()}
	}
	active := e.program.Active()
	var out []web.FloorInput
	for _, fi := range e.floor {
		st := fi.in.Stats()
		in := web.FloorInput{ID: fi.cfg.ID, Name: fi.cfg.Name, Source: fi.cfg.Source, State: fi.state(),
			OnProgram: fi.in == active, Quality: fi.in.Quality(), Frames: st.Frames, Dropped: st.Dropped,
			Restarts: fi.restarts.Load()}
		if pr, ok := fi.src.(playoutReporter); ok {
			ps := pr.Playout()
			in.Playout = &web.PlayoutStats{Dropped: ps.Dropped, Underruns: ps.Underruns}
		}
		out = append(out, in)
	}
	return out
}

// SwitchFloor puts floor input id on the program with a short cross-fade.
func (e *Event) SwitchFloor(id string) error {
	if e.player != nil {
		return fmt.Errorf("no floor input %q: a rebroadcast plays its one recorded run", id)
	}
	if err := e.program.Switch(id); err != nil {
		return err
	}
	e.log.Info("floor switched", "input", id)
	return nil
}

// WHIPFloor is the floor input a WHIP publisher feeds, if one is configured.
func (e *Event) WHIPFloor() (web.FloorWriter, bool) {
	for _, fi := range e.floor {
		if fi.cfg.Source == "whip" {
			return fi.in, true
		}
	}
	return nil, false
}

// WriteFloor queues one 20 ms frame on the first floor input (tests).
func (e *Event) WriteFloor(samples []float32) {
	if len(e.floor) > 0 {
		e.floor[0].in.WriteFloor(samples)
	}
}

// Video is the program's video track: the floor's pictures on the program
// timeline (nil in a rebroadcast, which has no program).
func (e *Event) Video() *media.Track[media.Unit] {
	if e.program == nil {
		return nil
	}
	return e.program.Video()
}
