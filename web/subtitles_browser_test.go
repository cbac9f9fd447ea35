package web_test

import (
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"tolk/captions/captionstest"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
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
// exposes carries its word and starts, within ±100 ms, where hls.js put its
// beep on the media timeline (the audio segment's start as buffered, plus
// the beep's place in that segment). The beeps heard through Web Audio
// confirm the audio holds them there: none is heard before its cue (each
// trails by the measuring path's own latency, 2–200 ms depending on load,
// which the test logs). The subtitle playlist is published in step with the
// audio, so hls.js never meets it empty (it would not recover from that).
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
	var script []captionstest.ScriptedWord
	want := map[string]float64{}
	for i, w := range words {
		at := first + float64(i)*period
		script = append(script, captionstest.ScriptedWord{Text: w, Start: int64(at * sec), End: int64((at + burst) * sec)})
		want[w] = at
	}
	h := startScripted(t, cfg, script)
	var rep struct {
		SubtitleTracks []struct{ Name, Lang string } `json:"subtitle_tracks"`
		Cues           []struct {
			Text       string
			Start, End float64
		}
		Onsets     []float64
		AudioFrags []struct {
			SN    int64
			Start float64
		} `json:"audio_frags"`
		Pairs []struct {
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
	// Segment N of the audio holds program time [N s, N+1 s): where hls.js
	// put it says where each beep plays.
	segStart := map[int64]float64{}
	for _, f := range rep.AudioFrags {
		segStart[f.SN] = f.Start
	}
	var lags []float64
	for _, p := range rep.Pairs {
		at, ok := want[p.Text]
		if !ok {
			t.Errorf("cue %q is no word of the script", p.Text)
			continue
		}
		sn := int64(math.Floor(at))
		start, ok := segStart[sn]
		if !ok {
			t.Errorf("cue %q: audio segment %d was not buffered (%+v)", p.Text, sn, rep.AudioFrags)
			continue
		}
		if beep := start + (at - float64(sn)); math.Abs(p.Cue-beep) > 0.1 {
			t.Errorf("cue %q starts at %.3f s, its beep plays at %.3f s: %+.0f ms", p.Text, p.Cue, beep, 1000*(p.Cue-beep))
		}
		lags = append(lags, p.DiffMS)
	}
	// Heard: no beep plays before its cue. How far each trails is the Web
	// Audio measuring path's latency, which varies with load: logged, not
	// asserted.
	slices.Sort(lags)
	if len(lags) > 0 && lags[0] < -20 {
		t.Errorf("beeps heard %v ms after their cues: one plays before its cue", lags)
	}
	t.Logf("beeps heard %v ms after their cues", lags)
}
