package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/internal/store"
	"tolk/mixer"
	"tolk/web"
)

// boothHarness is an event with booths, served on loopback, with a token store.
type boothHarness struct {
	*harness
	store *store.Store
	dir   string // the store's data directory
}

func startBooths(t *testing.T, langs string) *boothHarness { return startBoothsTB(t, langs, "tone") }

// startBoothsTB serves booths for langs; floor is "tone" (a 12 kHz tone from a
// file) or "whip" (waiting for a WHIP publisher: silence until one comes).
func startBoothsTB(t testing.TB, langs, floorKind string) *boothHarness {
	t.Helper()
	// The floor is a steady 12 kHz tone at −17 dBFS, so its level under the
	// voice can be measured exactly. The booths' tests play Opus: no AAC
	// encoder runs beside them (the HLS tests cover it).
	floor := toneFile(t, 12000, 1.13, 60)
	floorCfg := fmt.Sprintf(`{language: en, source: "file:%s", loop: true}`, floor)
	if floorKind == "whip" {
		floorCfg = `{language: en, source: whip, stream_key: ` + streamKey + `}`
	}
	cfg := eventConfig(t, `
id: test
title: Booth test
floor: %s
languages: [%s]
hls: {part_ms: 200, segment_ms: 1000, aac: false}
captions: {backend: none}
`, floorCfg, langs)
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &boothHarness{harness: startWith(t, cfg, st), store: st, dir: dir}
}

