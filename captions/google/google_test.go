package google

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/text/language"
	"google.golang.org/api/option"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"tolk/captions"
	"tolk/captions/google/speechfake"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
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

// render makes a clip of n ms carrying script in the fake's toy code.
func render(t *testing.T, script []speechfake.Word, n int) []float32 {
	t.Helper()
	clip, err := speechfake.Render(lexicon, script, int(ms(n)))
	if err != nil {
		t.Fatal(err)
	}
	return clip
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
	var failed error
	audiotest.Paced(context.Background(), len(clip)/audio.FrameSamples, func(i int) bool {
		if skip != nil && skip(i) {
			return true
		}
		f := audio.Frame{PTS: base + int64(i*audio.FrameSamples), Samples: clip[i*audio.FrameSamples : (i+1)*audio.FrameSamples]}
		failed = s.Write(f)
		return failed == nil
	})
	if failed != nil {
		t.Fatalf("write: %v", failed)
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
	clip := render(t, script, 3400)
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
	clip := render(t, script, 9000)
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
	clip := render(t, script, 7600)
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
	clip := render(t, script, 5000)
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
	if h := s.Health(); h.Dropped != uint64(st.DroppedFrames) {
		t.Errorf("Health reports %d dropped frames, Stats %d", h.Dropped, st.DroppedFrames)
	}
	if st.DroppedFrames == 0 {
		t.Errorf("stats %+v: want frames dropped and counted", st)
	}
	if err := s.Write(audio.Frame{Samples: frame}); err == nil {
		t.Error("Write after Close succeeded")
	}
	t.Logf("client %+v", st)
}

// waitFor polls cond until it holds, failing the test after 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestStallMidUtteranceRestartsLosingNoWord(t *testing.T) {
	t.Parallel()
	script := layout(ms(500), 4, 4, 4, 4)
	clip := render(t, script, 8000)
	// The watchdog, the backoff and the restart timers run on a manual
	// clock; the audio, gRPC and the fake run in real time.
	clk := audiotest.NewClock()
	srv, s, stop := start(t, setup{cfg: Config{Clock: clk, StallTimeout: time.Second, AnswerTimeout: time.Minute}})
	defer stop()
	// The first stream stops reading in the middle of the second utterance
	// (1.9..3.1 s); the client's sends go on until flow control holds them.
	srv.StallAfter(2500 * time.Millisecond)
	fed, moved := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(moved)
		// The clock moves only once the service has stalled, in quarters of
		// StallTimeout, until the next stream opens: the watchdog fires on a
		// send held up for four steps, then the backoff passes.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for s.Stats().Sessions < 2 {
			select {
			case <-fed:
				return
			case <-tick.C:
				if srv.Stats().Stalled > 0 {
					clk.Advance(250 * time.Millisecond)
				}
			}
		}
	}()
	r := feed(t, s, clip, nil)
	close(fed)
	<-moved
	checkLimits(t, srv, s)

	sameWords(t, wordsOf(r.finals), want(script))
	fs, st := srv.Stats(), s.Stats()
	if fs.Stalled != 1 || fs.Streams != 2 || fs.Unsettled == 0 {
		t.Errorf("server %+v: want one stream stalled in speech, then one more", fs)
	}
	if st.Stalls != 1 || st.Errors != 1 || st.Sessions != 2 || st.Restarts != 0 || st.Replayed == 0 {
		t.Errorf("stats %+v: want the stall counted as the one error, one new session, audio replayed", st)
	}
	if !errors.Is(s.Err(), ErrStalled) || !strings.Contains(s.Err().Error(), "stopped reading audio for 1s") {
		t.Errorf("Err() = %v, want the stall", s.Err())
	}
	// What the caption pipeline (and so /metrics) sees of it.
	if h := s.Health(); h.Stalls != 1 || h.Errors != 1 || h.Restarts != 1 || !errors.Is(h.LastError, ErrStalled) {
		t.Errorf("Health() = %+v, want the one stalled session replaced", h)
	}
	// The loop took every frame while the send was held up: nothing dropped.
	if st.DroppedFrames != 0 || st.DroppedAudio != 0 {
		t.Errorf("stats %+v: frames or audio dropped during the stall", st)
	}
}

