// Package captions turns speech into captions: the Recognizer seam and its
// backends, cue building, and the cues' life after recognition.
package captions

import (
	"context"
	"errors"

	"golang.org/x/text/language"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// Word is one recognized word on the program timeline.
type Word struct {
	Text string
	// Start and End are program time: 48 kHz samples since the event started.
	Start, End int64
	// Confidence is 0..1, or 0 when the backend gives none.
	Confidence float32
}

// Result is what a recognizer stream says: an interim hypothesis, which later
// results replace, or a final one, which is settled.
type Result struct {
	Final bool
	Text  string
	// Words carry program-time stamps; a backend that has no word times
	// leaves Words empty and sets Start/End for the whole result.
	Words      []Word
	Start, End int64
}

// Stream recognizes one continuous audio stream. Write is called on the
// audio path's goroutine and must not block for long; Results is closed
// after Close or when the stream fails (Err then says why).
type Stream interface {
	// Write feeds one 20 ms frame (48 kHz mono, program time in f.PTS).
	Write(f audio.Frame) error
	Results() <-chan Result
	Close() error
}

// Recognizer opens recognition streams for a language.
type Recognizer interface {
	NewStream(ctx context.Context, lang language.Tag) (Stream, error)
}

// ErrUnsupported is returned by a recognizer for a language it cannot do.
var ErrUnsupported = errors.New("language not supported by this recognizer")

// Cue is one caption: settled (Final) or the live partial line. It is the
// timed text of the program timeline (media.Cue), which the store keeps.
type Cue = media.Cue
