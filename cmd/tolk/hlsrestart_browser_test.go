//go:build browser

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
)

// The browser test needs Chromium, node and the npm packages of web/
// (npm ci in web/); run it with go test -tags browser.

// restartPage plays one language (?lang=) of the event's master playlist
// (on another origin, given as ?src=: the master the watch page loads for
// that language, master.m3u8?audio={lang}) with hls.js in low-latency mode, asks
// the test server to kill and restart tolk (GET /restart answers, with the
// new run's first media sequence number, once the new process serves), and
// checks that the same hls.js instance plays on: it counts every request
// for the master playlist and every audio track switch, and notes where the
// new run's media was buffered and in which discontinuity (cc) hls.js put
// it, against the killed run's. Its retry policies let hls.js wait out a
// restart of a few seconds, as a player meant to ride out server restarts
// is configured: with hls.js's defaults (two retries of a playlist, one and
// two seconds apart) an outage of 2.7 s ended in a fatal levelLoadError.
const restartPage = `<!doctype html><meta charset="utf-8"><title>hls.js across a restart</title>
<audio id="a"></audio>
<script src="/hls.js"></script>
<script>
const result = window.result = {errors: [], masters: 0, switched: [], before: {}, after: {}, oldCC: -1, newCC: -1, tagged: false};
const src = new URLSearchParams(location.search).get('src');
const lang = new URLSearchParams(location.search).get('lang') || 'fr';
const retry = {maxNumRetry: 30, retryDelayMs: 500, maxRetryDelayMs: 1000};
const policy = {default: {maxTimeToFirstByteMs: 10000, maxLoadTimeMs: 20000, timeoutRetry: retry, errorRetry: retry}};
// The language is picked as the watch page picks it: by preference, from
// the start.
const hls = new Hls({lowLatencyMode: true, audioPreference: {lang},
  manifestLoadPolicy: policy, playlistLoadPolicy: policy, fragLoadPolicy: policy,
  xhrSetup: (xhr, url) => {
    if (url.includes('master.m3u8')) result.masters++;
    if (url.includes('index.m3u8') && !url.includes('_HLS') && result.log) result.log.push('GET ' + url.replace(/^.*\/hls\//, '') + ' ' + (performance.now() / 1000).toFixed(2));
  }});
hls.on(Hls.Events.ERROR, (e, d) => result.errors.push({details: d.details, fatal: d.fatal}));
hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (e, d) => result.switched.push(hls.audioTracks[d.id].lang));
result.log = [];
// The new run's first media sequence number, once the test server says it.
let firstNew = Infinity;
// The language is the master's main audio: its fragments are main ones.
hls.on(Hls.Events.FRAG_BUFFERED, (e, d) => {
  if (d.frag.type !== 'main') return;
  if (d.frag.sn < firstNew) result.oldCC = Math.max(result.oldCC, d.frag.cc);
  else if (result.newStart === undefined) {
    result.newStart = d.frag.start;
    result.newCC = d.frag.cc;
  }
});
// Whether a playlist hls.js loaded marked a segment as a discontinuity.
// hls.js files the tag, which stands before the new run's EXT-X-MAP, with
// the initialization section.
const dis = (f) => !!f && f.tagList.some((t) => t[0] === 'DIS');
hls.on(Hls.Events.LEVEL_LOADED, (e, d) => {
  if (d.details.fragments.some((f) => dis(f) || dis(f.initSegment))) result.tagged = true;
});
hls.on(Hls.Events.FRAG_BUFFERED, (e, d) => result.log.push(['buffered', d.frag.type, d.frag.sn, d.frag.cc, +d.frag.start.toFixed(3), d.part ? d.part.index : -1, +media.currentTime.toFixed(3), ranges()].join(' ')));
hls.on(Hls.Events.ERROR, (e, d) => result.log.push(['error', d.details, d.fatal, d.frag ? d.frag.sn : '', d.reason || '', +media.currentTime.toFixed(3)].join(' ')));
let lastFirst = '';
const noteDetails = (kind, details) => {
  const f = details.fragments, a = f[0], z = f[f.length - 1];
  const key = a ? kind + ' sn ' + a.sn + '-' + z.sn + ' cc ' + a.cc + '-' + z.cc + ' start ' + a.start.toFixed(2) + '-' + z.end.toFixed(2) + ' aligned ' + details.alignedSliding + ' ppts ' + details.PTSKnown : kind + ' empty';
  if (key.split(' start ')[0] !== lastFirst.split(' start ')[0] || !a || Math.abs(parseFloat(key.split(' start ')[1]) - parseFloat(lastFirst.split(' start ')[1])) > 0.5) result.log.push(key + ' @' + media.currentTime.toFixed(2));
  lastFirst = key;
};
hls.on(Hls.Events.LEVEL_UPDATED, (e, d) => noteDetails('level', d.details));
// As the watch page does (hlsplayer.js): when everything buffered ends
// before the playlist's first segment (the gap), go to the live edge.
hls.on(Hls.Events.LEVEL_UPDATED, (e, d) => {
  const edge = hls.liveSyncPosition;
  const b = media.buffered;
  if (d.details.live && edge !== null && b.length && b.end(b.length - 1) < d.details.fragmentStart &&
    media.currentTime < d.details.fragmentStart - 0.5) {
    result.log.push('to the live edge ' + edge.toFixed(2) + ' from ' + media.currentTime.toFixed(2));
    result.jumps = (result.jumps || 0) + 1;
    media.currentTime = Math.max(d.details.fragmentStart, edge);
  }
});
hls.on(Hls.Events.AUDIO_TRACK_LOADED, (e, d) => noteDetails('audio', d.details));
const ranges = () => { const r = []; for (let i = 0; i < media.buffered.length; i++) r.push(media.buffered.start(i).toFixed(2) + '-' + media.buffered.end(i).toFixed(2)); return r.join(','); };
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
    await waitFor('track ' + lang, () => state().lang === lang, 15000);
    await media.play();
    const t0 = media.currentTime;
    await waitFor('playback', () => media.currentTime > t0 + 1, 20000);
    result.before = state();
    result.switchesBefore = result.switched.length;
    result.log.push('restart ' + (performance.now() / 1000).toFixed(2));
    const r = await fetch('/restart');
    result.log.push('restarted ' + (performance.now() / 1000).toFixed(2));
    if (!r.ok) throw new Error('restart: ' + r.status);
    firstNew = Number(await r.text());
    result.restarted = state();
    // The new run's media (after the discontinuity) buffered and played
    // for two seconds.
    await waitFor('the new run buffered', () => result.newStart !== undefined, 20000);
    // Two seconds of playing from there: not a jump over the hole.
    const from = result.from = Math.max(media.currentTime, result.newStart);
    await waitFor('playback after the restart', () => media.currentTime > from + 2, 30000);
    result.after = state();
  } catch (e) {
    result.errors.push({details: String(e), fatal: true});
  }
  window.done = true;
})();
</script>`

