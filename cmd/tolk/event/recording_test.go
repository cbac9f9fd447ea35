package event

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/store"
)

func finalCue(start, end int64, text string) captions.Cue {
	return captions.Cue{Lang: "en", Start: start, End: end, Text: text, Final: true}
}

func fixedEpoch(t time.Time) func() (time.Time, bool) {
	return func() (time.Time, bool) { return t, true }
}

// TestRecordingSinkContinuesTheRecording: two runs of an event on one store,
// the second 90 minutes later, save cues at the same program time; the
// second run's land 90 minutes later in the store and nothing is replaced.
func TestRecordingSinkContinuesTheRecording(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	first := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	gap := 90*time.Minute + 7*time.Millisecond
	sec := int64(audio.SampleRate)
	for i, epoch := range []time.Time{first, first.Add(gap)} {
		sink := &recordingSink{sink: st, clock: st, epoch: fixedEpoch(epoch), log: log}
		for _, c := range []captions.Cue{finalCue(sec, 2*sec, "one"), finalCue(3*sec, 4*sec, "two")} {
			c.Text += []string{" (run 1)", " (run 2)"}[i]
			if err := sink.SaveCue(ctx, "ev", c); err != nil {
				t.Fatal(err)
			}
		}
	}
	cues, err := st.Cues(ctx, "ev", "en", 0, store.All)
	if err != nil {
		t.Fatal(err)
	}
	off := gap.Nanoseconds() * sec / int64(time.Second)
	want := []captions.Cue{
		finalCue(sec, 2*sec, "one (run 1)"), finalCue(3*sec, 4*sec, "two (run 1)"),
		finalCue(sec+off, 2*sec+off, "one (run 2)"), finalCue(3*sec+off, 4*sec+off, "two (run 2)"),
	}
	if len(cues) != len(want) {
		t.Fatalf("stored %+v, want %+v", cues, want)
	}
	for i := range want {
		if cues[i] != want[i] {
			t.Errorf("cue %d = %+v, want %+v", i, cues[i], want[i])
		}
	}
}

// flakyClock fails its first n calls.
type flakyClock struct {
	n     int
	calls int
	start time.Time
}

func (f *flakyClock) RecordingStart(_ context.Context, _ string, epoch time.Time) (time.Time, error) {
	f.calls++
	if f.calls <= f.n {
		return time.Time{}, errors.New("database is locked")
	}
	if f.start.IsZero() {
		f.start = epoch
	}
	return f.start, nil
}

type memSink struct{ cues []captions.Cue }

func (m *memSink) SaveCue(_ context.Context, _ string, c captions.Cue) error {
	m.cues = append(m.cues, c)
	return nil
}

// TestRecordingSinkUnresolved: while the offset cannot be known (no epoch
// yet, the store failing, a clock set back) cues are refused with an error
// rather than saved at offset 0; the next cue tries again, and once known
// the offset is asked for no more.
func TestRecordingSinkUnresolved(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	epoch := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	var known bool
	mem := &memSink{}
	clock := &flakyClock{n: 1, start: epoch.Add(-time.Minute)}
	sink := &recordingSink{sink: mem, clock: clock, log: log,
		epoch: func() (time.Time, bool) { return epoch, known }}

	c := finalCue(48000, 96000, "hello")
	if err := sink.SaveCue(ctx, "ev", c); err == nil || !strings.Contains(err.Error(), "not fixed") {
		t.Fatalf("SaveCue before the epoch = %v, want an error", err)
	}
	known = true
	if err := sink.SaveCue(ctx, "ev", c); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Fatalf("SaveCue while the store fails = %v, want its error", err)
	}
	for range 3 {
		if err := sink.SaveCue(ctx, "ev", c); err != nil {
			t.Fatal(err)
		}
	}
	if clock.calls != 2 || len(mem.cues) != 3 || mem.cues[0].Start != 48000+60*48000 || mem.cues[2].End != 96000+60*48000 {
		t.Fatalf("%d RecordingStart calls, saved %+v", clock.calls, mem.cues)
	}

	back := &recordingSink{sink: mem, clock: &flakyClock{start: epoch.Add(time.Second)}, log: log, epoch: fixedEpoch(epoch)}
	if err := back.SaveCue(ctx, "ev", c); err == nil || !strings.Contains(err.Error(), "set back") {
		t.Fatalf("SaveCue on a run before the recording's start = %v, want an error", err)
	}
	if len(mem.cues) != 3 {
		t.Fatalf("a refused cue was saved: %+v", mem.cues)
	}
}
