package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
)

// toneVoice stands in for an interpreter: a steady sine at its own frequency.
type toneVoice struct{ freq float64 }

func (v toneVoice) ReadFrame(pts int64) (audio.Frame, bool) {
	return audio.Frame{PTS: pts, Samples: audiotest.Tone(v.freq, 0.4, int(pts), audio.FrameSamples)}, true
}

// toneEvent serves an event whose floor is a 440 Hz tone (en) and whose
// interpreted languages each carry their own tone over the ducked floor.
func toneEvent(t *testing.T, voices map[string]float64) *harness {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	floor := filepath.Join(t.TempDir(), "floor.wav")
	if out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
		"sine=frequency=440:sample_rate=48000:duration=20", "-af", "volume=0.5", "-ac", "1", floor).CombinedOutput(); err != nil {
		t.Fatalf("make floor: %v %s", err, out)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
id: test
title: Browser test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}, {tag: es}, {tag: de}]
hls: {part_ms: 200, segment_ms: 1000}
`, floor)), nil)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, cfg)
	for lang, f := range voices {
		if err := h.ev.SetVoice(lang, toneVoice{f}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// runBrowser runs one of the browsertest scripts and decodes its JSON report.
func runBrowser(t *testing.T, script string, out any, args ...string) {
	t.Helper()
	audiotest.NeedTool(t, "node")
	audiotest.NeedTool(t, "chromium")
	if _, err := os.Stat("node_modules/playwright-core"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("web/node_modules is missing in CI: run .ci/setup")
		}
		t.Skip("web/node_modules not installed (run .ci/setup)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{filepath.Join("browsertest", script)}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("%s: %s", script, bytes.TrimSpace(stdout.Bytes()))
	if err != nil {
		t.Fatalf("%s: %v\nstderr: %s", script, err, stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
		t.Fatalf("%s printed no JSON report: %v", script, err)
	}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestBrowserHLSListsTracksPlaysAndSwitches(t *testing.T) {
	leakCheck(t)
	voices := map[string]float64{"fr": 660, "es": 880, "de": 1100}
	h := toneEvent(t, voices)
	var rep struct {
		Tracks []struct{ Name, Lang string }
		Advancing bool
		Playback  struct{ Rate float64 }
		Switches  []struct {
			Lang   string
			PeakHz float64 `json:"peak_hz"`
			Stable bool
			Track  *struct{ Lang string }
		}
	}
	runBrowser(t, "watch_hls.mjs", &rep, h.http.URL, "--event", "test", "--langs", "fr,es,en,de")
	if len(rep.Tracks) != 4 {
		t.Errorf("hls.js lists %d audio tracks, want 4: %+v", len(rep.Tracks), rep.Tracks)
	}
	seen := map[string]bool{}
	for _, tr := range rep.Tracks {
		seen[tr.Lang] = true
	}
	for _, l := range []string{"en", "fr", "es", "de"} {
		if !seen[l] {
			t.Errorf("hls.js does not list %s", l)
		}
	}
	if !rep.Advancing {
		t.Errorf("playback does not advance: %+v", rep.Playback)
	}
	want := map[string]float64{"en": 440, "fr": 660, "es": 880, "de": 1100}
	if len(rep.Switches) != 4 {
		t.Fatalf("%d switches reported, want 4", len(rep.Switches))
	}
	for _, s := range rep.Switches {
		// The analyser's bins are 48000/2048 ≈ 23 Hz wide.
		if !near(s.PeakHz, want[s.Lang], 30) {
			t.Errorf("after switching to %s the page plays %.0f Hz, want %.0f Hz", s.Lang, s.PeakHz, want[s.Lang])
		}
	}
}
