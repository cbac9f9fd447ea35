package captions_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/captions/captionstest"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// memSink is a captions.CueSink in memory that can be told to fail.
type memSink struct {
	mu   sync.Mutex
	cues []captions.Cue
	fail bool
}

func (s *memSink) SaveCue(ctx context.Context, event string, c captions.Cue) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if event != "ev" {
		return errors.New("wrong event " + event)
	}
	if s.fail {
		return errors.New("disk full")
	}
	s.cues = append(s.cues, c)
	return nil
}

func (s *memSink) has(c captions.Cue) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, x := range s.cues {
		if x == c {
			return true
		}
	}
	return false
}

// ms is program time in samples.
func ms(n int64) int64 { return n * audio.SampleRate / 1000 }

// waitFor polls cond for up to 10 s, advancing clk by step between polls.
func waitFor(t *testing.T, what string, clk *audiotest.Clock, step time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		if clk != nil && step > 0 {
			clk.Advance(step)
		}
		time.Sleep(time.Millisecond)
	}
}

// writeAudio writes frames for program time [from, to) and waits until the
// pipeline has taken each one, so nothing is dropped.
func writeAudio(t *testing.T, p *captions.Pipeline, clk *audiotest.Clock, from, to int64, amp float64) {
	t.Helper()
	for pts := from; pts < to; pts += audio.FrameSamples {
		s := p.Stats()
		before := s.Frames + s.Lost + s.Dropped
		p.Write(audio.Frame{PTS: pts, Samples: audiotest.Tone(220, amp, int(pts), audio.FrameSamples)})
		// The clock moves (for backoffs) only between writes, so a slow
		// Write under -race never looks hung.
		waitFor(t, "the frame to be taken", nil, 0, func() bool {
			s := p.Stats()
			if s.Frames+s.Lost+s.Dropped > before {
				return true
			}
			if !captions.Writing(p) {
				clk.Advance(50 * time.Millisecond)
			}
			return false
		})
	}
}

// collect reads a subscriber until it closes, checking that every final cue
// was already in the sink when it was published.
func collect(t *testing.T, ch <-chan captions.Cue, sink *memSink) <-chan []captions.Cue {
	out := make(chan []captions.Cue, 1)
	go func() {
		var got []captions.Cue
		for c := range ch {
			if c.Final && sink != nil && !sink.has(c) {
				t.Errorf("cue published before it was saved: %+v", c)
			}
			got = append(got, c)
		}
		out <- got
	}()
	return out
}

func finalsOf(cues []captions.Cue) (finals []captions.Cue, words []string) {
	for _, c := range cues {
		if c.Final {
			finals = append(finals, c)
			words = append(words, strings.Fields(c.Text)...)
		}
	}
	return finals, words
}

func TestPipelineScripted(t *testing.T) {
	defer goleak.VerifyNone(t)
	words := append(captionstest.Script(500, 300, 100, "good", "morning", "and", "welcome"), captionstest.Script(3000, 300, 100, "thank", "you")...)
	clk := audiotest.NewClock()
	sink := &memSink{}
	p := captions.NewPipeline("ev", "en", captionstest.NewScripted(words), language.English, sink, nil, clk)
	got := collect(t, p.Cues().Read("test", 100).C, sink)
	writeAudio(t, p, clk, 0, ms(5000), 0.1)
	p.Close()
	cues := <-got

	finals, said := finalsOf(cues)
	if strings.Join(said, " ") != "good morning and welcome thank you" {
		t.Fatalf("final words %q", said)
	}
	if len(finals) != 2 || len(sink.cues) != 2 || finals[0].Lang != "en" {
		t.Fatalf("finals %+v, saved %+v", finals, sink.cues)
	}
	captions.CheckCues(t, finals)
	if cues[0].Final || cues[0].Text != "good" {
		t.Fatalf("first cue should be the partial line: %+v", cues[0])
	}
	s := p.Stats()
	if !s.Backend || s.Frames != 250 || s.Dropped != 0 || s.Restarts != 0 || s.Errors != 0 || s.Cues != 2 {
		t.Fatalf("stats %+v", s)
	}
	// The console shows the last cue and how far cues trail the audio.
	if s.LastCue != "thank you" || s.LastCueAt.IsZero() || s.Running {
		t.Fatalf("last cue %q at %v, running %v after close", s.LastCue, s.LastCueAt, s.Running)
	}
	if end := finals[1].End; s.LagMS <= 0 || s.LagMS > float64(ms(5000)-end)*1000/audio.SampleRate {
		t.Fatalf("lag %.0f ms for a cue ending at %d of 5 s of audio", s.LagMS, end)
	}
}

