//go:build browser

package hls

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/aac"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// The browser test needs Chromium, node and the npm packages of web/
// (npm ci in web/); run it with go test -tags browser.

const hlsjsPage = `<!doctype html><meta charset="utf-8"><title>hls.js check</title>
<audio id="a"></audio>
<script src="/hls.js"></script>
<script>
const result = window.result = {errors: [], tracks: [], switched: [], before: 0, after: 0, latency: null, played: 0, levels: [], codec: ''};
const media = document.getElementById('a');
// ?force=mp4a plays the variant whose audio codec starts so, as a player
// that takes no Opus would.
const force = new URLSearchParams(location.search).get('force');
const hls = new Hls({lowLatencyMode: true});
hls.on(Hls.Events.ERROR, (e, d) => result.errors.push({details: d.details, fatal: d.fatal}));
hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => {
  result.levels = d.levels.map(l => l.audioCodec || '');
  if (force) {
    const i = d.levels.findIndex(l => (l.audioCodec || '').startsWith(force));
    hls.startLevel = i;
    hls.currentLevel = i;
  }
});
hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => { result.codec = hls.levels[d.level].audioCodec || ''; });
hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, (e, d) => {
  result.tracks = d.audioTracks.map(t => ({name: t.name, lang: t.lang || '', default: !!t.default, characteristics: t.characteristics || ''}));
});
hls.on(Hls.Events.AUDIO_TRACK_SWITCHED, (e, d) => result.switched.push(hls.audioTracks[d.id].lang));
hls.loadSource('/hls/master.m3u8');
hls.attachMedia(media);
const ctx = new AudioContext();
const analyser = ctx.createAnalyser();
analyser.fftSize = 8192;
ctx.createMediaElementSource(media).connect(analyser);
analyser.connect(ctx.destination);
function dominant() {
  const d = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(d);
  let best = 1;
  for (let i = 2; i < d.length; i++) if (d[i] > d[best]) best = i;
  return best * ctx.sampleRate / analyser.fftSize;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(what, cond, ms) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting for ' + what);
    await sleep(50);
  }
}
(async () => {
  try {
    await waitFor('audio tracks', () => hls.audioTracks.length > 0, 15000);
    await ctx.resume();
    await media.play();
    const t0 = media.currentTime;
    await waitFor('playback', () => media.currentTime > t0 + 2, 20000);
    result.before = dominant();
    result.latency = hls.latency;
    hls.audioTrack = hls.audioTracks.findIndex((t) => t.lang === 'fr');
    await waitFor('switch to fr', () => result.switched.includes('fr'), 15000);
    const t1 = media.currentTime;
    await waitFor('playback after the switch', () => media.currentTime > t1 + 3, 20000);
    result.after = dominant();
    result.played = media.currentTime - t0;
  } catch (e) {
    result.errors.push({details: String(e), fatal: true});
  }
  window.done = true;
})();
</script>`

// streamTone writes a tone to rendition id in real time until ctx ends, and
// its PCM to the AAC encoder when there is one.
func streamTone(ctx context.Context, m *Muxer, ae *aac.Encoder, id string, freq float64) error {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		return err
	}
	buf := make([]byte, 1500)
	var failed error
	audiotest.Paced(ctx, -1, func(i int) bool {
		pts := int64(i * audio.FrameSamples)
		pcm := audiotest.Tone(freq, 0.5, int(pts), audio.FrameSamples)
		if ae != nil {
			if err := ae.Write(id, pts, pcm); err != nil {
				failed = err
				return false
			}
		}
		n, err := enc.EncodeFloat32(pcm, buf)
		if err == nil {
			err = m.WriteOpus(id, pts, buf[:n])
		}
		failed = err
		return err == nil
	})
	return failed
}

// TestHLSJSPlaysAndSwitchesLanguage: hls.js in Chromium plays the Opus
// rendition live in low-latency mode and switches language.
func TestHLSJSPlaysAndSwitchesLanguage(t *testing.T) {
	codec := playHLSJS(t, false, "")
	if codec != "opus" {
		t.Errorf("played %q", codec)
	}
}

// TestHLSJSWithBothGroups: with the AAC group beside the Opus one, hls.js
// in Chromium (which plays both) picks one variant, the lower BANDWIDTH (Opus
// at 32 kb/s here), and plays and switches language in it; forced to the AAC variant, as a player without Opus
// takes it, it plays and switches in the AAC group.
func TestHLSJSWithBothGroups(t *testing.T) {
	picked := playHLSJS(t, true, "")
	t.Logf("hls.js picked %q", picked)
	if picked != "opus" && picked != "mp4a.40.2" {
		t.Errorf("played %q", picked)
	}
	if forced := playHLSJS(t, true, "mp4a"); forced != "mp4a.40.2" {
		t.Errorf("forced to AAC, played %q", forced)
	}
}

