package ingest

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os/exec"
	"strings"
	"sync"
	"time"

	"tolk/internal/audio"
)

// ffmpegBin is the decoder; found on PATH.
const ffmpegBin = "ffmpeg"

// commonArgs start every ffmpeg command line: no stdin (it would steal the
// terminal and block on it), errors only.
var commonArgs = []string{"-nostdin", "-hide_banner", "-loglevel", "error"}

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

// runFFmpeg runs ffmpeg with args and calls frame for every audio.FrameSamples
// samples it writes to stdout; a short last frame is padded with silence. The
// slice passed to frame is reused. If frame returns an error, ffmpeg is killed
// and that error returned. Otherwise runFFmpeg returns when ffmpeg exits: nil
// on a clean exit, a *ProcessError if it failed, ctx.Err() if ctx ended. The
// process is always waited for. secrets are blanked out of ffmpeg's messages.
func runFFmpeg(ctx context.Context, args []string, secrets []string, frame func([]float32) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpegBin, args...)
	stderr := newTail(6, 300)
	cmd.Stderr = stderr
	// Bounds Wait if a pipe stays open after the kill.
	cmd.WaitDelay = 2 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("ffmpeg stdout: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return &ProcessError{Err: fmt.Errorf("start: %w", err)}
	}
	readErr := readFrames(stdout, frame)
	if readErr != nil {
		// Stopped early (or stdout broke): make sure ffmpeg goes too.
		cancel()
	}
	waitErr := cmd.Wait()
	switch {
	case ctx.Err() != nil && readErr == nil:
		// ffmpeg was killed because the caller's ctx ended.
		return context.Cause(ctx)
	case readErr != nil:
		return readErr
	case waitErr != nil:
		return &ProcessError{Err: waitErr, Stderr: redact(stderr.String(), secrets)}
	}
	if s := stderr.String(); s != "" {
		return &ProcessError{Err: ErrEnded, Stderr: redact(s, secrets)}
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
		if n > 0 {
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
// chatty process cannot grow memory.
type tail struct {
	mu      sync.Mutex
	lines   []string
	max     int
	width   int
	partial []byte
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
