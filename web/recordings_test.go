package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"tolk/cmd/tolk/event"
	"tolk/internal/recording"
	"tolk/internal/store"
	"tolk/web"
)

// TestRecordingsAPI: GET /api/events/{event}/recordings lists the event's
// runs to an editor or a producer (the run being recorded as live, then
// not once stopped), and the producer's status carries the recording's
// state; other tokens are refused.
func TestRecordingsAPI(t *testing.T) {
	leakCheck(t)
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := eventConfig(t, `
id: test
title: Recorded
floor: {language: en, name: English, source: "file:%s", loop: true}
languages: [{tag: fr, name: Français}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
end: 2099-01-01T00:00:00Z
`, toneFile(t, 440, 1, 30))
	lib := recording.NewLibrary(filepath.Join(dir, recording.Dir))
	h := serve(t, cfg, event.Options{Cues: st, Recordings: lib}, web.Options{Tokens: st, Cues: st})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	token := func(role store.Role, lang string) string {
		s, _, err := st.CreateToken(ctx, "test", role, lang, "Someone")
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	producer, editor, interpreter := token(store.RoleProducer, ""), token(store.RoleEditor, ""), token(store.RoleInterpreter, "fr")
	call := func(path, tok string) (int, []byte) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.http.URL+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&b)
		return resp.StatusCode, b
	}
	list := func(tok string) []web.RecordingInfo {
		code, b := call("/api/events/test/recordings", tok)
		var v struct{ Recordings []web.RecordingInfo }
		if code != http.StatusOK || json.Unmarshal(b, &v) != nil {
			t.Fatalf("recordings: %d %s", code, b)
		}
		return v.Recordings
	}
	// The run appears once its file holds two seconds.
	var runs []web.RecordingInfo
	for len(runs) == 0 || runs[0].Duration < 2 {
		if ctx.Err() != nil {
			t.Fatalf("no run recorded: %+v", runs)
		}
		time.Sleep(50 * time.Millisecond)
		runs = list(producer)
	}
	r := runs[0]
	if !r.Live || len(r.Languages) != 2 || r.Languages[0] != (recording.Lang{Tag: "en", Name: "English"}) ||
		r.Languages[1] != (recording.Lang{Tag: "fr", Name: "Français"}) || r.Bytes <= 0 || !recording.ValidRunID(r.ID) ||
		r.End.Sub(r.Start).Seconds() != r.Duration {
		t.Errorf("live run %+v", r)
	}
	if got := list(editor); len(got) != 1 || got[0].ID != r.ID {
		t.Errorf("editor's list %+v", got)
	}
	for _, c := range []struct {
		tok, path string
		want      int
	}{
		{"", "/api/events/test/recordings", http.StatusUnauthorized},
		{interpreter, "/api/events/test/recordings", http.StatusForbidden},
		{"not-a-token", "/api/events/test/recordings", http.StatusUnauthorized},
		{producer, "/api/events/nope/recordings", http.StatusNotFound},
	} {
		if code, b := call(c.path, c.tok); code != c.want {
			t.Errorf("%s with %q: %d %s, want %d", c.path, c.tok, code, b, c.want)
		}
	}
	code, b := call("/api/events/test/status", producer)
	var status web.EventStatus
	if code != http.StatusOK || json.Unmarshal(b, &status) != nil {
		t.Fatalf("status: %d %s", code, b)
	}
	rs := status.Recording
	if rs.State != "recording" || rs.Run != r.ID || rs.Bytes <= 0 || rs.End == nil || !rs.End.Equal(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("status recording %+v", rs)
	}
	// /metrics: the recording's state and size, and its readers among the
	// outputs that count dropped frames.
	metrics := get(t, h.http.URL+"/metrics")
	for _, want := range []string{`tolk_recording{event="test"} 1`, `tolk_recording_failed{event="test"} 0`,
		`tolk_recording_bytes{event="test"}`, `tolk_recording_dropped_total{event="test"} 0`, `tolk_recording_disk_free_bytes{event="test"}`,
		`tolk_output_dropped_frames_total{event="test",lang="fr",output="recording"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	h.ev.Close()
	if got := list(producer); len(got) != 1 || got[0].Live || got[0].ID != r.ID || got[0].Duration < r.Duration {
		t.Errorf("after the stop: %+v", got)
	}
}