// flaky refuses its first opens and fails its first streams after a few frames.
type flaky struct {
	inner      captions.Recognizer
	failOpens  int
	failWrites int // streams that fail
	afterN     int // frames before a failing stream fails
	opens      atomic.Int64
}

func (f *flaky) NewStream(ctx context.Context, tag language.Tag) (captions.Stream, error) {
	n := int(f.opens.Add(1))
	if n <= f.failOpens {
		return nil, errors.New("service unavailable")
	}
	st, err := f.inner.NewStream(ctx, tag)
	if err != nil || n > f.failOpens+f.failWrites {
		return st, err
	}
	return &failingStream{Stream: st, left: f.afterN}, nil
}

type failingStream struct {
	captions.Stream
	left int
}

func (s *failingStream) Write(f audio.Frame) error {
	if s.left == 0 {
		return errors.New("connection reset")
	}
	s.left--
	return s.Stream.Write(f)
}

func TestPipelineRetriesOpenWithBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	sc := captionstest.NewScripted(captionstest.Script(1000, 300, 100, "hello", "again"))
	clk := audiotest.NewClock()
	p := captions.NewPipeline("ev", "en", &flaky{inner: sc, failOpens: 3}, language.English, nil, nil, clk)
	defer p.Close()
	// Backoff 250 + 500 + 1000 ms of clock time before the fourth open.
	waitFor(t, "the stream to open", clk, 50*time.Millisecond, func() bool { return sc.Streams() == 1 })
	s := p.Stats()
	if s.Errors != 3 || !strings.Contains(s.LastError, "service unavailable") || s.Restarts != 0 {
		t.Fatalf("stats %+v", s)
	}
	got := collect(t, p.Cues().Read("test", 100).C, nil)
	writeAudio(t, p, clk, ms(0), ms(2500), 0.1)
	p.Close()
	_, said := finalsOf(<-got)
	if strings.Join(said, " ") != "hello again" {
		t.Fatalf("said %q", said)
	}
}

