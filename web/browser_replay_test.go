//go:build browser

package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
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
