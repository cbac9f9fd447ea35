// Package interpreter runs the interpreters' booths: who is in a booth, who is
// on air, handover, cough and mute, booth chat and signals, the WebRTC
// sessions of the booth pages, and the voice each booth feeds to its
// language's mix.
package interpreter

import (
	"errors"
	"sort"
	"time"
	"unicode/utf8"
)

// MaxText bounds a chat line or a message to the producer.
const MaxText = 500

// Errors a booth answers a refused action with; their text goes to the page.
var (
	ErrNotAllowed = errors.New("not allowed")
	ErrBadState   = errors.New("not possible now")
	ErrBadText    = errors.New("text must be 1 to 500 characters")
	ErrNoMember   = errors.New("not a member of this booth")
)

// Member is one interpreter of a booth as the pages see it.
type Member struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Connected bool   `json:"connected"`
	Mic       bool   `json:"mic"`
	Cough     bool   `json:"cough"`
	OnAir     bool   `json:"on_air"`
	// Input is what the member hears as source: "floor" or "relay:TAG".
	Input string `json:"input,omitempty"`
}

// Handover is a pending offer of the channel from one member to another.
type Handover struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Snapshot is the booth's state as sent to every member.
type Snapshot struct {
	Members    []Member  `json:"members"`
	OnAir      *string   `json:"on_air"`
	Handover   *Handover `json:"handover"`
	Warning    *string   `json:"warning"`
	DirectTake bool      `json:"direct_take"`
	// Muted is set by the producer: the booth is not heard and its language
	// carries the floor at full level, whoever is on air.
	Muted bool `json:"muted"`
	// PTS is the program time (48 kHz samples) of the first tick that mixes
	// this state, to within one tick: where a handover, a cough or a leave
	// falls on the program's timeline.
	PTS int64 `json:"pts"`
	// Resume names the member who was on air when their connection was lost
	// (or the server stopped): until Until, their return puts them back on
	// air with the microphone open. Meanwhile the language carries the floor
	// at full level. Null when nobody is awaited.
	Resume *Resume `json:"resume"`
}

// Resume is a member lost while on air and awaited back.
type Resume struct {
	ID    string    `json:"id"`
	Until time.Time `json:"until"`
}

// WarnTwoMics is raised while two members have their microphones open.
const WarnTwoMics = "two_mics_open"

// state is the booth's state machine. It is pure: no goroutines, no clock, so
// every sequence of events can be tested as a table. The booth goroutine owns it.
type state struct {
	members    map[string]*Member
	order      []string // join order, for a stable member list
	onAir      string
	handover   *Handover
	directTake bool
	muted      bool
	// resume is the member lost while on air, awaited back on air.
	resume *Resume
}

func newState() *state { return &state{members: map[string]*Member{}} }

// join adds a member or marks a returning one connected (a rejoin resumes:
// the member's place is kept, the microphone comes back closed). A member
// awaited back on air (resume) who returns before the deadline, with nobody
// else on air, is on air again with the microphone open: restored says so.
// So is a member on air whose new connection replaces one the server has
// not yet seen drop.
func (s *state) join(id, name string, now time.Time) (restored bool) {
	m := s.add(id, name)
	replacesOnAir := m.Connected && s.onAir == id && m.Mic
	m.Connected = true
	m.Mic = replacesOnAir
	m.Cough = false
	if replacesOnAir {
		return true
	}
	if r := s.resume; r != nil && r.ID == id {
		s.resume = nil
		if s.onAir == "" && now.Before(r.Until) {
			m.Mic = true
			s.onAir = id
			return true
		}
	}
	return false
}

// add returns a member, adding it (not connected) if it is new.
func (s *state) add(id, name string) *Member {
	m, ok := s.members[id]
	if !ok {
		m = &Member{ID: id}
		s.members[id] = m
		s.order = append(s.order, id)
	}
	if name != "" {
		m.Name = name
	}
	return m
}

// lost is a leave the member did not ask for (a dropped connection): a
// member on air with the microphone open is awaited back on air until
// until.
func (s *state) lost(id string, until time.Time) {
	m, ok := s.members[id]
	onAir := ok && m.Connected && s.onAir == id && m.Mic
	s.leave(id)
	if onAir {
		s.resume = &Resume{ID: id, Until: until}
	}
}

// expire gives up on an awaited member whose deadline has passed; true if
// it did.
func (s *state) expire(now time.Time) bool {
	if s.resume == nil || now.Before(s.resume.Until) {
		return false
	}
	s.resume = nil
	return true
}

