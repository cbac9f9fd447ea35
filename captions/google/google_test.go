package google

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/text/language"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"tolk/captions"
	"tolk/captions/google/speechfake"
	"tolk/internal/audio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var lexicon = []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"}

// ms is a duration in program samples.
func ms(n int) int64 { return int64(n) * audio.SampleRate / 1000 }

// layout lays out utterances of the given word counts: 240 ms words with 60 ms
// gaps, utterances apart by pause, starting at 200 ms.
func layout(pause int64, counts ...int) []speechfake.Word {
	var words []speechfake.Word
	t := ms(200)
	k := 0
	for _, n := range counts {
		for range n {
			words = append(words, speechfake.Word{Text: lexicon[k%len(lexicon)], Start: t, End: t + ms(240)})
			k++
			t += ms(300)
		}
		t += pause
	}
	return words
}

// base is where the clip sits on the program timeline.
const base = 3600 * audio.SampleRate

type run struct {
	finals, interims []captions.Result
	order            []bool // Final of each result in arrival order
}

// feed writes the clip in real time (a frame per 20 ms), skipping the frames
// in skip (program time jumps over them), closes the stream and returns
// what it said.
func feed(t *testing.T, s *Stream, clip []float32, skip func(i int) bool) run {
	t.Helper()
	got := make(chan run, 1)
	go func() {
		var r run
		for res := range s.Results() {
			r.order = append(r.order, res.Final)
			if res.Final {
				r.finals = append(r.finals, res)
			} else {
				r.interims = append(r.interims, res)
			}
		}
		got <- r
	}()
	tick := time.NewTicker(audio.FrameDuration)
	defer tick.Stop()
	for i := 0; (i+1)*audio.FrameSamples <= len(clip); i++ {
		if skip != nil && skip(i) {
			continue
		}
		<-tick.C
		f := audio.Frame{PTS: base + int64(i*audio.FrameSamples), Samples: clip[i*audio.FrameSamples : (i+1)*audio.FrameSamples]}
		if err := s.Write(f); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	select {
	case r := <-got:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("results not closed after Close")
	}
	return run{}
}

func wordsOf(results []captions.Result) []captions.Word {
	var ws []captions.Word
	for _, r := range results {
		ws = append(ws, r.Words...)
	}
	return ws
}

// want is the script on the program timeline, as the recognizer should report it.
func want(script []speechfake.Word) []captions.Word {
	ws := make([]captions.Word, len(script))
	for i, w := range script {
		ws[i] = captions.Word{Text: w.Text, Start: base + w.Start, End: base + w.End, Confidence: 0.9}
	}
	return ws
}

func sameWords(t *testing.T, got, want []captions.Word) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	t.Errorf("got %d words, want %d", len(got), len(want))
	for i := range max(len(got), len(want)) {
		var g, w captions.Word
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		mark := ""
		if g != w {
			mark = "  <--"
		}
		t.Logf("%2d got %-8s %8d..%8d  want %-8s %8d..%8d%s", i, g.Text, g.Start-base, g.End-base, w.Text, w.Start-base, w.End-base, mark)
	}
}

type setup struct {
	fake speechfake.Config
	cfg  Config
}

