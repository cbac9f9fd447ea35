package ingest

import (
	"context"
	"errors"
	"time"

	"tolk/internal/audio"
)

const (
	minBackoff = 250 * time.Millisecond
	maxBackoff = 5 * time.Second
	// healthyRun is how long a run must last for the next failure to be
	// treated as a first failure again.
	healthyRun = 10 * time.Second
)

// Supervise runs src until ctx ends, restarting it whenever it fails or its
// publisher leaves, after a pause that doubles from 250 ms up to 5 s on quick
// repeated failures and goes back to 250 ms after a run of 10 s or more.
// onRestart (may be nil) is called with the run's error each time src is to
// be restarted, before the pause. A source that ended for good (ErrEnded: a
// file that does not loop) is not restarted: Supervise returns its error.
// Otherwise Supervise returns nil when ctx is done and src has returned.
func Supervise(ctx context.Context, src Source, w Writer, clock audio.Clock, onRestart func(err error)) error {
	backoff := minBackoff
	var timer audio.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		start := clock.Now()
		err := src.Run(ctx, w)
		if ctx.Err() != nil {
			return nil
		}
		if errors.Is(err, ErrEnded) {
			return err
		}
		if clock.Now().Sub(start) >= healthyRun {
			backoff = minBackoff
		}
		if onRestart != nil {
			onRestart(err)
		}
		if timer == nil {
			timer = clock.NewTimer(backoff)
		} else {
			timer.Reset(backoff)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C():
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
