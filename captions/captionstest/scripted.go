// Package captionstest holds what tests of captions need: a scripted
// recognizer that hears exactly its script, and word error rate.
package captionstest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/internal/audio"
)

// ScriptedWord is one word a Scripted recognizer "hears", on the program
// timeline (48 kHz samples since the event started).
type ScriptedWord struct {
	Text       string
	Start, End int64
}

// ScriptedPause is the silence after a word that makes a Scripted stream
// settle what it heard into a final result.
const ScriptedPause = 400 * audio.SampleRate / 1000

// Scripted is a test double for captions.Recognizer: it recognizes exactly the words
// of its script. Time is driven by the PTS of the frames written, not by the
// wall clock, so tests are deterministic. A stream reports only words that
// start at or after the first frame it was given (a restarted stream does
// not repeat words said before it existed).
type Scripted struct {
	script  []ScriptedWord
	streams atomic.Int64
}

// NewScripted returns a recognizer that will say the script's words, which
// must be in time order.
func NewScripted(script []ScriptedWord) *Scripted {
	return &Scripted{script: append([]ScriptedWord(nil), script...)}
}

// Streams reports how many streams have been opened.
func (s *Scripted) Streams() int { return int(s.streams.Load()) }

// NewStream opens a stream; every language is accepted.
func (s *Scripted) NewStream(ctx context.Context, lang language.Tag) (captions.Stream, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.streams.Add(1)
	// Each word yields at most one interim and one final result, so this
	// buffer never fills and Write never blocks.
	return &scriptedStream{ctx: ctx, script: s.script, out: make(chan captions.Result, 2*len(s.script)+1), first: -1}, nil
}

type scriptedStream struct {
	ctx    context.Context
	script []ScriptedWord
	out    chan captions.Result

	mu      sync.Mutex
	first   int64 // PTS of the first frame, -1 before it
	next    int   // index of the next word not yet heard
	pending []captions.Word
	closed  bool
}

var errStreamClosed = errors.New("stream closed")

func (s *scriptedStream) Write(f audio.Frame) error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errStreamClosed
	}
	if s.first < 0 {
		s.first = f.PTS
		for s.next < len(s.script) && s.script[s.next].Start < f.PTS {
			s.next++
		}
	}
	now := f.PTS + int64(len(f.Samples))
	for s.next < len(s.script) && s.script[s.next].End <= now {
		w := s.script[s.next]
		s.next++
		if n := len(s.pending); n > 0 && w.Start-s.pending[n-1].End >= ScriptedPause {
			s.final()
		}
		s.pending = append(s.pending, captions.Word{Text: w.Text, Start: w.Start, End: w.End, Confidence: 1})
		s.emit(false)
	}
	if n := len(s.pending); n > 0 && now-s.pending[n-1].End >= ScriptedPause {
		s.final()
	}
	return nil
}

func (s *scriptedStream) final() {
	s.emit(true)
	s.pending = nil
}

func (s *scriptedStream) emit(final bool) {
	texts := make([]string, len(s.pending))
	for i, w := range s.pending {
		texts[i] = w.Text
	}
	s.out <- captions.Result{
		Final: final,
		Text:  strings.Join(texts, " "),
		Words: append([]captions.Word(nil), s.pending...),
		Start: s.pending[0].Start,
		End:   s.pending[len(s.pending)-1].End,
	}
}

func (s *scriptedStream) Results() <-chan captions.Result { return s.out }

// Close settles what was heard into a final result and closes Results.
func (s *scriptedStream) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	if len(s.pending) > 0 {
		s.final()
	}
	close(s.out)
	return nil
}

// Script lays words out from start with the given word and gap durations (ms).
func Script(start int64, wordMS, gapMS int64, words ...string) []ScriptedWord {
	out := make([]ScriptedWord, len(words))
	t := start * audio.SampleRate / 1000
	for i, w := range words {
		out[i] = ScriptedWord{Text: w, Start: t, End: t + wordMS*audio.SampleRate/1000}
		t += (wordMS + gapMS) * audio.SampleRate / 1000
	}
	return out
}

// Repeated says sentence, its words a third of a second each back to back,
// at first and again every every samples before until: a floor that says
// it again, so that a page that goes live late on a loaded machine still
// sees it said while it plays. Times are program samples.
func Repeated(sentence string, first, every, until int64) []ScriptedWord {
	const sec = audio.SampleRate
	var out []ScriptedWord
	for at := first; at < until; at += every {
		for i, w := range strings.Fields(sentence) {
			out = append(out, ScriptedWord{Text: w, Start: at + int64(i)*sec/3, End: at + int64(i+1)*sec/3})
		}
	}
	return out
}
