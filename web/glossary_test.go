package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"tolk/captions/glossary"
	"tolk/cmd/tolk/event"
	"tolk/internal/store"
	"tolk/web"
)

func TestGlossaryAPI(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := serve(t, whipConfig(t), event.Options{}, web.Options{Tokens: st})
	prod, _, err := st.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	ed, _, err := st.CreateToken(ctx, "test", store.RoleEditor, "", "Eve")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, auth, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, h.http.URL+"/api/events/test/glossary", strings.NewReader(body))
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

	code, body := call("GET", prod, "")
	var info web.GlossaryInfo
	if code != 200 || json.Unmarshal(body, &info) != nil || info.Version != 0 || info.Terms == nil || len(info.Terms) != 0 {
		t.Fatalf("GET: %d %s", code, body)
	}
	many := `{"terms": [` + strings.TrimSuffix(strings.Repeat(`"w",`, 1001), ",") + `]}`
	for _, c := range []struct {
		auth, body string
		want       int
	}{
		{"", `{}`, 401},
		{ed, `{}`, 403},
		{prod, `{"colour": 1}`, 400},
		{prod, `{"terms": "Zyphrex"}`, 400},
		{prod, `{"terms": ["a\u0000b"]}`, 400},
		{prod, `{"speakers": ["--"]}`, 400},
		{prod, many, 400},
		{prod, `{"text": "` + strings.Repeat("a", 70<<10) + `"}`, 400},
		{prod, `{} {}`, 400},
		{prod, `{"text": "` + strings.Repeat("a", 600<<10) + `"}`, 413},
		{prod, `not json`, 400},
	} {
		code, body := call("PUT", c.auth, c.body)
		if code != c.want || !strings.Contains(string(body), `"error"`) {
			t.Errorf("PUT %.40s: %d %.200s, want %d with an error", c.body, code, body, c.want)
		}
	}
	if _, v := h.ev.Glossary().Get(); v != 0 {
		t.Fatalf("refused PUTs changed the glossary (version %d)", v)
	}

	code, body = call("PUT", prod, `{"terms": ["Zyphrex"], "speakers": ["Ada Oyelaran"], "text": "Keynote: Ada Oyelaran."}`)
	if code != 200 || json.Unmarshal(body, &info) != nil || info.Version != 1 || info.Terms[0] != "Zyphrex" {
		t.Fatalf("PUT: %d %s", code, body)
	}
	g, v := h.ev.Glossary().Get()
	if v != 1 || g.Speakers[0] != "Ada Oyelaran" || g.Text != "Keynote: Ada Oyelaran." {
		t.Fatalf("the event's glossary %+v v%d", g, v)
	}
	if code, body := call("GET", prod, ""); code != 200 || !strings.Contains(string(body), `"version":1`) {
		t.Errorf("GET after PUT: %d %s", code, body)
	}
}

// The glossary of the configuration is the event's from the start, until
// the producer sets one: that one is saved, and the next run of the event
// starts from it, until DELETE goes back to the configured one. A saved
// glossary that is not valid is passed over.
func TestGlossaryFromConfig(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := eventConfig(t, `
id: test
title: Test
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}]
captions: {backend: none, glossary: {terms: [Zyphrex], speakers: [Ada Oyelaran], text: "Keynote."}}
`, streamKey)
	h := serve(t, cfg, event.Options{Settings: st}, web.Options{Tokens: st})
	g, v := h.ev.Glossary().Get()
	if v != 0 || len(g.Terms) != 1 || g.Terms[0] != "Zyphrex" || g.Speakers[0] != "Ada Oyelaran" || g.Text != "Keynote." {
		t.Fatalf("glossary %+v v%d", g, v)
	}
	prod, _, err := st.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, body string) web.GlossaryInfo {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, h.http.URL+"/api/events/test/glossary", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+prod)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var info web.GlossaryInfo
		if err := json.NewDecoder(resp.Body).Decode(&info); err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", method, resp.StatusCode, err)
		}
		return info
	}
	// restarted is the glossary a new run of the event starts from.
	restarted := func() glossary.Glossary {
		t.Helper()
		ev, err := event.New(cfg, event.Options{Settings: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		defer ev.Close()
		g, _ := ev.Glossary().Get()
		return g
	}
	call("PUT", `{"terms": ["Quorvex"], "text": "Closing words."}`)
	if g := restarted(); len(g.Terms) != 1 || g.Terms[0] != "Quorvex" || len(g.Speakers) != 0 || g.Text != "Closing words." {
		t.Fatalf("after a restart, the glossary set before it is %+v", g)
	}
	if info := call("DELETE", ""); info.Version != 2 || len(info.Terms) != 1 || info.Terms[0] != "Zyphrex" {
		t.Fatalf("DELETE: %+v", info)
	}
	if g := restarted(); len(g.Terms) != 1 || g.Terms[0] != "Zyphrex" || g.Text != "Keynote." {
		t.Fatalf("after a reset and a restart, the glossary is %+v, not the configured one", g)
	}
	// A saved glossary the rules no longer accept is passed over.
	if err := st.SetEventSetting(ctx, "test", "glossary", []byte(`{"speakers": ["--"]}`)); err != nil {
		t.Fatal(err)
	}
	if g := restarted(); len(g.Terms) != 1 || g.Terms[0] != "Zyphrex" || len(g.Speakers) != 1 {
		t.Fatalf("with an invalid saved glossary, the glossary is %+v, not the configured one", g)
	}
}
