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
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/internal/aac"
	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

const hlsjsVideoPage = `<!doctype html><meta charset="utf-8"><title>hls.js video check</title>
<video id="v" muted playsinline></video>
<script src="/hls.js"></script>
<script>
const result = window.result = {errors: [], tracks: [], switched: [], levels: [], width: 0, height: 0,
  framesBefore: 0, framesAtSwitch: 0, framesAfter: 0, played: 0, before: 0, after: 0, level: null};
const media = document.getElementById('v');
const hls = new Hls({lowLatencyMode: true});
hls.on(Hls.Events.ERROR, (e, d) => result.errors.push({details: d.details, fatal: d.fatal}));
hls.on(Hls.Events.MANIFEST_PARSED, (e, d) => {
  result.levels = d.levels.map(l => ({video: l.videoCodec || '', audio: l.audioCodec || '', width: l.width, height: l.height}));
});
hls.on(Hls.Events.LEVEL_SWITCHED, (e, d) => { const l = hls.levels[d.level]; result.level = {video: l.videoCodec || '', audio: l.audioCodec || ''}; });
hls.on(Hls.Events.AUDIO_TRACKS_UPDATED, (e, d) => {
  result.tracks = d.audioTracks.map(t => ({name: t.name, lang: t.lang || '', default: !!t.default}));
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
const frames = () => media.getVideoPlaybackQuality().totalVideoFrames;
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
    media.muted = false;
    await ctx.resume();
    await media.play();
    const t0 = media.currentTime;
    await waitFor('playback', () => media.currentTime > t0 + 2 && media.videoWidth > 0, 20000);
    result.width = media.videoWidth;
    result.height = media.videoHeight;
    result.framesBefore = frames();
    result.before = dominant();
    hls.audioTrack = hls.audioTracks.findIndex((t) => t.lang === 'fr');
    await waitFor('switch to fr', () => result.switched.includes('fr'), 15000);
    result.framesAtSwitch = frames();
    const t1 = media.currentTime;
    await waitFor('playback after the switch', () => media.currentTime > t1 + 3, 20000);
    result.after = dominant();
    result.framesAfter = frames();
    result.played = media.currentTime - t0;
  } catch (e) {
    result.errors.push({details: String(e), fatal: true});
  }
  window.done = true;
})();
</script>`

// streamVideo writes a clip's frames in real time from start, looping it
// (each loop one clip length later on the program timeline), until ctx ends.
func streamVideo(ctx context.Context, m *Muxer, units []media.Unit, length int64, start time.Time) error {
	for loop := int64(0); ; loop++ {
		for _, u := range units {
			u.PTS += loop * length
			u.DTS += loop * length
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(time.Until(start.Add(audio.Duration(u.DTS)))):
			}
			if err := m.WriteVideo(u); err != nil {
				return err
			}
		}
	}
}

