package replay

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hraban/opus"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/fmp4"
	"tolk/internal/media"
	"tolk/internal/recording"
)

const sec = int64(audio.SampleRate)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// runLang is a language of the test runs: a tone of its own.
type runLang struct {
	recording.Lang
	freq float64
}

var testLangs = []runLang{
	{recording.Lang{Tag: "en", Name: "English"}, 440},
	{recording.Lang{Tag: "fr", Name: "Français"}, 660},
}

// recordRun records n frames of every language's tone, encoded by libopus
// as a mix would, leaving out the frames skip says, and cues of the first
// language; it returns the run's reader and the packets sent.
func recordRun(t testing.TB, n int, cues []media.Cue, skip func(tag string, k int) bool) (*recording.Reader, map[string][][]byte) {
	t.Helper()
	lib := recording.NewLibrary(t.TempDir())
	var langs []recording.Lang
	for _, l := range testLangs {
		langs = append(langs, l.Lang)
	}
	epoch := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	rec, err := recording.New(recording.Options{Library: lib, Event: "conf", Title: "Conference", Audio: langs,
		Captions: langs[:1], Epoch: func() (time.Time, bool) { return epoch, true }, SyncEvery: -1, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cues {
		rec.WriteCue(c.Lang, c)
	}
	sent := map[string][][]byte{}
	buf := make([]byte, 1500)
	for _, l := range testLangs {
		enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
		if err != nil {
			t.Fatal(err)
		}
		for k := range n {
			m, err := enc.EncodeFloat32(audiotest.Tone(l.freq, 0.4, k*audio.FrameSamples, audio.FrameSamples), buf)
			if err != nil {
				t.Fatal(err)
			}
			sent[l.Tag] = append(sent[l.Tag], append([]byte(nil), buf[:m]...))
		}
	}
	for k := range n {
		for _, l := range testLangs {
			if skip != nil && skip(l.Tag, k) {
				continue
			}
			rec.WritePacket(l.Tag, media.Unit{PTS: int64(k) * audio.FrameSamples, Codec: media.Opus, Payload: sent[l.Tag][k]})
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	runs, err := lib.Runs("conf")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	rd, err := lib.Open("conf", runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rd.Close() })
	return rd, sent
}

// played is what a test read from a player's tracks.
type played struct {
	units map[string][]media.Unit
	cues  []media.Cue
	done  chan struct{}
}

// listen reads every track of p until it closes.
func listen(p *Player) *played {
	out := &played{units: map[string][]media.Unit{}, done: make(chan struct{})}
	var readers []*media.Reader[media.Unit]
	var tags []string
	for _, l := range p.Languages() {
		tr, _ := p.Packets(l.Lang)
		readers = append(readers, tr.Read("test", 100000))
		tags = append(tags, l.Lang)
	}
	var cues []*media.Reader[media.Cue]
	for _, l := range p.Captions() {
		tr, _ := p.Cues(l.Lang)
		cues = append(cues, tr.Read("test", 1000))
	}
	go func() {
		defer close(out.done)
		for i, r := range readers {
			for u := range r.C {
				out.units[tags[i]] = append(out.units[tags[i]], u)
			}
		}
		for _, r := range cues {
			for c := range r.C {
				out.cues = append(out.cues, c)
			}
		}
	}()
	return out
}

// drive advances clock 20 ms at a time while Play waits on it, until Play
// returns; it bounds the wait, it asserts no timing.
func drive(t *testing.T, clock *audiotest.Clock, done <-chan error) error {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-done:
			return err
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("the player never ended")
		}
		if clock.Pending() > 0 {
			clock.Advance(audio.FrameDuration)
		} else {
			time.Sleep(100 * time.Microsecond)
		}
	}
}

func play(t *testing.T, opts Options) (*Player, *played, chan error) {
	t.Helper()
	if opts.Timeline == nil {
		opts.Timeline = media.NewTimeline()
	}
	opts.Log = quiet
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	out := listen(p)
	done := make(chan error, 1)
	go func() { done <- p.Play(context.Background()) }()
	return p, out, done
}

// TestPlaysTheRunAsRecorded: every language's packets go out exactly as
// they were recorded, one per 20 ms tick, on a new timeline whose zero is
// the start (the frames a language lost are the recorder's silence); the cues go out when
// the program reaches their start, with the recorded times; at the end
// every track closes and the state is ended.
func TestPlaysTheRunAsRecorded(t *testing.T) {
	defer goleak.VerifyNone(t)
	const n = 130 // 2.6 s: three chunks, the last short
	cues := []media.Cue{
		{Lang: "en", Start: sec / 2, End: sec, Text: "good morning", Final: true},
		{Lang: "en", Start: 2 * sec, End: 2*sec + sec/2, Text: "welcome back", Final: true},
	}
	rd, sent := recordRun(t, n, cues, func(tag string, k int) bool { return tag == "fr" && k >= 60 && k < 70 })
	clock := audiotest.NewClock()
	start := clock.Now().Add(3 * time.Second)
	tl := media.NewTimeline()
	p, out, done := play(t, Options{Run: rd, Clock: clock, Timeline: tl, Start: start})
	if p.State() != Scheduled || p.Length() != audio.Duration(n*audio.FrameSamples) {
		t.Fatalf("state %v, length %v", p.State(), p.Length())
	}
	// Scheduled: three seconds pass with nothing sent.
	waitPending(t, clock)
	clock.Advance(2 * time.Second)
	if p.State() != Scheduled || p.Stats().Ticks != 0 {
		t.Fatalf("before the start: %v, %+v", p.State(), p.Stats())
	}
	if _, ok := tl.Epoch(); ok {
		t.Fatal("the epoch is fixed before the start")
	}
	clock.Advance(time.Second - audio.FrameDuration)
	if err := drive(t, clock, done); err != nil {
		t.Fatal(err)
	}
	<-out.done
	if e, ok := tl.Epoch(); !ok || !e.Equal(start) {
		t.Errorf("epoch %v, want the start %v", e, start)
	}
	for _, l := range testLangs {
		got := out.units[l.Tag]
		if len(got) != n {
			t.Fatalf("%s: %d packets, want %d", l.Tag, len(got), n)
		}
		for k, u := range got {
			want := sent[l.Tag][k]
			if l.Tag == "fr" && k >= 60 && k < 70 {
				want = fmp4.SilenceFrame
			}
			if u.PTS != int64(k)*audio.FrameSamples || !bytes.Equal(u.Payload, want) || u.Codec != media.Opus ||
				!u.Wall.Equal(start.Add(audio.Duration(u.PTS))) {
				t.Fatalf("%s packet %d: pts %d, %d bytes, wall %v", l.Tag, k, u.PTS, len(u.Payload), u.Wall)
			}
		}
	}
	if len(out.cues) != 2 || out.cues[0].Text != "good morning" || out.cues[0].Start != sec/2 || out.cues[0].End != sec ||
		out.cues[1].Start != 2*sec || !out.cues[1].Final || out.cues[1].Lang != "en" {
		t.Errorf("cues %+v", out.cues)
	}
	st := p.Stats()
	if p.State() != Ended || st.Ticks != n || st.Filled != 0 || st.Late != 0 || st.Skipped != 0 || st.ReadErrors != 0 {
		t.Errorf("state %v, stats %+v", p.State(), st)
	}
	if cs, ok := p.CueStats("en"); !ok || cs.Cues != 2 || cs.Last != "welcome back" || !cs.At.Equal(start.Add(2*time.Second)) {
		t.Errorf("cue stats %+v", cs)
	}
}

func waitPending(t *testing.T, clock *audiotest.Clock) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for clock.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the player never waited on the clock")
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// TestCuesAtTheirProgramTime: each cue goes out on the tick that holds its
// start, never before: measured on the program time of the tick.
func TestCuesAtTheirProgramTime(t *testing.T) {
	defer goleak.VerifyNone(t)
	cues := []media.Cue{
		{Lang: "en", Start: 0, End: sec / 4, Text: "one", Final: true},
		{Lang: "en", Start: sec - 1, End: sec + sec/2, Text: "two", Final: true},
		{Lang: "en", Start: sec*3/2 + 7, End: 2 * sec, Text: "three", Final: true},
	}
	rd, _ := recordRun(t, 110, cues, nil)
	clock := audiotest.NewClock()
	p, err := New(Options{Run: rd, Clock: clock, Timeline: media.NewTimeline(), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := p.Cues("en")
	r := tr.Read("test", 10)
	type seen struct {
		cue media.Cue
		at  int64
	}
	var got []seen
	// A tick writes its cues before OnTick runs: what is queued then went
	// out on that tick.
	p.opts.OnTick = func(pts int64) {
		for len(r.C) > 0 {
			got = append(got, seen{<-r.C, pts})
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.Play(context.Background()) }()
	if err := drive(t, clock, done); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("cues %+v", got)
	}
	for i, g := range got {
		t.Logf("cue %q starting at %.3f s went out on the tick at %.3f s", g.cue.Text, float64(g.cue.Start)/float64(sec), float64(g.at)/float64(sec))
		if g.cue.Start != cues[i].Start || g.at > g.cue.Start || g.cue.Start-g.at >= audio.FrameSamples {
			t.Errorf("cue %d (%+v) went out at %d", i, g.cue, g.at)
		}
	}
}

// TestJoinsInProgressAndLoops: a player started after its start joins the
// run where the program would be; with loop the run plays again on the
// same timeline, the same packets after the same packets.
func TestJoinsInProgressAndLoops(t *testing.T) {
	defer goleak.VerifyNone(t)
	const n = 60 // 1.2 s
	cues := []media.Cue{{Lang: "en", Start: sec / 10, End: sec / 5, Text: "again", Final: true}}
	rd, sent := recordRun(t, n, cues, nil)
	clock := audiotest.NewClock()
	start := clock.Now().Add(-500 * time.Millisecond)
	tl := media.NewTimeline()
	p, err := New(Options{Run: rd, Clock: clock, Timeline: tl, Start: start, Loop: true, Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tr, _ := p.Packets("fr")
	r := tr.Read("test", 1000)
	ct, _ := p.Cues("en")
	cr := ct.Read("test", 10)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Play(ctx) }()
	var got []media.Unit
	for len(got) < 2*n {
		waitPending(t, clock)
		clock.Advance(audio.FrameDuration)
		for len(r.C) > 0 {
			got = append(got, <-r.C)
		}
	}
	cancel()
	if err := <-done; err != context.Canceled {
		t.Fatalf("Play = %v, want canceled", err)
	}
	for k, u := range got {
		want := int64(25+k) * audio.FrameSamples // joined 500 ms in
		if k == 0 && u.PTS != want {
			t.Fatalf("joined at %d, want %d", u.PTS, want)
		}
		if u.PTS < want {
			continue
		}
		if idx := int(u.PTS/audio.FrameSamples) % n; !bytes.Equal(u.Payload, sent["fr"][idx]) {
			t.Fatalf("packet at %d is not the recorded packet %d", u.PTS, idx)
		}
	}
	var cs []media.Cue
	for c := range cr.C {
		cs = append(cs, c)
	}
	lapLen := int64(n) * audio.FrameSamples
	if len(cs) < 1 || cs[0].Start != lapLen+sec/10 || cs[0].End != lapLen+sec/5 {
		t.Errorf("second lap's cue %+v, want at %d (the first lap's was before the join)", cs, lapLen+sec/10)
	}
	if st := p.Stats(); st.Laps < 1 || p.State() != Ended {
		t.Errorf("stats %+v, state %v", st, p.State())
	}
}

// TestAlreadyOver: a run whose start and length lie in the past ends at
// once, with nothing sent; a clock that falls more than a second behind
// skips ahead.
func TestAlreadyOverAndSkips(t *testing.T) {
	defer goleak.VerifyNone(t)
	rd, _ := recordRun(t, 100, nil, nil)
	clock := audiotest.NewClock()
	p, out, done := play(t, Options{Run: rd, Clock: clock, Start: clock.Now().Add(-time.Minute)})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-out.done
	if len(out.units["en"]) != 0 || p.State() != Ended {
		t.Fatalf("%d packets, state %v", len(out.units["en"]), p.State())
	}

	p, out, done = play(t, Options{Run: rd, Clock: clock})
	waitPending(t, clock)
	clock.Advance(audio.FrameDuration)
	waitPending(t, clock)
	clock.Advance(1500 * time.Millisecond) // the machine slept
	if err := drive(t, clock, done); err != nil {
		t.Fatal(err)
	}
	<-out.done
	st := p.Stats()
	t.Logf("after a 1.5 s stall: %+v", st)
	if st.Skipped < 70 || st.Ticks+st.Skipped != 100 || len(out.units["en"]) != int(st.Ticks) {
		t.Errorf("stats %+v, %d packets", st, len(out.units["en"]))
	}
}

// TestCueSourceReplacesTheRecordedCaptions: with a cue source (the
// store's edited cues), its cues are played, not the recorded ones.
func TestCueSourceReplacesTheRecordedCaptions(t *testing.T) {
	defer goleak.VerifyNone(t)
	rd, _ := recordRun(t, 100, []media.Cue{{Lang: "en", Start: sec / 2, End: sec, Text: "as recognized", Final: true}}, nil)
	edited := []media.Cue{
		{Lang: "en", Start: sec / 2, End: sec, Text: "as edited", Final: true},
		{Lang: "en", Start: 3 * sec / 2, End: 2 * sec, Text: "added", Final: true},
	}
	var asked [][2]int64
	src := func(_ context.Context, lang string, from, to int64) ([]media.Cue, error) {
		asked = append(asked, [2]int64{from, to})
		var out []media.Cue
		for _, c := range edited {
			if lang == "en" && c.Start < to && c.End > from {
				out = append(out, c)
			}
		}
		return out, nil
	}
	clock := audiotest.NewClock()
	_, out, done := play(t, Options{Run: rd, Clock: clock, Cues: src})
	if err := drive(t, clock, done); err != nil {
		t.Fatal(err)
	}
	<-out.done
	if len(out.cues) != 2 || out.cues[0].Text != "as edited" || out.cues[1].Text != "added" || out.cues[1].Start != 3*sec/2 {
		t.Errorf("cues %+v", out.cues)
	}
	if len(asked) != 2 || asked[0] != [2]int64{0, sec} || asked[1] != [2]int64{sec, 2 * sec} {
		t.Errorf("asked %v", asked)
	}
}

func TestNewRefusesAnEmptyRun(t *testing.T) {
	if _, err := New(Options{Timeline: media.NewTimeline()}); err == nil {
		t.Error("no run accepted")
	}
}
