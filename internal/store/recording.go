package store

import (
	"context"
	"fmt"
	"time"
)

// RecordingStart fixes when an event's recording began and returns it. The
// first call for an event stores epoch, the wall-clock time of program time
// zero of the run that asks; every later call, from this Store or another
// on the same directory, returns that first time whatever epoch it gives.
// A run's cues belong on the recording's timeline at its program time plus
// (its epoch − the recording start), so a restarted event continues its
// recording rather than overwriting it.
func (s *Store) RecordingStart(ctx context.Context, event string, epoch time.Time) (time.Time, error) {
	if err := checkEvent(event); err != nil {
		return time.Time{}, err
	}
	if epoch.IsZero() {
		return time.Time{}, invalidf("recording start of %q: no time given", event)
	}
	// One statement, so atomic: of two processes starting the same event
	// at once exactly one inserts, and the no-op update on conflict makes
	// RETURNING give both the stored row.
	var ns int64
	err := s.db.QueryRowContext(ctx, `INSERT INTO recordings (event, epoch) VALUES (?, ?)
		ON CONFLICT (event) DO UPDATE SET epoch = epoch RETURNING epoch`, event, epoch.UnixNano()).Scan(&ns)
	if err != nil {
		return time.Time{}, fmt.Errorf("recording start: %w", err)
	}
	return time.Unix(0, ns), nil
}
