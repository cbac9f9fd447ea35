package web_test

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/event"
)

// beepFile writes seconds of silence with a 1 kHz burst of burst seconds
// every period seconds, the first at first seconds: a floor whose every
// "word" can be heard exactly where it starts.
func beepFile(t testing.TB, first, period, burst float64, seconds int) string {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	path := filepath.Join(t.TempDir(), "beeps.wav")
	// Commas inside a filter's arguments are escaped for the graph parser.
	expr := fmt.Sprintf(`0.3*sin(2*PI*1000*t)*gte(t\,%g)*lt(mod(t-%g\,%g)\,%g)`, first, first, period, burst)
	if out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("aevalsrc=%s:s=48000:d=%d", expr, seconds), "-ac", "1", path).CombinedOutput(); err != nil {
		t.Fatalf("make beeps: %v %s", err, out)
	}
	return path
}

// TestBrowserSubtitlesLineUpWithAudio: the floor beeps every 2 s and a
// scripted recognizer hears one word on each beep. hls.js in Chromium plays
// the LL-HLS master with the floor's WebVTT track selected: every cue it
// exposes starts where its beep is heard, within ±100 ms, and carries its
// word. The subtitle playlist is published in step with the audio, so
// hls.js never meets it empty (it would not recover from that).
func TestBrowserSubtitlesLineUpWithAudio(t *testing.T) {
	leakCheck(t)
	const first, period, burst = 3.0, 2.0, 0.3
	floor := beepFile(t, first, period, burst, 40)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {fr: none}}
`, floor)
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa")
	sec := float64(audio.SampleRate)
	var script []captions.ScriptedWord
	want := map[string]float64{}
	for i, w := range words {
		at := first + float64(i)*period
		script = append(script, captions.ScriptedWord{Text: w, Start: int64(at * sec), End: int64((at + burst) * sec)})
		want[w] = at
	}
	h := serve(t, cfg, event.Options{Recognizer: captions.NewScripted(script)}, nil)
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	var rep struct {
		SubtitleTracks []struct{ Name, Lang string } `json:"subtitle_tracks"`
		Cues           []struct {
			Text       string
			Start, End float64
		}
		Onsets []float64
		Pairs  []struct {
			Text   string
			Cue    float64
			Onset  float64
			DiffMS float64 `json:"diff_ms"`
		}
		PageErrors    []string `json:"page_errors"`
		ConsoleErrors []string `json:"console_errors"`
	}
	runBrowser(t, "hls_subtitles.mjs", &rep, h.http.URL, "--event", "test", "--lang", "en", "--behind", "6", "--cues", "4")
	if len(rep.SubtitleTracks) != 1 || rep.SubtitleTracks[0].Lang != "en" {
		t.Errorf("hls.js lists subtitle tracks %+v, want en only (fr has no captions)", rep.SubtitleTracks)
	}
	if len(rep.PageErrors)+len(rep.ConsoleErrors) > 0 {
		t.Errorf("page errors %q, console errors %q", rep.PageErrors, rep.ConsoleErrors)
	}
	if len(rep.Pairs) < 4 {
		t.Fatalf("%d cues matched a beep heard, want 4: cues %+v onsets %v", len(rep.Pairs), rep.Cues, rep.Onsets)
	}
	for _, p := range rep.Pairs {
		if math.Abs(p.DiffMS) > 100 {
			t.Errorf("cue %q starts at %.3f s, its beep is heard at %.3f s: %+.0f ms", p.Text, p.Cue, p.Onset, p.DiffMS)
		}
		// The media timeline is program time: the cue sits on its own word's beep.
		if at, ok := want[p.Text]; !ok || math.Abs(p.Cue-at) > 0.1 {
			t.Errorf("cue %q at %.3f s, its word is at %.3f s", p.Text, p.Cue, at)
		}
	}
}
