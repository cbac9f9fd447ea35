//go:build browser

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio/audiotest"
	"tolk/internal/restream"
	"tolk/internal/sfu/janustest"
)

// TestBrowserWatchJanus: an event forwarded to a Janus started for the
// test, with sfu.watch pointing its watch page there. Headless Chromium
// opens the watch page in low-latency mode: the page plays English from
// its Janus mountpoint (440 Hz, the floor), then switches to French (a new
// Janus session: the interpreter's 880 Hz), with audio packets arriving
// throughout, and never asks tolk's WHEP. Stop destroys the Janus
// sessions. The producer's console, in another tab, shows both forwards
// connected with the RTP packets they sent and no failed sends.
func TestBrowserWatchJanus(t *testing.T) {
	sfuLeakCheck(t)
	audiotest.NeedTool(t, "node")
	audiotest.NeedTool(t, "chromium-headless-shell")
	if _, err := os.Stat("../../web/node_modules/playwright-core"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("playwright-core is missing in CI: run .ci/setup")
		}
		t.Skip("web/node_modules not installed (run .ci/setup)")
	}
	j := janustest.Start(t, "")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	const event = "sfuwatch"
	cfg, data, producer, anne := sfuEvent(ctx, t, dir, event, fmt.Sprintf(
		"sfu: {janus: {api: %q, admin_key: %q, mountpoint_base: 900}, watch: %q}", j.API, j.AdminKey, j.API))
	r := startServe(ctx, t, bin, "--config", cfg, "--data", data, "--webrtc-loopback")
	defer r.stop(t)
	stopMic := interpreter(ctx, t, r.base, event, anne)
	defer stopMic()
	r.output(ctx, t, event, producer, "janus-en", restream.StateConnected)
	r.output(ctx, t, event, producer, "janus-fr", restream.StateConnected)

	type heard struct {
		Lang          string
		State         string
		PeakHz        float64 `json:"peak_hz"`
		LevelRMS      float64 `json:"level_rms_dbfs"`
		PacketsGrowth bool    `json:"packets_growing"`
		Inbound       *struct {
			PacketsReceived int
			BytesReceived   int
		}
	}
	var rep struct {
		heard
		OK       bool
		Error    string
		Switches []heard
		Stopped  bool
		Janus    []struct {
			Method, Kind string
			Status       int
		}
		WHEP    []struct{ Method, Path string }
		Console []struct {
			ID, State, Name, URL string
			Facts                map[string]string
		}
	}
	cmd := exec.CommandContext(ctx, "node", "../../web/browsertest/watch_janus.mjs", r.base,
		"--event", event, "--lang", "en", "--switch", "fr", "--listen", "1", "--token", producer)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	t.Logf("watch_janus.mjs: %s", bytes.TrimSpace(stdout.Bytes()))
	if err != nil {
		t.Fatalf("watch_janus.mjs: %v\nstderr: %s\njanus: %s", err, stderr.String(), j.Log())
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	check := func(h heard, want float64) {
		t.Helper()
		if h.State != "live" || h.PeakHz < want-30 || h.PeakHz > want+30 || h.LevelRMS < -40 || !h.PacketsGrowth {
			t.Errorf("%s: %+v, want %.0f Hz, live, packets arriving", h.Lang, h, want)
		}
	}
	check(rep.heard, 440)
	if len(rep.Switches) != 1 {
		t.Fatalf("switches %+v", rep.Switches)
	}
	check(rep.Switches[0], 880)
	kinds := map[string]int{}
	for _, q := range rep.Janus {
		if q.Status == 200 {
			kinds[q.Kind]++
		}
	}
	if kinds["create"] != 2 || kinds["message:watch"] != 2 || kinds["message:start"] != 2 || !rep.Stopped {
		t.Errorf("janus requests %v, stopped %v", kinds, rep.Stopped)
	}
	if kinds["destroy"] < 1 {
		t.Errorf("no janus session destroyed: %v", kinds)
	}
	if len(rep.WHEP) != 0 {
		t.Errorf("the page asked tolk's WHEP: %+v", rep.WHEP)
	}

	// The producer's console lists both forwards, connected, with the
	// packets they sent and no failed sends.
	if len(rep.Console) != 2 {
		t.Fatalf("console outputs %+v", rep.Console)
	}
	for _, o := range rep.Console {
		n, err := strconv.Atoi(strings.ReplaceAll(o.Facts["RTP packets sent"], ",", ""))
		if o.State != "connected" || !strings.HasPrefix(o.ID, "janus-") || err != nil || n < 100 ||
			o.Facts["Send errors"] != "0" || !strings.Contains(o.URL, "mountpoint 90") {
			t.Errorf("console shows %+v", o)
		}
	}
}
