package restream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mpegtscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"
)

// srtConn pushes over SRT through an FFmpeg child: the connection writes
// MPEG-TS (mediacommon's muxer) to its standard input and FFmpeg copies it
// to the srt:// URL (Debian's FFmpeg has libsrt; no Go SRT library is
// served by the module proxy here).
type srtConn struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	bw     *bufio.Writer
	count  *countWriter
	w      *mpegts.Writer
	video  *mpegts.Track
	audio  *mpegts.Track
	exited chan struct{}
	err    *tailErr
}

// countWriter counts what goes through it.
type countWriter struct {
	w io.Writer
	n atomic.Uint64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(uint64(n))
	return n, err
}

// tailErr keeps FFmpeg's last line of complaint.
type tailErr struct {
	mu   sync.Mutex
	last string
}

func (t *tailErr) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range strings.Split(string(p), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			t.last = l[:min(len(l), 300)]
		}
	}
	return len(p), nil
}

func (t *tailErr) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

func dialSRT(ctx context.Context, ffmpeg, target string, pic *picture) (conn, error) {
	// The child outlives the dial's context: it ends with close.
	cmd := exec.Command(ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "error",
		"-probesize", "32768", "-analyzeduration", "0", "-f", "mpegts", "-i", "pipe:0",
		"-map", "0", "-c", "copy", "-f", "mpegts", target)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	te := &tailErr{}
	cmd.Stderr = te
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", ffmpeg, err)
	}
	s := &srtConn{cmd: cmd, stdin: stdin, exited: make(chan struct{}), err: te}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	s.count = &countWriter{w: stdin}
	s.bw = bufio.NewWriterSize(s.count, 188*7*8)
	s.audio = &mpegts.Track{Codec: &mpegtscodecs.MPEG4Audio{Config: aacConfig}}
	tracks := []*mpegts.Track{}
	if pic != nil {
		s.video = &mpegts.Track{Codec: &mpegtscodecs.H264{}}
		tracks = append(tracks, s.video)
	}
	s.w = &mpegts.Writer{W: s.bw, Tracks: append(tracks, s.audio)}
	if err := s.w.Initialize(); err != nil {
		s.close()
		return nil, err
	}
	select {
	case <-s.exited:
		return nil, s.exitErr()
	case <-ctx.Done():
		s.close()
		return nil, ctx.Err()
	case <-time.After(200 * time.Millisecond):
		// FFmpeg connects when the first packets reach it; a refused
		// connection ends it, which the next write sees.
	}
	return s, nil
}

func (s *srtConn) exitErr() error {
	if e := s.err.String(); e != "" {
		return errors.New("ffmpeg: " + e)
	}
	return errors.New("ffmpeg exited")
}

// check reports the child's end.
func (s *srtConn) check(err error) error {
	select {
	case <-s.exited:
		return s.exitErr()
	default:
	}
	return err
}

// ticks is a timestamp in MPEG-TS's 90 kHz.
func ticks(d time.Duration) int64 { return int64(d / (time.Second / 90000)) }

func (s *srtConn) writeVideo(pts, dts time.Duration, au [][]byte) error {
	if err := s.w.WriteH264(s.video, ticks(pts), ticks(dts), au); err != nil {
		return s.check(err)
	}
	return s.check(s.bw.Flush())
}

func (s *srtConn) writeAudio(pts time.Duration, frame []byte) error {
	if err := s.w.WriteMPEG4Audio(s.audio, ticks(pts), [][]byte{frame}); err != nil {
		return s.check(err)
	}
	return s.check(s.bw.Flush())
}

func (s *srtConn) sent() uint64 { return s.count.n.Load() }

func (s *srtConn) close() error {
	_ = s.stdin.Close()
	select {
	case <-s.exited:
	case <-time.After(2 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	return nil
}