// playHLSJS serves en (440 Hz) and fr (880 Hz), with the AAC group when
// withAAC, opens the page in Chromium (forcing the variant of codec force,
// if given) and checks that it plays en, switches to fr and uses LL-HLS.
// It returns the audio codec of the variant played.
func playHLSJS(t *testing.T, withAAC bool, force string) string {
	node := requireTool(t, "node")
	chromium := requireTool(t, "chromium-headless-shell")
	for _, dir := range []string{"../node_modules/hls.js", "../node_modules/playwright-core"} {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s missing (npm ci in web/): %v", dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	m, err := New(Options{PartDuration: 200 * time.Millisecond, SegmentDuration: 2 * time.Second, Window: 6}, testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	var ae *aac.Encoder
	if withAAC {
		if err := m.EnableAAC(64000); err != nil {
			t.Fatal(err)
		}
		if ae, err = aac.New(aac.Options{IDs: []string{"en", "fr"}, Sink: m}); err != nil {
			t.Fatal(err)
		}
		for !ae.Running() {
			if ctx.Err() != nil {
				t.Fatal("the AAC encoder did not start")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var (
		mu       sync.Mutex
		blocking int
		parts    int
		aacReqs  int
	)
	mux := http.NewServeMux()
	mux.Handle("/hls/", http.StripPrefix("/hls/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if strings.Contains(r.URL.RawQuery, "_HLS_msn=") {
			blocking++
		}
		if strings.Contains(r.URL.Path, "/part") {
			parts++
		}
		if strings.Contains(r.URL.Path, ".aac/") {
			aacReqs++
		}
		mu.Unlock()
		m.ServeHTTP(w, r)
	})))
	mux.HandleFunc("/hls.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "node_modules", "hls.js", "dist", "hls.js"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hlsjsPage)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	streamCtx, stopStream := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopStream()
		wg.Wait()
		if ae != nil {
			ae.Close()
		}
		m.Close()
	}()
	for id, freq := range map[string]float64{"en": 440, "fr": 880} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := streamTone(streamCtx, m, ae, id, freq); err != nil {
				t.Error(err)
			}
		}()
	}
	// Let the first segments exist so the player starts at a live edge:
	// wait for them in the playlists, however slowly the machine writes them.
	dirs := []string{"en", "fr"}
	if withAAC {
		dirs = append(dirs, "en.aac", "fr.aac")
	}
	for _, id := range dirs {
		for {
			rec := httptest.NewRecorder()
			m.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+id+"/index.m3u8", nil))
			if strings.Count(rec.Body.String(), "#EXTINF") >= 1 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no segment in %s's playlist: %v", id, ctx.Err())
			case <-time.After(50 * time.Millisecond):
			}
		}
	}

	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "hlsjs.mjs"), srv.URL+"/?force="+force, "60000")
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Result struct {
			Errors []struct {
				Details string `json:"details"`
				Fatal   bool   `json:"fatal"`
			} `json:"errors"`
			Tracks []struct {
				Name, Lang, Characteristics string
				Default                     bool
			} `json:"tracks"`
			Switched []string `json:"switched"`
			Before   float64  `json:"before"`
			After    float64  `json:"after"`
			Latency  float64  `json:"latency"`
			Played   float64  `json:"played"`
			Levels   []string `json:"levels"`
			Codec    string   `json:"codec"`
		} `json:"result"`
		Logs []string `json:"logs"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	r := got.Result
	mu.Lock()
	t.Logf("levels %v, played %q; tracks %+v switched %v; dominant %.0f Hz then %.0f Hz; latency %.2f s; played %.1f s; %d blocking reloads, %d part requests, %d AAC requests; errors %+v",
		r.Levels, r.Codec, r.Tracks, r.Switched, r.Before, r.After, r.Latency, r.Played, blocking, parts, aacReqs, r.Errors)
	if (r.Codec == "mp4a.40.2") != (aacReqs > 0) {
		t.Errorf("played %q with %d AAC requests", r.Codec, aacReqs)
	}
	mu.Unlock()
	// hls.js orders the variants by BANDWIDTH, lowest first.
	if withAAC && (len(r.Levels) != 2 || !slices.Contains(r.Levels, "mp4a.40.2") || !slices.Contains(r.Levels, "opus")) {
		t.Errorf("levels %v", r.Levels)
	}
	for _, e := range r.Errors {
		if e.Fatal {
			t.Errorf("hls.js fatal error %q\nlogs: %s", e.Details, strings.Join(got.Logs, "\n"))
		}
	}
	if len(r.Tracks) != 2 || r.Tracks[0].Lang != "en" || !r.Tracks[0].Default || r.Tracks[1].Lang != "fr" || r.Tracks[1].Characteristics != "public.translation" {
		t.Errorf("audio tracks %+v", r.Tracks)
	}
	// The analyser's bins are 5.9 Hz wide at 48 kHz.
	if math.Abs(r.Before-440) > 12 || math.Abs(r.After-880) > 12 {
		t.Errorf("dominant frequency %.0f Hz before the switch and %.0f Hz after, want 440 and 880", r.Before, r.After)
	}
	if blocking == 0 || parts == 0 {
		t.Errorf("hls.js made %d blocking reloads and %d part requests: low-latency mode not used", blocking, parts)
	}
	return r.Codec
}
