package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/store"
)

// toneVoice stands in for an interpreter: a steady sine at its own frequency.
type toneVoice struct{ freq float64 }

func (v toneVoice) ReadFrame(pts int64) (audio.Frame, bool) {
	return audio.Frame{PTS: pts, Samples: audiotest.Tone(v.freq, 0.4, int(pts), audio.FrameSamples)}, true
}

// toneEvent serves an event whose floor is a 440 Hz tone (en) and whose
// interpreted languages each carry their own tone over the ducked floor.
func toneEvent(t testing.TB, voices map[string]float64) *harness {
	t.Helper()
	floor := toneFile(t, 440, 0.5, 20)
	cfg := eventConfig(t, `
id: test
title: Browser test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}, {tag: es}, {tag: de}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, floor)
	h := start(t, cfg)
	for lang, f := range voices {
		if err := h.ev.SetVoice(lang, toneVoice{f}); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

// runBrowser runs one of the browsertest scripts and decodes its JSON report.
func runBrowser(t testing.TB, script string, out any, args ...string) {
	t.Helper()
	audiotest.NeedTool(t, "node")
	audiotest.NeedTool(t, "chromium-headless-shell")
	needPath(t, "node_modules/playwright-core", "web/node_modules")
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

// needPath skips the test when path, which .ci/setup installs, is missing,
// and fails it in CI, where nothing may be skipped.
func needPath(t testing.TB, path, what string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is missing in CI (%v): run .ci/setup", what, err)
		}
		t.Skipf("%s not installed (run .ci/setup)", what)
	}
}

func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

func TestBrowserHLSListsTracksPlaysAndSwitches(t *testing.T) {
	leakCheck(t)
	voices := map[string]float64{"fr": 660, "es": 880, "de": 1100}
	h := toneEvent(t, voices)
	var rep struct {
		Tracks    []struct{ Name, Lang string }
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

func TestBrowserWebRTCPlaysAndSwitches(t *testing.T) {
	leakCheck(t)
	h := toneEvent(t, map[string]float64{"fr": 660, "es": 880, "de": 1100})
	var rep struct {
		State          string
		PeakHz         float64 `json:"peak_hz"`
		PacketsGrowing bool    `json:"packets_growing"`
		Inbound        struct {
			PacketsReceived int
			Codec           string
		}
		Switches []struct {
			Lang   string
			State  string
			PeakHz float64 `json:"peak_hz"`
		}
		Stopped  bool
		LeftOpen int `json:"whep_sessions_left_open"`
	}
	runBrowser(t, "watch_webrtc.mjs", &rep, h.http.URL, "--event", "test", "--lang", "fr", "--switch", "es,en")
	if rep.State != "live" || !rep.PacketsGrowing || rep.Inbound.PacketsReceived == 0 {
		t.Errorf("WebRTC did not play: state %q, packets %d", rep.State, rep.Inbound.PacketsReceived)
	}
	if !strings.Contains(strings.ToLower(rep.Inbound.Codec), "opus") {
		t.Errorf("codec %q, want opus", rep.Inbound.Codec)
	}
	if !near(rep.PeakHz, 660, 30) {
		t.Errorf("fr over WebRTC plays %.0f Hz, want 660", rep.PeakHz)
	}
	want := map[string]float64{"es": 880, "en": 440}
	if len(rep.Switches) != 2 {
		t.Fatalf("%d switches, want 2", len(rep.Switches))
	}
	for _, s := range rep.Switches {
		if s.State != "live" || !near(s.PeakHz, want[s.Lang], 30) {
			t.Errorf("after switching to %s: state %q, %.0f Hz, want %.0f Hz", s.Lang, s.State, s.PeakHz, want[s.Lang])
		}
	}
	if !rep.Stopped || rep.LeftOpen != 0 {
		t.Errorf("stop: stopped=%v, %d WHEP sessions left open", rep.Stopped, rep.LeftOpen)
	}
}

// BenchmarkHLSGlassToGlass measures, in hls.js in Chromium, how far behind the
// live edge the player runs: hls.js's own latency estimate and wall clock minus
// the EXT-X-PROGRAM-DATE-TIME of what plays. Run with -bench HLSGlassToGlass -benchtime 1x.
func BenchmarkHLSGlassToGlass(b *testing.B) {
	for i := 0; i < b.N; i++ {
		measureLatency(b)
	}
}

func measureLatency(b *testing.B) {
	h := toneEvent(b, nil)
	var rep struct {
		Samples    int
		LatencyMS  struct{ Median float64 } `json:"latency_ms"`
		PDTMS      struct{ Median float64 } `json:"pdt_latency_ms"`
		PartTarget float64                  `json:"part_target_s"`
	}
	runBrowser(b, "hls_latency.mjs", &rep, h.http.URL, "--event", "test", "--duration", "10")
	b.ReportMetric(rep.LatencyMS.Median, "hlsjs-latency-ms")
	b.ReportMetric(rep.PDTMS.Median, "pdt-latency-ms")
}

// TestBrowserWatchReportsPlayers: the watch page in Chromium reports what
// it plays and the producer's status counts it: over HLS as an HLS listener
// of its language with a latency, over WebRTC with a latency; a delay that a
// player can have (HLS at the LL-HLS live edge: under 10 s; WebRTC on
// loopback: under 3 s). Stopping takes it off the count within a report
// period, not when its last report runs out (15 s), and so does closing the
// page while it plays.
func TestBrowserWatchReportsPlayers(t *testing.T) {
	leakCheck(t)
	b := startBoothsTB(t, "{tag: fr}", "tone")
	prod, _, err := b.store.CreateToken(context.Background(), "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	type latency struct {
		Players  int
		MedianMS float64 `json:"median_ms"`
		WorstMS  float64 `json:"worst_ms"`
	}
	type counts struct {
		Listeners struct{ HLS, WebRTC int }
		Latency   latency
	}
	var rep struct {
		Modes []struct {
			Mode         string
			CountedMS    int `json:"counted_ms"`
			Listeners    struct{ HLS, WebRTC int }
			Latency      latency
			LangLatency  latency `json:"lang_latency"`
			LatencyLater latency `json:"latency_later"`
			Samples      []float64
			Page         struct {
				ID        string
				Sent      int
				Halted    int
				LatencyMS *float64 `json:"latencyMs"`
				NextMS    int      `json:"nextMs"`
				DelayText string   `json:"delayText"`
			}
			Cross struct {
				PageMS         *float64 `json:"page_ms"`
				PDTMS          *float64 `json:"pdt_ms"`
				HLSJSMS        *float64 `json:"hlsjs_latency_ms"`
				ProgramLagMS   *float64 `json:"program_lag_ms"`
				JitterBufferMS *float64 `json:"jitter_buffer_ms"`
			}
			DelayVisible         bool   `json:"delay_visible"`
			StopMS               int    `json:"stop_ms"`
			AfterStop            counts `json:"after_stop"`
			DelayHiddenAfterStop bool   `json:"delay_hidden_after_stop"`
		}
		Close *struct {
			CloseMS int `json:"close_ms"`
		}
		Refused *struct {
			Requests          int
			RequestsAfterStop int `json:"requests_after_stop"`
			State             string
			Page              struct{ Halted, Sent int }
			DelayVisible      bool `json:"delay_visible"`
		}
	}
	runBrowser(t, "watch_report.mjs", &rep, b.http.URL, "--event", "test", "--lang", "fr", "--producer", prod, "--modes", "hls,webrtc")
	if len(rep.Modes) != 2 {
		t.Fatalf("%d modes reported, want 2", len(rep.Modes))
	}
	idRE := regexp.MustCompile(`^[A-Za-z0-9_-]{16,64}$`)
	limit := map[string]float64{"hls": 10000, "webrtc": 3000}
	for _, m := range rep.Modes {
		if m.Mode == "hls" && m.Listeners.HLS != 1 {
			t.Errorf("hls: the status counts %d HLS listeners of fr, want 1", m.Listeners.HLS)
		}
		if m.Mode == "webrtc" && m.Listeners.WebRTC != 1 {
			t.Errorf("webrtc: the status counts %d WebRTC listeners of fr, want 1", m.Listeners.WebRTC)
		}
		for what, l := range map[string]latency{"event": m.Latency, "fr": m.LangLatency, "later": m.LatencyLater} {
			if l.Players != 1 || !(l.MedianMS > 0 && l.MedianMS < limit[m.Mode]) {
				t.Errorf("%s: the status's %s latency is %+v, want 1 player, 0 < median < %.0f ms", m.Mode, what, l, limit[m.Mode])
			}
		}
		if !idRE.MatchString(m.Page.ID) || m.Page.Halted != 0 || m.Page.Sent < 2 || m.Page.NextMS != 5000 {
			t.Errorf("%s: the page's reports %+v", m.Mode, m.Page)
		}
		if m.Page.LatencyMS == nil || !m.DelayVisible || !strings.HasPrefix(m.Page.DelayText, "Delay ") {
			t.Errorf("%s: the page shows %q (visible %v) for a delay of %v ms", m.Mode, m.Page.DelayText, m.DelayVisible, ptr(m.Page.LatencyMS))
		}
		// The delay measured against the program clock agrees with what
		// hls.js measures against the wall clock (the program date of the
		// playhead; the epoch and the wall clock are the same machine's
		// here), give or take the output's latency and the clock estimate,
		// once the program's own lag behind its epoch is taken off: a
		// loaded machine's file floor runs late, and the wall clock less
		// the program date counts that too.
		c := m.Cross
		if m.Mode == "hls" && (c.PageMS == nil || c.PDTMS == nil || c.ProgramLagMS == nil || math.Abs(*c.PageMS-(*c.PDTMS-*c.ProgramLagMS)) > 250) {
			t.Errorf("hls: the page measures %v ms, the wall clock less the playhead's program date %v ms, less the program's lag %v ms",
				ptr(c.PageMS), ptr(c.PDTMS), ptr(c.ProgramLagMS))
		}
		// Over WebRTC, what plays has at least sat in the jitter buffer.
		if m.Mode == "webrtc" && (c.PageMS == nil || c.JitterBufferMS == nil || *c.PageMS < *c.JitterBufferMS-20) {
			t.Errorf("webrtc: the page measures %v ms, less than the jitter buffer's %v ms", ptr(c.PageMS), ptr(c.JitterBufferMS))
		}
		t.Logf("%s: delay now %v ms; wall clock − program date %v ms (the program lags its epoch by %v ms), hls.js %v ms, jitter buffer %v ms",
			m.Mode, ptr(c.PageMS), ptr(c.PDTMS), ptr(c.ProgramLagMS), ptr(c.HLSJSMS), ptr(c.JitterBufferMS))
		// Stopped: off the count within a report period.
		if m.StopMS > 5000 || m.AfterStop.Latency.Players != 0 || m.AfterStop.Listeners.HLS != 0 || m.AfterStop.Listeners.WebRTC != 0 {
			t.Errorf("%s: after Stop the status counts %+v after %d ms", m.Mode, m.AfterStop, m.StopMS)
		}
		if !m.DelayHiddenAfterStop {
			t.Errorf("%s: the delay is still shown after Stop", m.Mode)
		}
		t.Logf("%s: counted %d ms after live; latency median %.0f ms (later %.0f ms), the page measured %v; off the count %d ms after Stop",
			m.Mode, m.CountedMS, m.Latency.MedianMS, m.LatencyLater.MedianMS, m.Samples, m.StopMS)
	}
	// Its last report counts 15 s: only its "stopped" beacon takes it off sooner.
	if rep.Close == nil || rep.Close.CloseMS > 5000 {
		t.Errorf("a page closed while playing: %+v, want off the count within 5 s", rep.Close)
	} else {
		t.Logf("a page closed while playing is off the count after %d ms", rep.Close.CloseMS)
	}
	// Refused with 429: one report, then none, and the page plays on.
	if r := rep.Refused; r == nil || r.Requests != 1 || r.RequestsAfterStop != 1 || r.State != "live" || r.Page.Halted != 429 || r.DelayVisible {
		t.Errorf("a page whose reports are refused: %+v, want 1 report, halted on 429, still live", rep.Refused)
	}
}
