package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/store"
	"tolk/web"
)

// TestProducerStatusControlsAndSignals: the producer's API reaches every
// live control and measurement: the status lists each language's settings,
// meters, outputs and booth; a PATCH of the floor gain changes what the
// French listeners hear by exactly that much (measured on the program
// timeline) while bad values change nothing; a booth's "slow down" reaches
// the producer's signal stream.
func TestProducerStatusControlsAndSignals(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBooths(t, "{tag: fr}")
	fr := tapMix(b.harness, "fr")
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	interp := b.token(t, "fr", "Anne")
	call := func(method, auth, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, b.http.URL+path, strings.NewReader(body))
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	status := func() web.EventStatus {
		t.Helper()
		code, body := call("GET", prod, "/api/events/test/status", "")
		var s web.EventStatus
		if code != 200 || json.Unmarshal(body, &s) != nil {
			t.Fatalf("status: %d %s", code, body)
		}
		return s
	}
	for _, c := range []struct{ auth string }{{""}, {interp}} {
		if code, body := call("GET", c.auth, "/api/events/test/status", ""); code != 401 && code != 403 || !strings.Contains(string(body), `"error"`) {
			t.Errorf("status with token %q: %d %s", c.auth, code, body)
		}
	}
	s := status()
	if len(s.Languages) != 2 || !s.Languages[0].Floor || s.Languages[1].Tag != "fr" || s.Floor.Source == "" {
		t.Fatalf("languages %+v", s.Languages)
	}
	frs := s.Languages[1]
	if frs.Settings.DuckDB == nil || *frs.Settings.DuckDB != -14 || frs.Booth == nil || frs.VoiceDB == nil || len(frs.Outputs) != 2 ||
		frs.OnAir != nil || frs.Interpreters == nil {
		t.Fatalf("fr status %+v", frs)
	}
	if s.Languages[0].Settings.DuckDB != nil {
		t.Errorf("the floor rendition reports a duck depth")
	}
	readers := map[string]bool{}
	for _, tr := range s.Languages[0].Outputs {
		for _, r := range tr.Readers {
			readers[r.Name] = true
		}
	}
	if !readers["hls"] || !readers["whep"] || !readers["booth floor"] {
		t.Errorf("the floor's outputs lack a reader: %v", readers)
	}

	// Bad patches: 4xx with an error, nothing changes.
	for _, c := range []struct {
		path, body string
		want       int
	}{
		{"/api/events/test/languages/fr", `{"duck_db": 3}`, 400},
		{"/api/events/test/languages/fr", `{"duck_db": -20, "voice_gain_db": 30}`, 400},
		{"/api/events/test/languages/fr", `{"floor_gain_db": -61}`, 400},
		{"/api/events/test/languages/fr", `{"colour": 1}`, 400},
		{"/api/events/test/languages/fr", `{}`, 400},
		{"/api/events/test/languages/fr", `{"duck_db": "deep"}`, 400},
		{"/api/events/test/languages/en", `{"duck_db": -10}`, 400},
		{"/api/events/test/languages/xx", `{"duck_db": -10}`, 404},
	} {
		if code, body := call("PATCH", prod, c.path, c.body); code != c.want || !strings.Contains(string(body), `"error"`) {
			t.Errorf("PATCH %s %s: %d %s, want %d with an error", c.path, c.body, code, body, c.want)
		}
	}
	if code, _ := call("PATCH", interp, "/api/events/test/languages/fr", `{"duck_db": -20}`); code != 403 {
		t.Errorf("an interpreter's patch: %d, want 403", code)
	}
	if got := status().Languages[1].Settings; *got.DuckDB != -14 || *got.VoiceGainDB != 0 || got.FloorGainDB != 0 {
		t.Fatalf("refused patches changed the settings: %+v", got)
	}

	// The floor gain, heard: the French mix's floor tone drops by 6 dB.
	const sec = audio.SampleRate
	p := until(ctx, t, b.harness, fr, sec/10, "the floor in the French mix", func(x []float32) bool {
		return audiotest.Goertzel(x, floorHz, audio.SampleRate) > 0.05
	})
	before := audiotest.Median(audiotest.Levels(span(ctx, t, fr, p, p+sec/2), floorHz, audio.SampleRate, sec/10))
	code, body := call("PATCH", prod, "/api/events/test/languages/fr", `{"floor_gain_db": -6, "duck_db": -20}`)
	if code != 200 {
		t.Fatalf("patch: %d %s", code, body)
	}
	var ls web.LanguageStatus
	if json.Unmarshal(body, &ls) != nil || ls.Settings.FloorGainDB != -6 || *ls.Settings.DuckDB != -20 {
		t.Fatalf("patch answer %s", body)
	}
	// From the next tick on; half a second later the ramp is long over.
	q := b.ev.ProgramTime() + sec/2
	after := audiotest.Median(audiotest.Levels(span(ctx, t, fr, q, q+sec/2), floorHz, audio.SampleRate, sec/10))
	if db := audio.GainToDB(after / before); db < -6.5 || db > -5.5 {
		t.Errorf("floor gain -6 dB changed the French floor by %.2f dB", db)
	}

	// A booth's "slow down" reaches the producer's signal stream.
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, strings.Replace(b.http.URL, "http", "ws", 1)+"/api/events/test/signals?token="+prod, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, strings.Replace(b.http.URL, "http", "ws", 1)+"/api/events/test/signals?token="+interp, nil); err == nil || resp.StatusCode != 403 {
		t.Errorf("signals with an interpreter's token: %v", err)
	}
	anne := dialBooth(t, ctx, b.http.URL, "fr", interp)
	defer anne.close()
	you, _ := anne.expect(ctx, "welcome")["you"].(map[string]any)
	anneID, _ := you["id"].(string)
	anne.send(map[string]any{"type": "slow_down"})
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	var sig struct {
		Type, Kind, Lang string
		From             struct{ Name string }
	}
	if err := ws.ReadJSON(&sig); err != nil {
		t.Fatalf("no signal: %v", err)
	}
	if sig.Type != "signal" || sig.Kind != "slow_down" || sig.Lang != "fr" || sig.From.Name != "Anne" {
		t.Errorf("signal %+v", sig)
	}

	// Her microphone and link, as the server receives them, are in the
	// status; on air, she is named.
	anne.send(map[string]any{"type": "mic", "on": true})
	talk, stop := context.WithTimeout(ctx, 2500*time.Millisecond)
	anne.speakTone(talk, 440)
	stop()
	anneOf := func(s web.EventStatus) (web.InterpreterStatus, bool) {
		for _, it := range s.Languages[1].Interpreters {
			if it.ID == anneID {
				return it, true
			}
		}
		return web.InterpreterStatus{}, false
	}
	eventually(ctx, t, "Anne's mic level in the status (dBFS)", func() (float64, bool) {
		it, ok := anneOf(status())
		if !ok || it.LevelDB == nil || it.JitterBuffer == nil {
			return 0, false
		}
		return *it.LevelDB, it.JitterBuffer.Packets > 50 && it.JitterBuffer.DepthMS >= 0
	})
	s = status()
	it, _ := anneOf(s)
	if it.Name != "Anne" || !it.Connected || it.Mic != "on" || !it.OnAir || it.Input != "floor" || it.JitterBuffer.Packets < 50 ||
		it.Loss < 0 || it.Loss > 0.05 || it.JitterMS < 0 {
		t.Errorf("Anne in the status: %+v", it)
	}
	// The round trip comes from her page's RTCP receiver reports on the
	// floor feed (sent each second, answering the server's sender reports).
	eventually(ctx, t, "Anne's round trip from RTCP (ms)", func() (float64, bool) {
		it, _ := anneOf(status())
		if it.RTTMS == nil {
			return 0, false
		}
		return *it.RTTMS, *it.RTTMS >= 0 && *it.RTTMS < 100
	})
	if s.Languages[1].OnAir == nil || *s.Languages[1].OnAir != "Anne" {
		t.Errorf("on air: %v, want Anne", s.Languages[1].OnAir)
	}
	// /metrics says the same, by event, language and interpreter.
	metrics := get(t, b.http.URL+"/metrics")
	for _, want := range []string{
		`tolk_interpreter_connected{event="test",interpreter="` + anneID + `",lang="fr",name="Anne"} 1`,
		`tolk_interpreter_rtt_seconds{event="test",interpreter="` + anneID + `",lang="fr",name="Anne"}`,
		`tolk_interpreter_loss_ratio{event="test",interpreter="` + anneID + `",lang="fr",name="Anne"}`,
		`tolk_booth_on_air{event="test",lang="fr"} 1`, `tolk_program_peak_dbfs{event="test",lang="fr"}`,
		`tolk_floor_input_live{event="test",input="main"} 1`, `tolk_listeners{event="test",lang="en",protocol="hls"} 0`,
		`tolk_output_dropped_frames_total{event="test",lang="en",output="booth floor"}`,
		`tolk_voice_cut{event="test",lang="fr"}`, `tolk_voice_cuts_total{event="test",lang="fr"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Muted by the producer, the language carries the floor alone: nobody
	// is named on air, though Anne still holds the booth's floor.
	if code, body := call("POST", prod, "/api/events/test/booths/fr", `{"muted": true}`); code != 200 {
		t.Fatalf("mute: %d %s", code, body)
	}
	eventually(ctx, t, "muted booth in the status (pts)", func() (float64, bool) {
		fr := status().Languages[1]
		if fr.Booth == nil {
			return 0, false
		}
		return float64(fr.Booth.PTS), fr.Booth.Muted
	})
	if fr := status().Languages[1]; fr.OnAir != nil {
		t.Errorf("on air while muted: %q, want null", *fr.OnAir)
	}
	metrics = get(t, b.http.URL+"/metrics")
	for _, want := range []string{`tolk_booth_on_air{event="test",lang="fr"} 0`, `tolk_booth_muted{event="test",lang="fr"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q while muted", want)
		}
	}
	anne.close()
	ws.Close()
	b.ev.Close()
	<-fr.Done()
}
