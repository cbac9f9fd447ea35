package interpreter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"tolk/internal/audio"
)

// ResumeGrace is how long a booth waits for the interpreter who was on air
// when their connection was lost, or when the server stopped: returning
// within it puts them back on air without a click. The language carries the
// floor at full level meanwhile, as it does without an interpreter.
const ResumeGrace = 2 * time.Minute

// Saved is what a booth keeps across a restart of the server: who was on
// air (or awaited back on air), the members' names and inputs, and the
// producer's settings for the booth. A pending handover, coughs and the partners'
// microphones are not kept: they belong to a moment, not to the booth.
type Saved struct {
	// OnAir is the member (token id) on air, "" for nobody.
	OnAir      string        `json:"on_air,omitempty"`
	Members    []SavedMember `json:"members,omitempty"`
	Muted      bool          `json:"muted,omitempty"`
	DirectTake bool          `json:"direct_take,omitempty"`
}

// SavedMember is a member of a saved booth.
type SavedMember struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// Input is the relay the member listened to ("relay:TAG"); empty for
	// the floor. An interpreter working from a relay does not understand
	// the floor: after a restart they hear the relay again.
	Input string `json:"input,omitempty"`
}

func (a Saved) equal(b Saved) bool {
	return a.OnAir == b.OnAir && a.Muted == b.Muted && a.DirectTake == b.DirectTake && slices.Equal(a.Members, b.Members)
}

// saved is the state to keep: a member awaited back on air counts as on air,
// so that a restart during the wait still brings them back; and the relay
// each member listened to.
func (s *state) saved() Saved {
	sv := Saved{OnAir: s.onAir, Muted: s.muted, DirectTake: s.directTake}
	if sv.OnAir == "" && s.resume != nil {
		sv.OnAir = s.resume.ID
	}
	for _, id := range s.order {
		m := s.members[id]
		in := m.Input
		if in == "floor" {
			in = ""
		}
		sv.Members = append(sv.Members, SavedMember{ID: id, Name: m.Name, Input: in})
	}
	return sv
}

// restore starts from what a previous run saved: its members listed as not
// connected, its settings, and the member on air awaited back until until.
func (s *state) restore(sv Saved, until time.Time) {
	for _, m := range sv.Members {
		if m.ID != "" {
			s.add(m.ID, m.Name).Input = m.Input
		}
	}
	s.muted, s.directTake = sv.Muted, sv.DirectTake
	if sv.OnAir != "" {
		s.add(sv.OnAir, "")
		s.resume = &Resume{ID: sv.OnAir, Until: until}
	}
}

// AliveEvery is how often a StateFile notes that its server still runs:
// how stale the last sign of life of a killed server can be.
const AliveEvery = 10 * time.Second

// StateFile keeps the saved state of an event's booths in one small JSON
// file, {"alive": time, "booths": {"lang": Saved, …}}, rewritten whole on
// every change and every AliveEvery (alive: the server still ran then):
// written to a temporary file, synced and renamed over the old one, so that
// a crash at any moment leaves either the old state or the new one, never a
// mix. Writes happen on a goroutine of their own; a burst of changes writes
// the latest state once.
type StateFile struct {
	path  string
	log   *slog.Logger
	clock audio.Clock
	quit  chan struct{}
	beat  chan struct{} // closed when the heartbeat goroutine ends

	mu      sync.Mutex
	data    stateData
	dirty   bool
	writing bool
	closed  bool
	idle    *sync.Cond // signalled when a write ends
}

// stateData is the file's content.
type stateData struct {
	Alive  time.Time        `json:"alive"`
	Booths map[string]Saved `json:"booths"`
}

// OpenStateFile reads the state saved at path, if any, and keeps it up to
// date from then on (Close stops it). A missing file is an empty state; an
// unreadable one is logged and replaced, since booths can always start
// afresh. When the server that wrote it gave its last sign of life more than
// ResumeGrace ago, nobody is awaited back on air: the members and settings
// are kept, who was on air is not.
func OpenStateFile(path string, clock audio.Clock, log *slog.Logger) (*StateFile, error) {
	if log == nil {
		log = slog.Default()
	}
	if clock == nil {
		clock = audio.SystemClock{}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("booth state: %w", err)
	}
	// A temporary file is what a crash in the middle of a write leaves.
	if ents, err := os.ReadDir(filepath.Dir(path)); err == nil {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), filepath.Base(path)+".tmp") {
				os.Remove(filepath.Join(filepath.Dir(path), e.Name()))
			}
		}
	}
	f := &StateFile{path: path, log: log, clock: clock, quit: make(chan struct{}), beat: make(chan struct{})}
	f.idle = sync.NewCond(&f.mu)
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("booth state: %w", err)
	default:
		if err := json.Unmarshal(b, &f.data); err != nil {
			log.Warn("booth state unreadable: starting afresh", "path", path, "err", err)
			f.data = stateData{}
		}
	}
	if f.data.Booths == nil {
		f.data.Booths = map[string]Saved{}
	}
	if down := clock.Now().Sub(f.data.Alive); !f.data.Alive.IsZero() && down > ResumeGrace {
		for lang, sv := range f.data.Booths {
			if sv.OnAir != "" {
				log.Info("booth state: the server was down too long to await the interpreter on air", "lang", lang,
					"member", sv.OnAir, "down", down.Round(time.Second))
				sv.OnAir = ""
				f.data.Booths[lang] = sv
			}
		}
	}
	f.mu.Lock()
	f.touch()
	f.mu.Unlock()
	go f.heartbeat()
	return f, nil
}

// heartbeat notes every AliveEvery that the server still runs.
func (f *StateFile) heartbeat() {
	defer close(f.beat)
	for {
		t := f.clock.NewTimer(AliveEvery)
		select {
		case <-t.C():
		case <-f.quit:
			t.Stop()
			return
		}
		f.mu.Lock()
		if !f.closed {
			f.touch()
		}
		f.mu.Unlock()
	}
}

// Load returns what was saved for lang (zero: nothing).
func (f *StateFile) Load(lang string) Saved {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.data.Booths[lang]
}

// Save records lang's state and writes the file soon, without waiting.
func (f *StateFile) Save(lang string, sv Saved) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.data.Booths[lang] = sv
	f.touch()
}

// touch stamps the state as alive now and has it written; f.mu is held.
func (f *StateFile) touch() {
	f.data.Alive = f.clock.Now().UTC()
	f.dirty = true
	if !f.writing {
		f.writing = true
		go f.writer()
	}
}

// writer writes the file until nothing is left to write, then ends.
func (f *StateFile) writer() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.dirty {
		f.dirty = false
		b, err := json.Marshal(f.data)
		f.mu.Unlock()
		if err == nil {
			err = writeAtomic(f.path, b)
		}
		f.mu.Lock()
		if err != nil {
			f.log.Error("booth state not saved", "path", f.path, "err", err)
		}
	}
	f.writing = false
	f.idle.Broadcast()
}

// Flush waits until every saved state is on disk.
func (f *StateFile) Flush() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.writing {
		f.idle.Wait()
	}
}

// Close stops taking saves and waits until what was saved is on disk.
func (f *StateFile) Close() {
	f.mu.Lock()
	already := f.closed
	f.closed = true
	f.mu.Unlock()
	if !already {
		close(f.quit)
	}
	<-f.beat
	f.Flush()
}

// writeAtomic replaces path with b: a synced temporary file renamed over
// it, then the directory synced so the rename itself survives a crash.
func writeAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_, err = tmp.Write(b)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(name, path)
	}
	if err != nil {
		os.Remove(name)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