func start(t *testing.T, st setup) (*speechfake.Server, *Stream, func()) {
	t.Helper()
	st.fake.Lexicon = lexicon
	srv, err := speechfake.Start(st.fake)
	if err != nil {
		t.Fatal(err)
	}
	st.cfg.ClientOptions = srv.ClientOptions()
	if st.cfg.Drain == 0 {
		st.cfg.Drain = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	rec, err := New(ctx, st.cfg)
	if err != nil {
		cancel()
		srv.Close()
		t.Fatal(err)
	}
	s, err := rec.Open(ctx, language.MustParse("en-US"))
	if err != nil {
		t.Fatal(err)
	}
	return srv, s, func() {
		_ = s.Close()
		_ = rec.Close()
		srv.Close()
		cancel()
	}
}

// checkLimits asserts the service's limits held: no request over 25 KB, no
// audio faster than real time.
func checkLimits(t *testing.T, srv *speechfake.Server, s *Stream) {
	t.Helper()
	fs := srv.Stats()
	if fs.Oversized > 0 || fs.MaxRequestBytes > MaxRequestBytes || s.Stats().MaxRequestBytes > MaxRequestBytes {
		t.Errorf("request of %d bytes (client says %d), %d oversized", fs.MaxRequestBytes, s.Stats().MaxRequestBytes, fs.Oversized)
	}
	if fs.TooFast > 0 {
		t.Errorf("%d streams failed for audio sent too fast", fs.TooFast)
	}
	t.Logf("server %+v", fs)
	t.Logf("client %+v", s.Stats())
}

func TestInterimsThenFinalsOnProgramTime(t *testing.T) {
	t.Parallel()
	script := layout(ms(600), 3, 4)
	clip, err := speechfake.Render(lexicon, script, int(ms(3400)))
	if err != nil {
		t.Fatal(err)
	}
	srv, s, stop := start(t, setup{})
	defer stop()
	// The silence between the utterances (1.3..1.6 s of clip) never reaches
	// the recognizer: program time jumps over it.
	gapFrom, gapTo := int(ms(1300)/audio.FrameSamples), int(ms(1600)/audio.FrameSamples)
	if w := script[2]; w.End > int64(gapFrom*audio.FrameSamples) || script[3].Start < int64(gapTo*audio.FrameSamples) {
		t.Fatalf("gap %d..%d frames is not in the pause", gapFrom, gapTo)
	}
	r := feed(t, s, clip, func(i int) bool { return i >= gapFrom && i < gapTo })
	checkLimits(t, srv, s)

	sameWords(t, wordsOf(r.finals), want(script))
	if len(r.finals) != 2 {
		t.Errorf("%d finals, want one per utterance (2)", len(r.finals))
	}
	for i, f := range r.finals {
		if n := len(f.Words); n == 0 || f.Start != f.Words[0].Start || f.End != f.Words[n-1].End {
			t.Errorf("final %d spans %d..%d, not its words", i, f.Start, f.End)
		}
	}
	// Every final follows at least one interim of its utterance (a newer
	// interim may replace one the reader has not taken yet).
	interims := 0
	for _, final := range r.order {
		if !final {
			interims++
			continue
		}
		if interims == 0 {
			t.Errorf("a final without an interim before it: %v", r.order)
		}
		interims = 0
	}
	for _, in := range r.interims {
		if len(in.Words) != 0 || in.Text == "" || in.End < in.Start {
			t.Errorf("interim %+v", in)
		}
	}
	if st := s.Stats(); st.Sessions != 1 || st.Restarts != 0 || st.Errors != 0 || st.DroppedFrames != 0 {
		t.Errorf("stats %+v, want one clean session", st)
	}
}

func TestCapRestartMidSpeechLosesNoWord(t *testing.T) {
	t.Parallel()
	// Dense speech (short pauses) over three stream caps: every cap falls in
	// an unsettled utterance, and its audio is sent again.
	script := layout(ms(400), 4, 5, 4, 5, 4)
	clip, err := speechfake.Render(lexicon, script, int(ms(9000)))
	if err != nil {
		t.Fatal(err)
	}
	srv, s, stop := start(t, setup{fake: speechfake.Config{Cap: 2 * time.Second}})
	defer stop()
	r := feed(t, s, clip, nil)
	checkLimits(t, srv, s)

	sameWords(t, wordsOf(r.finals), want(script))
	fs, st := srv.Stats(), s.Stats()
	if fs.CapHits < 3 || st.Restarts != int64(fs.CapHits) {
		t.Errorf("%d cap hits, %d restarts; want ≥ 3 and equal", fs.CapHits, st.Restarts)
	}
	if fs.Unsettled == 0 || st.Replayed == 0 || st.Errors != 0 {
		t.Errorf("%d words unsettled at a cap, stats %+v: want a cap in speech, audio replayed, no errors", fs.Unsettled, st)
	}
}

func TestPlannedRestartAtUtteranceBoundaryAndInSpeech(t *testing.T) {
	t.Parallel()
	// The first restart comes at a pause; the long second utterance outlasts
	// RestartAfter+RestartGrace, so a restart cuts into it.
	script := layout(ms(500), 3, 12, 3)
	clip, err := speechfake.Render(lexicon, script, int(ms(7600)))
	if err != nil {
		t.Fatal(err)
	}
	srv, s, stop := start(t, setup{
		fake: speechfake.Config{Cap: 30 * time.Second},
		cfg:  Config{RestartAfter: 700 * time.Millisecond, RestartGrace: 1500 * time.Millisecond},
	})
	defer stop()
	r := feed(t, s, clip, nil)
	checkLimits(t, srv, s)

	sameWords(t, wordsOf(r.finals), want(script))
	fs, st := srv.Stats(), s.Stats()
	if fs.CapHits != 0 || st.Restarts < 2 || st.Errors != 0 {
		t.Errorf("%d cap hits, stats %+v: want planned restarts only", fs.CapHits, st)
	}
	if fs.Unsettled == 0 || st.Replayed == 0 {
		t.Errorf("%d words unsettled at a restart, %d samples replayed: the long utterance was not cut", fs.Unsettled, st.Replayed)
	}
}

func TestErrorsRetriedWithBackoffNeverFatal(t *testing.T) {
	t.Parallel()
	script := layout(ms(500), 4, 4, 4)
	clip, err := speechfake.Render(lexicon, script, int(ms(5000)))
	if err != nil {
		t.Fatal(err)
	}
	srv, s, stop := start(t, setup{cfg: Config{BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond}})
	defer stop()
	srv.FailNext(codes.Unauthenticated, 1)
	srv.FailNext(codes.ResourceExhausted, 2)
	srv.FailNext(codes.Unavailable, 1)
	go func() {
		// Mid-stream, once the first utterance is settled.
		for deadline := time.Now().Add(20 * time.Second); srv.Stats().Finals == 0 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		srv.Break(codes.Unavailable)
	}()
	r := feed(t, s, clip, nil)
	checkLimits(t, srv, s)

	sameWords(t, wordsOf(r.finals), want(script))
	st := s.Stats()
	if st.Errors != 5 || st.Sessions != 6 {
		t.Errorf("stats %+v: want 5 errors over 6 sessions", st)
	}
	if code := status.Code(s.Err()); code != codes.Unavailable {
		t.Errorf("Err() = %v, want UNAVAILABLE", s.Err())
	}
}

func TestWriteNeverBlocks(t *testing.T) {
	t.Parallel()
	srv, s, stop := start(t, setup{cfg: Config{Queue: 50, MaxReplay: time.Second, Drain: 300 * time.Millisecond}})
	defer stop()
	srv.Stall(true)
	frame := make([]float32, audio.FrameSamples)
	for i := range frame {
		frame[i] = speechfake.Level(1)
	}
	// A minute of audio at once against a service that reads nothing.
	for i := range 3000 {
		if err := s.Write(audio.Frame{PTS: int64(i * audio.FrameSamples), Samples: frame}); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked")
	}
	st := s.Stats()
	if st.DroppedFrames == 0 {
		t.Errorf("stats %+v: want frames dropped and counted", st)
	}
	if err := s.Write(audio.Frame{Samples: frame}); err == nil {
		t.Error("Write after Close succeeded")
	}
	t.Logf("client %+v", st)
}

func TestUndeterminedLanguage(t *testing.T) {
	t.Parallel()
	rec := &Recognizer{}
	if _, err := rec.NewStream(context.Background(), language.Und); !errors.Is(err, captions.ErrUnsupported) {
		t.Errorf("Und: %v, want ErrUnsupported", err)
	}
}
