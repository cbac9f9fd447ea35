package interpreter

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// Conn is a member's connection as the booth sees it. Both methods are
// called on the booth goroutine and must not block.
type Conn interface {
	// Send queues a message for the page; false if the page is too far behind.
	Send(msg any) bool
	// Partner tells the session whose microphone to forward as its partner
	// feed: the forward that member joined with (nil: nobody).
	Partner(forward Forward)
	// Replaced tells the session that a newer connection of the same member
	// has joined: it tells its page so and ends.
	Replaced()
}

// Forward is a member's microphone as its transport forwards it to a partner
// (a WebRTC track). The booth only hands it from one member's session to the
// other's: it never reads it.
type Forward interface{ ID() string }

// Releaser brings a mix's floor back at once when its voice is gone.
type Releaser interface{ ReleaseNow() }

// Signal is a booth's message to the producer: a text or a "slow down".
type Signal struct {
	Kind string    `json:"kind"` // "message" or "slow_down"
	Lang string    `json:"lang"`
	From Person    `json:"from"`
	Text string    `json:"text,omitempty"`
	At   time.Time `json:"at"`
}

// Person names a member in messages.
type Person struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// StateMsg is the "state" message: the booth's snapshot and this member's input.
type StateMsg struct {
	Type string `json:"type"`
	Snapshot
	Input string `json:"input"`
}

