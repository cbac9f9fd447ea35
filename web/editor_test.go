package web_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tolk/internal/store"
	"tolk/web"
)

// editorTokens makes a token of each role for the replay test event.
func editorTokens(ctx context.Context, t testing.TB, st *store.Store) map[store.Role]string {
	t.Helper()
	out := map[store.Role]string{}
	for _, r := range []struct {
		role store.Role
		lang string
	}{{store.RoleEditor, ""}, {store.RoleProducer, ""}, {store.RoleInterpreter, "fr"}, {store.RoleListener, ""}} {
		secret, _, err := st.CreateToken(ctx, "test", r.role, r.lang, "Eddie "+string(r.role))
		if err != nil {
			t.Fatal(err)
		}
		out[r.role] = secret
	}
	return out
}

// TestEditorPage: the caption editor's page answers an editor's or a
// producer's token (?token= or Bearer) with the page in the asked locale,
// listing the languages with stored cues; 401 without or with a bad or
// revoked token, 403 for an interpreter's or a listener's, or another
// event's; 404 for an unknown event. All refusals are JSON errors.
func TestEditorPage(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := editorTokens(ctx, t, e.store)
	other, _, err := e.store.CreateToken(ctx, "other", store.RoleEditor, "", "Elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	revoked, rt, err := e.store.CreateToken(ctx, "test", store.RoleEditor, "", "Gone")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.Revoke(ctx, rt.ID); err != nil {
		t.Fatal(err)
	}
	base := e.http.URL + "/edit/test"
	for _, c := range []struct {
		url  string
		cred func(*http.Request)
		want int
	}{
		{base, nil, 401},
		{base + "?token=nope", nil, 401},
		{base + "?token=" + url.QueryEscape(revoked), nil, 401},
		{base + "?token=" + url.QueryEscape(tok[store.RoleInterpreter]), nil, 403},
		{base + "?token=" + url.QueryEscape(tok[store.RoleListener]), nil, 403},
		{base + "?token=" + url.QueryEscape(other), nil, 403},
		{e.http.URL + "/edit/nope?token=" + url.QueryEscape(tok[store.RoleEditor]), nil, 404},
		{base + "?token=" + url.QueryEscape(tok[store.RoleEditor]), nil, 200},
		{base + "?token=" + url.QueryEscape(tok[store.RoleProducer]) + "&lang=de", nil, 200},
		{base, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok[store.RoleEditor]) }, 200},
	} {
		resp, body := call(ctx, t, http.MethodGet, c.url, "", "", c.cred)
		if resp.StatusCode != c.want {
			t.Errorf("GET %s: %d, want %d: %.200s", c.url, resp.StatusCode, c.want, body)
			continue
		}
		if c.want != 200 {
			var v struct{ Error string }
			if json.Unmarshal([]byte(body), &v) != nil || v.Error == "" {
				t.Errorf("GET %s: %d without a JSON error: %.200s", c.url, resp.StatusCode, body)
			}
			if c.want == 401 && resp.Header.Get("WWW-Authenticate") == "" && !strings.Contains(c.url, "token=") {
				t.Errorf("GET %s: 401 without WWW-Authenticate", c.url)
			}
			continue
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || resp.Header.Get("Cache-Control") != "no-store" ||
			!strings.Contains(body, `id="cues"`) || !strings.Contains(body, `<option value="en" lang="en">English</option>`) {
			t.Errorf("GET %s: %v\n%.400s", c.url, resp.Header, body)
		}
		if strings.Contains(c.url, "lang=de") && !strings.Contains(body, `<html lang="de"`) {
			t.Errorf("GET %s: not in German", c.url)
		}
	}
}

// TestEditorLevels: the levels of a recorded language are its RMS per
// 100 ms from the recorded Opus: the test run's 0.4 sine reads −11 dBFS
// (20·log10(0.4/√2) = −10.97) in every language, from 0 to the run's 20 s
// and null after; ranges are bounded and checked, tokens as for the
// recordings list, unknown runs and languages 404.
func TestEditorLevels(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok := editorTokens(ctx, t, e.store)
	bearer := func(s string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+s) }
	}
	levels := e.http.URL + "/api/events/test/recordings/" + e.run + "/levels/"
	for _, lang := range []string{"en", "fr", "de"} {
		start := time.Now()
		resp, body := call(ctx, t, http.MethodGet, levels+lang+"?from_ms=0&to_ms=30000", "", "", bearer(tok[store.RoleEditor]))
		took := time.Since(start)
		var lv web.LevelsJSON
		if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &lv) != nil {
			t.Fatalf("%s: %d %.300s", lang, resp.StatusCode, body)
		}
		if lv.StepMS != 100 || lv.FromMS != 0 || lv.ToMS != 30000 || lv.EndMS != 20000 || len(lv.Levels) != 300 {
			t.Fatalf("%s: %+v", lang, lv)
		}
		bad := 0
		for i, v := range lv.Levels {
			switch {
			case i < 200 && (v == nil || *v != -11):
				bad++
			case i >= 200 && v != nil:
				t.Errorf("%s: a level at %d ms after the run's end: %d", lang, i*100, *v)
			}
		}
		// Opus reaches the tone's level within the first 100 ms.
		if bad > 1 {
			t.Errorf("%s: %d of 200 levels are not −11 dBFS: %v", lang, bad, lv.Levels[:20])
		}
		t.Logf("%s: 30 s of levels in %v (first request: decoded)", lang, took)
	}
	// A second look is the cache's, and a window inside a block is cut.
	resp, body := call(ctx, t, http.MethodGet, levels+"fr?from_ms=12345&to_ms=13050", "", "", bearer(tok[store.RoleProducer]))
	var lv web.LevelsJSON
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &lv) != nil || lv.FromMS != 12300 || lv.ToMS != 13100 || len(lv.Levels) != 8 {
		t.Errorf("window: %d %s", resp.StatusCode, body)
	}
	for _, c := range []struct {
		path string
		cred func(*http.Request)
		want int
	}{
		{"en", nil, 401},
		{"en?token=" + url.QueryEscape(tok[store.RoleListener]), nil, 403},
		{"en", bearer(tok[store.RoleInterpreter]), 403},
		{"en?token=" + url.QueryEscape(tok[store.RoleEditor]), nil, 200},
		{"it", bearer(tok[store.RoleEditor]), 404},
		{"en?from_ms=-1", bearer(tok[store.RoleEditor]), 400},
		{"en?from_ms=x", bearer(tok[store.RoleEditor]), 400},
		{"en?from_ms=5000&to_ms=5000", bearer(tok[store.RoleEditor]), 400},
		{"en?from_ms=0&to_ms=130000", bearer(tok[store.RoleEditor]), 400},
	} {
		resp, body := call(ctx, t, http.MethodGet, levels+c.path, "", "", c.cred)
		if resp.StatusCode != c.want {
			t.Errorf("levels/%s: %d, want %d: %.200s", c.path, resp.StatusCode, c.want, body)
		}
		if c.want != 200 && !strings.Contains(body, `"error"`) {
			t.Errorf("levels/%s: %s", c.path, body)
		}
	}
	for _, p := range []string{"/api/events/test/recordings/20261103T090001Z/levels/en", "/api/events/nope/recordings/" + e.run + "/levels/en",
		"/api/events/test/recordings/..%2Fx/levels/en"} {
		if resp, body := call(ctx, t, http.MethodGet, e.http.URL+p, "", "", bearer(tok[store.RoleEditor])); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, body)
		}
	}
	if math.Abs(20*math.Log10(0.4/math.Sqrt2)+11) > 0.1 {
		t.Fatal("the expected level is wrong")
	}
}
