package event

import (
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/captions/captionstest"
	"tolk/captions/glossary"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/mixer"
	"tolk/web"
)

func newTestEvent(t *testing.T, clock audio.Clock) *Event {
	t.Helper()
	cfg, err := config.Parse([]byte(`
id: t
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(cfg, Options{Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// waitFor polls cond: the clock goroutine reacts to the manual clock
// asynchronously. This bounds a wait; it asserts no timing.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestClockFallsBackToSilenceAndFollowsTheFloor(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	ev := newTestEvent(t, clock)
	fr, _ := ev.Mix("fr")
	pcm := fr.PCM().Read("test", 1000)
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	// advance moves the clock once the mixer has armed its next timer: a
	// tick is counted before the timer of the next one is armed, and an
	// advance in between would leave that timer a whole step behind.
	advance := func(d time.Duration) {
		waitFor(t, "the clock to arm its timer", func() bool { return clock.Pending() > 0 })
		clock.Advance(d)
	}

	// No floor: after the grace period the clock ticks every 20 ms of wall clock.
	advance(mixer.FloorGrace)
	waitFor(t, "first silent tick", func() bool { return ev.Stats().Ticks == 1 })
	for i := 0; i < 4; i++ {
		advance(audio.FrameDuration)
		n := uint64(i + 2)
		waitFor(t, "silent tick", func() bool { return ev.Stats().Ticks == n })
	}
	if s := ev.Stats(); s.SilentTicks != 5 {
		t.Fatalf("silent ticks %d, want 5", s.SilentTicks)
	}
	if ev.FloorState() != "missing" {
		t.Fatalf("floor state %q, want missing", ev.FloorState())
	}

	// The floor arrives: it drives the clock, one tick per frame, no silent ticks.
	for i := 0; i < 3; i++ {
		ev.WriteFloor(audiotest.Tone(440, 0.5, i*audio.FrameSamples, audio.FrameSamples))
	}
	waitFor(t, "floor ticks", func() bool { return ev.Stats().Ticks == 8 })
	advance(mixer.FloorGrace - audio.FrameDuration)
	if s := ev.Stats(); s.SilentTicks != 5 || s.FloorFrames != 3 {
		t.Fatalf("stats %+v: the floor should hold off silent ticks", s)
	}
	if ev.FloorState() != "live" {
		t.Fatalf("floor state %q, want live", ev.FloorState())
	}

	// The floor stops: silence again after the grace period.
	advance(audio.FrameDuration)
	waitFor(t, "silent tick after the floor stopped", func() bool { return ev.Stats().SilentTicks == 6 })

	// The French mix saw a continuous program timeline: 9 frames, no gap.
	ev.Close()
	var pts []int64
	for f := range pcm.C {
		pts = append(pts, f.PTS)
	}
	if len(pts) != 9 {
		t.Fatalf("fr mixed %d frames, want 9", len(pts))
	}
	for i, p := range pts {
		if p != int64(i*audio.FrameSamples) {
			t.Fatalf("frame %d at pts %d, want %d", i, p, i*audio.FrameSamples)
		}
	}
}

func TestWriteFloorNeverBlocks(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	ev := newTestEvent(t, clock)
	defer ev.Close()
	// Not started: nobody drains the queue, so writes beyond it are dropped and counted.
	frame := make([]float32, audio.FrameSamples)
	for i := 0; i < mixer.FloorQueue+7; i++ {
		ev.WriteFloor(frame)
	}
	ev.WriteFloor(frame[:10]) // a malformed frame is dropped too
	if got := ev.Stats().FloorDropped; got != 8 {
		t.Fatalf("dropped %d, want 8", got)
	}
}

type constVoice struct{}

func (constVoice) ReadFrame(pts int64) (audio.Frame, bool) {
	return audio.Frame{PTS: pts, Samples: audiotest.Tone(1000, 0.5, int(pts), audio.FrameSamples)}, true
}

func TestSetVoice(t *testing.T) {
	defer goleak.VerifyNone(t)
	ev := newTestEvent(t, audiotest.NewClock())
	defer ev.Close()
	if err := ev.SetVoice("en", constVoice{}); err == nil {
		t.Fatal("the floor language accepted a voice")
	}
	if err := ev.SetVoice("xx", constVoice{}); err == nil {
		t.Fatal("an unknown language accepted a voice")
	}
	if err := ev.SetVoice("fr", constVoice{}); err != nil {
		t.Fatal(err)
	}
	// The mix now hears that voice instead of the booth's (nobody on air,
	// which would count as missing).
	fr, _ := ev.Mix("fr")
	for k := range 3 {
		fr.Process(int64(k*audio.FrameSamples), nil)
	}
	if s, m := fr.Stats(), fr.Meters(); s.VoiceMissing != 0 || !m.VoiceActive {
		t.Fatalf("after SetVoice the French mix missed its voice %d times, voice active %v", s.VoiceMissing, m.VoiceActive)
	}
	var _ mixer.Source = constVoice{}
}

// A file floor that does not loop plays once: when it ends the program goes
// on with silence, the floor says "ended" (in the log too), and nothing
// starts the file again.
func TestFileFloorEnds(t *testing.T) {
	defer goleak.VerifyNone(t)
	audiotest.NeedTool(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "floor.wav")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
		"sine=frequency=440:sample_rate=48000:duration=1", "-ac", "1", path).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	cfg, err := config.Parse([]byte("id: t\nfloor: {language: en, source: \"file:"+path+"\", loop: false}\nlanguages: [{tag: fr}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs audiotest.LockedBuffer
	ev, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	deadline := time.Now().Add(20 * time.Second)
	for ev.FloorState() != "ended" {
		if time.Now().After(deadline) {
			t.Fatalf("floor state %q, stats %+v: the file never ended", ev.FloorState(), ev.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	s := ev.Stats()
	if s.IngestRestarts != 0 || s.FloorFrames > 50 {
		t.Errorf("the ended file was started again: %d restarts, %d floor frames (the file has 50)", s.IngestRestarts, s.FloorFrames)
	}
	// The program goes on, on silence.
	waitFor(t, "silent ticks after the end", func() bool { return ev.Stats().SilentTicks > s.SilentTicks+5 })
	if !strings.Contains(logs.String(), "floor ended") {
		t.Errorf("the log does not say the floor ended:\n%s", logs.String())
	}
}

// TestOutputsShareTheProgramTimeline: the program's first tick fixes the
// epoch; every mix stamps its units from it, and the HLS muxer dates its
// segments from the same epoch instead of fixing its own.
func TestOutputsShareTheProgramTimeline(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	ev := newTestEvent(t, clock)
	fr, _ := ev.Mix("fr")
	pkts := fr.Packets().Read("test", 10)
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	waitFor(t, "the clock to arm its timer", func() bool { return clock.Pending() > 0 })
	clock.Advance(mixer.FloorGrace)
	first := <-pkts.C
	// The first tick ran at the clock's time then; the HLS writer got the
	// packet later, and the clock moves on before it asks for the epoch.
	tickAt := clock.Now()
	clock.Advance(time.Second)
	epoch, ok := ev.timeline.Epoch()
	if !ok || !epoch.Equal(tickAt.Add(-audio.Duration(first.PTS))) {
		t.Fatalf("epoch %v (%v), want the first tick's time %v", epoch, ok, tickAt)
	}
	if !first.Wall.Equal(epoch.Add(audio.Duration(first.PTS))) {
		t.Errorf("unit at %d stamped %v, want epoch + pts", first.PTS, first.Wall)
	}
	waitFor(t, "the HLS muxer's epoch", func() bool { _, ok := ev.hls.Epoch(); return ok })
	if h, _ := ev.hls.Epoch(); !h.Equal(epoch) {
		t.Errorf("HLS epoch %v, program epoch %v", h, epoch)
	}
	if ev.ProgramTime() < first.PTS {
		t.Errorf("program time %d, before the first tick's %d", ev.ProgramTime(), first.PTS)
	}
}

// TestFailedNewLeavesNothingRunning: when a late step of New fails (here the
// HLS packager, after the caption pipelines have started), what was already
// started is closed: no goroutine is left behind.
func TestFailedNewLeavesNothingRunning(t *testing.T) {
	defer goleak.VerifyNone(t)
	cfg, err := config.Parse([]byte(`
id: t
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}, {tag: de}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.HLS.PartMS = 7 // past the validation a config file goes through
	rec := captionstest.NewScripted(nil)
	_, err = New(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recognizer: rec})
	if err == nil || !strings.Contains(err.Error(), "hls") {
		t.Fatalf("New with a bad part duration: %v, want an hls error", err)
	}
}