// TestHLSJSPlaysOnAcrossKill: hls.js in Chromium plays an interpreted
// language live from the master the watch page loads for it
// (master.m3u8?audio=fr); tolk is killed with SIGKILL and started again on
// the same data directory and address; the new run's playlist marks the
// gap with EXT-X-DISCONTINUITY, and the same hls.js instance, having read
// that tag, buffers the new run's media in the next discontinuity and goes
// on playing the same audio track past what it had buffered, without a
// fatal error and without loading the master playlist again.
func TestHLSJSPlaysOnAcrossKill(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "node")
	audiotest.NeedTool(t, "chromium-headless-shell")
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
	// An interpreted language: in the plain master an alternate audio
	// rendition of the audio-only variant, with which hls.js stalls at a
	// discontinuity; in its own master the variant's main audio.
	const lang = "fr"
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
	defer func() {
		_ = r1.cmd.Process.Kill()
		_ = r1.cmd.Wait()
	}()
	playlist := r1.base + "/hls/" + event + "/fr/index.m3u8"
	getText(ctx, t, playlist) // waits for the first part

	type restarted struct {
		msn int64
		err error
	}
	restart := make(chan chan restarted)
	mux := http.NewServeMux()
	mux.HandleFunc("/hls.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "..", "web", "node_modules", "hls.js", "dist", "hls.js"))
	})
	mux.HandleFunc("/restart", func(w http.ResponseWriter, r *http.Request) {
		done := make(chan restarted, 1)
		select {
		case restart <- done:
		case <-r.Context().Done():
			return
		}
		res := <-done
		if res.err != nil {
			http.Error(w, res.err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, res.msn)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, restartPage)
	})
	page := httptest.NewServer(mux)
	defer page.Close()

	cmd := exec.CommandContext(ctx, "node", filepath.Join("..", "..", "web", "hls", "testdata", "hlsjs.mjs"),
		page.URL+"/?lang="+lang+"&src="+url.QueryEscape(r1.base+"/hls/"+event+"/master.m3u8?audio="+lang), "60000")
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
	var firstNew int64
	var newPlaylist string
	var res nodeOut
	select {
	case done := <-restart:
		if err := r1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = r1.cmd.Wait() // the deferred Wait returns at once
		killedAt = time.Now()
		r2 := startServe(ctx, t, bin, args...)
		defer r2.stop(t)
		pl := getText(ctx, t, playlist)
		servingAt = time.Now()
		msn, err := strconv.ParseInt(tagValue(pl, "#EXT-X-MEDIA-SEQUENCE"), 10, 64)
		if err != nil {
			err = fmt.Errorf("the new run's playlist: %w\n%s", err, pl)
		}
		firstNew, newPlaylist = msn, pl
		done <- restarted{msn, err}
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
			Masters                  int      `json:"masters"`
			Switched                 []string `json:"switched"`
			Before, Restarted, After struct {
				Time, Buffered float64
				Track          int
				Lang           string
			}
			SwitchesBefore int      `json:"switchesBefore"`
			Jumps          int      `json:"jumps"`
			OldCC          int      `json:"oldCC"`
			NewCC          int      `json:"newCC"`
			Tagged         bool     `json:"tagged"`
			NewStart       float64  `json:"newStart"`
			From           float64  `json:"from"`
			Log            []string `json:"log"`
		} `json:"result"`
		Logs []string `json:"logs"`
	}
	if err := json.Unmarshal(res.out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, res.out)
	}
	r := got.Result
	t.Logf("killed, serving again %.1f s later from msn %d; before %+v, at the restart %+v, the new run's media from %.2f s (cc %d after %d), played on from %.2f s to %+v; master loaded %d times; track switches %v; moved to the live edge %d times; errors %+v",
		servingAt.Sub(killedAt).Seconds(), firstNew, r.Before, r.Restarted, r.NewStart, r.NewCC, r.OldCC, r.From, r.After, r.Masters, r.Switched, r.Jumps, r.Errors)
	// The gap is a discontinuity, in the playlist and for hls.js.
	if !strings.Contains(newPlaylist, "\n#EXT-X-DISCONTINUITY\n") || tagValue(newPlaylist, "#EXT-X-DISCONTINUITY-SEQUENCE") != "0" {
		t.Errorf("the new run's first playlist does not mark the restart:\n%s", newPlaylist)
	}
	if !r.Tagged || r.OldCC < 0 || r.NewCC != r.OldCC+1 {
		t.Errorf("hls.js read a discontinuity: %v; the killed run's media in cc %d, the new run's in %d, want the next", r.Tagged, r.OldCC, r.NewCC)
	}
	for _, e := range r.Errors {
		if e.Fatal {
			t.Errorf("hls.js fatal error %q\nlogs: %s", e.Details, strings.Join(got.Logs, "\n"))
		}
	}
	if r.After.Time <= r.Before.Buffered || r.After.Time < r.From+2 || r.From < r.NewStart {
		t.Errorf("played to %.2f s, not 2 s on from %.2f s in the new run's media (from %.2f s) past the %.2f s buffered before the kill",
			r.After.Time, r.From, r.NewStart, r.Before.Buffered)
	}
	if r.Masters != 1 {
		t.Errorf("the master playlist was loaded %d times, want once", r.Masters)
	}
	if r.Before.Lang != lang || r.After.Lang != lang || r.After.Track != r.Before.Track || len(r.Switched) != r.SwitchesBefore {
		t.Errorf("audio track %+v before, %+v after, switches %v (%d before the kill): want %s throughout", r.Before, r.After, r.Switched, r.SwitchesBefore, lang)
	}
	if t.Failed() {
		t.Logf("hls.js:\n%s", strings.Join(r.Log, "\n"))
	}
}
