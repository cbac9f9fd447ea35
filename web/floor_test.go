package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
	"tolk/internal/store"
	"tolk/web"
)

// TestFloorSwitchBetweenInputs: an event with two studios (two looping
// file inputs, real ffmpeg ingest) and a third input nobody sends to. The
// producer sees each input's state and quality, switches the floor from
// one studio to the other through the API, and the program passes from one
// to the other with no gap: every 20 ms of the floor rendition carries
// sound, the first studio's tone before the switch and the second's after.
// A switch to the silent input is refused and changes nothing.
func TestFloorSwitchBetweenInputs(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const fa, fb = 440, 1000
	a, b := toneFile(t, fa, 2, 60), toneFile(t, fb, 2, 60)
	cfg := eventConfig(t, `
id: test
title: Studios
floor:
  language: en
  inputs:
    - {id: berlin, name: Studio Berlin, source: "file:%s", loop: true}
    - {id: lisbon, name: Studio Lisbon, source: "file:%s", loop: true}
    - {id: backup, name: Backup, source: whip, stream_key: %s}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, a, b, streamKey)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	prod, _, err := st.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	h := startWith(t, cfg, st)
	floor := tapMix(h, "en")
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, h.http.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+prod)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	inputs := func() map[string]web.FloorInput {
		t.Helper()
		code, body := call("GET", "/api/events/test/status", "")
		var s web.EventStatus
		if code != 200 || json.Unmarshal(body, &s) != nil {
			t.Fatalf("status: %d %s", code, body)
		}
		out := map[string]web.FloorInput{}
		for _, in := range s.Floor.Inputs {
			out[in.ID] = in
		}
		return out
	}
	const sec = audio.SampleRate
	until(ctx, t, h, floor, sec/5, "Berlin's tone on the program", func(x []float32) bool {
		return audiotest.Goertzel(x, fa, audio.SampleRate) > 0.1
	})
	eventually(ctx, t, "both studios live, with their quality measured", func() (float64, bool) {
		in := inputs()
		return in["lisbon"].Quality.PeakDB, in["berlin"].State == "live" && in["lisbon"].State == "live" &&
			in["berlin"].OnProgram && !in["lisbon"].OnProgram && in["lisbon"].Quality.PeakDB > -20 && in["backup"].State == "missing" &&
			in["lisbon"].Quality.BandwidthHz > 0 && h.ev.ProgramTime() > 2*sec
	})
	in := inputs()
	// lavfi's sine is at 1/8 of full scale; volume 2 makes it -12 dBFS peak.
	if q := in["lisbon"].Quality; q.PeakDB < -13 || q.PeakDB > -11 || q.Clipping || q.BandwidthHz <= 0 {
		t.Errorf("Lisbon's quality %+v, want a -12 dBFS peak", q)
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"input": "backup"}`, 409},
		{`{"input": "paris"}`, 404},
		{`{"studio": "lisbon"}`, 400},
		{`{}`, 400},
	} {
		if code, body := call("POST", "/api/events/test/floor", c.body); code != c.want || !strings.Contains(string(body), `"error"`) {
			t.Errorf("switch %s: %d %s, want %d", c.body, code, body, c.want)
		}
	}
	if !inputs()["berlin"].OnProgram {
		t.Fatal("a refused switch moved the floor")
	}
	at := h.ev.ProgramTime()
	if code, body := call("POST", "/api/events/test/floor", `{"input": "lisbon"}`); code != 200 {
		t.Fatalf("switch: %d %s", code, body)
	}
	after := until(ctx, t, h, floor, sec/5, "Lisbon's tone on the program", func(x []float32) bool {
		return audiotest.Goertzel(x, fb, audio.SampleRate) > 0.1 && audiotest.Goertzel(x, fa, audio.SampleRate) < 0.01
	})
	// From a second before the switch to a second after Lisbon is alone:
	// sound in every 20 ms, Berlin first and Lisbon last.
	x := span(ctx, t, floor, at-sec, after+sec)
	const fs = audio.FrameSamples
	for k := 0; k+fs <= len(x); k += fs {
		if rms := audio.RMS(x[k : k+fs]); rms < 0.1 {
			t.Fatalf("a gap at the switch: %.3f RMS at %.3f s of program time", rms, float64(at-sec+int64(k))/sec)
		}
	}
	if l := audiotest.Goertzel(x[:sec/2], fa, audio.SampleRate); l < 0.1 {
		t.Errorf("Berlin before the switch: %.3f", l)
	}
	if l := audiotest.Goertzel(x[len(x)-sec/2:], fb, audio.SampleRate); l < 0.1 {
		t.Errorf("Lisbon after the switch: %.3f", l)
	}
	in = inputs()
	if !in["lisbon"].OnProgram || in["berlin"].OnProgram || in["berlin"].State != "live" {
		t.Errorf("after the switch: %+v", in)
	}
	h.ev.Close()
	<-floor.Done()
}

// TestDuckDepthChangeHeardOverWHEP: a producer's duck-depth change is heard
// by WebRTC listeners: with an interpreter speaking steadily, the floor bed
// in what a WHEP listener of that language decodes moves by the set dB.
func TestDuckDepthChangeHeardOverWHEP(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBooths(t, "{tag: fr}")
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
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
	talk, quiet := context.WithCancel(ctx)
	defer quiet()
	var talking sync.WaitGroup
	talking.Add(1)
	go func() { defer talking.Done(); a.speakTone(talk, 1000) }()
	const sec = audio.SampleRate
	// The voice steady on the listener's side, the ducker down, and the
	// floor under it (on a loaded machine the file floor can start late,
	// and a bed of silence measures nothing).
	voice := steady(1000)
	p := until(ctx, t, b.harness, heard, sec/2, "Anne's tone over the floor at the WHEP listener", func(x []float32) bool {
		return voice(x) && audiotest.Goertzel(x, floorHz, audio.SampleRate) > 0.003
	})
	floorAt := func(from int64) float64 {
		return audiotest.Median(audiotest.Levels(span(ctx, t, heard, from, from+sec/2), floorHz, audio.SampleRate, sec/10))
	}
	before := floorAt(p)
	req, _ := http.NewRequestWithContext(ctx, "PATCH", b.http.URL+"/api/events/test/languages/fr", strings.NewReader(`{"duck_db": -24}`))
	req.Header.Set("Authorization", "Bearer "+prod)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("patch: %v %v", err, resp)
	}
	resp.Body.Close()
	// The depth glides at 40 dB/s: 10 dB take 250 ms; measure after 600 ms.
	q := b.ev.ProgramTime() + sec*6/10
	after := floorAt(q)
	quiet()
	talking.Wait()
	moved := audio.GainToDB(after / before)
	t.Logf("floor bed at the WHEP listener moved %.1f dB for a depth change of -10 dB", moved)
	if moved < -11.5 || moved > -8.5 {
		t.Errorf("the floor bed moved %.1f dB, want -10 ± 1.5 dB", moved)
	}
	stop()
	_ = lis.Close(ctx)
}
