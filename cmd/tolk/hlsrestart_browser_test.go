//go:build browser

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
)

// The browser test needs Chromium, node and the npm packages of web/
// (npm ci in web/); run it with go test -tags browser.

// restartPage plays the French track of the event's master playlist (on
// another origin, given as ?src=) with hls.js in low-latency mode, asks
// the test server to kill and restart tolk (GET /restart answers once the
// new process serves), and checks that the same hls.js instance plays on:
// it counts every request for the master playlist and every audio track
// switch. The retry policies let hls.js wait out a restart of a few
// seconds, as a player that rides out a server restart is configured.
const restartPage = `<!doctype html><meta charset="utf-8"><title>hls.js across a restart</title>
<audio id="a"></audio>
<script src="/hls.js"></script>
<script>
const result = window.result = {errors: [], masters: 0, switched: [], before: {}, after: {}, discontinuities: 0};
const src = new URLSearchParams(location.search).get('src');
const retry = {maxNumRetry: 30, retryDelayMs: 500, maxRetryDelayMs: 1000};
const policy = {default: {maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000, timeoutRetry: retry, errorRetry: retry}};
const hls = new Hls({lowLatencyMode: true, manifestLoadPolicy: policy, playlistLoadPolicy: policy, fragLoadPolicy: policy,
  xhrSetup: (xhr, url) => { if (url.includes('master.m3u8')) result.masters++; }});
hls.on(Hls.Events.ERROR, (e, d) => result.errors.push({details: d.details, fatal: d.fatal}));
hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (e, d) => result.switched.push(hls.audioTracks[d.id].lang));
hls.on(Hls.Events.FRAG_CHANGED, (e, d) => { if (d.frag.cc > 0) result.discontinuities = d.frag.cc; });
const media = document.getElementById('a');
hls.loadSource(src);
hls.attachMedia(media);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, ms) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(50);
  }
}
const bufferedEnd = () => media.buffered.length ? media.buffered.end(media.buffered.length - 1) : 0;
const state = () => ({time: media.currentTime, buffered: bufferedEnd(), track: hls.audioTrack,
  lang: hls.audioTracks[hls.audioTrack] ? hls.audioTracks[hls.audioTrack].lang : ''});
(async () => {
  try {
    await waitFor('audio tracks', () => hls.audioTracks.length > 1, 15000);
    hls.audioTrack = hls.audioTracks.findIndex((t) => t.lang === 'fr');
    await waitFor('switch to fr', () => result.switched.includes('fr'), 15000);
    await media.play();
    const t0 = media.currentTime;
    await waitFor('playback', () => media.currentTime > t0 + 2, 20000);
    result.before = state();
    const r = await fetch('/restart');
    if (!r.ok) throw new Error('restart: ' + r.status);
    result.restarted = state();
    // Beyond what was buffered when tolk was killed: the new run's media.
    const end = result.before.buffered;
    await waitFor('playback after the restart', () => media.currentTime > end + 2, 30000);
    result.after = state();
  } catch (e) {
    result.errors.push({details: String(e), fatal: true});
  }
  window.done = true;
})();
</script>`