func TestPipelineRestartsFailedStreamAndReportsGap(t *testing.T) {
	defer goleak.VerifyNone(t)
	// The first stream fails after 0.5 s of audio; words after the gap come
	// from the second stream.
	sc := captionstest.NewScripted(append(captionstest.Script(400, 300, 50, "lost"), captionstest.Script(3000, 300, 100, "still", "here")...))
	clk := audiotest.NewClock()
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&syncWriter{w: &logs}, nil))
	p := captions.NewPipeline("ev", "en", &flaky{inner: sc, failWrites: 1, afterN: 25}, language.English, nil, log, clk)
	got := collect(t, p.Cues().Read("test", 100).C, nil)
	writeAudio(t, p, clk, 0, ms(4500), 0.1)
	p.Close()
	cues := <-got
	_, said := finalsOf(cues)
	if strings.Join(said, " ") != "still here" {
		t.Fatalf("said %q", said)
	}
	s := p.Stats()
	if s.Restarts != 1 || s.Errors != 1 || !strings.Contains(s.LastError, "connection reset") || s.Lost == 0 {
		t.Fatalf("stats %+v", s)
	}
	if s.Frames+s.Lost != 225 {
		t.Fatalf("frames %d + lost %d, want 225", s.Frames, s.Lost)
	}
	if !strings.Contains(logs.String(), "gap") {
		t.Fatalf("no gap logged: %s", logs.String())
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

// stuck is a recognizer whose streams never say anything; with block set,
// Write blocks until the stream is closed.
type stuck struct {
	block bool
	opens atomic.Int64
}

func (s *stuck) NewStream(ctx context.Context, tag language.Tag) (captions.Stream, error) {
	s.opens.Add(1)
	return &stuckStream{block: s.block, out: make(chan captions.Result), closed: make(chan struct{})}, nil
}

type stuckStream struct {
	block  bool
	out    chan captions.Result
	closed chan struct{}
	once   sync.Once
}

func (s *stuckStream) Write(audio.Frame) error {
	if s.block {
		<-s.closed
		return errors.New("stream closed")
	}
	return nil
}

func (s *stuckStream) Results() <-chan captions.Result { return s.out }

func (s *stuckStream) Close() error {
	s.once.Do(func() { close(s.closed); close(s.out) })
	return nil
}

func TestPipelineRestartsHungWrite(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := audiotest.NewClock()
	rec := &stuck{block: true}
	p := captions.NewPipeline("ev", "en", rec, language.English, nil, nil, clk)
	var pts int64
	waitFor(t, "two restarts", clk, 500*time.Millisecond, func() bool {
		p.Write(audio.Frame{PTS: pts, Samples: make([]float32, audio.FrameSamples)})
		pts += audio.FrameSamples
		return p.Stats().Restarts >= 2
	})
	s := p.Stats()
	if !strings.Contains(s.LastError, "blocked") || rec.opens.Load() < 2 {
		t.Fatalf("stats %+v", s)
	}
	p.Close()
}

func TestPipelineRestartsMuteStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := audiotest.NewClock()
	rec := &stuck{}
	p := captions.NewPipeline("ev", "en", rec, language.English, nil, nil, clk)
	defer p.Close()
	// A minute of silence is not a hang...
	writeAudio(t, p, clk, 0, audio.Samples(captions.StallAudio)+ms(1000), 0)
	if s := p.Stats(); s.Restarts != 0 {
		t.Fatalf("silence restarted the stream: %+v", s)
	}
	// ...but a minute of sound without a word is.
	writeAudio(t, p, clk, 0, audio.Samples(captions.StallAudio)+ms(1000), 0.1)
	s := p.Stats()
	if s.Restarts != 1 || !strings.Contains(s.LastError, "no result") {
		t.Fatalf("stats %+v", s)
	}
}

func TestPipelineWriteNeverBlocks(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := captions.NewPipeline("ev", "en", &stuck{block: true}, language.English, nil, nil, audiotest.NewClock())
	defer p.Close()
	const n = 2000
	for i := range n {
		p.Write(audio.Frame{PTS: int64(i) * audio.FrameSamples, Samples: make([]float32, audio.FrameSamples)})
	}
	// One frame is stuck in Write, captions.QueueFrames wait; the rest were dropped.
	if s := p.Stats(); s.Dropped < n-captions.QueueFrames-1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestPipelineWithoutRecognizer(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := captions.NewPipeline("ev", "de", nil, language.German, nil, nil, audiotest.NewClock())
	sub := p.Cues().Read("test", 1)
	p.Write(audio.Frame{Samples: make([]float32, audio.FrameSamples)})
	if s := p.Stats(); s.Backend || s.Frames != 0 || s.Dropped != 0 {
		t.Fatalf("stats %+v", s)
	}
	p.Close()
	p.Close()
	if _, ok := <-sub.C; ok {
		t.Fatal("cue without a recognizer")
	}
}

func TestPipelinePublishesWhenSinkFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := audiotest.NewClock()
	sink := &memSink{fail: true}
	p := captions.NewPipeline("ev", "en", captionstest.NewScripted(captionstest.Script(100, 300, 100, "hi")), language.English, sink, nil, clk)
	got := collect(t, p.Cues().Read("test", 10).C, nil)
	writeAudio(t, p, clk, 0, ms(1000), 0.1)
	p.Close()
	finals, _ := finalsOf(<-got)
	if s := p.Stats(); len(finals) != 1 || s.Errors != 1 || !strings.Contains(s.LastError, "disk full") {
		t.Fatalf("finals %+v stats %+v", finals, s)
	}
}

