package media

import (
	"testing"
	"time"

	"tolk/internal/audio"
)

func TestTrackDropsAndCountsPerReader(t *testing.T) {
	tr := NewTrack[int]("fr/opus")
	slow, fast := tr.Read("slow", 2), tr.Read("fast", 10)
	for i := range 5 {
		tr.Write(i)
	}
	if got := slow.Dropped(); got != 3 {
		t.Errorf("slow reader dropped %d, want 3", got)
	}
	if got := fast.Dropped(); got != 0 {
		t.Errorf("fast reader dropped %d, want 0", got)
	}
	if v := <-slow.C; v != 0 {
		t.Errorf("slow reader got %d first, want the oldest kept (0)", v)
	}
	s := tr.Stats()
	if s.Name != "fr/opus" || s.Written != 5 || len(s.Readers) != 2 || s.Readers[0].Name != "fast" ||
		s.Readers[0].Received != 5 || s.Readers[1].Received != 2 || s.Readers[1].Dropped != 3 {
		t.Errorf("stats %+v", s)
	}
	slow.Close()
	slow.Close()
	if _, ok := <-slow.C; !ok {
		t.Error("a closed reader lost what it had queued")
	}
	if tr.Readers() != 1 {
		t.Errorf("%d readers after one closed, want 1", tr.Readers())
	}
	tr.Close()
	for range fast.C {
	}
	late := tr.Read("late", 1)
	if _, ok := <-late.C; ok {
		t.Error("a reader of a closed track got a value")
	}
	if n := tr.Write(9); n != 0 || tr.Readers() != 0 {
		t.Errorf("a closed track has %d readers and dropped %d", tr.Readers(), n)
	}
}

func TestTimelineFixesItsEpochOnce(t *testing.T) {
	tl := NewTimeline()
	if _, ok := tl.Epoch(); ok || !tl.Wall(0).IsZero() || tl.Now() != -1 {
		t.Fatal("a new timeline has an epoch or a tick")
	}
	e := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	if got := tl.Fix(e); !got.Equal(e) {
		t.Fatalf("fix returned %v", got)
	}
	if got := tl.Fix(e.Add(time.Hour)); !got.Equal(e) {
		t.Fatalf("a second fix moved the epoch to %v", got)
	}
	if got := tl.Wall(audio.SampleRate * 90); !got.Equal(e.Add(90 * time.Second)) {
		t.Errorf("wall of 90 s: %v", got)
	}
	if tl.At(e) != -1 {
		t.Errorf("program time %d before the first tick", tl.At(e))
	}
	at := e.Add(time.Hour)
	tl.Tick(960, at)
	if tl.Now() != 960 {
		t.Errorf("now %d", tl.Now())
	}
	for d, want := range map[time.Duration]int64{0: 960, 10 * time.Millisecond: 1440, time.Second: 1920, -time.Second: 960} {
		if got := tl.At(at.Add(d)); got != want {
			t.Errorf("program time %v after the tick: %d, want %d", d, got, want)
		}
	}
}
