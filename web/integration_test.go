package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hraban/opus"
	"go.uber.org/goleak"

	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/rtc"
	"tolk/web"
)

const streamKey = "test-stream-key-0123456789"

// harness is one event served over real HTTP on loopback.
type harness struct {
	ev   *event.Event
	srv  *web.Server
	http *httptest.Server
}

func whipConfig(t testing.TB) *config.Event {
	t.Helper()
	return eventConfig(t, `
id: test
title: Test
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}, {tag: es, duck_db: -20}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, streamKey)
}

// leakCheck verifies, after every cleanup of the test has run, that no
// goroutine is left behind.
func leakCheck(t *testing.T) {
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t)
	})
}

func start(t testing.TB, cfg *config.Event) *harness { return startWith(t, cfg, nil) }

// startWith serves cfg on loopback, checking tokens with tokens (nil: none).
func startWith(t testing.TB, cfg *config.Event, tokens web.Tokens) *harness {
	t.Helper()
	h := serve(t, cfg, event.Options{}, web.Options{Tokens: tokens})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// serve builds the event with opts and serves it on loopback with the
// server options wopts (its log and loopback ICE are set here), not started
// yet (a test may attach before the first tick). The harness is closed when
// the test ends.
func serve(t testing.TB, cfg *config.Event, opts event.Options, wopts web.Options) *harness {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts.Log = log
	ev, err := event.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	wopts.Log, wopts.RTC = log, rtc.Options{Loopback: true}
	srv, err := web.New(wopts)
	if err != nil {
		ev.Close()
		t.Fatal(err)
	}
	if err := srv.AddEvent(ev); err != nil {
		t.Fatal(err)
	}
	h := &harness{ev: ev, srv: srv, http: httptest.NewServer(srv)}
	t.Cleanup(h.close)
	return h
}

// eventConfig parses an event's YAML, made with fmt.Sprintf(format, args...).
func eventConfig(t testing.TB, format string, args ...any) *config.Event {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf(format, args...)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// toneFile writes seconds of a sine at freq Hz (lavfi's level of 1/8 scaled
// by volume) as a 48 kHz mono WAV for a file floor, once per run for each set
// of arguments.
func toneFile(t testing.TB, freq int, volume float64, seconds int) string {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	return sharedFixture(t, fmt.Sprintf("tone-%dhz-%g-%ds", freq, volume, seconds), "floor.wav", func(path string) error {
		out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
			fmt.Sprintf("sine=frequency=%d:sample_rate=48000:duration=%d", freq, seconds),
			"-af", fmt.Sprintf("volume=%g", volume), "-ac", "1", path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}

func (h *harness) close() {
	h.ev.Close()
	h.http.Close()
	h.srv.Close()
}

// publishTone pushes an Opus sine over WHIP for d, on a real-time schedule.
func publishTone(ctx context.Context, t *testing.T, url string, freq float64, d time.Duration) {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := rtc.PublishWHIP(ctx, api, url, streamKey)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close(context.Background())
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	var failed error
	audiotest.Paced(ctx, int(d/audio.FrameDuration), func(i int) bool {
		n, err := enc.EncodeFloat32(audiotest.Tone(freq, 0.5, i*audio.FrameSamples, audio.FrameSamples), buf)
		if err == nil {
			err = pub.WriteOpus(append([]byte(nil), buf[:n]...), audio.FrameDuration)
		}
		failed = err
		return err == nil
	})
	if failed != nil {
		t.Fatal(failed)
	}
	if err := ctx.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestWHIPFloorReachesEveryRenditionAndWHEP(t *testing.T) {
	leakCheck(t)
	ffmpeg := audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	h := start(t, whipConfig(t))

	// A WHEP listener on French, attached before the floor starts.
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := rtc.DialWHEP(ctx, api, h.http.URL+"/whep/test/fr", 500)
	if err != nil {
		t.Fatal(err)
	}
	publishTone(ctx, t, h.http.URL+"/whip/test", 440, 4*time.Second)

	// What the listener heard: decode its packets and find the tone.
	dec, _ := opus.NewDecoder(audio.SampleRate, 1)
	var heard []float32
	pcm := make([]float32, 5760)
drain:
	for {
		select {
		case p := <-lis.Packets():
			n, err := dec.DecodeFloat32(p.Payload, pcm)
			if err == nil {
				heard = append(heard, pcm[:n]...)
			}
		default:
			break drain
		}
	}
	if err := lis.Close(ctx); err != nil {
		t.Errorf("close listener: %v", err)
	}
	if len(heard) < audio.SampleRate {
		t.Fatalf("WHEP listener got %d samples, want ≥ 1 s", len(heard))
	}
	if f, amp := audiotest.DominantFrequency(heard[len(heard)/2:], audio.SampleRate, 100, 2000, 5); f != 440 || amp < 0.2 {
		t.Errorf("WHEP listener heard %.0f Hz at %.2f, want 440 Hz", f, amp)
	}

	// The publisher has left (DELETE): the outputs go on, on silence.
	before := h.ev.Stats().Ticks
	deadline := time.Now().Add(10 * time.Second)
	for h.ev.Stats().SilentTicks < 25 || h.ev.Stats().Ticks < before+25 {
		if time.Now().After(deadline) {
			t.Fatalf("the clock stopped after the publisher left: %+v", h.ev.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := h.ev.FloorState(); st != "missing" {
		t.Errorf("floor state %q after the publisher left, want missing", st)
	}

	h.ev.Close() // finalises the playlists

	// ffprobe lists every audio rendition with its language.
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_name:stream_tags=language",
		"-of", "json", h.http.URL+"/hls/test/master.m3u8").Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var probe struct {
		Streams []struct {
			Codec string            `json:"codec_name"`
			Tags  map[string]string `json:"tags"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatal(err)
	}
	// Each language is there twice: the Opus rendition and the AAC one
	// (hls.aac is on by default).
	langs := map[string]bool{}
	for _, s := range probe.Streams {
		if s.Codec != "opus" && s.Codec != "aac" {
			t.Errorf("stream codec %q, want opus or aac", s.Codec)
		}
		langs[s.Codec+"/"+s.Tags["language"]] = true
	}
	for _, want := range []string{"en", "fr", "es"} {
		for _, codec := range []string{"opus", "aac"} {
			if !langs[codec+"/"+want] {
				t.Errorf("ffprobe does not list %s in %s: %s", want, codec, out)
			}
		}
	}

	// Every rendition decodes to the floor's tone (no interpreter: full floor).
	for _, lang := range []string{"en", "fr", "es"} {
		pcm, err := audiotest.Decode(ctx, h.http.URL+"/hls/test/"+lang+"/index.m3u8", "-live_start_index", "0")
		if err != nil {
			t.Fatalf("%s: %v (ffmpeg %s)", lang, err, ffmpeg)
		}
		if len(pcm) < 2*audio.SampleRate {
			t.Fatalf("%s: %d samples decoded, want ≥ 2 s", lang, len(pcm))
		}
		f, amp := audiotest.DominantFrequency(pcm[len(pcm)/4:len(pcm)*3/4], audio.SampleRate, 100, 2000, 5)
		if f != 440 || amp < 0.2 {
			t.Errorf("%s rendition: %.0f Hz at amplitude %.2f, want 440 Hz", lang, f, amp)
		}
	}
}