// leave marks a member gone: off air, microphone closed, pending handovers
// involving it withdrawn.
func (s *state) leave(id string) {
	m, ok := s.members[id]
	if !ok {
		return
	}
	m.Connected, m.Mic, m.Cough = false, false, false
	if s.onAir == id {
		s.onAir = ""
	}
	if s.handover != nil && (s.handover.From == id || s.handover.To == id) {
		s.handover = nil
	}
}

func (s *state) member(id string) (*Member, error) {
	m, ok := s.members[id]
	if !ok || !m.Connected {
		return nil, ErrNoMember
	}
	return m, nil
}

// mic opens or closes a member's microphone. Opening it with nobody on air
// puts the member on air; closing it takes the member off air.
func (s *state) mic(id string, on bool) error {
	m, err := s.member(id)
	if err != nil {
		return err
	}
	m.Mic = on
	switch {
	case on && s.onAir == "":
		s.onAir = id
		s.resume = nil // someone else has the channel now
	case !on && s.onAir == id:
		s.onAir = ""
		if s.handover != nil && s.handover.From == id {
			s.handover = nil
		}
	}
	return nil
}

func (s *state) cough(id string, down bool) error {
	m, err := s.member(id)
	if err != nil {
		return err
	}
	m.Cough = down
	return nil
}

// offer: the member on air offers the channel to a connected partner.
func (s *state) offer(id string) error {
	if _, err := s.member(id); err != nil {
		return err
	}
	if s.onAir != id {
		return ErrBadState
	}
	to := s.partnerOf(id)
	if to == "" {
		return ErrBadState
	}
	s.handover = &Handover{From: id, To: to}
	return nil
}

// accept completes a handover offered to id: id goes on air with its mic
// open, the previous member's mic closes.
func (s *state) accept(id string) error {
	if _, err := s.member(id); err != nil {
		return err
	}
	if s.handover == nil || s.handover.To != id {
		return ErrBadState
	}
	s.switchTo(id)
	return nil
}

// cancel withdraws an offer (by either side).
func (s *state) cancel(id string) error {
	if s.handover == nil || (s.handover.From != id && s.handover.To != id) {
		return ErrBadState
	}
	s.handover = nil
	return nil
}

// take puts id on air directly: when nobody is on air, or the producer allows
// direct takes.
func (s *state) take(id string) error {
	if _, err := s.member(id); err != nil {
		return err
	}
	if s.onAir == id {
		return ErrBadState
	}
	if s.onAir != "" && !s.directTake {
		return ErrNotAllowed
	}
	s.switchTo(id)
	return nil
}

func (s *state) switchTo(id string) {
	if prev, ok := s.members[s.onAir]; ok && s.onAir != id {
		prev.Mic = false
		prev.Cough = false
	}
	s.members[id].Mic = true
	s.onAir = id
	s.handover = nil
	s.resume = nil
}

// partnerOf is the first other connected member.
func (s *state) partnerOf(id string) string {
	for _, o := range s.order {
		if o != id && s.members[o].Connected {
			return o
		}
	}
	return ""
}

// gate says whether the on-air voice is heard: on air, mic open, no cough,
// and the producer has not muted the booth.
func (s *state) gate() (onAir string, open bool) {
	m, ok := s.members[s.onAir]
	if !ok {
		return "", false
	}
	return s.onAir, m.Mic && !m.Cough && !s.muted
}

func (s *state) snapshot() Snapshot {
	snap := Snapshot{DirectTake: s.directTake, Muted: s.muted}
	if s.resume != nil {
		r := *s.resume
		snap.Resume = &r
	}
	open := 0
	for _, id := range s.order {
		m := *s.members[id]
		m.OnAir = id == s.onAir
		if m.Mic && m.Connected {
			open++
		}
		snap.Members = append(snap.Members, m)
	}
	sort.SliceStable(snap.Members, func(i, j int) bool { return snap.Members[i].Connected && !snap.Members[j].Connected })
	if s.onAir != "" {
		id := s.onAir
		snap.OnAir = &id
	}
	if s.handover != nil {
		h := *s.handover
		snap.Handover = &h
	}
	if open > 1 {
		w := WarnTwoMics
		snap.Warning = &w
	}
	return snap
}

func checkText(text string) error {
	n := utf8.RuneCountInString(text)
	if n == 0 || n > MaxText || !utf8.ValidString(text) {
		return ErrBadText
	}
	return nil
}
