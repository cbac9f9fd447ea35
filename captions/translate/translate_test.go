package translate_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/captions/translate"
	"tolk/captions/translate/translatefake"
	"tolk/internal/media"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// source stands in for the floor's caption pipeline.
type source struct {
	track *media.Track[captions.Cue]
}

func newSource() *source { return &source{track: media.NewTrack[captions.Cue]("en/cues")} }

func (s *source) Cues() *media.Track[captions.Cue] { return s.track }
func (s *source) Stats() captions.PipelineStats {
	return captions.PipelineStats{Backend: true, LagMS: 800}
}

// sink records saved cues.
type sink struct {
	mu   sync.Mutex
	cues []captions.Cue
}

func (s *sink) SaveCue(_ context.Context, _ string, c captions.Cue) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cues = append(s.cues, c)
	return nil
}

func (s *sink) saved() []captions.Cue {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cues)
}

// fake starts the Translation fake and a real client pointed at it.
func fake(t *testing.T) (*translatefake.Server, *translate.Cloud) {
	t.Helper()
	srv, err := translatefake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cl, err := translate.NewCloud(context.Background(), translate.CloudConfig{Project: "tolk-test",
		ClientOptions: srv.ClientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cl.Close() })
	return srv, cl
}

// quick makes retries cheap in tests.
func quick(cfg translate.Config) translate.Config {
	cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 4*time.Millisecond
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	return cfg
}

// next waits for the feed's next cue.
func next(t *testing.T, r *media.Reader[captions.Cue]) captions.Cue {
	t.Helper()
	select {
	case c, ok := <-r.C:
		if !ok {
			t.Fatal("feed closed")
		}
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no translated cue")
	}
	return captions.Cue{}
}

func final(start, end int64, text string) captions.Cue {
	return captions.Cue{Lang: "en", Start: start, End: end, Text: text, Final: true}
}