func TestBadInput(t *testing.T) {
	leakCheck(t)
	h := start(t, whipConfig(t))
	offer := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	cases := []struct {
		name, method, path, ctype, auth, body string
		want                                  int
	}{
		{"unknown event page", "GET", "/watch/nope", "", "", "", 404},
		{"unknown event hls", "GET", "/hls/nope/master.m3u8", "", "", "", 404},
		{"unknown path", "GET", "/nope", "", "", "", 404},
		{"whip no token", "POST", "/whip/test", "application/sdp", "", offer, 401},
		{"whip wrong token", "POST", "/whip/test", "application/sdp", "Bearer wrong", offer, 401},
		{"whip not bearer", "POST", "/whip/test", "application/sdp", "Basic " + streamKey, offer, 401},
		{"whip wrong type", "POST", "/whip/test", "text/plain", "Bearer " + streamKey, offer, 415},
		{"whip too big", "POST", "/whip/test", "application/sdp", "Bearer " + streamKey, strings.Repeat("a", rtc.MaxSDP+1), 413},
		{"whip malformed", "POST", "/whip/test", "application/sdp", "Bearer " + streamKey, "hello", 400},
		{"whip empty", "POST", "/whip/test", "application/sdp", "Bearer " + streamKey, "", 400},
		{"whip unknown event", "POST", "/whip/nope", "application/sdp", "Bearer " + streamKey, offer, 404},
		{"whip delete unknown", "DELETE", "/whip/test/abc", "", "Bearer " + streamKey, "", 404},
		{"whip delete no token", "DELETE", "/whip/test/abc", "", "", "", 401},
		{"whip patch", "PATCH", "/whip/test/abc", "application/trickle-ice-sdpfrag", "Bearer " + streamKey, "a=x", 405},
		{"whep unknown lang", "POST", "/whep/test/xx", "application/sdp", "", offer, 404},
		{"whep unknown event", "POST", "/whep/nope/fr", "application/sdp", "", offer, 404},
		{"whep wrong type", "POST", "/whep/test/fr", "application/json", "", offer, 415},
		{"whep malformed", "POST", "/whep/test/fr", "application/sdp", "", "v=0\r\nnonsense", 400},
		{"whep delete unknown", "DELETE", "/whep/test/fr/abc", "", "", "", 404},
		{"api unknown event", "GET", "/api/events/nope", "", "", "", 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, h.http.URL+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.auth != "" {
				req.Header.Set("Authorization", c.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != c.want {
				b, _ := io.ReadAll(resp.Body)
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			var body struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error == "" {
				t.Fatalf("body is not {\"error\": ...}: %v", err)
			}
		})
	}
	// Nothing changed: no publisher, no listener.
	metrics := get(t, h.http.URL+"/metrics")
	for _, want := range []string{`tolk_whip_publishers{event="test"} 0`, `tolk_listeners{event="test",lang="fr",protocol="webrtc"} 0`, `tolk_listeners{event="test",lang="fr",protocol="hls"} 0`, `tolk_output_dropped_frames_total{event="test",lang="fr",output="whep"} 0`,
		`tolk_captions_available{event="test",lang="fr"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

func TestHealthAndInfo(t *testing.T) {
	leakCheck(t)
	h := start(t, whipConfig(t))
	var health struct {
		Status string
		Events []struct{ ID, Floor string }
	}
	if err := json.Unmarshal([]byte(get(t, h.http.URL+"/healthz")), &health); err != nil || health.Status != "ok" {
		t.Fatalf("healthz: %v %+v", err, health)
	}
	var info web.EventInfo
	if err := json.Unmarshal([]byte(get(t, h.http.URL+"/api/events/test")), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Renditions) != 3 || !info.Renditions[0].Floor || info.Renditions[1].Tag != "fr" {
		t.Fatalf("info %+v", info)
	}
	page := get(t, h.http.URL+"/watch/test")
	for _, want := range []string{"fr", "es", "/hls/test/master.m3u8"} {
		if !strings.Contains(page, want) {
			t.Errorf("watch page lacks %q", want)
		}
	}
}

// A file floor that does not loop plays once: the event API then says the
// floor has ended, and the program goes on (its playlists keep growing) on
// silence.
func TestFileFloorEndsInTheEventAPI(t *testing.T) {
	leakCheck(t)
	floor := toneFile(t, 440, 1, 1)
	h := start(t, eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: false}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, floor))
	var info web.EventInfo
	deadline := time.Now().Add(20 * time.Second)
	for info.Floor != "ended" {
		if time.Now().After(deadline) {
			t.Fatalf("the event API says the floor is %q, want ended; stats %+v", info.Floor, h.ev.Stats())
		}
		time.Sleep(50 * time.Millisecond)
		if err := json.Unmarshal([]byte(get(t, h.http.URL+"/api/events/test")), &info); err != nil {
			t.Fatal(err)
		}
	}
	s := h.ev.Stats()
	if s.IngestRestarts != 0 {
		t.Errorf("the ended file was restarted %d times", s.IngestRestarts)
	}
	waitTicks := s.Ticks + 10
	for h.ev.Stats().Ticks < waitTicks {
		if time.Now().After(deadline) {
			t.Fatalf("the program stopped after the floor ended: %+v", h.ev.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.ev.Stats().FloorFrames; n > 50 {
		t.Errorf("%d floor frames from a 1 s file: it played again", n)
	}
}