func BenchmarkPipelineWrite(b *testing.B) {
	p := captions.NewPipeline("ev", "en", captionstest.NewScripted(nil), language.English, nil, nil, audio.SystemClock{})
	defer p.Close()
	f := audio.Frame{Samples: make([]float32, audio.FrameSamples)}
	b.ReportAllocs()
	for b.Loop() {
		p.Write(f)
		f.PTS += audio.FrameSamples
	}
}

// oneInterim streams say one interim result at their first frame and then end.
type oneInterim struct{}

func (oneInterim) NewStream(ctx context.Context, tag language.Tag) (captions.Stream, error) {
	return &interimStream{out: make(chan captions.Result, 1)}, nil
}

type interimStream struct {
	out  chan captions.Result
	once sync.Once
}

func (s *interimStream) Write(audio.Frame) error {
	s.once.Do(func() {
		s.out <- captions.Result{Text: "half a sent", Start: 0, End: ms(500)}
		close(s.out)
	})
	return nil
}
func (s *interimStream) Results() <-chan captions.Result { return s.out }
func (s *interimStream) Close() error {
	s.once.Do(func() { close(s.out) })
	return nil
}

func TestPipelineClearsPartialWhenStreamEnds(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := captions.NewPipeline("ev", "en", oneInterim{}, language.English, nil, nil, audiotest.NewClock())
	sub := p.Cues().Read("test", 10)
	p.Write(audio.Frame{Samples: make([]float32, audio.FrameSamples)})
	a, b := <-sub.C, <-sub.C
	if a.Text != "half a sent" || a.Final || b.Text != "" || b.Final {
		t.Fatalf("got %+v then %+v", a, b)
	}
	waitFor(t, "a restart", nil, 0, func() bool { return p.Stats().Restarts == 1 })
	p.Close()
	if s := p.Stats(); !strings.Contains(s.LastError, "ended") {
		t.Fatalf("stats %+v", s)
	}
}

// healing is a recognizer whose one stream reopens its service by itself
// and says so through captions.Health.
type healing struct {
	stream *healingStream
}

func (h *healing) NewStream(ctx context.Context, tag language.Tag) (captions.Stream, error) {
	return h.stream, nil
}

type healingStream struct {
	stuckStream
	mu     sync.Mutex
	health captions.Health
}

func (s *healingStream) Health() captions.Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.health
}

func (s *healingStream) fail(stalled bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.health.Restarts++
	s.health.Errors++
	if stalled {
		s.health.Stalls++
	}
	s.health.LastError = err
	s.health.Dropped += 3
}

// TestPipelineCountsSelfRecoveringStream: failures a stream recovers from
// inside (a service session that stalled, then one refused) reach the
// pipeline's counters and its last error, without a restart of the stream.
func TestPipelineCountsSelfRecoveringStream(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := audiotest.NewClock()
	st := &healingStream{stuckStream: stuckStream{out: make(chan captions.Result), closed: make(chan struct{})}}
	var buf bytes.Buffer
	logs := &syncWriter{w: &buf}
	p := captions.NewPipeline("ev", "fr", &healing{st}, language.French, nil, slog.New(slog.NewTextHandler(logs, nil)), clk)
	defer p.Close()
	st.fail(true, errors.New("service stopped reading audio"))
	waitFor(t, "the stall counted", clk, captions.WriteHang/2, func() bool { return p.Stats().Stalls == 1 })
	st.fail(false, errors.New("quota exceeded"))
	waitFor(t, "the second failure counted", clk, captions.WriteHang/2, func() bool { return p.Stats().Errors == 2 })
	s := p.Stats()
	if s.Restarts != 2 || s.Stalls != 1 || s.LastError != "quota exceeded" || s.Dropped != 6 {
		t.Fatalf("stats %+v", s)
	}
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if !strings.Contains(buf.String(), "quota exceeded") || !strings.Contains(buf.String(), "service stopped reading") {
		t.Errorf("failures not logged:\n%s", buf.String())
	}
}