func TestMuteServiceEndsWithinDrain(t *testing.T) {
	t.Parallel()
	clk := audiotest.NewClock()
	const drain = 2 * time.Second
	srv, s, stop := start(t, setup{cfg: Config{Clock: clk, Drain: drain, StallTimeout: 10 * time.Second}})
	defer stop()
	// The service reads the audio, never answers, and does not end the
	// stream after the half-close.
	srv.Mute(true)
	clip := render(t, layout(ms(500), 3), 1500)
	for i := 0; (i+1)*audio.FrameSamples <= len(clip); i++ {
		if err := s.Write(audio.Frame{PTS: base + int64(i*audio.FrameSamples), Samples: clip[i*audio.FrameSamples : (i+1)*audio.FrameSamples]}); err != nil {
			t.Fatal(err)
		}
	}
	results := make(chan int, 1)
	go func() {
		n := 0
		for range s.Results() {
			n++
		}
		results <- n
	}()
	t0 := clk.Now()
	closed := make(chan time.Time, 1)
	go func() {
		_ = s.Close()
		closed <- clk.Now()
	}()
	waitFor(t, "the half-close", func() bool { return srv.Stats().HalfClosed == 1 })
	select {
	case <-closed:
		t.Fatal("Close returned before the drain bound")
	default:
	}
	clk.Advance(drain)
	select {
	case at := <-closed:
		// Close's own backstop is a second later: the stream ended itself.
		if d := at.Sub(t0); d != drain {
			t.Errorf("Close returned %v after it was called, want %v", d, drain)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return after the drain bound")
	}
	if n := <-results; n != 0 {
		t.Errorf("%d results from a service that said nothing", n)
	}
	st := s.Stats()
	if st.Sessions != 1 || st.Errors != 1 || st.Stalls != 0 || !strings.Contains(fmt.Sprint(s.Err()), "did not end the stream within 2s") {
		t.Errorf("stats %+v, Err() = %v: want the drain bound reported as the one error", st, s.Err())
	}
	if fs := srv.Stats(); fs.Requests == 0 {
		t.Errorf("server %+v: the audio was not sent", fs)
	}
}

func TestStallWhileOpening(t *testing.T) {
	t.Parallel()
	// A server that takes connections and never speaks.
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 16)
	go func() {
		defer close(accepted)
		for {
			c, err := lis.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	defer func() {
		_ = lis.Close()
		for c := range accepted {
			_ = c.Close()
		}
	}()
	clk := audiotest.NewClock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rec, err := New(ctx, Config{Clock: clk, StallTimeout: time.Second, ClientOptions: []option.ClientOption{
		option.WithEndpoint(lis.Addr().String()),
		option.WithoutAuthentication(),
		option.WithGRPCDialOption(grpc.WithTransportCredentials(insecure.NewCredentials())),
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rec.Close() }()
	s, err := rec.Open(ctx, language.MustParse("en-US"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	// The session's watchdog and restart timers are armed: the opening is out.
	waitFor(t, "the session's timers", func() bool { return clk.Pending() == 3 })
	clk.Advance(time.Second)
	waitFor(t, "the stall", func() bool { return s.Stats().Stalls == 1 })
	if st := s.Stats(); st.Errors != 1 || st.Sessions != 1 || st.Requests != 0 {
		t.Errorf("stats %+v: want the one session given up, nothing sent", st)
	}
	if err := s.Err(); !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "did not take the stream for 1s") {
		t.Errorf("Err() = %v, want the stalled opening", err)
	}
}

func TestUndeterminedLanguage(t *testing.T) {
	t.Parallel()
	rec := &Recognizer{}
	if _, err := rec.NewStream(context.Background(), language.Und); !errors.Is(err, captions.ErrUnsupported) {
		t.Errorf("Und: %v, want ErrUnsupported", err)
	}
}

// TestBreakAfterWorkingReopensAtOnce: the service breaks a stream that has
// been working (a crash on its side); the next one opens without a backoff
// (the backoff clock never moves here, so a wait would never end) and no
// word is lost. The time from the break to the new session is measured on
// the sender's real-time schedule, that is in audio.
func TestBreakAfterWorkingReopensAtOnce(t *testing.T) {
	t.Parallel()
	script := layout(ms(500), 4, 4, 4)
	clip := render(t, script, 5000)
	srv, s, stop := start(t, setup{cfg: Config{Clock: audiotest.NewClock()}})
	defer stop()
	measured := make(chan time.Duration, 1)
	go func() {
		defer close(measured)
		// Mid-stream, once the first utterance is settled and the stream
		// has lived a second.
		for deadline := time.Now().Add(20 * time.Second); srv.Stats().Finals == 0 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond)
		at := time.Now()
		srv.Break(codes.Unavailable)
		for deadline := time.Now().Add(20 * time.Second); s.Stats().Sessions < 2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		measured <- time.Since(at)
	}()
	r := feed(t, s, clip, nil)
	d := <-measured
	sameWords(t, wordsOf(r.finals), want(script))
	st := s.Stats()
	t.Logf("service broke the stream: next session open %v later (audio paced in real time); stats %+v", d.Round(time.Millisecond), st)
	if st.Errors != 1 || st.Sessions != 2 {
		t.Errorf("stats %+v: want the break as the one error and one new session, without a backoff", st)
	}
	if h := s.Health(); h.Restarts != 1 || h.Errors != 1 {
		t.Errorf("Health() = %+v", h)
	}
}

// TestUnansweredServiceReplacedWithinASecond: a service that goes on
// reading but stops answering in the middle of the second utterance is
// given up once it has answered none of AnswerTimeout (850 ms) of sound; the
// next stream hears the unsettled audio again, so no word is lost.
func TestUnansweredServiceReplacedWithinASecond(t *testing.T) {
	t.Parallel()
	script := layout(ms(500), 4, 4, 4)
	clip := render(t, script, 5000)
	srv, s, stop := start(t, setup{})
	defer stop()
	srv.MuteAfter(2500 * time.Millisecond)
	measured := make(chan time.Duration, 1)
	go func() {
		defer close(measured)
		for deadline := time.Now().Add(20 * time.Second); srv.Stats().Muted == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		at := time.Now()
		for deadline := time.Now().Add(20 * time.Second); s.Stats().Sessions < 2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		measured <- time.Since(at)
	}()
	r := feed(t, s, clip, nil)
	d := <-measured
	checkLimits(t, srv, s)
	sameWords(t, wordsOf(r.finals), want(script))
	st := s.Stats()
	// From the mute (2.5 s) the stream hears 480 ms of words, a 500 ms
	// pause that does not count, then 850 ms of sound in all by ≈ 4 s.
	t.Logf("service went mute: next session open %v later (audio paced in real time, 500 ms of it a pause); stats %+v", d.Round(time.Millisecond), st)
	if st.Unanswered != 1 || st.Errors != 1 || st.Sessions != 2 || st.Replayed == 0 {
		t.Errorf("stats %+v: want the silence counted as the one error, one new session, audio replayed", st)
	}
	if !errors.Is(s.Err(), ErrUnanswered) || !strings.Contains(s.Err().Error(), "answered none of 850ms of sound") {
		t.Errorf("Err() = %v, want the unanswered service", s.Err())
	}
	if h := s.Health(); h.Hangs != 1 || h.Errors != 1 || h.Restarts != 1 {
		t.Errorf("Health() = %+v, want the one hung session replaced", h)
	}
}
