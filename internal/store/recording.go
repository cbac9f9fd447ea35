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
	// The transaction takes the write lock at BEGIN (_txlock=immediate),
	// so of two processes starting the same event at once exactly one
	// inserts and both read its row.
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("recording start: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO recordings (event, epoch) VALUES (?, ?) ON CONFLICT (event) DO NOTHING`,
		event, epoch.UnixNano()); err != nil {
		return time.Time{}, fmt.Errorf("recording start: %w", err)
	}
	var ns int64
	if err := tx.QueryRowContext(ctx, `SELECT epoch FROM recordings WHERE event = ?`, event).Scan(&ns); err != nil {
		return time.Time{}, fmt.Errorf("recording start: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return time.Time{}, fmt.Errorf("recording start: %w", err)
	}
	return time.Unix(0, ns), nil
}
