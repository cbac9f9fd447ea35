package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

const (
	// burstFrames is how far ahead of its schedule a live input may run
	// beyond the playout delay, as jitter allowance; frames beyond it are
	// dropped so a backlog released at once (after a network stall) cannot
	// add up to latency.
	burstFrames = 10
	// stallTimeout ends a run whose publisher stays connected but sends
	// nothing, so the supervisor can listen for a new one.
	stallTimeout = 3 * time.Second
)

// fastStartArgs make ffmpeg hand over the first audio in well under a second
// instead of probing the input for seconds.
var fastStartArgs = []string{"-fflags", "nobuffer", "-probesize", "4096", "-analyzeduration", "0"}

// fastStartVideoArgs are fastStartArgs when the video is taken too: not
// nobuffer, which throws away the packets read while probing, and with them
// the publisher's first key frame (a whole GOP without a picture). The probe
// is 4 KB: keeping it costs next to nothing.
var fastStartVideoArgs = []string{"-probesize", "4096", "-analyzeduration", "0"}

// Listener is a live floor input: an ffmpeg subprocess listening for one RTMP
// or SRT publisher. A run ends when the publisher leaves (ErrLeft), stops
// sending for a few seconds (ErrStalled), uses the wrong RTMP app or stream key
// (ErrRefused) or ffmpeg fails; run it under Supervise to take the next
// publisher.
type Listener struct {
	ep        endpoint
	log       *slog.Logger
	clock     audio.Clock
	fastStart bool
	stall     time.Duration // stallTimeout; tests shorten it
	playout   playoutCounts
}

// NewListener parses rawURL and returns a Source listening on it:
//
//	rtmp://HOST[:PORT]/APP/KEY    RTMP (default port 1935); a publisher must use this APP and KEY
//	srt://HOST:PORT[?passphrase=SECRET&latency=MS]   SRT listener carrying MPEG-TS
//
// The stream key and passphrase never appear in String, logs or errors.
// The Source is a *Listener. log may be nil.
func NewListener(rawURL string, log *slog.Logger) (Source, error) {
	ep, err := parseEndpoint(rawURL)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Listener{ep: ep, log: log, clock: audio.SystemClock{}, fastStart: true, stall: stallTimeout}, nil
}

// String names the listener without its secrets.
func (l *Listener) String() string { return l.ep.scheme + " listener " + l.ep.String() }

// Dropped counts frames discarded because the input ran ahead of real time.
func (l *Listener) Dropped() uint64 { return l.playout.dropped.Load() }

// Playout returns the jitter buffer's drops and underruns over every
// publisher so far.
func (l *Listener) Playout() PlayoutStats { return l.playout.stats() }

// Run listens for one publisher and forwards its audio as it arrives.
func (l *Listener) Run(ctx context.Context, w Writer) error {
	args := append([]string(nil), commonArgs...)
	// Warnings, not just errors: that is where ffmpeg reports a publisher with
	// the wrong app or stream key.
	args = append(args, "-loglevel", "warning")
	_, video := w.(VideoWriter)
	switch {
	case l.fastStart && video:
		args = append(args, fastStartVideoArgs...)
	case l.fastStart:
		args = append(args, fastStartArgs...)
	}
	args = append(args, l.ep.input()...)
	vw, _ := w.(VideoWriter)
	if video {
		args = append(args, audioTimed...)
	}
	// Hand each decoded packet over at once rather than when a buffer fills.
	args = append(args, "-flush_packets", "1")
	args = append(args, outputArgs...)
	clk := newSourceClock()
	var vr *videoReader
	if video {
		args = append(args, "-flush_packets", "1")
		args = append(args, videoOutputArgs...)
		vr = &videoReader{clk: clk, w: vw, log: l.log, source: l.String()}
	}

	runCtx, cancel := context.WithCancelCause(ctx)
	var frames atomic.Int64
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		l.watch(runCtx, cancel, &frames)
	}()
	defer func() {
		cancel(nil)
		<-watchDone
	}()

	run := ffmpegRun{args: args, secrets: l.ep.secrets(), refuse: l.ep.refuse}
	if vr != nil {
		run.video = vr.run
	}
	// The frames go out of a jitter buffer on a steady schedule: senders
	// hand audio over in bursts (see playoutDelay).
	play := newPlayout(l.clock, func(at int64, samples []float32) {
		if video {
			vw.WriteFloorAt(clk, at, samples)
		} else {
			w.WriteFloor(samples)
		}
	}, &l.playout)
	playCtx, stopPlay := context.WithCancel(runCtx)
	var playing sync.WaitGroup
	playing.Add(1)
	go func() { defer playing.Done(); play.run(playCtx) }()
	var src int64
	err := run.run(runCtx, func(samples []float32) error {
		if frames.Add(1) == 1 {
			l.log.Info("floor publisher connected", "source", l.String())
		}
		play.push(src, samples)
		src += audio.FrameSamples
		return nil
	})
	stopPlay()
	playing.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(context.Cause(runCtx), ErrStalled) {
		return fmt.Errorf("%s: %w", l, ErrStalled)
	}
	if frames.Load() > 0 {
		l.log.Info("floor publisher left", "source", l.String(), "err", err)
	}
	switch {
	case err == nil:
		err = ErrLeft
	case errors.Is(err, errExited):
		err = fmt.Errorf("%w (%w)", ErrLeft, err)
	}
	return fmt.Errorf("%s: %w", l, err)
}

// watch cancels the run with ErrStalled when frames stop coming after the
// first one. It returns when ctx ends.
func (l *Listener) watch(ctx context.Context, cancel context.CancelCauseFunc, frames *atomic.Int64) {
	t := l.clock.NewTimer(l.stall)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		n := frames.Load()
		if n > 0 && n == last {
			cancel(ErrStalled)
			return
		}
		last = n
		t.Reset(l.stall)
	}
}
