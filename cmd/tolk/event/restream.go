package event

import (
	"fmt"

	"tolk/internal/config"
	"tolk/internal/restream"
	"tolk/web"
)

// pushes are the event's outputs to platforms (config outputs:): each
// language's AAC from the encoder's tracks with the program's video, one
// restream.Push per output; and its outputs to SFUs (config sfu:, sfu.go),
// which the producer sees and drives the same way.
type pushes struct {
	list []pushOutput
	byID map[string]pushOutput
	on   []bool // whether each starts with the event
}

// pushOutput is what the producer starts, stops and watches: a
// restream.Push or an sfu.Output.
type pushOutput interface {
	ID() string
	Start()
	Stop()
	Close()
	Status() restream.Status
}

// add lists an output.
func (p *pushes) add(o pushOutput, on bool) {
	if p.byID == nil {
		p.byID = map[string]pushOutput{}
	}
	p.list = append(p.list, o)
	p.byID[o.ID()] = o
	p.on = append(p.on, on)
}

// wantsAAC reports whether the AAC encoder must run for pushes, even with
// the LL-HLS AAC group off.
func (e *Event) wantsAAC() bool { return len(e.cfg.Outputs) > 0 && e.player == nil }

// attachPushes makes the configured pushes, stopped; runPushes starts the
// enabled ones. The AAC encoder's tracks must be there (attachAAC).
func (e *Event) attachPushes() error {
	if !e.wantsAAC() {
		return nil
	}
	o := &e.out
	ids := e.cfg.OutputIDs()
	for i, out := range e.cfg.Outputs {
		tag := config.Tag(out.Lang)
		a, ok := o.aacTracks.Track(tag)
		if !ok {
			return fmt.Errorf("push %s: no language %q", ids[i], tag)
		}
		opts := restream.Options{ID: ids[i], Lang: tag, Name: out.Name, URL: out.URL, Audio: a,
			Video: e.program.Video(), Clock: e.clock, Log: e.log}
		if c, ok := e.captions[tag]; ok && c.feed != nil {
			opts.Captions = c.feed.Cues() // as CEA-608 in the pictures
		}
		p, err := restream.New(opts)
		if err != nil {
			return err
		}
		o.push.add(p, out.On())
	}
	return nil
}

// runPushes starts the pushes the configuration enables.
func (e *Event) runPushes() {
	for i, p := range e.out.push.list {
		if e.out.push.on[i] {
			p.Start()
		}
	}
}

// closePushes stops every push and waits for it.
func (e *Event) closePushes() {
	for _, p := range e.out.push.list {
		p.Close()
	}
}

// Pushes returns every push's state, in the configuration's order.
func (e *Event) Pushes() []restream.Status {
	out := make([]restream.Status, 0, len(e.out.push.list))
	for _, p := range e.out.push.list {
		out = append(out, p.Status())
	}
	return out
}

// StartPush starts a push (the producer's Start); a running one goes on.
func (e *Event) StartPush(id string) error {
	p, ok := e.out.push.byID[id]
	if !ok {
		return fmt.Errorf("%w: %q", web.ErrNoPush, id)
	}
	p.Start()
	return nil
}

// StopPush stops a push until it is started again.
func (e *Event) StopPush(id string) error {
	p, ok := e.out.push.byID[id]
	if !ok {
		return fmt.Errorf("%w: %q", web.ErrNoPush, id)
	}
	p.Stop()
	return nil
}
