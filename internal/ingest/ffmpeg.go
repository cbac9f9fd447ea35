package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"tolk/internal/audio"
)

// ffmpegBin is the decoder; found on PATH.
const ffmpegBin = "ffmpeg"

// errExited is the error of an ffmpeg that exited cleanly but said something
// on stderr on the way: the input ended, with words worth logging.
var errExited = errors.New("exited")

// commonArgs start every ffmpeg command line: no stdin (it would steal the
// terminal and block on it), no banner or progress lines.
var commonArgs = []string{"-nostdin", "-hide_banner", "-nostats"}

// outputArgs end every command line: the first audio stream only, decoded to
// 48 kHz mono float on stdout. rematrix_maxval keeps the downmix within full
// scale: without it a float downmix adds the channels at -3 dB each, so a
// dual-mono stage feed would come out 3 dB louder and peak above 0 dBFS.
var outputArgs = []string{
	"-map", "0:a:0", "-vn", "-sn", "-dn",
	"-rematrix_maxval", "1", "-ac", "1", "-ar", fmt.Sprint(audio.SampleRate),
	"-c:a", "pcm_f32le", "-f", "f32le", "pipe:1",
}

const frameBytes = audio.FrameSamples * 4

// barrier is written into ffmpeg's stderr pipe by tolk itself: once the stderr
// reader reaches it, every line ffmpeg wrote before has been seen.
const barrier = "\x00tolk-stderr-barrier\x00"

// ffmpegRun is one ffmpeg invocation.
type ffmpegRun struct {
	args []string
	// secrets are blanked out of ffmpeg's messages.
	secrets []string
	// refuse, if set, sees every stderr line; a non-nil result kills ffmpeg
	// and becomes the run's error. No frame is delivered before every line
	// ffmpeg wrote ahead of it has been checked.
	refuse func(line string) error
	// video, if set, reads ffmpeg's second output, which the args write to
	// pipe:3, until its end; run waits for it.
	video func(r io.Reader)
}

// run starts ffmpeg and calls frame for every audio.FrameSamples samples it
// writes to stdout; a short last frame is padded with silence. The slice passed
// to frame is reused. If frame returns an error, ffmpeg is killed and that error
// returned. Otherwise run returns when ffmpeg exits: nil on a clean, quiet exit,
// a *ProcessError if it failed or complained, the cause of ctx's end if ctx
// ended. The process and every goroutine run starts are waited for.
func (r ffmpegRun) run(ctx context.Context, frame func([]float32) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// stderr is a pipe tolk reads itself, rather than exec's copier, so it can
	// write the barrier into it.
	errR, errW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("ffmpeg stderr: %w", err)
	}
	defer errR.Close()
	stderr := newTail(6, 300)
	reached := make(chan struct{}, 1)
	var refused error // written by the stderr reader before it signals or cancels
	var refusedMu sync.Mutex
	stderr.onLine = func(line string) {
		if line == barrier {
			reached <- struct{}{}
			return
		}
		if r.refuse == nil {
			return
		}
		if err := r.refuse(line); err != nil {
			refusedMu.Lock()
			if refused == nil {
				refused = err
			}
			refusedMu.Unlock()
			cancel(err)
		}
	}
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		io.Copy(stderr, errR)
	}()

	cmd := exec.CommandContext(ctx, ffmpegBin, r.args...)
	cmd.Stderr = errW
	// Bounds Wait if stdout stays open after the kill.
	cmd.WaitDelay = 2 * time.Second
	var videoR, videoW *os.File
	if r.video != nil {
		if videoR, videoW, err = os.Pipe(); err != nil {
			errW.Close()
			<-copied
			return fmt.Errorf("ffmpeg video pipe: %w", err)
		}
		cmd.ExtraFiles = []*os.File{videoW} // fd 3 in ffmpeg
	}
	stdout, err := cmd.StdoutPipe()
	if err == nil {
		err = cmd.Start()
	}
	if videoW != nil {
		videoW.Close() // ffmpeg holds its own copy: its exit ends the pipe
	}
	if err != nil {
		if videoR != nil {
			videoR.Close()
		}
		errW.Close()
		<-copied
		return &ProcessError{Err: fmt.Errorf("start: %w", err)}
	}
	videoDone := make(chan struct{})
	if videoR != nil {
		go func() {
			defer close(videoDone)
			defer videoR.Close()
			r.video(videoR)
		}()
	} else {
		close(videoDone)
	}

	first := true
	readErr := readFrames(stdout, func(s []float32) error {
		if first && r.refuse != nil {
			first = false
			// Everything ffmpeg said about the publisher precedes its first
			// frame in the pipe.
			if _, err := io.WriteString(errW, "\n"+barrier+"\n"); err != nil {
				return fmt.Errorf("ffmpeg stderr: %w", err)
			}
			select {
			case <-reached:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			refusedMu.Lock()
			err := refused
			refusedMu.Unlock()
			if err != nil {
				return err
			}
		}
		return frame(s)
	})
	if readErr != nil {
		// Stopped early (or stdout broke): make sure ffmpeg goes too.
		cancel(readErr)
	}
	waitErr := cmd.Wait()
	<-videoDone
	errW.Close()
	<-copied
	said := redact(stderr.String(), r.secrets)
	switch {
	case readErr != nil:
		return readErr
	case ctx.Err() != nil:
		// Killed: the caller's ctx ended, or a refused publisher.
		return context.Cause(ctx)
	case waitErr != nil:
		return &ProcessError{Err: waitErr, Stderr: said}
	case said != "":
		return &ProcessError{Err: errExited, Stderr: said}
	}
	return nil
}

// readFrames assembles exact frames from r, whose chunks have arbitrary sizes.
// It returns nil at EOF, frame's error, or a read error.
func readFrames(r io.Reader, frame func([]float32) error) error {
	buf := make([]byte, frameBytes)
	samples := make([]float32, audio.FrameSamples)
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 && err != nil {
			// Short tail: keep whole samples, pad the rest with silence.
			clear(buf[n-n%4:])
		}
		if n >= 4 {
			for i := range samples {
				samples[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
			}
			if ferr := frame(samples); ferr != nil {
				return ferr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil
		default:
			return fmt.Errorf("read ffmpeg output: %w", err)
		}
	}
}

func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "***")
		}
	}
	return s
}

// tail keeps the last lines written to it, each cut to width bytes, so a
// chatty process cannot grow memory. onLine, if set, sees every complete
// line; the barrier line is passed to onLine but not kept.
type tail struct {
	mu      sync.Mutex
	lines   []string
	max     int
	width   int
	partial []byte
	onLine  func(string)
}

func newTail(lines, width int) *tail { return &tail{max: lines, width: width} }

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range p {
		if b == '\n' || b == '\r' {
			t.flush()
			continue
		}
		if len(t.partial) < t.width {
			t.partial = append(t.partial, b)
		}
	}
	return len(p), nil
}

func (t *tail) flush() {
	line := strings.TrimSpace(string(t.partial))
	t.partial = t.partial[:0]
	if line == "" {
		return
	}
	if t.onLine != nil {
		t.onLine(line)
	}
	if line == barrier {
		return
	}
	if len(t.lines) == t.max {
		copy(t.lines, t.lines[1:])
		t.lines = t.lines[:t.max-1]
	}
	t.lines = append(t.lines, line)
}

// String returns the kept lines joined by "; ".
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := t.lines
	if p := strings.TrimSpace(string(t.partial)); p != "" {
		lines = append(lines[:len(lines):len(lines)], p)
	}
	return strings.Join(lines, "; ")
}
