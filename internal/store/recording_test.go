package store

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestRecordingStart: the first epoch given for an event is kept; later
// calls, another Store on the directory and a reopened one all get it back.
func TestRecordingStart(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openT(t, dir)
	first := time.Date(2026, 11, 3, 9, 0, 0, 123456789, time.UTC)

	got, err := s.RecordingStart(ctx, "demo", first)
	if err != nil || !got.Equal(first) {
		t.Fatalf("first RecordingStart = %v, %v; want %v", got, err, first)
	}
	later := first.Add(3 * time.Hour)
	if got, err := s.RecordingStart(ctx, "demo", later); err != nil || !got.Equal(first) {
		t.Fatalf("second RecordingStart = %v, %v; want the first, %v", got, err, first)
	}
	other := openT(t, dir)
	if got, err := other.RecordingStart(ctx, "demo", later); err != nil || !got.Equal(first) {
		t.Fatalf("RecordingStart from a second Store = %v, %v; want %v", got, err, first)
	}
	// Events are independent.
	if got, err := other.RecordingStart(ctx, "other", later); err != nil || !got.Equal(later) {
		t.Fatalf("RecordingStart of another event = %v, %v; want %v", got, err, later)
	}
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openT(t, dir)
	if got, err := s.RecordingStart(ctx, "demo", time.Now()); err != nil || !got.Equal(first) {
		t.Fatalf("RecordingStart after reopening = %v, %v; want %v", got, err, first)
	}
}

// TestRecordingStartRace: two handles (separate connection pools, as two
// processes would have) ask for the same new event at once, each with its
// own epoch; all get one and the same answer, one of those asked for.
func TestRecordingStartRace(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	stores := []*Store{openT(t, dir), openT(t, dir)}
	base := time.Unix(1_800_000_000, 0)
	const n = 16
	got := make([]time.Time, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = stores[i%2].RecordingStart(ctx, "race", base.Add(time.Duration(i)*time.Second))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if !got[i].Equal(got[0]) {
			t.Fatalf("call %d got %v, call 0 got %v", i, got[i], got[0])
		}
	}
	if d := got[0].Sub(base); d < 0 || d >= n*time.Second || d%time.Second != 0 {
		t.Fatalf("recording start %v is none of the epochs asked for", got[0])
	}
}

func TestRecordingStartBadInput(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	for _, c := range []struct {
		event string
		epoch time.Time
	}{
		{"", time.Now()},
		{"Not An Id", time.Now()},
		{"demo", time.Time{}},
	} {
		if _, err := s.RecordingStart(ctx, c.event, c.epoch); !errors.Is(err, ErrInvalid) {
			t.Errorf("RecordingStart(%q, %v) = %v, want ErrInvalid", c.event, c.epoch, err)
		}
	}
	// Nothing was stored by the refusals.
	now := time.Now()
	if got, err := s.RecordingStart(ctx, "demo", now); err != nil || !got.Equal(now) {
		t.Errorf("RecordingStart after refusals = %v, %v; want %v", got, err, now)
	}
}