// TestHLSJSPlaysOnAcrossKill: hls.js in Chromium plays a language live;
// tolk is killed with SIGKILL and started again on the same data directory
// and address; the same hls.js instance goes on playing the same audio
// track past what it had buffered, without loading the master playlist
// again.
func TestHLSJSPlaysOnAcrossKill(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "node")
	audiotest.NeedTool(t, "chromium")
	for _, dir := range []string{"../../web/node_modules/hls.js", "../../web/node_modules/playwright-core"} {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s missing (npm ci in web/): %v", dir, err)
		}
	}
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	floor, err := filepath.Abs("../../testdata/floor.wav")
	if err != nil {
		t.Fatal(err)
	}
	const event = "crash"
	cfg := filepath.Join(dir, "event.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
id: %s
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {en: none, fr: none}}
`, event, floor)), 0o600); err != nil {
		t.Fatal(err)
	}
	// One address for both runs: the player's URLs stay valid.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{"--config", cfg, "--data", filepath.Join(dir, "data"), "--http", addr}
	r1 := startServe(ctx, t, bin, args...)
	playlist := r1.base + "/hls/" + event + "/fr/index.m3u8"
	getText(ctx, t, playlist) // waits for the first part

	restart := make(chan chan error)
	mux := http.NewServeMux()
	mux.HandleFunc("/hls.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "..", "web", "node_modules", "hls.js", "dist", "hls.js"))
	})
	mux.HandleFunc("/restart", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan error, 1)
		select {
		case restart <- done:
		case <-r.Context().Done():
			return
		}
		if err := <-done; err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, restartPage)
	})
	page := httptest.NewServer(mux)
	defer page.Close()

	cmd := exec.CommandContext(ctx, "node", filepath.Join("..", "..", "web", "hls", "testdata", "hlsjs.mjs"),
		page.URL+"/?src="+r1.base+"/hls/"+event+"/master.m3u8", "60000")
	cmd.Env = append(os.Environ(), "CHROMIUM=/usr/bin/chromium")
	cmd.Stderr = os.Stderr
	type nodeOut struct {
		out []byte
		err error
	}
	nodeDone := make(chan nodeOut, 1)
	go func() {
		out, err := cmd.Output()
		nodeDone <- nodeOut{out, err}
	}()

	var killedAt, servingAt time.Time
	var res nodeOut
	select {
	case done := <-restart:
		if err := r1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = r1.cmd.Wait()
		killedAt = time.Now()
		r2 := startServe(ctx, t, bin, args...)
		defer r2.stop(t)
		getText(ctx, t, playlist)
		servingAt = time.Now()
		done <- nil
		res = <-nodeDone
	case res = <-nodeDone:
		t.Fatalf("the page ended before asking for the restart: %v\n%s", res.err, res.out)
	}
	if res.err != nil {
		t.Fatalf("node: %v\n%s", res.err, res.out)
	}
	var got struct {
		Result struct {
			Errors []struct {
				Details string `json:"details"`
				Fatal   bool   `json:"fatal"`
			} `json:"errors"`
			Masters  int      `json:"masters"`
			Switched []string `json:"switched"`
			Before, Restarted, After struct {
				Time, Buffered float64
				Track          int
				Lang           string
			}
			Discontinuities int `json:"discontinuities"`
		} `json:"result"`
		Logs []string `json:"logs"`
	}
	if err := json.Unmarshal(res.out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, res.out)
	}
	r := got.Result
	t.Logf("killed, serving again %.1f s later; before %+v, at the restart %+v, after %+v; master loaded %d times; track switches %v; discontinuity sequence %d; errors %+v",
		servingAt.Sub(killedAt).Seconds(), r.Before, r.Restarted, r.After, r.Masters, r.Switched, r.Discontinuities, r.Errors)
	for _, e := range r.Errors {
		if e.Fatal {
			t.Errorf("hls.js fatal error %q\nlogs: %s", e.Details, strings.Join(got.Logs, "\n"))
		}
	}
	if r.After.Time <= r.Before.Buffered {
		t.Errorf("played to %.2f s, not past the %.2f s buffered before the kill", r.After.Time, r.Before.Buffered)
	}
	if r.Masters != 1 {
		t.Errorf("the master playlist was loaded %d times, want once", r.Masters)
	}
	if r.Before.Lang != "fr" || r.After.Lang != "fr" || r.After.Track != r.Before.Track || len(r.Switched) != 1 {
		t.Errorf("audio track %+v before, %+v after, switches %v: want fr throughout", r.Before, r.After, r.Switched)
	}
	if r.Discontinuities < 1 {
		t.Errorf("hls.js played no segment after the discontinuity")
	}
}
