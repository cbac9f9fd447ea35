package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hraban/opus"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/internal/store"
)

// The tests here kill the real binary with SIGKILL while an interpreter is
// on air and start it again on the same address and data directory: the
// interpreter's client reconnects, and the server puts them back on air by
// itself, so the language's listeners hear the interpreter again.

// boothFloorHz is the floor: a steady tone far above speech, so what is
// below 3 kHz in the French program is the interpreter's voice.
const boothFloorHz = 12000

// freeAddr is a loopback address with a port free now, for a server that
// must come back on the same address.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// kill ends the server with SIGKILL, as a crash would.
func (r *serveRun) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r.cmd.Wait()
}

// toneWAV writes seconds of a sine at hz and amplitude amp as a 48 kHz mono
// 16-bit WAV file.
func toneWAV(t *testing.T, path string, hz, amp float64, seconds int) {
	t.Helper()
	n := seconds * audio.SampleRate
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], audio.SampleRate)
	binary.LittleEndian.PutUint32(b[28:], 2*audio.SampleRate)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := range n {
		v := int16(math.Round(amp * 32767 * math.Sin(2*math.Pi*hz*float64(i)/audio.SampleRate)))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// boothEvent writes an event with a French booth over a 12 kHz floor, and
// a data directory with a producer's and an interpreter's token.
type boothEvent struct {
	id, cfg, data   string
	producer, anne  string // secrets
	anneID          string
	speech          []float32 // the interpreter's voice: testdata/voice-a.wav at 48 kHz
	other           []float32 // another voice (testdata/voice-b.wav), which she does not sound like
	args            []string
	wavA, floorPath string
}

func newBoothEvent(ctx context.Context, t *testing.T) *boothEvent {
	t.Helper()
	dir := t.TempDir()
	e := &boothEvent{id: "booths", data: filepath.Join(dir, "data"), floorPath: filepath.Join(dir, "floor.wav")}
	toneWAV(t, e.floorPath, boothFloorHz, 0.14, 10)
	var err error
	if e.wavA, err = filepath.Abs("../../testdata/voice-a.wav"); err != nil {
		t.Fatal(err)
	}
	if e.speech, err = audiotest.Decode(ctx, e.wavA); err != nil {
		t.Fatal(err)
	}
	if e.other, err = audiotest.Decode(ctx, "../../testdata/voice-b.wav"); err != nil {
		t.Fatal(err)
	}
	e.cfg = filepath.Join(dir, "event.yaml")
	if err := os.WriteFile(e.cfg, []byte(fmt.Sprintf(`
id: %s
title: Booths after a restart
floor: {language: en, name: English, source: "file:%s", loop: true}
languages: [{tag: fr, name: Français}]
hls: {aac: false}
captions: {backend: none}
record: false
`, e.id, e.floorPath)), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(e.data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if e.producer, _, err = st.CreateToken(ctx, e.id, store.RoleProducer, "", "Pat"); err != nil {
		t.Fatal(err)
	}
	var tok store.Token
	if e.anne, tok, err = st.CreateToken(ctx, e.id, store.RoleInterpreter, "fr", "Anne"); err != nil {
		t.Fatal(err)
	}
	e.anneID = tok.ID
	e.args = []string{"--config", e.cfg, "--data", e.data, "--webrtc-loopback"}
	return e
}

// speaker plays the interpreter's speech, looped, on a real-time schedule
// (audiotest.Paced), into whichever booth client it is given (none: it
// keeps time in silence). The clip is encoded once and its packets looped:
// an encoder running all along cost a tenth of the test's CPU.
type speaker struct {
	cur    atomic.Pointer[rtc.BoothClient]
	cancel context.CancelFunc
	done   chan struct{}
}

func newSpeaker(t *testing.T, speech []float32) *speaker {
	t.Helper()
	pkts, err := audiotest.OpusPackets(speech, 48000)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &speaker{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		audiotest.Paced(ctx, -1, func(k int) bool {
			if c := s.cur.Load(); c != nil {
				_ = c.Speak(pkts[k%len(pkts)], audio.FrameDuration)
			}
			return true
		})
	}()
	return s
}

func (s *speaker) use(c *rtc.BoothClient) { s.cur.Store(c) }

func (s *speaker) stop() {
	s.cancel()
	<-s.done
}

// listen decodes what a WHEP listener of lang hears onto the program
// timeline (RTP timestamps are program time).
func listen(ctx context.Context, t *testing.T, base, event, lang string) (tap *audiotest.Tap, stop func()) {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := rtc.DialWHEP(ctx, api, base+"/whep/"+event+"/"+lang, 4000)
	if err != nil {
		t.Fatal(err)
	}
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
	return tap, func() {
		once.Do(func() {
			cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			_ = lis.Close(cctx)
			cancel()
			close(quit)
			<-tap.Done()
		})
	}
}

// speechBand keeps what is below about 3 kHz: four one-pole low-passes,
// which take the 12 kHz floor down by some 50 dB.
func speechBand(x []float32) []float32 {
	const fc = 3000.0
	a := 1 - math.Exp(-2*math.Pi*fc/audio.SampleRate)
	y := append([]float32(nil), x...)
	for range 4 {
		var s float64
		for i, v := range y {
			s += a * (float64(v) - s)
			y[i] = float32(s)
		}
	}
	return y
}

// envelope is the RMS of x in 10 ms steps.
func envelope(x []float32) []float64 {
	const step = audio.SampleRate / 100
	var e []float64
	for i := 0; i+step <= len(x); i += step {
		e = append(e, audio.RMS(x[i:i+step]))
	}
	return e
}

// likeClip is the best correlation between the speech-band envelopes of
// heard and of clip at any point of the looped clip: how much heard sounds
// like clip.
func likeClip(heard, clip []float32) float64 {
	h, c := envelope(speechBand(heard)), envelope(speechBand(clip))
	best := -1.0
	for lag := range c {
		var sx, sy, sxx, syy, sxy float64
		for i, x := range h {
			y := c[(lag+i)%len(c)]
			sx, sy, sxx, syy, sxy = sx+x, sy+y, sxx+x*x, syy+y*y, sxy+x*y
		}
		n := float64(len(h))
		if den := math.Sqrt((sxx - sx*sx/n) * (syy - sy*sy/n)); den > 0 {
			best = math.Max(best, (sxy-sx*sy/n)/den)
		}
	}
	return best
}

// voiceThreshold is the speech-band RMS over 100 ms that counts as a voice
// (−40 dBFS; the floor alone measures some −70 dBFS there).
const voiceThreshold = 0.01

// voiceAfter waits, on the program timeline from pts on, for the first
// 100 ms of the interpreter's voice in tap (within 10 s of program time),
// then checks the 3 s after the next half second (where the jitter buffer
// of a new connection has settled): a voice is heard in most of it (the
// floor is a 12 kHz tone: nothing else is in the speech band), the floor is
// ducked under it, as it is only while the booth is on air, and its
// envelope follows the interpreter's clip. It returns the program time
// where the voice came.
func voiceAfter(ctx context.Context, t *testing.T, tap *audiotest.Tap, pts int64, clip, other []float32, what string) int64 {
	t.Helper()
	const win = audio.SampleRate / 10
	// A listener that connected after pts holds what came since.
	if err := tap.Wait(ctx, 0); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	pts = max(pts, tap.Start())
	for at := pts; at < pts+10*audio.SampleRate; at += win {
		x, err := tap.Span(ctx, at, at+win)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if audio.RMS(speechBand(x)) < voiceThreshold {
			continue
		}
		heard, err := tap.Span(ctx, at+audio.SampleRate/2, at+7*audio.SampleRate/2)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		active, all := voiced(heard), voiced(clip)
		corr, unlike := likeClip(heard, clip), likeClip(heard, other)
		floor := audio.GainToDB(audiotest.Goertzel(heard, boothFloorHz, audio.SampleRate))
		t.Logf("%s: voice %.0f ms of program time after pts %d; voiced %.0f %% of the time (the clip %.0f %%); floor under it %.1f dBFS; "+
			"envelope like the interpreter's clip %.2f (like another voice %.2f)",
			what, float64(at-pts)*1000/audio.SampleRate, pts, 100*active, 100*all, floor, corr, unlike)
		var lv []string
		for i := 0; i+win <= len(heard); i += win {
			lv = append(lv, fmt.Sprintf("%.0f", audio.GainToDB(audio.RMS(speechBand(heard[i:i+win])))))
		}
		if active < all/2 {
			t.Errorf("%s: a voice in %.0f %% of 3 s, the interpreter speaks %.0f %% of the time; speech band in 100 ms steps (dBFS): %s",
				what, 100*active, 100*all, strings.Join(lv, " "))
		}
		// The floor is a −17 dBFS tone; ducked, it is 10 dB lower or more.
		if floor > -21 {
			t.Errorf("%s: the floor is at %.1f dBFS under the voice: not ducked", what, floor)
		}
		// Typically 0.9 or more; a loaded machine's concealed packets blur
		// the envelope somewhat.
		if corr < 0.5 {
			t.Errorf("%s: what the listener hears does not follow the interpreter's voice (envelope correlation %.2f); speech band in 100 ms steps (dBFS): %s",
				what, corr, strings.Join(lv, " "))
		}
		return at
	}
	t.Fatalf("%s: no voice in 10 s of program time from %d", what, pts)
	return 0
}

// voiced is the share of 100 ms steps of x with a voice in the speech band.
func voiced(x []float32) float64 {
	const win = audio.SampleRate / 10
	n, on := 0, 0
	for i := 0; i+win <= len(x); i += win {
		n++
		if audio.RMS(speechBand(x[i:i+win])) >= voiceThreshold {
			on++
		}
	}
	if n == 0 {
		return 0
	}
	return float64(on) / float64(n)
}

// silentFor checks that tap holds no voice in [from, to).
func silentFor(ctx context.Context, t *testing.T, tap *audiotest.Tap, from, to int64, what string) {
	t.Helper()
	x, err := tap.Span(ctx, from, to)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	const win = audio.SampleRate / 10
	for i := 0; i+win <= len(x); i += win {
		if l := audio.RMS(speechBand(x[i : i+win])); l >= voiceThreshold {
			t.Errorf("%s: a voice at %.1f dBFS %d ms in", what, audio.GainToDB(l), i*1000/audio.SampleRate)
			return
		}
	}
}

// boothState is the part of a booth's state message these tests read.
type boothState struct {
	OnAir   *string
	PTS     int64
	Members []struct {
		ID        string
		Connected bool
		Mic       bool
	}
	Resume *struct{ ID string }
}

// nextState waits for the client's next state message.
func nextState(ctx context.Context, t *testing.T, c *rtc.BoothClient) boothState {
	t.Helper()
	for {
		select {
		case m, ok := <-c.Messages:
			if !ok {
				t.Fatalf("the booth connection ended: %v", c.Ended())
			}
			if m["type"] != "state" {
				continue
			}
			var s boothState
			if on, ok := m["on_air"].(string); ok {
				s.OnAir = &on
			}
			s.PTS = int64(m["pts"].(float64))
			if r, ok := m["resume"].(map[string]any); ok {
				s.Resume = &struct{ ID string }{ID: r["id"].(string)}
			}
			ms, _ := m["members"].([]any)
			for _, x := range ms {
				mm := x.(map[string]any)
				s.Members = append(s.Members, struct {
					ID        string
					Connected bool
					Mic       bool
				}{mm["id"].(string), mm["connected"] == true, mm["mic"] == true})
			}
			return s
		case <-ctx.Done():
			t.Fatalf("no state message: %v", ctx.Err())
		}
	}
}

// micOf is id's microphone in s.
func (s boothState) micOf(id string) bool {
	for _, m := range s.Members {
		if m.ID == id {
			return m.Mic
		}
	}
	return false
}

func (s boothState) String() string {
	on := "nobody"
	if s.OnAir != nil {
		on = *s.OnAir
	}
	r := ""
	if s.Resume != nil {
		r = ", awaiting " + s.Resume.ID
	}
	return fmt.Sprintf("on air %s%s, members %+v, pts %d", on, r, s.Members, s.PTS)
}

func dialAnne(ctx context.Context, t *testing.T, base string, e *boothEvent) *rtc.BoothClient {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rtc.DialBooth(ctx, api, base, e.id, "fr", e.anne, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitProgram waits until the program has run for half a second: a booth
// page reconnecting to a server that just started finds it running.
func (r *serveRun) waitProgram(ctx context.Context, t *testing.T, e *boothEvent) {
	t.Helper()
	for {
		var st struct{ PTS int64 }
		r.getJSON(ctx, t, "/api/events/"+e.id+"/status", e.producer, &st)
		if st.PTS >= audio.SampleRate/2 {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the program never ran: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// frStatus is the French booth as the producer's status shows it.
type frStatus struct {
	Awaited   string // who is awaited back on air, "" for nobody
	Connected bool   // Anne is connected
	PTS       int64  // the program time the booth's state is mixed from
	OnAir     string // the name of who is on air, "" for nobody
}

// waitStatus polls the producer's status until cond holds for the French
// booth.
func (r *serveRun) waitStatus(ctx context.Context, t *testing.T, e *boothEvent, what string, cond func(frStatus) bool) frStatus {
	t.Helper()
	for {
		var st struct {
			Languages []struct {
				Tag   string
				OnAir *string `json:"on_air"`
				Booth *struct {
					Resume *struct{ ID string }
					PTS    int64
				}
				Interpreters []struct {
					ID        string
					Connected bool
				}
			}
		}
		r.getJSON(ctx, t, "/api/events/"+e.id+"/status", e.producer, &st)
		var got frStatus
		for _, l := range st.Languages {
			if l.Tag != "fr" {
				continue
			}
			if l.OnAir != nil {
				got.OnAir = *l.OnAir
			}
			if l.Booth != nil {
				got.PTS = l.Booth.PTS
				if l.Booth.Resume != nil {
					got.Awaited = l.Booth.Resume.ID
				}
			}
			for _, it := range l.Interpreters {
				if it.ID == e.anneID {
					got.Connected = it.Connected
				}
			}
		}
		if cond(got) {
			return got
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the status never said %s (it says %+v)", what, got)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestServeBoothBackOnAirAfterKill: an interpreter on air in the French
// booth of the real binary, speaking (flite speech as Opus), heard by a
// WHEP listener of French. Her connection drops (the server stays up): the
// producer's status says she is awaited, and when she reconnects she is on
// air again without sending a mic message, and heard. Then the server is
// killed with SIGKILL and started again on the same address and data
// directory: when she reconnects, the first state says she is on air with
// her microphone open, and French listeners hear her voice again. Leaving
// on purpose (close 1000) is not a lost connection: back, she is off air.
func TestServeBoothBackOnAirAfterKill(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "ffmpeg")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newBoothEvent(ctx, t)
	addr := freeAddr(t)
	sp := newSpeaker(t, e.speech)
	defer sp.stop()

	t0 := time.Now()
	r1 := startServeOn(ctx, t, bin, addr, e.args...)
	t.Logf("%v: started", time.Since(t0).Round(time.Millisecond))
	r1.waitProgram(ctx, t, e)
	tap, stopTap := listen(ctx, t, r1.base, e.id, "fr")
	defer stopTap()
	c := dialAnne(ctx, t, r1.base, e)
	sp.use(c)
	s := nextState(ctx, t, c)
	if s.OnAir != nil || s.Resume != nil {
		t.Fatalf("a fresh booth: %v", s)
	}
	silentFor(ctx, t, tap, s.PTS, s.PTS+audio.SampleRate/2, "before the mic is opened")
	if err := c.Send(map[string]any{"type": "mic", "on": true}); err != nil {
		t.Fatal(err)
	}
	for s.OnAir == nil {
		s = nextState(ctx, t, c)
	}
	voiceAfter(ctx, t, tap, s.PTS, e.speech, e.other, "on air")
	t.Logf("%v: heard on air", time.Since(t0).Round(time.Millisecond))

	// The network drops; the server stays up.
	sp.use(nil)
	c.Close()
	lost := r1.waitStatus(ctx, t, e, "Anne is awaited", func(s frStatus) bool { return s.Awaited == e.anneID && !s.Connected })
	c = dialAnne(ctx, t, r1.base, e)
	sp.use(c)
	s = nextState(ctx, t, c)
	if s.OnAir == nil || *s.OnAir != e.anneID || !s.micOf(e.anneID) || s.Resume != nil {
		t.Fatalf("back after a dropped connection: %v; want Anne on air with her mic open", s)
	}
	// While she was away the listeners heard the floor alone (the voice
	// fades out within a tick or two of the drop).
	if s.PTS-lost.PTS > audio.SampleRate/2 {
		silentFor(ctx, t, tap, lost.PTS+audio.SampleRate/5, s.PTS, "while Anne was away")
	}
	voiceAfter(ctx, t, tap, s.PTS, e.speech, e.other, "back after the drop")
	t.Logf("%v: heard after the drop", time.Since(t0).Round(time.Millisecond))
	stopTap()

	// The server is killed, and started again.
	r1.kill(t)
	sp.use(nil)
	c.Close()
	r2 := startServeOn(ctx, t, bin, addr, e.args...)
	t.Logf("%v: restarted", time.Since(t0).Round(time.Millisecond))
	r2.waitStatus(ctx, t, e, "Anne is awaited", func(s frStatus) bool { return s.Awaited == e.anneID && !s.Connected })
	r2.waitProgram(ctx, t, e)
	tap, stopTap = listen(ctx, t, r2.base, e.id, "fr")
	defer stopTap()
	c = dialAnne(ctx, t, r2.base, e)
	sp.use(c)
	s = nextState(ctx, t, c)
	if s.OnAir == nil || *s.OnAir != e.anneID || !s.micOf(e.anneID) || s.Resume != nil {
		t.Fatalf("back after the restart: %v; want Anne on air with her mic open", s)
	}
	voiceAfter(ctx, t, tap, s.PTS, e.speech, e.other, "back after the restart")
	t.Logf("%v: heard after the restart", time.Since(t0).Round(time.Millisecond))

	// Leaving on purpose: not awaited.
	sp.use(nil)
	c.Leave()
	r2.waitStatus(ctx, t, e, "Anne left", func(s frStatus) bool { return s.Awaited == "" && !s.Connected })
	c = dialAnne(ctx, t, r2.base, e)
	s = nextState(ctx, t, c)
	if s.OnAir != nil || s.micOf(e.anneID) {
		t.Errorf("back after leaving: %v; want nobody on air", s)
	}
	c.Close()
	t.Logf("%v: off air after leaving", time.Since(t0).Round(time.Millisecond))
	stopTap()
	r2.stop(t)
	t.Logf("%v: stopped", time.Since(t0).Round(time.Millisecond))
}