// TestGlossaryCheck: the glossary's words are checked by its own rules, each
// problem named under captions.glossary beside the configuration's.
func TestGlossaryCheck(t *testing.T) {
	many := make([]string, glossary.MaxEntries+1)
	for i := range many {
		many[i] = "w"
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"no word":  {`terms: ["--"]`, "captions.glossary: terms[0]"},
		"too many": {"terms: [" + strings.Join(many, ", ") + "]", "at most 1000"},
		"big text": {"text: " + strings.Repeat("word ", glossary.MaxTextBytes/5+1), "captions.glossary: "},
	} {
		_, err := config.Parse([]byte("id: g\nfloor: {language: en, source: \"file:floor.wav\"}\ncaptions: {glossary: {"+c.yaml+"}}\n"), nil, CheckGlossary)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
	ev, err := config.Parse([]byte("id: g\nfloor: {language: en, source: \"file:floor.wav\"}\ncaptions: {glossary: {terms: [Zyphrex], speakers: [Ada Oyelaran]}}\n"), nil, CheckGlossary)
	if err != nil {
		t.Fatal(err)
	}
	g, err := LoadGlossary(ev.Captions.Glossary)
	if err != nil || len(g.Terms) != 1 || g.Speakers[0] != "Ada Oyelaran" {
		t.Errorf("glossary %+v, %v", g, err)
	}
}

// An SRT floor input reports its jitter buffer (the console status and
// /metrics read it from FloorInputs); a WHIP input, which has none, does not.
func TestFloorInputsReportPlayout(t *testing.T) {
	whip := newTestEvent(t, audiotest.NewClock())
	defer whip.Close()
	if in := whip.FloorInputs(); len(in) != 1 || in[0].Playout != nil {
		t.Errorf("WHIP floor inputs %+v: want one, without playout counts", in)
	}
	cfg, err := config.Parse([]byte(`
id: s
floor: {language: en, source: "srt://127.0.0.1:9"}
languages: [{tag: fr}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(cfg, Options{Clock: audiotest.NewClock(), Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if in := ev.FloorInputs(); len(in) != 1 || in[0].Playout == nil || *in[0].Playout != (web.PlayoutStats{}) {
		t.Errorf("SRT floor inputs %+v: want one, with zero playout counts", in)
	}
}
