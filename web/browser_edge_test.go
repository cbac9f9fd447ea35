//go:build browser

package web_test

import (
	"strings"
	"testing"
)

// TestBrowserHLSThroughEdge plays the watch page's HLS (hls.js in Chromium)
// with the page, its scripts and every HLS request going through the nginx
// edge of deploy/nginx: hls.js lists the languages, plays, and switches from
// the floor to French; the origin counts the parts it served.
func TestBrowserHLSThroughEdge(t *testing.T) {
	leakCheck(t)
	h := toneEvent(t, map[string]float64{"fr": 660})
	e := startEdge(t, strings.TrimPrefix(h.http.URL, "http://"))
	before := hlsRequests(t, h.http.URL, "test")
	var rep struct {
		Tracks    []struct{ Name, Lang string }
		Advancing bool
		Switches  []struct {
			Lang   string
			PeakHz float64 `json:"peak_hz"`
		}
	}
	runBrowser(t, "watch_hls.mjs", &rep, e.URL, "--event", "test", "--langs", "fr,en")
	after := hlsRequests(t, h.http.URL, "test")
	t.Logf("origin HLS requests while hls.js played through the edge: %v → %v", before, after)
	if !rep.Advancing || len(rep.Tracks) != 4 {
		t.Errorf("through the edge hls.js lists %d tracks, playback advancing %v", len(rep.Tracks), rep.Advancing)
	}
	want := map[string]float64{"en": 440, "fr": 660}
	if len(rep.Switches) != 2 {
		t.Fatalf("%d switches reported, want 2", len(rep.Switches))
	}
	for _, s := range rep.Switches {
		if !near(s.PeakHz, want[s.Lang], 30) {
			t.Errorf("through the edge, %s plays %.0f Hz, want %.0f Hz", s.Lang, s.PeakHz, want[s.Lang])
		}
	}
	if after["part"] <= before["part"] || after["master"] <= before["master"] {
		t.Errorf("the origin served no parts or master through the edge: %v → %v", before, after)
	}
}
