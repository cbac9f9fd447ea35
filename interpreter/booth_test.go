package interpreter

import (
	"log/slog"
	"sync"
	"testing"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// recConn records what a booth sends to one member's page.
type recConn struct {
	mu   sync.Mutex
	msgs []any
}

func (c *recConn) Send(msg any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, msg)
	return true
}
func (c *recConn) Partner(Forward) {}
func (c *recConn) Replaced()       {}

func (c *recConn) notices() []ProducerMsg {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []ProducerMsg
	for _, m := range c.msgs {
		if p, ok := m.(ProducerMsg); ok {
			out = append(out, p)
		}
	}
	return out
}

type countReleaser struct {
	mu sync.Mutex
	n  int
}

func (r *countReleaser) ReleaseNow() { r.mu.Lock(); r.n++; r.mu.Unlock() }

// heard reads the voice for 100 ms from pts on and reports whether its last
// frame carries the on-air microphone.
func heard(t *testing.T, v *Voice, pts int64) bool {
	t.Helper()
	var f audio.Frame
	var ok bool
	for i := range 5 {
		f, ok = v.ReadFrame(pts + int64(i*audio.FrameSamples))
	}
	return ok && audio.RMS(f.Samples) > 0.1
}

// The producer's mute takes a language back to the floor whoever is on air;
// releasing it brings the interpreter back. Notices reach every page.
func TestBoothMuteAndNotice(t *testing.T) {
	v, err := NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	rel := &countReleaser{}
	b := NewBooth("fr", v, rel, audiotest.NewClock(), slog.New(slog.DiscardHandler))
	defer b.Close()
	a, c := &recConn{}, &recConn{}
	if err := b.Join("A", "Anne", &toneMic{freq: 440}, nil, a); err != nil {
		t.Fatal(err)
	}
	if err := b.Join("B", "Ben", &toneMic{freq: 660}, nil, c); err != nil {
		t.Fatal(err)
	}
	if err := b.Do("A", a, Action{Type: "mic", On: true}); err != nil {
		t.Fatal(err)
	}
	if err := b.Do("B", c, Action{Type: "input", Source: "relay:de"}); err != nil {
		t.Fatal(err)
	}
	if !heard(t, v, 0) {
		t.Fatal("the on-air interpreter is not heard")
	}
	b.SetMuted(true)
	snap, _ := b.Snapshot()
	if !snap.Muted || snap.OnAir == nil || *snap.OnAir != "A" {
		t.Fatalf("muted snapshot %+v: want muted with Anne still on air", snap)
	}
	if heard(t, v, 10*audio.FrameSamples) {
		t.Fatal("a muted booth is still heard")
	}
	if rel.n != 1 {
		t.Fatalf("mute released the floor %d times, want once", rel.n)
	}
	b.SetMuted(false)
	if !heard(t, v, 20*audio.FrameSamples) {
		t.Fatal("the interpreter is not heard after the booth is released")
	}
	snap, _ = b.Snapshot()
	inputs := map[string]string{}
	for _, m := range snap.Members {
		inputs[m.ID] = m.Input
	}
	if snap.Muted || inputs["A"] != "floor" || inputs["B"] != "relay:de" {
		t.Fatalf("snapshot %+v, inputs %v", snap, inputs)
	}
	if err := b.Notice("", false); err == nil {
		t.Fatal("an empty notice was sent")
	}
	if err := b.Notice("five minutes to the break", true); err != nil {
		t.Fatal(err)
	}
	b.Snapshot() // the booth goroutine has sent the notice when this returns
	for _, conn := range []*recConn{a, c} {
		n := conn.notices()
		if len(n) != 1 || n[0].Text != "five minutes to the break" || !n[0].All || n[0].Type != "producer" {
			t.Fatalf("notices %+v", n)
		}
	}
}
