package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"tolk/internal/audio"
)

// maxLag is how far a paced file may fall behind its schedule before the
// schedule is moved to now. Within it, late frames go out back to back to catch
// up, so the program clock (which the floor drives) keeps pace with the wall
// clock on a busy machine; it stays under the event's floor queue (400 ms) so a
// catch-up burst is not dropped. Beyond it (a suspended process, a slow disk) a
// burst would only flood the Writer, so the missed time is skipped instead.
const maxLag = 360 * time.Millisecond

type file struct {
	path  string
	loop  bool
	clock audio.Clock
	log   *slog.Logger
}

// NewFile returns a Source that plays an audio file of any format ffmpeg reads,
// paced in real time by clock: frame n goes out when clock has advanced n×20 ms
// past the first frame. With loop set the file repeats without a gap (ffmpeg's
// -stream_loop, not a restart); without it Run returns ErrEnded at the end.
// A path that is missing or not a regular file makes Run fail at once.
// When the Writer is a VideoWriter the file's first video stream goes to it
// too (H.264 only; other codecs are logged and left out).
func NewFile(path string, loop bool, clock audio.Clock) Source {
	return &file{path: path, loop: loop, clock: clock, log: slog.New(slog.DiscardHandler)}
}

// NewFileLog is NewFile with a logger for what becomes of the file's video.
func NewFileLog(path string, loop bool, clock audio.Clock, log *slog.Logger) Source {
	f := NewFile(path, loop, clock).(*file)
	if log != nil {
		f.log = log
	}
	return f
}

func (f *file) String() string {
	if f.loop {
		return "file " + f.path + " (loop)"
	}
	return "file " + f.path
}

func (f *file) Run(ctx context.Context, w Writer) error {
	abs, err := filepath.Abs(f.path)
	if err != nil {
		return fmt.Errorf("floor file: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("floor file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("floor file %s: not a regular file", f.path)
	}
	args := append([]string(nil), commonArgs...)
	args = append(args, "-loglevel", "error")
	if f.loop {
		args = append(args, "-stream_loop", "-1")
	}
	// file: and the whitelist keep a path such as "http://..." or a playlist
	// inside the file from reaching the network.
	args = append(args, "-protocol_whitelist", "file", "-i", "file:"+abs)
	vw, video := w.(VideoWriter)
	if video {
		args = append(args, audioTimed...)
	}
	args = append(args, outputArgs...)
	run := ffmpegRun{args: args}
	clk := newSourceClock()
	if video {
		run.args = append(run.args, videoOutputArgs...)
		vr := &videoReader{clk: clk, w: vw, log: f.log, source: f.String()}
		run.video = vr.run
	}

	p := pacer{clock: f.clock}
	defer p.stop()
	var src int64
	err = run.run(ctx, func(samples []float32) error {
		if err := p.wait(ctx); err != nil {
			return err
		}
		if video {
			vw.WriteFloorAt(clk, src, samples)
		} else {
			w.WriteFloor(samples)
		}
		src += audio.FrameSamples
		return nil
	})
	switch {
	case errors.Is(err, errExited):
		return fmt.Errorf("%s: %w (%w)", f, ErrEnded, err)
	case err != nil:
		return fmt.Errorf("%s: %w", f, err)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("%s: %w", f, ErrEnded)
}

// pacer releases one frame every audio.FrameDuration on clock.
type pacer struct {
	clock audio.Clock
	timer audio.Timer
	next  time.Time // when the next frame is due; zero before the first
}

// wait blocks until the next frame is due or ctx ends.
func (p *pacer) wait(ctx context.Context) error {
	now := p.clock.Now()
	if p.next.IsZero() || now.Sub(p.next) > maxLag {
		p.next = now
	}
	if d := p.next.Sub(now); d > 0 {
		if p.timer == nil {
			p.timer = p.clock.NewTimer(d)
		} else {
			p.timer.Reset(d)
		}
		select {
		case <-p.timer.C():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	p.next = p.next.Add(audio.FrameDuration)
	return nil
}

func (p *pacer) stop() {
	if p.timer != nil {
		p.timer.Stop()
	}
}
