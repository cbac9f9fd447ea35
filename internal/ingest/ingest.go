// Package ingest brings the conference floor into tolk from a file or from a
// live RTMP or SRT publisher. Every source decodes with an ffmpeg subprocess to
// 48 kHz mono float PCM and hands exact 20 ms frames to a Writer; Supervise keeps
// a source running across publisher disconnects and ffmpeg failures.
//
// WHIP is not here: the web server decodes WHIP Opus itself and calls the same
// Writer.
package ingest

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
)

// Writer receives the floor: exactly audio.FrameSamples mono float32 samples at
// 48 kHz per call. It must not block and must not retain the slice.
type Writer interface {
	WriteFloor(samples []float32)
}

// Source produces the floor until ctx ends or it fails. Run returns ctx.Err()
// when ctx ends, an error wrapping ErrEnded when the input has reached its end
// and has nothing more (a file that does not loop), one wrapping ErrLeft when
// a live publisher left (the next one may come), and otherwise what went
// wrong, usually a *ProcessError carrying ffmpeg's last words.
type Source interface {
	Run(ctx context.Context, w Writer) error
	String() string
}

var (
	// ErrEnded reports that the input ended normally and for good: Supervise
	// does not run it again.
	ErrEnded = errors.New("floor input ended")
	// ErrLeft reports that a live publisher disconnected; the listener can
	// take the next one.
	ErrLeft = errors.New("floor publisher left")
	// ErrStalled reports a live publisher that stayed connected but stopped
	// sending audio.
	ErrStalled = errors.New("floor input stalled")
	// ErrRefused reports an RTMP publisher that used the wrong app or stream
	// key; it is disconnected before any of its audio is forwarded.
	ErrRefused = errors.New("publisher refused: wrong app or stream key")
)

// ProcessError is the failure of an ffmpeg subprocess.
type ProcessError struct {
	// Err is the exit status or start error.
	Err error
	// Stderr holds ffmpeg's last few stderr lines, joined by "; ".
	Stderr string
}

func (e *ProcessError) Error() string {
	if e.Stderr == "" {
		return "ffmpeg: " + e.Err.Error()
	}
	return "ffmpeg: " + e.Err.Error() + ": " + e.Stderr
}

func (e *ProcessError) Unwrap() error { return e.Err }

//go:embed demo/floor.ogg
var demoClip []byte

// DemoClip returns a copy of the bundled demo floor: about 30 s of English
// conference speech as Ogg Opus, made by testdata/make-speech.sh. The demo event
// writes it to disk and plays it with NewFile(path, true, clock).
func DemoClip() []byte { return bytes.Clone(demoClip) }
