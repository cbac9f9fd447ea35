package interpreter

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// saves records what a booth hands to Save.
type saves struct {
	mu  sync.Mutex
	all []Saved
}

func (s *saves) save(sv Saved) { s.mu.Lock(); s.all = append(s.all, sv); s.mu.Unlock() }

func (s *saves) last() Saved {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.all) == 0 {
		return Saved{}
	}
	return s.all[len(s.all)-1]
}

func (s *saves) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.all) }

func onAirOf(t *testing.T, b *Booth) (string, *Resume) {
	t.Helper()
	snap, err := b.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	id := ""
	if snap.OnAir != nil {
		id = *snap.OnAir
	}
	return id, snap.Resume
}

// A booth saves who is on air on every change that matters (not on chat or
// inputs); a booth started from what it saved awaits that member, puts them
// back on air with the microphone open when they rejoin, without a mic
// message, and is heard again; the producer's settings come back too.
func TestBoothSavesAndRestoresOnAir(t *testing.T) {
	clock := audiotest.NewClock()
	log := slog.New(slog.DiscardHandler)
	v, err := NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	var s1 saves
	b := NewBoothWith("fr", v, &countReleaser{}, clock, log, BoothOptions{Save: s1.save})
	a, c := &recConn{}, &recConn{}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.Join("A", "Anne", &toneMic{freq: 440}, nil, a))
	must(b.Join("B", "Ben", &toneMic{freq: 660}, nil, c))
	must(b.Do("A", a, Action{Type: "mic", On: true}))
	b.SetMuted(true)
	b.SetMuted(false)
	b.SetDirectTake(true)
	// Ben works from the German relay.
	must(b.Do("B", c, Action{Type: "input", Source: "relay:de"}))
	n := s1.count()
	must(b.Do("A", a, Action{Type: "chat", Text: "hello"}))
	must(b.Do("B", c, Action{Type: "cough", Down: true}))
	if s1.count() != n {
		t.Errorf("chat and cough saved the booth %d times", s1.count()-n)
	}
	want := Saved{OnAir: "A", Members: []SavedMember{{ID: "A", Name: "Anne"}, {ID: "B", Name: "Ben", Input: "relay:de"}}, DirectTake: true}
	if got := s1.last(); !got.equal(want) {
		t.Fatalf("saved %+v, want %+v", got, want)
	}
	b.Close() // the server is killed: nobody left

	// The next run.
	v, err = NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	// What the file holds: what the last run saved, until this run saves.
	s2 := saves{all: []Saved{s1.last()}}
	rel := &countReleaser{}
	b = NewBoothWith("fr", v, rel, clock, log, BoothOptions{Saved: s1.last(), Save: s2.save, Grace: time.Minute})
	defer b.Close()
	id, r := onAirOf(t, b)
	if id != "" || r == nil || r.ID != "A" || !r.Until.Equal(clock.Now().Add(time.Minute)) {
		t.Fatalf("restored booth: on air %q, awaiting %+v; want nobody on air, Anne awaited for a minute", id, r)
	}
	snap, _ := b.Snapshot()
	if len(snap.Members) != 2 || snap.Members[0].Connected || snap.Members[1].Name != "Ben" || !snap.DirectTake {
		t.Fatalf("restored members %+v, direct take %v", snap.Members, snap.DirectTake)
	}
	if heard(t, v, 0) {
		t.Fatal("a voice is heard before the interpreter is back")
	}
	if in := b.Input("B"); in != "relay:de" {
		t.Fatalf("Ben's input after the restart %q, want relay:de", in)
	}
	clock.Advance(59 * time.Second)
	c = &recConn{}
	must(b.Join("B", "Ben", &toneMic{freq: 660}, nil, c))
	if in := b.Input("B"); in != "relay:de" {
		t.Fatalf("Ben rejoined with input %q, want relay:de", in)
	}
	// His relay is gone in this run: the transport sets the floor.
	must(b.Do("B", c, Action{Type: "input", Source: "floor"}))
	if in := b.Input("B"); in != "floor" {
		t.Fatalf("Ben's input %q, want floor", in)
	}
	must(b.Do("B", c, Action{Type: "input", Source: "relay:de"}))
	b.Lost("B", c)
	c = &recConn{}
	must(b.Join("B", "Ben", &toneMic{freq: 660}, nil, c))
	if in := b.Input("B"); in != "relay:de" {
		t.Fatalf("Ben's input after his link dropped %q, want relay:de", in)
	}
	if id, r := onAirOf(t, b); id != "" || r == nil {
		t.Fatalf("the partner's return put %q on air (awaiting %+v)", id, r)
	}
	a = &recConn{}
	must(b.Join("A", "Anne", &toneMic{freq: 440}, nil, a))
	if id, r := onAirOf(t, b); id != "A" || r != nil {
		t.Fatalf("Anne is back: on air %q, awaiting %+v", id, r)
	}
	snap, _ = b.Snapshot()
	if !snap.Members[0].Mic || snap.Members[0].ID != "A" || snap.Members[1].Mic {
		t.Fatalf("members %+v: want Anne's mic open, Ben's closed", snap.Members)
	}
	if !heard(t, v, 10*audio.FrameSamples) {
		t.Fatal("Anne is back on air but not heard")
	}
	if got := s2.last(); got.OnAir != "A" {
		t.Errorf("saved %+v after the return", got)
	}

	// Her connection drops: the floor comes back at once, she is awaited,
	// and when she does not return in time the booth says so and saves it.
	b.Lost("A", a)
	if rel.n != 1 {
		t.Errorf("the floor was released %d times when Anne's connection dropped", rel.n)
	}
	if id, r := onAirOf(t, b); id != "" || r == nil || r.ID != "A" {
		t.Fatalf("after the drop: on air %q, awaiting %+v", id, r)
	}
	if heard(t, v, 20*audio.FrameSamples) {
		t.Fatal("a voice is heard while Anne is away")
	}
	if got := s2.last(); got.OnAir != "A" {
		t.Errorf("saved %+v while Anne is awaited: a restart now must still await her", got)
	}
	clock.Advance(time.Minute)
	waitFor(t, "the wait to end", func() bool { _, r := onAirOf(t, b); return r == nil })
	if got := s2.last(); got.OnAir != "" {
		t.Errorf("saved %+v after the wait ended", got)
	}
	var sawEnd bool
	for _, m := range c.states() {
		if m.Resume == nil && m.OnAir == nil {
			sawEnd = true
		}
	}
	if !sawEnd {
		t.Error("Ben's page was not told that the wait ended")
	}
	a = &recConn{}
	must(b.Join("A", "Anne", &toneMic{freq: 440}, nil, a))
	if id, _ := onAirOf(t, b); id != "" {
		t.Fatalf("Anne came back too late and is on air")
	}
}