// TestHLSJSPlaysVideoAndSwitchesLanguage: with the floor's H.264 beside
// both audio groups, hls.js in Chromium lists the video variants, plays the
// picture (1280x720, frames decoded) with en, switches to fr and the
// picture goes on.
func TestHLSJSPlaysVideoAndSwitchesLanguage(t *testing.T) {
	node := requireTool(t, "node")
	chromium := requireTool(t, "chromium-headless-shell")
	for _, dir := range []string{"../node_modules/hls.js", "../node_modules/playwright-core"} {
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("%s missing (npm ci in web/): %v", dir, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	units, err := videotest.Clip(ctx, videotest.Options{Seconds: 4, FPS: 30, GOP: 60})
	if err != nil {
		t.Fatal(err)
	}

	m, err := New(Options{PartDuration: 200 * time.Millisecond, SegmentDuration: 2 * time.Second, Window: 6}, testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnableAAC(64000); err != nil {
		t.Fatal(err)
	}
	ae, err := aac.New(aac.Options{IDs: []string{"en", "fr"}, Sink: m})
	if err != nil {
		t.Fatal(err)
	}
	for !ae.Running() {
		if ctx.Err() != nil {
			t.Fatal("the AAC encoder did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var (
		mu        sync.Mutex
		videoReqs int
		parts     int
	)
	mux := http.NewServeMux()
	mux.Handle("/hls/", http.StripPrefix("/hls/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if strings.HasPrefix(r.URL.Path, "video/") {
			videoReqs++
			if strings.Contains(r.URL.Path, "/part") {
				parts++
			}
		}
		mu.Unlock()
		m.ServeHTTP(w, r)
	})))
	mux.HandleFunc("/hls.js", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join("..", "node_modules", "hls.js", "dist", "hls.js"))
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hlsjsVideoPage)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	streamCtx, stopStream := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stopStream()
		wg.Wait()
		ae.Close()
		m.Close()
	}()
	start := time.Now()
	for id, freq := range map[string]float64{"en": 440, "fr": 880} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := streamTone(streamCtx, m, ae, id, freq); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := streamVideo(streamCtx, m, units, 4*audio.SampleRate, start); err != nil {
			t.Error(err)
		}
	}()
	for _, id := range []string{"en", "fr", "en.aac", "fr.aac", "video"} {
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

	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "hlsjs.mjs"), srv.URL+"/", "90000")
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
				Name, Lang string
				Default    bool
			} `json:"tracks"`
			Switched []string `json:"switched"`
			Levels   []struct {
				Video, Audio  string
				Width, Height int
			} `json:"levels"`
			Level                                     struct{ Video, Audio string } `json:"level"`
			Width, Height                             int
			FramesBefore, FramesAtSwitch, FramesAfter int
			Played, Before, After                     float64
		} `json:"result"`
		Logs []string `json:"logs"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	r := got.Result
	mu.Lock()
	t.Logf("levels %+v, played %+v; tracks %+v switched %v; %dx%d; frames %d, %d at the switch, %d after; dominant %.0f Hz then %.0f Hz; played %.1f s; %d video requests (%d parts); errors %+v",
		r.Levels, r.Level, r.Tracks, r.Switched, r.Width, r.Height, r.FramesBefore, r.FramesAtSwitch, r.FramesAfter, r.Before, r.After, r.Played, videoReqs, parts, r.Errors)
	if parts == 0 {
		t.Error("no video part requested: low-latency mode not used")
	}
	mu.Unlock()
	for _, e := range r.Errors {
		if e.Fatal {
			t.Errorf("hls.js fatal error %q\nlogs: %s", e.Details, strings.Join(got.Logs, "\n"))
		}
	}
	// hls.js keeps only the video variants when some have video.
	if len(r.Levels) != 2 {
		t.Errorf("levels %+v", r.Levels)
	}
	for _, l := range r.Levels {
		if !strings.HasPrefix(l.Video, "avc1.") || l.Width != 1280 || l.Height != 720 {
			t.Errorf("level %+v", l)
		}
	}
	if len(r.Tracks) != 2 || r.Tracks[0].Lang != "en" || r.Tracks[1].Lang != "fr" {
		t.Errorf("audio tracks %+v", r.Tracks)
	}
	if r.Width != 1280 || r.Height != 720 {
		t.Errorf("picture %dx%d", r.Width, r.Height)
	}
	if r.FramesBefore <= 0 || r.FramesAtSwitch < r.FramesBefore || r.FramesAfter <= r.FramesAtSwitch+30 {
		t.Errorf("decoded frames %d, %d at the switch, %d after: the picture did not keep going", r.FramesBefore, r.FramesAtSwitch, r.FramesAfter)
	}
	if math.Abs(r.Before-440) > 12 || math.Abs(r.After-880) > 12 {
		t.Errorf("dominant frequency %.0f Hz before the switch and %.0f Hz after, want 440 and 880", r.Before, r.After)
	}
}
