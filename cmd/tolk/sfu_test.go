package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/restream"
	"tolk/internal/rtc"
	"tolk/internal/sfu/janustest"
	"tolk/internal/store"
)

// sfuLeakCheck checks for leaked goroutines once the test's cleanups ran.
func sfuLeakCheck(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
}

// toneFile writes a WAV of a tone at freq (48 kHz mono, 10 s) for a
// looping file floor.
func toneFile(ctx context.Context, t *testing.T, dir string, freq int) string {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	p := filepath.Join(dir, fmt.Sprintf("tone%d.wav", freq))
	out, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("sine=frequency=%d:sample_rate=48000:duration=10", freq), "-ac", "1", "-y", p).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	return p
}

// sfuEvent writes an event with a 440 Hz English floor and French, and
// the config's extra lines, and returns its path, a producer token and a
// French interpreter's token.
func sfuEvent(ctx context.Context, t *testing.T, dir, event, extra string) (cfg, data, producer, anne string) {
	t.Helper()
	floor := toneFile(ctx, t, dir, 440)
	cfg = filepath.Join(dir, event+".yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
id: %s
title: SFU
floor: {language: en, name: English, source: "file:%s", loop: true}
languages: [{tag: fr, name: Français}]
hls: {aac: false}
captions: {backend: none}
record: false
%s
`, event, floor, extra)), 0o600); err != nil {
		t.Fatal(err)
	}
	data = filepath.Join(dir, "data-"+event)
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	producer, _, err = st.CreateToken(ctx, event, store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	anne, _, err = st.CreateToken(ctx, event, store.RoleInterpreter, "fr", "Anne")
	if err != nil {
		t.Fatal(err)
	}
	return cfg, data, producer, anne
}

// output waits until the event lists output id in state, and returns it.
func (r *serveRun) output(ctx context.Context, t *testing.T, event, token, id, state string) restream.Status {
	t.Helper()
	for {
		var v struct{ Outputs []restream.Status }
		r.getJSON(ctx, t, "/api/events/"+event+"/outputs", token, &v)
		for _, o := range v.Outputs {
			if o.ID == id && o.State == state {
				return o
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("output %s never %s: %+v; stderr: %s", id, state, v.Outputs, r.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// dominant measures 2 s of a tap from 1 s into it: the strongest frequency
// and its median level over 100 ms steps (on a loaded machine a gap or a
// phase jump lowers one long measure of a tone that was there throughout).
func dominant(ctx context.Context, t *testing.T, tap *audiotest.Tap) (hz, amp float64) {
	t.Helper()
	span, err := tap.Span(ctx, audio.SampleRate, 3*audio.SampleRate)
	if err != nil {
		t.Fatalf("no 3 s of audio: %v", err)
	}
	hz, _ = audiotest.DominantFrequency(span, audio.SampleRate, 200, 2000, 10)
	return hz, audiotest.Median(audiotest.Levels(span, hz, audio.SampleRate, audio.SampleRate/10))
}

// toneAfterOnset waits, on the tap's timeline, for the first 100 ms where
// hz is present (within 10 s of the first packet), then measures the 2 s
// from a second after it, as dominant does from the first packet: the
// strongest frequency there and its median level over 100 ms steps. A
// listener may join before the program it hears carries the tone (B's floor
// goes live a moment after A connects; on a loaded machine later still): a
// fixed window from the first packet could fall before it.
func toneAfterOnset(ctx context.Context, t *testing.T, tap *audiotest.Tap, hz float64) (onset, domHz, amp float64) {
	t.Helper()
	const win = audio.SampleRate / 10
	for at := int64(0); at < 10*audio.SampleRate; at += win {
		x, err := tap.Span(ctx, at, at+win)
		if err != nil {
			t.Fatalf("no audio at %.1f s: %v", float64(at)/audio.SampleRate, err)
		}
		if audiotest.Goertzel(x, hz, audio.SampleRate) < 0.02 {
			continue
		}
		span, err := tap.Span(ctx, at+audio.SampleRate, at+3*audio.SampleRate)
		if err != nil {
			t.Fatalf("no 2 s of audio after the tone came: %v", err)
		}
		domHz, _ = audiotest.DominantFrequency(span, audio.SampleRate, 200, 2000, 10)
		// The level is the median of 100 ms measures (audiotest.Levels).
		return float64(at) / audio.SampleRate, domHz, audiotest.Median(audiotest.Levels(span, domHz, audio.SampleRate, win))
	}
	t.Fatalf("no %.0f Hz in 10 s", hz)
	return 0, 0, 0
}

// TestServeJanus: `tolk serve` with sfu.janus creates a mountpoint per
// language on a Janus started for the test (through its HTTP API, Janus
// picking the ports) and forwards each language's program to it. A pion
// peer watches the French mountpoint through the Janus API: its Opus, put
// on its RTP timestamps, decodes to the French mix, where the interpreter's
// 880 Hz dominates the 440 Hz floor; the English mountpoint carries 440 Hz.
// The producer's outputs list both forwards, connected, counting packets.
func TestServeJanus(t *testing.T) {
	sfuLeakCheck(t)
	j := janustest.Start(t, "")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	const event = "sfu"
	cfg, data, producer, anne := sfuEvent(ctx, t, dir, event, fmt.Sprintf(
		"sfu: {janus: {api: %q, admin_key: %q, secret: s3cret, mountpoint_base: 500}}", j.API, j.AdminKey))
	r := startServe(ctx, t, bin, "--config", cfg, "--data", data, "--webrtc-loopback")
	defer r.stop(t)
	stopMic := interpreter(ctx, t, r.base, event, anne)
	defer stopMic()
	r.output(ctx, t, event, producer, "janus-en", restream.StateConnected)
	st := r.output(ctx, t, event, producer, "janus-fr", restream.StateConnected)
	t.Logf("janus-fr: %+v", st)

	for _, c := range []struct {
		id   int
		want float64
	}{{501, 880}, {500, 440}} {
		pkts, stopWatch := janustest.Watch(ctx, t, j.API, c.id, 500)
		stop := make(chan struct{})
		tap := janustest.Tap(t, pkts, stop)
		hz, amp := dominant(ctx, t, tap)
		close(stop)
		<-tap.Done()
		stopWatch()
		t.Logf("mountpoint %d: %.0f Hz at %.3f; %d samples missing on the RTP timeline", c.id, hz, amp, tap.Missing())
		if tap.Missing() > audio.SampleRate/2 {
			t.Errorf("mountpoint %d: %d samples missing in the RTP timestamps", c.id, tap.Missing())
		}
		if hz < c.want-15 || hz > c.want+15 || amp < 0.05 {
			t.Errorf("mountpoint %d: %.0f Hz at %.3f, want %.0f Hz", c.id, hz, amp, c.want)
		}
	}
	st = r.output(ctx, t, event, producer, "janus-fr", restream.StateConnected)
	if st.Packets < 150 || st.Errors != 0 || st.Protocol != "janus" {
		t.Errorf("janus-fr status %+v", st)
	}
	// /metrics counts the forward's packets.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	found := false
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, `tolk_push_sent_packets_total{event="sfu",lang="fr",push="janus-fr"} `) {
			n, _ := strconv.ParseFloat(strings.Fields(line)[1], 64)
			found = n >= 150
			t.Log(line)
		}
	}
	if !found || !strings.Contains(string(body), `tolk_push_connected{event="sfu",lang="fr",push="janus-fr"} 1`) {
		t.Errorf("/metrics has no connected janus-fr with packets")
	}
}

// TestServeWHIPEgress: one `tolk serve` (A) publishes its French program
// over WHIP (sfu.whip, a bearer token) to a second `tolk serve` (B) whose
// floor is a WHIP input. A starts first: its publication fails (nobody
// listens) and says why. B starts: A's next attempt connects, B's floor
// goes live and its WHEP listeners hear A's interpreter (880 Hz over A's
// 440 Hz floor). B restarts: A publishes again (one reconnect). When A
// stops it deletes its WHIP session: B's floor is no longer live.
func TestServeWHIPEgress(t *testing.T) {
	sfuLeakCheck(t)
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()

	const key = "b-floor-stream-key-0123"
	cfgB := filepath.Join(dir, "b.yaml")
	if err := os.WriteFile(cfgB, []byte(fmt.Sprintf(`
id: b
title: B
floor: {language: fr, name: Français, source: whip, stream_key: %q}
hls: {aac: false}
captions: {backend: none}
record: false
`, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	dataB := filepath.Join(dir, "data-b")
	stB, err := store.Open(dataB)
	if err != nil {
		t.Fatal(err)
	}
	producerB, _, err := stB.CreateToken(ctx, "b", store.RoleProducer, "", "Pat")
	stB.Close()
	if err != nil {
		t.Fatal(err)
	}
	addrB := fmt.Sprintf("127.0.0.1:%d", janustest.FreePort(t, "tcp"))

	cfgA, dataA, producer, anne := sfuEvent(ctx, t, dir, "a", fmt.Sprintf(
		"sfu: {whip: [{lang: fr, url: %q, token: %q, name: B}]}", "http://"+addrB+"/whip/b", key))
	a := startServe(ctx, t, bin, "--config", cfgA, "--data", dataA, "--webrtc-loopback")
	var once sync.Once
	stopA := interpreter(ctx, t, a.base, "a", anne)
	stopMic := func() { once.Do(stopA) }
	defer stopMic()
	st := a.output(ctx, t, "a", producer, "whip-fr-1", restream.StateFailed)
	t.Logf("whip-fr-1 before B: %+v", st)
	if st.LastError == "" || strings.Contains(st.LastError, key) {
		t.Errorf("last error %q", st.LastError)
	}

	b := startServeOn(ctx, t, bin, addrB, "--config", cfgB, "--data", dataB, "--webrtc-loopback")
	st = a.output(ctx, t, "a", producer, "whip-fr-1", restream.StateConnected)
	t.Logf("whip-fr-1: %+v", st)
	if st.Protocol != "whip" || st.Name != "B" || strings.Contains(st.URL, key) {
		t.Errorf("status %+v", st)
	}
	listen := func(b *serveRun) {
		t.Helper()
		api, err := rtc.NewAPI(rtc.Options{Loopback: true})
		if err != nil {
			t.Fatal(err)
		}
		l, err := rtc.DialWHEP(ctx, api, b.base+"/whep/b/fr", 500)
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		tap := janustest.Tap(t, l.Packets(), stop)
		onset, hz, amp := toneAfterOnset(ctx, t, tap, 880)
		close(stop)
		<-tap.Done()
		_ = l.Close(ctx)
		t.Logf("B's floor over WHEP: 880 Hz from %.1f s after the first packet; then %.0f Hz at %.3f", onset, hz, amp)
		if hz < 865 || hz > 895 || amp < 0.05 {
			t.Errorf("B's floor plays %.0f Hz at %.3f, want A's French (880 Hz)", hz, amp)
		}
	}
	listen(b)

	// B restarts: A notices its session ended and publishes again.
	b.stop(t)
	a.output(ctx, t, "a", producer, "whip-fr-1", restream.StateFailed)
	b = startServeOn(ctx, t, bin, addrB, "--config", cfgB, "--data", dataB, "--webrtc-loopback")
	defer b.stop(t)
	st = a.output(ctx, t, "a", producer, "whip-fr-1", restream.StateConnected)
	t.Logf("whip-fr-1 after B restarted: %+v", st)
	if st.Reconnects != 1 || st.Packets < 150 || st.Errors != 0 {
		t.Errorf("status %+v", st)
	}
	listen(b)

	// A stops: its DELETE ends B's WHIP session, so B's floor is not live.
	stopMic()
	a.stop(t)
	for {
		var s struct {
			Floor struct{ State string }
		}
		b.getJSON(ctx, t, "/api/events/b/status", producerB, &s)
		if s.Floor.State != "live" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("B's floor stays live after A stopped; B: %s", b.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestCheckSFU: `tolk check` accepts an sfu: section and names each
// mistake in one, exit 2, without showing the WHIP token.
func TestCheckSFU(t *testing.T) {
	dir := t.TempDir()
	base := "id: sfu\nfloor: {language: en, source: \"file:../../testdata/floor.wav\"}\nlanguages: [{tag: fr}]\n"
	good := filepath.Join(dir, "good.yaml")
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(good, []byte(base+`sfu:
  janus: {api: "http://127.0.0.1:8088/janus", admin_key: k, mountpoint_base: 10}
  whip: [{lang: fr, url: "https://whip.example.com/pub/fr", token: tok-secret-1234}]
  watch: "https://sfu.example.org/janus"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte(base+`sfu:
  janus: {mountpoint_base: 10}
  whip: [{lang: de, url: "rtmp://whip.example.com/pub/fr", token: tok-secret-1234}]
  watch: "nowhere"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"check", good}, &out, &errb); code != 0 {
		t.Fatalf("check good: exit %d: %s", code, errb.String())
	}
	out.Reset()
	errb.Reset()
	code := run([]string{"check", bad}, &out, &errb)
	all := out.String() + errb.String()
	if code != 2 {
		t.Fatalf("check bad: exit %d: %s", code, all)
	}
	for _, w := range []string{"sfu.janus.port_base", "sfu.janus.rtp_host", "sfu.whip[0].lang: de", "sfu.whip[0].url", "sfu.watch"} {
		if !strings.Contains(all, w) {
			t.Errorf("check bad: no %q in %s", w, all)
		}
	}
	if strings.Contains(all, "tok-secret") {
		t.Errorf("the token shows: %s", all)
	}
}