// A member who closes the page (Leave) is not awaited; one whose connection
// drops is, and a newer connection replacing theirs changes nothing.
func TestBoothLeaveIsNotLost(t *testing.T) {
	clock := audiotest.NewClock()
	v, err := NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	b := NewBooth("fr", v, &countReleaser{}, clock, slog.New(slog.DiscardHandler))
	defer b.Close()
	a := &recConn{}
	if err := b.Join("A", "Anne", &toneMic{freq: 440}, nil, a); err != nil {
		t.Fatal(err)
	}
	if err := b.Do("A", a, Action{Type: "mic", On: true}); err != nil {
		t.Fatal(err)
	}
	b.Leave("A", a)
	if id, r := onAirOf(t, b); id != "" || r != nil {
		t.Fatalf("after a leave: on air %q, awaiting %+v", id, r)
	}
	a = &recConn{}
	if err := b.Join("A", "Anne", &toneMic{freq: 440}, nil, a); err != nil {
		t.Fatal(err)
	}
	if id, _ := onAirOf(t, b); id != "" {
		t.Fatal("a member who left is back on air")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never happened", what)
}

// The state file keeps every language's state across reopening; a torn or
// foreign file and a temporary file left by a crash are dropped.
func TestStateFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "booths", "ev.json")
	log := slog.New(slog.DiscardHandler)
	clock := audiotest.NewClock()
	f, err := OpenStateFile(path, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Load("fr"); !got.equal(Saved{}) {
		t.Fatalf("a new file holds %+v", got)
	}
	fr := Saved{OnAir: "tok1", Members: []SavedMember{{ID: "tok1", Name: "Anne"}, {ID: "tok2", Name: "Ben"}}, Muted: true}
	es := Saved{Members: []SavedMember{{ID: "tok3", Name: "Eva"}}, DirectTake: true}
	for i := range 50 { // a burst: the last state wins
		f.Save("fr", Saved{OnAir: string(rune('a' + i%26))})
	}
	f.Save("fr", fr)
	f.Save("es", es)
	f.Flush()
	if err := os.WriteFile(path+".tmp123", []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	g, err := OpenStateFile(path, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Load("fr"); !got.equal(fr) {
		t.Errorf("fr reopened as %+v, want %+v", got, fr)
	}
	if got := g.Load("es"); !got.equal(es) {
		t.Errorf("es reopened as %+v, want %+v", got, es)
	}
	if _, err := os.Stat(path + ".tmp123"); !os.IsNotExist(err) {
		t.Errorf("the temporary file a crash left is still there: %v", err)
	}
	g.Close()
	g.Save("fr", Saved{}) // after Close: ignored
	f.Close()

	if err := os.WriteFile(path, []byte(`{"booths": {"fr": {"on_air": 3`), 0o600); err != nil {
		t.Fatal(err)
	}
	h, err := OpenStateFile(path, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if got := h.Load("fr"); !got.equal(Saved{}) {
		t.Errorf("a torn file gave %+v", got)
	}
}

// alive reads the file's last sign of life.
func alive(t *testing.T, path string) time.Time {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d stateData
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	return d.Alive
}

// A running server's file says it is alive every AliveEvery; a file whose
// server was down longer than ResumeGrace awaits nobody back on air, though
// it keeps the members and settings.
func TestStateFileAlive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ev.json")
	log := slog.New(slog.DiscardHandler)
	clock := audiotest.NewClock()
	f, err := OpenStateFile(path, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	fr := Saved{OnAir: "tok1", Members: []SavedMember{{ID: "tok1", Name: "Anne"}}, Muted: true}
	f.Save("fr", fr)
	f.Flush()
	if got := alive(t, path); !got.Equal(clock.Now()) {
		t.Fatalf("alive %v, want %v", got, clock.Now())
	}
	start := clock.Now()
	for range 3 {
		waitFor(t, "the heartbeat to wait", func() bool { return clock.Pending() > 0 })
		clock.Advance(AliveEvery)
		waitFor(t, "the heartbeat", func() bool { f.Flush(); return alive(t, path).Equal(clock.Now()) })
	}
	if d := clock.Now().Sub(start); d != 3*AliveEvery {
		t.Fatalf("clock moved %v", d)
	}
	f.Close() // the server is killed here: nothing more is written

	// Back within the grace: Anne is awaited.
	clock.Advance(ResumeGrace)
	g, err := OpenStateFile(path, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	if got := g.Load("fr"); !got.equal(fr) {
		t.Errorf("back %v after the last sign of life: %+v, want %+v", ResumeGrace, got, fr)
	}
	g.Close()

	// Down longer than the grace (since the reopening's last sign of
	// life): nobody is awaited.
	clock.Advance(ResumeGrace + time.Second)
	h, err := OpenStateFile(path, clock, log)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := fr
	want.OnAir = ""
	if got := h.Load("fr"); !got.equal(want) {
		t.Errorf("back %v after the last sign of life: %+v, want %+v", ResumeGrace+time.Second, got, want)
	}
}

// states lists the state messages a page was sent.
func (c *recConn) states() []StateMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []StateMsg
	for _, m := range c.msgs {
		if s, ok := m.(StateMsg); ok {
			out = append(out, s)
		}
	}
	return out
}

// FuzzStateFile: whatever the file holds, opening it neither fails nor
// panics, and a booth restored from any language's state starts, awaits at
// most the member on air, and saves back what it restored.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"alive":"2026-01-01T09:00:00Z","booths":{"fr":{"on_air":"t1","members":[{"id":"t1","name":"Anne"},{"id":"t2"}],"muted":true,"direct_take":true}}}`))
	f.Add([]byte(`{"alive":"2026-01-01T08:00:00Z","booths":{"fr":{"on_air":"ghost"},"es":{}}}`))
	f.Add([]byte(`{"booths":{"fr":{"members":[{"id":""},{"id":"a"},{"id":"a"}]}}}`))
	f.Add([]byte(`{"alive":"x","booths":null}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"booths": {"fr": {"on_air": 3`))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "ev.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		clock := audiotest.NewClock() // 2026-01-01 09:00 UTC
		sf, err := OpenStateFile(path, clock, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		defer sf.Close()
		for _, lang := range []string{"fr", "es"} {
			sv := sf.Load(lang)
			s := newState()
			until := time.Date(2026, 1, 1, 9, 2, 0, 0, time.UTC)
			s.restore(sv, until)
			snap := s.snapshot()
			if snap.OnAir != nil {
				t.Fatalf("restored %+v with someone on air", sv)
			}
			if (snap.Resume != nil) != (sv.OnAir != "") || (snap.Resume != nil && snap.Resume.ID != sv.OnAir) {
				t.Fatalf("restored %+v awaits %+v", sv, snap.Resume)
			}
			for _, m := range snap.Members {
				if m.Connected || m.Mic {
					t.Fatalf("restored %+v: member %+v", sv, m)
				}
			}
			if back := s.saved(); back.OnAir != sv.OnAir || back.Muted != sv.Muted || back.DirectTake != sv.DirectTake {
				t.Fatalf("restored %+v saves %+v", sv, back)
			}
			if sv.OnAir != "" && !s.join(sv.OnAir, "", until.Add(-time.Second)) {
				t.Fatalf("restored %+v: the member on air is not back on air", sv)
			}
		}
	})
}
