//go:build browser

package web_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tolk/cmd/tolk/event"
	"tolk/internal/recording"
	"tolk/web"
)

// TestBrowserReplay plays a recorded run on the replay page in Chromium:
// the run was recorded with internal/recording from libopus-encoded tones
// (en 440 Hz, fr 660 Hz, de 880 Hz) and English cues, one of which an
// editor changed after the recording. hls.js lists every language, plays
// the first, switches to French (the tone changes), seeks to the middle
// and keeps playing; the page draws the edited cue and a cue after the
// seek; J skips back.
func TestBrowserReplay(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	editCue(ctx, t, e.store, "Welcome to the replay", "Welcome to the edited replay")
	var rep struct {
		Runs []struct {
			ID        string
			Duration  float64
			Languages []string
		}
		Tracks []struct{ Lang, Name string }
		First  struct {
			Lang   string
			Hz     float64
			Stable bool
		}
		Switched struct {
			Lang     string
			Hz       float64
			Stable   bool
			SwitchMS int `json:"switch_ms"`
		}
		Advancing struct{ From, To float64 }
		Seek      struct {
			To, Landed, Later float64
			State, Lang       string
			Valuetext         string
		}
		SkipBack struct{ From, To float64 } `json:"skip_back"`
		Shown    []struct {
			Text string
			At   float64
		}
		Errors []string
	}
	runBrowser(t, "replay.mjs", &rep, e.http.URL, "--event", "test", "--switch", "fr", "--caption", "en",
		"--cues", "Welcome to the edited replay,Halfway through")
	if len(rep.Runs) != 1 || rep.Runs[0].ID != e.run || rep.Runs[0].Duration != 20 || strings.Join(rep.Runs[0].Languages, ",") != "en,fr,de" {
		t.Errorf("runs listed %+v", rep.Runs)
	}
	langs := []string{}
	for _, tr := range rep.Tracks {
		langs = append(langs, tr.Lang)
	}
	if strings.Join(langs, ",") != "en,fr,de" {
		t.Errorf("hls.js lists the audio tracks %v", langs)
	}
	if rep.Advancing.To-rep.Advancing.From < 1 {
		t.Errorf("playback does not advance: %+v", rep.Advancing)
	}
	// The analyser's bins are 48000/8192 ≈ 6 Hz wide; the peak is refined.
	if rep.First.Lang != "en" || !near(rep.First.Hz, 440, 15) {
		t.Errorf("first heard %+v, want en at 440 Hz", rep.First)
	}
	if rep.Switched.Lang != "fr" || !near(rep.Switched.Hz, 660, 15) {
		t.Errorf("after the switch heard %+v, want fr at 660 Hz", rep.Switched)
	}
	if rep.Seek.Landed < rep.Seek.To || rep.Seek.Later < rep.Seek.Landed+2 || rep.Seek.Lang != "fr" || rep.Seek.State != "playing" ||
		!strings.HasSuffix(rep.Seek.Valuetext, "of 0:20") {
		t.Errorf("seek %+v", rep.Seek)
	}
	if rep.SkipBack.To > rep.SkipBack.From-8 {
		t.Errorf("J moved from %.1f to %.1f s", rep.SkipBack.From, rep.SkipBack.To)
	}
	for _, s := range rep.Shown {
		// Each cue is drawn within its time: 1–3 s and 11–14 s.
		if (s.Text == "Welcome to the edited replay" && (s.At < 0.9 || s.At > 3)) || (s.Text == "Halfway through" && (s.At < 10.9 || s.At > 14)) {
			t.Errorf("%q drawn at %.2f s", s.Text, s.At)
		}
		if s.Text == "Welcome to the replay" {
			t.Error("the page drew the cue as recognized, not as edited")
		}
	}
	if len(rep.Errors) > 0 {
		t.Errorf("player errors %v", rep.Errors)
	}
	// The page's requests are all on this server: the run's VOD.
	if resp, _ := call(ctx, t, http.MethodGet, e.http.URL+"/vod/test/"+e.run+"/subs/en/seg0.vtt", "", "", nil); resp.StatusCode != 200 {
		t.Errorf("vtt: %d", resp.StatusCode)
	}
}

// TestBrowserReplayLive plays a run that is still being recorded: the list
// says so, Play (K) starts at the run's beginning rather than at its live
// edge, playback advances, and the length the page shows grows as more is
// recorded (the EVENT playlist grows with the file).
func TestBrowserReplayLive(t *testing.T) {
	leakCheck(t)
	st, dir := openStore(t)
	lib := recording.NewLibrary(filepath.Join(dir, recording.Dir))
	r := startRun(t, lib, st, "test", time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC), nil)
	r.feed(20 * time.Second)
	cfg := eventConfig(t, `
id: test
title: Replay test
floor: {language: en, name: English, source: whip, stream_key: %s}
languages: [{tag: fr, name: Français}, {tag: de, name: Deutsch}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, streamKey)
	h := serve(t, cfg, event.Options{Cues: st, Recordings: lib}, web.Options{Tokens: st, Cues: st})
	// Once the page plays (the VOD has built segments), 14 s more are
	// recorded.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			resp, err := http.Get(h.http.URL + "/metrics")
			if err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if m := regexp.MustCompile(`(?m)^tolk_vod_builds_total (\d+)`).FindSubmatch(b); m != nil && string(m[1]) != "0" {
				break
			}
		}
		r.feed(14 * time.Second)
	}()
	var rep struct {
		Runs []struct {
			Live bool
		}
		Meta     string
		Started  struct{ Position, Duration float64 }
		Advanced float64
		Grown    struct {
			Duration float64
			MS       int
		}
		State  string
		Errors []string
	}
	runBrowser(t, "replay_live.mjs", &rep, h.http.URL, "--event", "test", "--grow", "29")
	<-done
	r.stop()
	if len(rep.Runs) != 1 || !rep.Runs[0].Live || !strings.Contains(rep.Meta, "still being recorded") {
		t.Errorf("the list: %+v %q", rep.Runs, rep.Meta)
	}
	if rep.Started.Position > 3 || rep.Started.Duration < 17.9 || rep.Advanced < rep.Started.Position+1 {
		t.Errorf("started at %.1f s of %.1f s, %.1f s after 2 s", rep.Started.Position, rep.Started.Duration, rep.Advanced)
	}
	if rep.Grown.Duration < 29 || rep.Grown.Duration <= rep.Started.Duration || rep.State != "playing" || len(rep.Errors) > 0 {
		t.Errorf("grown %+v, state %s, errors %v", rep.Grown, rep.State, rep.Errors)
	}
}
