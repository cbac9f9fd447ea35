package ingest

import (
	"context"
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

// Supervise runs src until ctx ends, restarting it whenever it returns, after a
// pause that doubles from 250 ms up to 5 s on quick repeated failures and goes
// back to 250 ms after a run of 10 s or more. onRestart (may be nil) is called
// with the run's error each time src returns while ctx is still live, before
// the pause. Supervise returns when ctx is done and src has returned.
func Supervise(ctx context.Context, src Source, w Writer, clock audio.Clock, onRestart func(err error)) {
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
			return
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
			return
		case <-timer.C():
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