func TestFeedTranslatesSettledCues(t *testing.T) {
	srv, cl := fake(t)
	src, store := newSource(), &sink{}
	f, err := translate.New(quick(translate.Config{Event: "demo", From: "en", Target: "fr", Source: src,
		Translator: cl, Sink: store}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("test", 16)
	src.track.Write(captions.Cue{Lang: "en", Start: 0, End: 48000, Text: "hello wor"}) // partial: skipped
	src.track.Write(final(0, 48000, "Hello world"))
	src.track.Write(final(48000, 96000, "Good morning,\nthank you"))
	src.track.Write(final(96000, 120000, "  ")) // nothing to say
	src.track.Write(final(120000, 150000, "Welcome to Tolk"))
	want := []captions.Cue{
		{Lang: "fr", Start: 0, End: 48000, Text: "Bonjour monde", Final: true, MachineTranslated: true},
		{Lang: "fr", Start: 48000, End: 96000, Text: "Bon matin, merci vous", Final: true, MachineTranslated: true},
		{Lang: "fr", Start: 120000, End: 150000, Text: "Bienvenue à Tolk", Final: true, MachineTranslated: true},
	}
	var got []captions.Cue
	for range want {
		got = append(got, next(t, out))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("cues:\n got %+v\nwant %+v", got, want)
	}
	if s := store.saved(); !slices.Equal(s, want) {
		t.Errorf("saved %+v", s)
	}
	for _, r := range srv.Requests() {
		if r.GetParent() != "projects/tolk-test/locations/global" || r.GetSourceLanguageCode() != "en" ||
			r.GetTargetLanguageCode() != "fr" || r.GetMimeType() != "text/plain" {
			t.Errorf("request %v", r)
		}
	}
	st := f.Stats()
	if st.Cues != 3 || st.Dropped != 0 || st.Errors != 0 || !st.Backend || !st.Running || st.LastCue != "Bienvenue à Tolk" {
		t.Errorf("stats %+v", st)
	}
	if st.LagMS < 800 {
		t.Errorf("lag %.0f ms does not include the source's 800", st.LagMS)
	}
}

func TestFeedKeepsGlossaryTerms(t *testing.T) {
	srv, cl := fake(t)
	src := newSource()
	live := glossary.NewLive(glossary.Glossary{Terms: []string{"Hello World"}, Speakers: []string{"Ada"}})
	f, err := translate.New(quick(translate.Config{From: "en", Target: "de", Source: src, Translator: cl, Glossary: live}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("test", 16)
	src.track.Write(final(0, 9600, "Welcome to hello world, Ada & you <3"))
	if c := next(t, out); c.Text != "Willkommen zu hello world, Ada & ihnen <3" {
		t.Errorf("got %q", c.Text)
	}
	rs := srv.Requests()
	if len(rs) != 1 || rs[0].GetMimeType() != "text/html" ||
		!strings.Contains(rs[0].GetContents()[0], `<span translate="no">hello world</span>`) {
		t.Errorf("requests %v", rs)
	}
}

func TestFeedRetriesThenGivesUp(t *testing.T) {
	srv, cl := fake(t)
	src := newSource()
	f, err := translate.New(quick(translate.Config{From: "en", Target: "fr", Source: src, Translator: cl, Attempts: 3}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("test", 16)
	srv.FailNext(codes.Unavailable, 2)
	src.track.Write(final(0, 100, "hello"))
	if c := next(t, out); c.Text != "bonjour" {
		t.Errorf("got %q", c.Text)
	}
	if st := f.Stats(); st.Restarts != 2 || st.Errors != 0 {
		t.Errorf("after two failures: %+v", st)
	}
	srv.FailNext(codes.Internal, 3)
	src.track.Write(final(100, 200, "world")) // given up after three tries
	waitFor(t, "the request given up", func() bool { return f.Stats().Errors == 1 })
	src.track.Write(final(200, 300, "thank you"))
	if c := next(t, out); c.Text != "merci vous" || c.Start != 200 {
		t.Errorf("got %+v", c)
	}
	st := f.Stats()
	if st.Errors != 1 || st.Dropped != 1 || !strings.Contains(st.LastError, "Internal") {
		t.Errorf("after giving up: %+v", st)
	}
}

func TestFeedHungServiceTimesOut(t *testing.T) {
	srv, cl := fake(t)
	src := newSource()
	f, err := translate.New(quick(translate.Config{From: "en", Target: "fr", Source: src, Translator: cl,
		Attempts: 1, Timeout: 100 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("test", 16)
	srv.Hang(true)
	src.track.Write(final(0, 100, "hello"))
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().Errors == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a hung request was not given up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	srv.Hang(false)
	src.track.Write(final(100, 200, "world"))
	if c := next(t, out); c.Text != "monde" {
		t.Errorf("got %q", c.Text)
	}
	if st := f.Stats(); !strings.Contains(st.LastError, "DeadlineExceeded") {
		t.Errorf("last error %q", st.LastError)
	}
}

// gate is a translator that waits for its gate to open, then answers the
// texts upper-cased; it records the batches it was given.
type gate struct {
	open    chan struct{}
	mu      sync.Mutex
	batches [][]string
}

func (g *gate) Translate(ctx context.Context, req translate.Request) ([]string, error) {
	g.mu.Lock()
	g.batches = append(g.batches, slices.Clone(req.Texts))
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out := make([]string, len(req.Texts))
	for i, s := range req.Texts {
		out[i] = strings.ToUpper(s)
	}
	return out, nil
}

func (g *gate) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.batches)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestFeedDropsWhenTheQueueIsFull(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	src := newSource()
	f, err := translate.New(quick(translate.Config{From: "en", Target: "fr", Source: src, Translator: g, Queue: 2, Batch: 1}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("test", 16)
	src.track.Write(final(0, 10, "c0"))
	waitFor(t, "the first request", func() bool { return g.calls() == 1 })
	for i := 1; i < 10; i++ {
		// The source's writer is never held up by the service.
		if n := src.track.Write(final(int64(i*10), int64(i*10+10), "c"+string(rune('0'+i)))); n != 0 {
			t.Fatalf("the source dropped %d", n)
		}
	}
	waitFor(t, "drops", func() bool { return f.Stats().Dropped == 7 })
	close(g.open)
	var got []string
	for range 3 {
		got = append(got, next(t, out).Text)
	}
	if want := []string{"C0", "C1", "C2"}; !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if st := f.Stats(); st.Cues != 3 || st.Dropped != 7 {
		t.Errorf("stats %+v", st)
	}
}

func TestFeedBatchesWaitingCuesInOrder(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	src := newSource()
	f, err := translate.New(quick(translate.Config{From: "en", Target: "fr", Source: src, Translator: g, Batch: 4}))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := f.Cues().Read("test", 16)
	src.track.Write(final(0, 10, "a"))
	waitFor(t, "the first request", func() bool { return g.calls() == 1 })
	for i, s := range []string{"b", "c", "d", "e", "f"} {
		src.track.Write(final(int64(10*(i+1)), int64(10*(i+2)), s))
	}
	// Whether the reader has queued them all by now only changes the
	// batches, not what is asserted.
	time.Sleep(20 * time.Millisecond)
	close(g.open)
	var got []string
	var starts []int64
	for range 6 {
		c := next(t, out)
		got = append(got, c.Text)
		starts = append(starts, c.Start)
	}
	if want := []string{"A", "B", "C", "D", "E", "F"}; !slices.Equal(got, want) {
		t.Errorf("got %v", got)
	}
	if !slices.IsSorted(starts) {
		t.Errorf("starts %v", starts)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, b := range g.batches {
		if len(b) > 4 {
			t.Errorf("batch of %d", len(b))
		}
	}
}

func TestCloseGivesUpOnAHungService(t *testing.T) {
	g := &gate{open: make(chan struct{})}
	src := newSource()
	f, err := translate.New(quick(translate.Config{From: "en", Target: "fr", Source: src, Translator: g,
		Drain: 20 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	out := f.Cues().Read("test", 16)
	src.track.Write(final(0, 10, "a"))
	src.track.Write(final(10, 20, "b"))
	waitFor(t, "the first request", func() bool { return g.calls() == 1 })
	f.Close()
	f.Close()
	if _, ok := <-out.C; ok {
		t.Error("a cue after Close")
	}
	if st := f.Stats(); st.Running || st.Dropped == 0 || st.Errors != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestNewNeedsASourceAndATranslator(t *testing.T) {
	if _, err := translate.New(translate.Config{From: "en", Target: "fr"}); err == nil {
		t.Error("no error")
	}
	if _, err := translate.NewCloud(context.Background(), translate.CloudConfig{}); err == nil {
		t.Error("no error without a project")
	}
}
