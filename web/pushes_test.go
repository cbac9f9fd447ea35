package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"tolk/internal/restream"
	"tolk/internal/restream/restreamtest"
	"tolk/internal/store"
)

// TestPushAPI: the producer lists the pushes (keys redacted), starts and
// stops one; unknown pushes and actions are 404 with a JSON error, and
// /metrics has every push's state.
func TestPushAPI(t *testing.T) {
	leakCheck(t)
	port := restreamtest.FreePort(t) // nobody listens: the push fails and retries
	floor := toneFile(t, 440, 0.5, 5)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
captions: {backend: none}
record: false
outputs:
  - {lang: fr, url: "rtmp://127.0.0.1:%d/live/secret-fr-key", name: Platform FR, enabled: false}
`, floor, port)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := startWith(t, cfg, st)
	prod, _, err := st.CreateToken(context.Background(), "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, h.http.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+prod)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if strings.Contains(string(b), "secret-fr-key") {
			t.Fatalf("%s %s shows the stream key: %s", method, path, b)
		}
		return resp.StatusCode, string(b)
	}
	code, body := do("GET", "/api/events/test/outputs")
	var list struct{ Outputs []restream.Status }
	if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil || len(list.Outputs) != 1 ||
		list.Outputs[0].ID != "fr-1" || list.Outputs[0].State != restream.StateStopped || !strings.HasSuffix(list.Outputs[0].URL, "/live/****") {
		t.Fatalf("list: %d %s", code, body)
	}
	code, body = do("POST", "/api/events/test/outputs/fr-1/start")
	var one restream.Status
	if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil || one.State == restream.StateStopped {
		t.Fatalf("start: %d %s", code, body)
	}
	for path, want := range map[string]int{
		"/api/events/test/outputs/xx-9/start":  404,
		"/api/events/test/outputs/fr-1/pause":  404,
		"/api/events/nope/outputs/fr-1/start":  404,
		"/api/events/test/outputs/fr-1/start/": 404,
	} {
		code, body := do("POST", path)
		var e struct{ Error string }
		if code != want || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
			t.Errorf("POST %s: %d %s, want %d with a JSON error", path, code, body, want)
		}
	}
	_, metrics := do("GET", "/metrics")
	if !strings.Contains(metrics, `tolk_push_state{event="test",lang="fr",push="fr-1",state="stopped"} 0`) ||
		!strings.Contains(metrics, `tolk_push_reconnects_total{event="test",lang="fr",push="fr-1"}`) {
		t.Errorf("metrics:\n%s", pushLines(metrics, "tolk_push"))
	}
	code, body = do("POST", "/api/events/test/outputs/fr-1/stop")
	if err := json.Unmarshal([]byte(body), &one); code != 200 || err != nil || one.State != restream.StateStopped {
		t.Fatalf("stop: %d %s", code, body)
	}
	_, status := do("GET", "/api/events/test/status")
	if !strings.Contains(status, `"pushes":[{"id":"fr-1"`) {
		t.Errorf("status: %s", pushLines(status, "pushes"))
	}
}

func pushLines(s, what string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, what) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