func (b *boothHarness) token(t testing.TB, lang, name string) string {
	t.Helper()
	secret, _, err := b.store.CreateToken(context.Background(), "test", store.RoleInterpreter, lang, name)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

// boothClient is an interpreter's page in Go (rtc.BoothClient) with what the
// tests look at: the latest state, the messages, the decoded streams.
type boothClient struct {
	*rtc.BoothClient
	t testing.TB
	// onPacket, when set, sees every received packet (under mu).
	onPacket func(stream string, p *rtp.Packet, at time.Time)
	mu       sync.Mutex
	state    map[string]any
	msgs     chan map[string]any
	got      map[string]*[]float32 // decoded PCM per received stream id
	decs     map[string]*opus.Decoder
	wg       sync.WaitGroup
}

func dialBooth(t testing.TB, ctx context.Context, base, lang, token string) *boothClient {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	c := &boothClient{t: t, msgs: make(chan map[string]any, 256), got: map[string]*[]float32{}, decs: map[string]*opus.Decoder{}}
	pcm := make(map[string][]float32)
	c.BoothClient, err = rtc.DialBooth(ctx, api, base, "test", lang, token, func(id string, p *rtp.Packet) {
		at := time.Now()
		c.mu.Lock()
		defer c.mu.Unlock()
		dec := c.decs[id]
		if dec == nil {
			dec, _ = opus.NewDecoder(audio.SampleRate, 1)
			c.decs[id] = dec
			c.got[id] = &[]float32{}
			pcm[id] = make([]float32, 5760)
		}
		if n, err := dec.DecodeFloat32(p.Payload, pcm[id]); err == nil {
			*c.got[id] = append(*c.got[id], pcm[id][:n]...)
		}
		if c.onPacket != nil {
			c.onPacket(id, p, at)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(c.msgs)
		for m := range c.Messages {
			if m["type"] == "state" {
				c.mu.Lock()
				c.state = m
				c.mu.Unlock()
			}
			select {
			case c.msgs <- m:
			default:
			}
		}
	}()
	return c
}

func (c *boothClient) send(m map[string]any) {
	c.t.Helper()
	if err := c.Send(m); err != nil {
		c.t.Fatalf("send %v: %v", m, err)
	}
}

// expect waits for a message of a type, skipping others.
func (c *boothClient) expect(ctx context.Context, typ string) map[string]any {
	c.t.Helper()
	for {
		select {
		case m, ok := <-c.msgs:
			if !ok {
				c.t.Fatalf("connection closed while waiting for %q", typ)
			}
			if m["type"] == typ {
				return m
			}
		case <-ctx.Done():
			c.t.Fatalf("no %q message: %v", typ, ctx.Err())
		}
	}
}

// waitState waits until the latest state satisfies cond and returns it.
func (c *boothClient) waitState(ctx context.Context, what string, cond func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for {
		c.mu.Lock()
		s := c.state
		c.mu.Unlock()
		if s != nil && cond(s) {
			return s
		}
		select {
		case <-ctx.Done():
			b, _ := json.Marshal(s)
			c.t.Fatalf("state never became %s: %s", what, b)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// statePTS is where a state falls on the program timeline (see the booth
// protocol's pts).
func statePTS(t testing.TB, s map[string]any) int64 {
	t.Helper()
	f, ok := s["pts"].(float64)
	if !ok {
		t.Fatalf("state without pts: %v", s)
	}
	return int64(f)
}

// member returns the state's member called name (nil if absent).
func member(s map[string]any, name string) map[string]any {
	ms, _ := s["members"].([]any)
	for _, m := range ms {
		if mm, _ := m.(map[string]any); mm["name"] == name {
			return mm
		}
	}
	return nil
}

func (c *boothClient) received(stream string) []float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if b := c.got[stream]; b != nil {
		return append([]float32(nil), (*b)...)
	}
	return nil
}

// speak sends PCM as 20 ms Opus packets on a real-time schedule (48 kHz
// fullband, FEC).
func (c *boothClient) speak(ctx context.Context, pcm []float32) {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		c.t.Fatal(err)
	}
	enc.SetBitrate(64000)
	enc.SetInBandFEC(true)
	buf := make([]byte, 1500)
	var failed error
	audiotest.Paced(ctx, len(pcm)/audio.FrameSamples, func(i int) bool {
		n, err := enc.EncodeFloat32(pcm[i*audio.FrameSamples:(i+1)*audio.FrameSamples], buf)
		if err == nil {
			err = c.Speak(append([]byte(nil), buf[:n]...), audio.FrameDuration)
		}
		failed = err
		return err == nil
	})
	if failed != nil {
		c.t.Fatal(failed)
	}
}

func (c *boothClient) close() {
	c.Close()
	c.wg.Wait()
}

// tapMix collects a language's mix output on the program timeline.
func tapMix(h *harness, lang string) *audiotest.Tap {
	m, _ := h.ev.Mix(lang)
	return audiotest.NewTap(m.PCM().Read("test", 3000).C)
}

// tapVoice collects a language's clean voice (what the mix takes as the
// interpreter's voice) on the program timeline.
func tapVoice(h *harness, lang string) *audiotest.Tap {
	v, _ := h.ev.Voice(lang)
	return audiotest.NewTap(v.PCM().Read("test", 3000).C)
}

// tapListener decodes what a WHEP listener receives onto the program
// timeline, by RTP timestamp (the program time of each frame), until stop.
func tapListener(lis *rtc.Listener) (tap *audiotest.Tap, stop func()) {
	frames := make(chan media.Unit, 4000)
	quit := make(chan struct{})
	go func() {
		defer close(frames)
		dec, _ := opus.NewDecoder(audio.SampleRate, 1)
		pcm := make([]float32, 5760)
		for {
			select {
			case p := <-lis.Packets():
				if n, err := dec.DecodeFloat32(p.Payload, pcm); err == nil {
					frames <- media.Unit{PTS: int64(p.Timestamp), Codec: media.PCM, PCM: append([]float32(nil), pcm[:n]...)}
				}
			case <-quit:
				return
			}
		}
	}()
	tap = audiotest.NewTap(frames)
	var once sync.Once
	return tap, func() { once.Do(func() { close(quit) }); <-tap.Done() }
}

// span waits for and returns a tap's program time [from, to).
func span(ctx context.Context, t testing.TB, tp *audiotest.Tap, from, to int64) []float32 {
	t.Helper()
	x, err := tp.Span(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// until polls the tap's latest win samples of program time until cond holds
// and returns the program time reached.
func until(ctx context.Context, t testing.TB, h *harness, tp *audiotest.Tap, win int64, what string, cond func([]float32) bool) int64 {
	t.Helper()
	for {
		if to := h.ev.ProgramTime(); to > 0 {
			if err := tp.Wait(ctx, to); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			if from := max(to-win, tp.Start()); from < to && cond(span(ctx, t, tp, from, to)) {
				return to
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never happened: %v", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// eventually polls measure until ok, up to 10 s, and fails with the last
// value: for feeds measured on the client's side, which has no program time.
func eventually(ctx context.Context, t testing.TB, what string, measure func() (float64, bool)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		v, ok := measure()
		if ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Errorf("%s: %.3f", what, v)
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// duckedWindows returns the offsets of the windows of win samples in which
// the mix's ducker is fully down, told from the clean voice alone: in every
// 1 ms block from 50 ms before the window to its end, the voice is above the
// ducker's threshold or within its hold (taken 50 ms short, for margin).
func duckedWindows(voice []float32, win int) []int {
	const block = audio.SampleRate / 1000
	thr := audio.DBToGain(mixer.DefaultThresholdDB)
	thr = thr * thr * block
	hold := int(audio.Samples(mixer.DefaultHold-50*time.Millisecond)) / block
	active := make([]bool, len(voice)/block)
	left := 0
	for k := range active {
		var ms float64
		for _, v := range voice[k*block : (k+1)*block] {
			ms += float64(v) * float64(v)
		}
		switch {
		case ms > thr:
			left = hold
		case left > 0:
			left--
		}
		active[k] = ms > thr || left > 0
	}
	var out []int
	lead := 50
	for w := 0; w+win <= len(voice); w += win {
		ok := w/block >= lead
		for k := w/block - lead; ok && k < (w+win)/block; k++ {
			ok = active[k]
		}
		if ok {
			out = append(out, w)
		}
	}
	return out
}

const floorHz = 12000 // the floor tone: far above speech, so its level is measured cleanly

// TestBoothsMixHandoverCoughDropAndRelay measures the French mix on the
// program timeline: every window is a stretch of program time told by the
// frames' PTS and the states' pts, so a loaded machine delays the test but
// cannot move what it measures.
func TestBoothsMixHandoverCoughDropAndRelay(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	b := startBooths(t, "{tag: fr}, {tag: es}")
	fr, vfr := tapMix(b.harness, "fr"), tapVoice(b.harness, "fr")
	tokA, tokB, tokC := b.token(t, "fr", "Anne"), b.token(t, "fr", "Ben"), b.token(t, "es", "Carla")
	const sec = audio.SampleRate

	a := dialBooth(t, ctx, b.http.URL, "fr", tokA)
	defer a.close()
	bb := dialBooth(t, ctx, b.http.URL, "fr", tokB)
	defer bb.close()
	c := dialBooth(t, ctx, b.http.URL, "es", tokC)
	defer c.close()

	// Full floor before anyone speaks, once the floor file plays.
	p := until(ctx, t, b.harness, fr, sec/10, "the floor in the French mix", func(x []float32) bool {
		return audiotest.Goertzel(x, floorHz, audio.SampleRate) > 0.05
	})
	full := audiotest.Median(audiotest.Levels(span(ctx, t, fr, p, p+sec/2), floorHz, audio.SampleRate, sec/10))

	// Anne opens her mic and speaks her recorded voice.
	a.send(map[string]any{"type": "mic", "on": true})
	var youA string
	a.waitState(ctx, "Anne on air", func(s map[string]any) bool { youA, _ = s["on_air"].(string); return youA != "" })
	voiceA, err := audiotest.Decode(ctx, "../testdata/voice-a.wav")
	if err != nil {
		t.Fatal(err)
	}
	a.speak(ctx, voiceA[:6*sec])
	// The jitter buffer holds well under a second: by then all of it is mixed.
	end := b.ev.ProgramTime() + sec
	from := vfr.Start()
	if from < 0 {
		t.Fatal("no voice reached the French mix")
	}
	voice, mix := span(ctx, t, vfr, from, end), span(ctx, t, fr, from, end)
	// The floor under Anne's voice sits at the configured depth, measured
	// where the voice holds the ducker down.
	win := sec / 10
	var under []float64
	for _, w := range duckedWindows(voice, win) {
		under = append(under, audiotest.Goertzel(mix[w:w+win], floorHz, audio.SampleRate))
	}
	if len(under) < 10 {
		t.Fatalf("the voice held the ducker down for only %d windows of 100 ms", len(under))
	}
	depth := audio.GainToDB(audiotest.Median(under) / full)
	t.Logf("floor under the voice: %.1f dB over %d windows of 100 ms", depth, len(under))
	if depth < -14-1.5 || depth > -14+1.5 {
		t.Errorf("floor under the voice at %.1f dB, want -14 ± 1.5 dB", depth)
	}
	// The output carries the voice: speech-band energy far above the floor-only output.
	first, last := activeSpan(voice)
	if lvl := audio.RMS(lowpass(mix[first:last])); lvl < 0.02 {
		t.Errorf("voice hardly present in the French mix: RMS %.4f", lvl)
	}

	// Handover with both speaking steady tones, to check continuity exactly.
	tones, stopTones := context.WithCancel(ctx)
	defer stopTones()
	var senders sync.WaitGroup
	senders.Add(2)
	go func() { defer senders.Done(); a.speakTone(tones, 1000) }()
	go func() { defer senders.Done(); bb.speakTone(tones, 1500) }()
	// Wait until Anne's tone is on air (her jitter buffer has settled).
	until(ctx, t, b.harness, fr, sec/2, "Anne's tone steady in the French mix", steady(1000))
	a.send(map[string]any{"type": "handover"})
	bb.waitState(ctx, "handover offered", func(s map[string]any) bool { return s["handover"] != nil })
	bb.send(map[string]any{"type": "accept"})
	ho := statePTS(t, bb.waitState(ctx, "Ben on air", func(s map[string]any) bool { on, _ := s["on_air"].(string); return on != "" && on != youA }))
	around := span(ctx, t, fr, ho-sec/4, ho+sec)
	gap := 0
	for i := 0; i+audio.FrameSamples <= len(around); i += audio.FrameSamples {
		f := around[i : i+audio.FrameSamples]
		v := audiotest.Goertzel(f, 1000, audio.SampleRate) + audiotest.Goertzel(f, 1500, audio.SampleRate)
		if v < 0.05 {
			gap++
			if gap > 1 {
				var vs []string
				for j := max(0, i-10*audio.FrameSamples); j+audio.FrameSamples <= len(around) && j < i+10*audio.FrameSamples; j += audio.FrameSamples {
					g := around[j : j+audio.FrameSamples]
					vs = append(vs, fmt.Sprintf("%.2f/%.2f", audiotest.Goertzel(g, 1000, audio.SampleRate), audiotest.Goertzel(g, 1500, audio.SampleRate)))
				}
				t.Logf("frames: %v", vs)
				t.Fatalf("the voice path drops for more than one frame at %d ms from the handover", (i-sec/4)/48)
			}
		} else {
			gap = 0
		}
	}
	after := around[len(around)-sec/2:]
	if a1, b1 := audiotest.Goertzel(after, 1000, audio.SampleRate), audiotest.Goertzel(after, 1500, audio.SampleRate); b1 < 0.1 || a1 > 0.02 {
		t.Errorf("0.5 to 1 s after the handover: Anne %.3f, Ben %.3f; want only Ben", a1, b1)
	}
	// Ben hears Anne as his partner; Carla (es) takes French as relay and hears Ben.
	c.send(map[string]any{"type": "input", "source": "relay:fr"})
	feed := func(cl *boothClient, stream string, freq, min float64) func() (float64, bool) {
		return func() (float64, bool) {
			x := cl.received(stream)
			if len(x) < sec/2 {
				return 0, false
			}
			amp := audiotest.Goertzel(tail(x, sec/2), freq, audio.SampleRate)
			return amp, amp >= min
		}
	}
	eventually(ctx, t, "Ben's partner feed lacks Anne (1 kHz)", feed(bb, "partner", 1000, 0.1))
	eventually(ctx, t, "the Spanish booth's relay lacks the French voice (1.5 kHz)", feed(c, "relay", 1500, 0.1))
	eventually(ctx, t, "Anne does not hear the floor (12 kHz)", feed(a, "floor", floorHz, 0.05))
	// Carla's link drops; her page comes back to the French relay she had.
	c.close()
	c = dialBooth(t, ctx, b.http.URL, "es", tokC)
	c.waitState(ctx, "Carla back on the French relay", func(s map[string]any) bool { return s["input"] == "relay:fr" })
	eventually(ctx, t, "Carla's relay lacks the French voice (1.5 kHz) after she reconnected", feed(c, "relay", 1500, 0.1))

	// Cough: Ben's voice goes, the floor comes back to full.
	bb.send(map[string]any{"type": "cough", "down": true})
	cough := statePTS(t, a.waitState(ctx, "Ben coughing", func(s map[string]any) bool { m := member(s, "Ben"); return m != nil && m["cough"] == true }))
	co := span(ctx, t, fr, cough+sec/10, cough+3*sec/2)
	if v := audiotest.Goertzel(co, 1500, audio.SampleRate); v > 0.01 {
		t.Errorf("Ben audible during cough: %.3f", v)
	}
	lv := audiotest.Levels(co, floorHz, audio.SampleRate, sec/10)
	if back := audio.GainToDB(lv[len(lv)-1] / full); back < -1 {
		t.Errorf("floor at %.1f dB 1.4 s into the cough, want full", back)
	}
	bb.send(map[string]any{"type": "cough", "down": false})
	until(ctx, t, b.harness, fr, sec/2, "Ben steady again after the cough", steady(1500))

	// Ben's link drops: the floor returns to full within 200 ms of the server noticing.
	stopTones()
	senders.Wait()
	bb.close()
	gone := statePTS(t, a.waitState(ctx, "Ben gone", func(s map[string]any) bool { return s["on_air"] == nil }))
	post := span(ctx, t, fr, gone+audio.Samples(200*time.Millisecond), gone+sec)
	for i, l := range audiotest.Levels(post, floorHz, audio.SampleRate, sec/50) {
		if db := audio.GainToDB(l / full); db < -1 {
			t.Fatalf("floor at %.1f dB %d ms after the drop was noticed + 200 ms", db, 20*i)
		}
	}
	a.send(map[string]any{"type": "mic", "on": false})
	c.close()
	a.close()
	b.ev.Close()
	<-fr.Done()
	<-vfr.Done()
	if n := fr.Missing(); n > 0 {
		t.Errorf("the French mix tap missed %d samples: the measurements had holes", n)
	}
}

// steady tells whether a tone is in every frame of x, at 0.1 or more.
func steady(freq float64) func(x []float32) bool {
	return func(x []float32) bool {
		if len(x) < audio.FrameSamples {
			return false
		}
		for _, l := range audiotest.Levels(x, freq, audio.SampleRate, audio.FrameSamples) {
			if l < 0.1 {
				return false
			}
		}
		return true
	}
}

// activeSpan returns the first and last sample offsets of x above −40 dBFS
// in 1 ms blocks (0, len(x) if none).
func activeSpan(x []float32) (first, last int) {
	const block = audio.SampleRate / 1000
	first, last = -1, len(x)
	for k := 0; k+block <= len(x); k += block {
		if audio.RMS(x[k:k+block]) > 0.01 {
			if first < 0 {
				first = k
			}
			last = k + block
		}
	}
	if first < 0 {
		return 0, len(x)
	}
	return first, last
}

func tail(x []float32, n int) []float32 {
	if len(x) < n {
		return x
	}
	return x[len(x)-n:]
}

// lowpass keeps what is below ~4 kHz (speech), removing the 12 kHz floor tone.
func lowpass(x []float32) []float32 {
	out := make([]float32, len(x))
	var y1, y2 float32
	const a = 0.4
	for i, v := range x {
		y1 += a * (v - y1)
		y2 += a * (y1 - y2)
		out[i] = y2
	}
	return out
}

// speakTone sends a steady tone on a real-time schedule until ctx is done.
func (c *boothClient) speakTone(ctx context.Context, freq float64) {
	enc, _ := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	enc.SetBitrate(64000)
	buf := make([]byte, 1500)
	audiotest.Paced(ctx, -1, func(i int) bool {
		n, err := enc.EncodeFloat32(audiotest.Tone(freq, 0.4, i*audio.FrameSamples, audio.FrameSamples), buf)
		if err == nil {
			_ = c.Speak(append([]byte(nil), buf[:n]...), audio.FrameDuration)
		}
		return true
	})
}

func TestBoothAccessAndBadMessages(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBooths(t, "{tag: fr}, {tag: es}")
	tokFr := b.token(t, "fr", "Anne")
	revoked := b.token(t, "fr", "Old")
	if err := b.store.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	other, _, err := b.store.CreateToken(ctx, "other", store.RoleInterpreter, "fr", "Elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	producer, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want int
	}{
		{"/booth/test/fr", 401},
		{"/booth/test/fr?token=nope", 401},
		{"/booth/test/fr?token=" + revoked, 401},
		{"/booth/test/es?token=" + tokFr, 403},
		{"/booth/test/fr?token=" + other, 403},
		{"/booth/test/fr?token=" + producer, 403},
		{"/booth/test/xx?token=" + tokFr, 404},
		{"/booth/nope/fr?token=" + tokFr, 404},
		{"/booth/test/fr/ws?token=nope", 401},
		{"/booth/test/es/ws?token=" + tokFr, 403},
	} {
		resp, err := http.Get(b.http.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.want || body.Error == "" {
			t.Errorf("%s: %d %q, want %d with an error", c.path, resp.StatusCode, body.Error, c.want)
		}
	}
	// A WebSocket from another site's page is refused.
	hdr := http.Header{"Origin": {"https://evil.example"}}
	u := strings.Replace(b.http.URL, "http://", "ws://", 1) + "/booth/test/fr/ws?token=" + tokFr
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, u, hdr); err == nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin WebSocket accepted: %v", err)
	}

	a := dialBooth(t, ctx, b.http.URL, "fr", tokFr)
	defer a.close()
	a.waitState(ctx, "joined", func(s map[string]any) bool { return s["members"] != nil })
	for _, bad := range []string{`not json`, `{}`, `{"type":"frobnicate"}`, `{"type":"mic"}`, `{"type":"chat","text":""}`,
		`{"type":"input","source":"relay:de"}`, `{"type":"input","source":"relay:fr"}`, `{"type":"ping","t":"x"}`,
		`{"type":"answer","sdp":"garbage"}`, `{"type":"handover"}`, `{"type":"accept"}`} {
		if err := a.SendRaw([]byte(bad)); err != nil {
			t.Fatal(err)
		}
		if m := a.expect(ctx, "error"); m["message"] == "" {
			t.Errorf("%s: error without a message", bad)
		}
	}
	// Nothing changed, and the connection still works.
	a.send(map[string]any{"type": "ping", "t": 42})
	if m := a.expect(ctx, "pong"); m["t"] != float64(42) {
		t.Errorf("pong %v", m)
	}
	snap, _ := b.ev.Booth("fr")
	s, _ := snap.Snapshot()
	if s.OnAir != nil || len(s.Members) != 1 || s.Members[0].Mic {
		t.Errorf("bad messages changed the booth: %+v", s)
	}
	// A second connection with the same token replaces the first.
	a2 := dialBooth(t, ctx, b.http.URL, "fr", tokFr)
	defer a2.close()
	a.expect(ctx, "replaced")
	a2.send(map[string]any{"type": "mic", "on": true})
	a2.waitState(ctx, "on air", func(s map[string]any) bool { return s["on_air"] != nil })
	// An oversized message closes that connection only. The server may close
	// while the frame is still being written, so the write may fail.
	_ = a2.SendRaw(make([]byte, 70<<10))
	for range a2.msgs {
	}
	for {
		if s, _ = snap.Snapshot(); s.OnAir == nil {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the booth kept a closed connection on air: %+v", s)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// bandEnergy is the mean energy of x in [lo, hi) Hz, from Goertzel bins every 250 Hz.
func bandEnergy(x []float32, lo, hi float64) float64 {
	var e float64
	n := 0
	for f := lo; f < hi; f += 250 {
		a := audiotest.Goertzel(x, f, audio.SampleRate)
		e += a * a
		n++
	}
	return e / float64(n)
}

// TestFullbandBoothToListener: white noise spoken into a booth reaches a WHEP
// listener of that language with its energy above 15 kHz kept (Opus
// fullband all the way: mic → jitter buffer → mix → encode → listener).
func TestFullbandBoothToListener(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBoothsTB(t, "{tag: fr}", "whip") // no floor: only the voice is heard
	a := dialBooth(t, ctx, b.http.URL, "fr", b.token(t, "fr", "Anne"))
	defer a.close()
	a.send(map[string]any{"type": "mic", "on": true})
	a.waitState(ctx, "on air", func(s map[string]any) bool { return s["on_air"] != nil })
	api, _ := rtc.NewAPI(rtc.Options{Loopback: true})
	lis, err := rtc.DialWHEP(ctx, api, b.http.URL+"/whep/test/fr", 1000)
	if err != nil {
		t.Fatal(err)
	}
	heard, stop := tapListener(lis)
	defer stop()
	vfr := tapVoice(b.harness, "fr")
	noise := make([]float32, 4*audio.SampleRate)
	seed := uint32(1)
	for i := range noise {
		seed = seed*1664525 + 1013904223
		noise[i] = 0.25 * (float32(seed>>8)/float32(1<<24)*2 - 1)
	}
	a.speak(ctx, noise)
	// The middle second of the noise on the program timeline, as the
	// listener received it.
	end := b.ev.ProgramTime() + audio.SampleRate
	from := vfr.Start()
	first, last := activeSpan(span(ctx, t, vfr, from, end))
	if last-first < 2*audio.SampleRate {
		t.Fatalf("the voice was on the program for only %d samples", last-first)
	}
	centre := from + int64(first+last)/2
	mid := span(ctx, t, heard, centre-audio.SampleRate/2, centre+audio.SampleRate/2)
	stop()
	_ = lis.Close(ctx)
	in := noise[audio.SampleRate : 2*audio.SampleRate]
	hi := audio.GainToDB(math.Sqrt(bandEnergy(mid, 15000, 20000) / bandEnergy(in, 15000, 20000)))
	lo := audio.GainToDB(math.Sqrt(bandEnergy(mid, 1000, 5000) / bandEnergy(in, 1000, 5000)))
	t.Logf("listener vs microphone: 15-20 kHz %.1f dB, 1-5 kHz %.1f dB", hi, lo)
	if hi < -6 {
		t.Errorf("energy above 15 kHz lost: %.1f dB (1-5 kHz: %.1f dB)", hi, lo)
	}
}

func TestBoothOfferAsksForFullbandFECAndRestarts(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := startBoothsTB(t, "{tag: fr}", "whip")
	a := dialBooth(t, ctx, b.http.URL, "fr", b.token(t, "fr", "Anne"))
	defer a.close()
	first, _ := a.expect(ctx, "offer")["sdp"].(string)
	a.send(map[string]any{"type": "restart"})
	second, _ := a.expect(ctx, "offer")["sdp"].(string)
	for _, sdp := range []string{first, second} {
		if !strings.Contains(sdp, "a=fmtp:111 minptime=10;useinbandfec=1;stereo=0;maxaveragebitrate=64000") {
			t.Errorf("the offer does not ask for 64 kb/s mono Opus with FEC:\n%s", sdp)
		}
	}
	ufrag := func(sdp string) string {
		_, rest, _ := strings.Cut(sdp, "a=ice-ufrag:")
		u, _, _ := strings.Cut(rest, "\r\n")
		return u
	}
	if ufrag(first) == "" || ufrag(first) == ufrag(second) {
		t.Errorf("the restart offer keeps the ICE credentials (%q, %q): no ICE restart", ufrag(first), ufrag(second))
	}
}

func TestProducerAllowsDirectTake(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := startBoothsTB(t, "{tag: fr}", "whip")
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	interp := b.token(t, "fr", "Anne")
	post := func(auth, path, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, b.http.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	for _, c := range []struct {
		auth, path, body string
		want             int
	}{
		{"", "/api/events/test/booths/fr", `{"direct_take":true}`, 401},
		{interp, "/api/events/test/booths/fr", `{"direct_take":true}`, 403},
		{prod, "/api/events/test/booths/xx", `{"direct_take":true}`, 404},
		{prod, "/api/events/test/booths/fr", `{"direct_take":"yes"}`, 400},
		{prod, "/api/events/test/booths/fr", `{"colour":1}`, 400},
		{prod, "/api/events/test/booths/fr", `{}`, 400},
	} {
		if code, m := post(c.auth, c.path, c.body); code != c.want || m["error"] == nil {
			t.Errorf("%s %s: %d %v, want %d with an error", c.path, c.body, code, m, c.want)
		}
	}
	anne := dialBooth(t, ctx, b.http.URL, "fr", interp)
	defer anne.close()
	ben := dialBooth(t, ctx, b.http.URL, "fr", b.token(t, "fr", "Ben"))
	defer ben.close()
	anne.send(map[string]any{"type": "mic", "on": true})
	anne.waitState(ctx, "Anne on air", func(s map[string]any) bool { return s["on_air"] != nil })
	ben.send(map[string]any{"type": "take"})
	if m := ben.expect(ctx, "error"); m["code"] != "not_allowed" {
		t.Fatalf("take without permission: %v", m)
	}
	if code, m := post(prod, "/api/events/test/booths/fr", `{"direct_take":true}`); code != 200 || m["direct_take"] != true {
		t.Fatalf("allow direct take: %d %v", code, m)
	}
	ben.waitState(ctx, "direct take allowed", func(s map[string]any) bool { return s["direct_take"] == true })
	ben.send(map[string]any{"type": "take"})
	anne.waitState(ctx, "Ben on air", func(s map[string]any) bool {
		for _, m := range s["members"].([]any) {
			mm := m.(map[string]any)
			if mm["name"] == "Ben" {
				return mm["on_air"] == true
			}
		}
		return false
	})
	req, _ := http.NewRequest(http.MethodGet, b.http.URL+"/api/events/test/booths", nil)
	req.Header.Set("Authorization", "Bearer "+prod)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ Booths []web.BoothInfo }
	_ = json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Booths) != 1 || list.Booths[0].OnAir == nil || len(list.Booths[0].Members) != 2 {
		t.Errorf("booth list %+v", list)
	}
}