// progressing is a recognizer whose streams report their progress as the
// test sets it, and say nothing.
type progressing struct {
	progress atomic.Int64
	opens    atomic.Int64
}

func (r *progressing) NewStream(ctx context.Context, tag language.Tag) (captions.Stream, error) {
	r.opens.Add(1)
	return &progressStream{stuckStream: stuckStream{out: make(chan captions.Result), closed: make(chan struct{})}, r: r}, nil
}

type progressStream struct {
	stuckStream
	r *progressing
}

func (s *progressStream) Progress() int64 { return s.r.progress.Load() }

// TestPipelineHangNeedsAudioAndClock: a recognizer that is slow (its
// progress moves only every 0.8 s) is not restarted; nor is one whose audio
// came as a burst after the machine stalled (2 s of audio, no clock); one
// whose progress stops while audio and clock go on is restarted within a
// second of audio.
func TestPipelineHangNeedsAudioAndClock(t *testing.T) {
	defer goleak.VerifyNone(t)
	clk := audiotest.NewClock()
	rec := &progressing{}
	rec.progress.Store(-1)
	p := captions.NewPipeline("ev", "en", rec, language.English, nil, nil, clk)
	defer p.Close()
	give := func(pts int64, clock bool) {
		t.Helper()
		before := p.Stats()
		p.Write(audio.Frame{PTS: pts, Samples: make([]float32, audio.FrameSamples)})
		if clock {
			clk.Advance(audio.FrameDuration)
		}
		waitFor(t, "the frame to be taken", nil, 0, func() bool {
			s := p.Stats()
			return s.Frames+s.Lost+s.Dropped > before.Frames+before.Lost+before.Dropped
		})
	}
	var pts int64
	for k := range 150 { // 3 s, the decoder catching up every 0.7 s
		if k%35 == 34 {
			rec.progress.Store(pts)
		}
		give(pts, true)
		pts += audio.FrameSamples
	}
	if s := p.Stats(); s.Restarts != 0 {
		t.Fatalf("a slow recognizer was restarted: %+v", s)
	}
	rec.progress.Store(pts)
	for range 100 { // 2 s at once: the machine stalled, the audio catches up
		give(pts, false)
		pts += audio.FrameSamples
	}
	if s := p.Stats(); s.Restarts != 0 {
		t.Fatalf("a burst of audio after a stall restarted the stream: %+v", s)
	}
	// Now audio and clock go on and the progress does not move.
	frames := 0
	for p.Stats().Restarts == 0 {
		if frames > 200 {
			t.Fatalf("no restart after %d frames without progress: %+v", frames, p.Stats())
		}
		give(pts, true)
		pts += audio.FrameSamples
		frames++
	}
	s := p.Stats()
	t.Logf("restarted after %d ms of audio and clock without progress; %+v", frames*20, s)
	// The clock moves after each frame and the check runs on a frame's
	// write: HangAudio of clock is seen at most two frames past it.
	if s.Hangs != 1 || !strings.Contains(s.LastError, "no progress") || frames > int(captions.HangAudio/audio.FrameDuration)+2 {
		t.Fatalf("after %d frames: %+v", frames, s)
	}
	waitFor(t, "the next stream", clk, 0, func() bool { return rec.opens.Load() == 2 })

	// The next stream does not move either (a machine too starved to run
	// it): its bound is twice as long, so decoders are not reloaded every
	// second.
	frames = 0
	for p.Stats().Hangs < 2 {
		if frames > 400 {
			t.Fatalf("no second restart after %d frames without progress: %+v", frames, p.Stats())
		}
		give(pts, true)
		pts += audio.FrameSamples
		frames++
	}
	s = p.Stats()
	t.Logf("second restart after %d ms of audio and clock without progress; %+v", frames*20, s)
	if want := int(2 * captions.HangAudio / audio.FrameDuration); frames < want || frames > want+2 || !strings.Contains(s.LastError, "over 1.7s") {
		t.Fatalf("second hang after %d frames, want %d: %+v", frames, want, s)
	}
}
