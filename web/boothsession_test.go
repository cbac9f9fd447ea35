package web

import (
	"testing"

	"go.uber.org/goleak"

	"tolk/internal/media"
	"tolk/interpreter"
)

// The relay encoder runs only while a session takes the voice as input: the
// feeds subscribe to it on the first use and leave it after the last.
func TestFeedsEncodeRelayOnlyWhileUsed(t *testing.T) {
	defer goleak.VerifyNone(t)
	v, err := interpreter.NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	floor := media.NewTrack[media.Unit]("floor/opus")
	f, err := NewBoothFeeds(floor.Read("test", 1), map[string]*interpreter.Voice{"fr": v})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n := v.Packets().Readers(); n != 0 {
		t.Fatalf("%d relay subscribers before any session takes the relay", n)
	}
	if f.useRelay("de") != nil {
		t.Fatal("a relay for a language without a booth")
	}
	t1, t2 := f.useRelay("fr"), f.useRelay("fr")
	if t1 == nil || t1 != t2 {
		t.Fatalf("relay tracks %v and %v, want one shared track", t1, t2)
	}
	if n := v.Packets().Readers(); n != 1 {
		t.Fatalf("%d relay subscribers for two sessions, want 1", n)
	}
	f.releaseRelay("fr")
	if n := v.Packets().Readers(); n != 1 {
		t.Fatalf("%d relay subscribers while one session still listens, want 1", n)
	}
	f.releaseRelay("fr")
	if n := v.Packets().Readers(); n != 0 {
		t.Fatalf("%d relay subscribers after the last session left, want 0", n)
	}
	f.useRelay("fr")
	if n := v.Packets().Readers(); n != 1 {
		t.Fatalf("%d relay subscribers after a session came back, want 1", n)
	}
	f.Close()
	if n := v.Packets().Readers(); n != 0 {
		t.Fatalf("%d relay subscribers after Close, want 0", n)
	}
}