// ChatMsg is a booth chat line.
type ChatMsg struct {
	Type string    `json:"type"`
	From Person    `json:"from"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// SignalMsg is a signal as a message: echoed to its sender, and sent to the
// producer's signal stream.
type SignalMsg struct {
	Type string `json:"type"`
	Signal
}

type boothMember struct {
	mic     Mic
	forward Forward // this member's microphone as forwarded RTP
	conn    Conn
	input   string
}

// Booth is one language's booth. Its state is owned by one goroutine; every
// method hands it a command and waits for the answer.
type Booth struct {
	Lang string
	log  *slog.Logger

	voice *Voice
	mix   Releaser
	clock audio.Clock

	cmds    chan func()
	done    chan struct{}
	stopped chan struct{}
	once    sync.Once

	// Owned by the goroutine.
	st    *state
	conns map[string]*boothMember
	pts   int64 // program time from which the current state is mixed

	grace     time.Duration
	save      func(Saved)
	lastSaved Saved
	resumeT   audio.Timer // fires when the awaited member's time is up
	resumeAt  time.Time   // the deadline resumeT is set for

	signals *media.Track[Signal]
}

// ErrClosed is returned by a booth that has stopped.
var ErrClosed = errors.New("booth closed")

// NewBooth starts a booth for lang whose on-air voice is voice and which
// releases mix's ducking when its interpreter goes (or, through the voice,
// when the on-air interpreter's link is cut).
func NewBooth(lang string, voice *Voice, mix Releaser, clock audio.Clock, log *slog.Logger) *Booth {
	return NewBoothWith(lang, voice, mix, clock, log, BoothOptions{})
}

// BoothOptions are a booth's optional settings: what it keeps across a
// restart of the server.
type BoothOptions struct {
	// Saved is what the previous run saved (zero: nothing): its members
	// and settings come back, and its member on air is awaited back on
	// air for Grace from now.
	Saved Saved
	// Save, when set, is handed the booth's state to keep after every
	// change of it (who is on air or awaited, the members, the producer's
	// settings), on the booth's goroutine: it must not block.
	Save func(Saved)
	// Grace is how long a member lost while on air is awaited back on air
	// (0: ResumeGrace).
	Grace time.Duration
}

// NewBoothWith is NewBooth with options.
func NewBoothWith(lang string, voice *Voice, mix Releaser, clock audio.Clock, log *slog.Logger, o BoothOptions) *Booth {
	if o.Grace <= 0 {
		o.Grace = ResumeGrace
	}
	b := &Booth{
		Lang: lang, log: log, voice: voice, mix: mix, clock: clock,
		cmds: make(chan func(), 16), done: make(chan struct{}), stopped: make(chan struct{}),
		st: newState(), conns: map[string]*boothMember{}, signals: media.NewTrack[Signal](lang + "/signals"),
		grace: o.Grace, save: o.Save,
	}
	b.st.restore(o.Saved, clock.Now().Add(o.Grace))
	b.lastSaved = b.st.saved()
	if b.st.resume != nil {
		log.Info("booth awaits its interpreter back on air", "lang", lang, "member", b.st.resume.ID, "until", b.st.resume.Until)
	}
	b.armResume()
	// The voice tells the mix itself when the on-air link is cut: it sees
	// that on the tick, long before a connection times out.
	voice.setReleaser(mix)
	go b.run()
	return b
}

// run executes commands until Close; it is the only goroutine touching state.
func (b *Booth) run() {
	defer close(b.stopped)
	defer func() {
		if b.resumeT != nil {
			b.resumeT.Stop()
		}
	}()
	for {
		var expired <-chan time.Time
		if b.resumeT != nil {
			expired = b.resumeT.C()
		}
		select {
		case f := <-b.cmds:
			f()
		case <-expired:
			b.resumeT = nil
			if b.st.expire(b.clock.Now()) {
				b.log.Info("booth: the interpreter lost on air did not come back in time", "lang", b.Lang)
				b.changed()
			} else {
				b.armResume()
			}
		case <-b.done:
			return
		}
	}
}

// armResume sets the timer for the awaited member's deadline, or stops it
// when nobody is awaited.
func (b *Booth) armResume() {
	r := b.st.resume
	if r == nil {
		if b.resumeT != nil {
			b.resumeT.Stop()
			b.resumeT = nil
		}
		return
	}
	if b.resumeT != nil && b.resumeAt.Equal(r.Until) {
		return
	}
	if b.resumeT != nil {
		b.resumeT.Stop()
	}
	b.resumeAt = r.Until
	b.resumeT = b.clock.NewTimer(max(r.Until.Sub(b.clock.Now()), 0))
}

// exec runs f on the booth goroutine and waits for it.
func (b *Booth) exec(f func() error) error {
	reply := make(chan error, 1)
	select {
	case b.cmds <- func() { reply <- f() }:
	case <-b.done:
		return ErrClosed
	}
	select {
	case err := <-reply:
		return err
	case <-b.stopped:
		return ErrClosed
	}
}

// Close stops the booth goroutine and waits for it.
func (b *Booth) Close() {
	b.once.Do(func() { close(b.done) })
	<-b.stopped
	b.signals.Close()
}

// Signals is the track of the booth's messages to the producer (slow down,
// notes): read it to hear them.
func (b *Booth) Signals() *media.Track[Signal] { return b.signals }

// Join adds (or reconnects) a member. A previous connection of the same
// member is replaced (Conn.Replaced), and its later Leave is ignored.
func (b *Booth) Join(id, name string, mic Mic, forward Forward, conn Conn) error {
	return b.exec(func() error {
		if old, ok := b.conns[id]; ok && old.conn != nil && old.conn != conn {
			old.conn.Replaced()
		}
		restored := b.st.join(id, name, b.clock.Now())
		// A member comes back to the input they had: the transport asks for
		// it (Input) and sets it up, or sets the floor if it cannot.
		in := b.st.members[id].Input
		if in == "" {
			in = "floor"
		}
		b.conns[id] = &boothMember{mic: mic, forward: forward, conn: conn, input: in}
		b.changed()
		b.log.Info("booth join", "lang", b.Lang, "member", id, "back_on_air", restored)
		return nil
	})
}

// Input is what the member hears as source ("floor" or "relay:TAG"): on
// joining, the input they had before a lost connection or a restart, which
// the transport sets up again (or replaces with the floor through Do when
// that relay is gone).
func (b *Booth) Input(id string) string {
	in := "floor"
	_ = b.exec(func() error {
		if m, ok := b.conns[id]; ok {
			in = m.input
		} else if m, ok := b.st.members[id]; ok && m.Input != "" {
			in = m.Input
		}
		return nil
	})
	return in
}

// Leave removes a member's connection, if conn is still its current one:
// the member left (closed the page). A member on air leaves the floor to
// come back at full level at once.
func (b *Booth) Leave(id string, conn Conn) { b.leave(id, conn, false) }

// Lost is Leave for a connection that was lost rather than closed: the
// floor comes back at full level at once all the same, but a member who was
// on air is awaited back on air for the booth's grace time (Snapshot.Resume).
func (b *Booth) Lost(id string, conn Conn) { b.leave(id, conn, true) }

func (b *Booth) leave(id string, conn Conn, lost bool) {
	_ = b.exec(func() error {
		m, ok := b.conns[id]
		if !ok || m.conn != conn {
			return nil
		}
		wasOnAir := b.st.onAir == id
		m.conn, m.mic = nil, nil
		if lost {
			b.st.lost(id, b.clock.Now().Add(b.grace))
		} else {
			b.st.leave(id)
		}
		// Before the change: the release must not wait for the pages to
		// be told.
		if wasOnAir {
			b.mix.ReleaseNow()
		}
		b.changed()
		b.log.Info("booth leave", "lang", b.Lang, "member", id, "was_on_air", wasOnAir, "lost", lost,
			"awaited", b.st.resume != nil && b.st.resume.ID == id)
		return nil
	})
}

// Action is one request from a member's page.
type Action struct {
	Type   string // mic, cough, handover, accept, cancel, take, chat, to_producer, slow_down, input
	On     bool   // mic
	Down   bool   // cough
	Text   string // chat, to_producer
	Source string // input
}

// Do applies a member's action; the error says why it was refused and
// nothing changed.
func (b *Booth) Do(id string, conn Conn, a Action) error {
	return b.exec(func() error {
		m, ok := b.conns[id]
		if !ok || m.conn != conn {
			return ErrNoMember
		}
		var err error
		switch a.Type {
		case "mic":
			wasOnAir := b.st.onAir == id
			err = b.st.mic(id, a.On)
			if err == nil && wasOnAir && !a.On {
				b.mix.ReleaseNow() // before changed(), below
			}
		case "cough":
			err = b.st.cough(id, a.Down)
		case "handover":
			err = b.st.offer(id)
		case "accept":
			err = b.st.accept(id)
		case "cancel":
			err = b.st.cancel(id)
		case "take":
			err = b.st.take(id)
		case "input":
			m.input = a.Source
			b.st.add(id, "").Input = a.Source
		case "chat":
			if err = checkText(a.Text); err == nil {
				msg := ChatMsg{Type: "chat", From: b.person(id), Text: a.Text, At: b.clock.Now().UTC()}
				for _, o := range b.conns {
					if o.conn != nil {
						o.conn.Send(msg)
					}
				}
			}
			return err
		case "to_producer", "slow_down":
			kind := "message"
			if a.Type == "slow_down" {
				kind = "slow_down"
			} else if err = checkText(a.Text); err != nil {
				return err
			}
			sig := Signal{Kind: kind, Lang: b.Lang, From: b.person(id), Text: a.Text, At: b.clock.Now().UTC()}
			b.signals.Write(sig)
			conn.Send(SignalMsg{Type: "signal", Signal: sig})
			b.log.Info("booth signal", "lang", b.Lang, "kind", kind, "member", id)
			return nil
		default:
			return ErrBadState
		}
		if err == nil {
			b.changed()
		}
		return err
	})
}

// SetMuted mutes the booth (on) or releases it: while muted, its language
// carries the floor at full level whoever is on air, and every member's page
// says so. The producer's way to take a language back to the floor.
func (b *Booth) SetMuted(on bool) {
	_ = b.exec(func() error {
		if b.st.muted == on {
			return nil
		}
		b.st.muted = on
		if on {
			b.mix.ReleaseNow()
		}
		b.changed()
		b.log.Info("booth muted by the producer", "lang", b.Lang, "muted", on)
		return nil
	})
}

// ProducerMsg is a message from the producer to a booth's pages.
type ProducerMsg struct {
	Type string    `json:"type"` // "producer"
	Text string    `json:"text"`
	At   time.Time `json:"at"`
	// All is set on a notice sent to every booth of the event.
	All bool `json:"all,omitempty"`
}

// Notice sends the producer's text to every connected member (all marks a
// notice that went to every booth). It fails on a text that is empty or too
// long, and on a closed booth.
func (b *Booth) Notice(text string, all bool) error {
	if err := checkText(text); err != nil {
		return err
	}
	return b.exec(func() error {
		msg := ProducerMsg{Type: "producer", Text: text, At: b.clock.Now().UTC(), All: all}
		for _, m := range b.conns {
			if m.conn != nil {
				m.conn.Send(msg)
			}
		}
		return nil
	})
}

// SetDirectTake lets members take the channel without a handover.
func (b *Booth) SetDirectTake(on bool) {
	_ = b.exec(func() error {
		b.st.directTake = on
		b.changed()
		return nil
	})
}

// Snapshot returns the booth's state.
func (b *Booth) Snapshot() (Snapshot, error) {
	var s Snapshot
	err := b.exec(func() error {
		s = b.snapshot()
		return nil
	})
	return s, err
}

// snapshot is the state as members and the producer see it: with the
// program time it is mixed from and each connected member's input.
func (b *Booth) snapshot() Snapshot {
	s := b.st.snapshot()
	s.PTS = b.pts
	for i := range s.Members {
		if m, ok := b.conns[s.Members[i].ID]; ok && m.conn != nil {
			s.Members[i].Input = m.input
		}
	}
	return s
}

func (b *Booth) person(id string) Person {
	if m, ok := b.st.members[id]; ok {
		return Person{ID: id, Name: m.Name}
	}
	return Person{ID: id}
}

// changed pushes the new state to the voice, the partner feeds and every
// page, and hands what is to be kept to Save when it changed.
func (b *Booth) changed() {
	b.armResume()
	if sv := b.st.saved(); b.save != nil && !sv.equal(b.lastSaved) {
		b.lastSaved = sv
		b.save(sv)
	}
	onAir, open := b.st.gate()
	sel := &selection{open: open}
	for id, m := range b.conns {
		if m.mic == nil {
			continue
		}
		sel.all = append(sel.all, m.mic)
		if id == onAir {
			sel.onAir = m.mic
		}
	}
	b.pts = b.voice.set(sel)
	snap := b.snapshot()
	for id, m := range b.conns {
		if m.conn == nil {
			continue
		}
		var partner Forward
		if p, ok := b.conns[b.st.partnerOf(id)]; ok && p.conn != nil {
			partner = p.forward
		}
		m.conn.Partner(partner)
		m.conn.Send(StateMsg{Type: "state", Snapshot: snap, Input: m.input})
	}
}
