package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"testing"
	"time"

	"github.com/asticode/go-astisub"

	"tolk/captions"
	"tolk/cmd/tolk/event"
	"tolk/internal/store"
	"tolk/web"
)

// exportHarness serves one event whose cues and tokens live in a store.
type exportHarness struct {
	url   string
	store *store.Store
}

func startExport(t *testing.T) *exportHarness {
	t.Helper()
	cfg := eventConfig(t, `
id: test
title: Export test
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}, {tag: es}]
`, streamKey)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := serve(t, cfg, event.Options{}, web.Options{Tokens: st, Cues: st})
	return &exportHarness{url: h.http.URL, store: st}
}

func (h *exportHarness) token(t *testing.T, event string, role store.Role, lang, name string) string {
	t.Helper()
	secret, _, err := h.store.CreateToken(context.Background(), event, role, lang, name)
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func exportGet(t *testing.T, url, bearer string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestExportHTTP(t *testing.T) {
	leakCheck(t)
	h := startExport(t)
	ctx := context.Background()
	for i, text := range []string{"Bonjour à tous.", "Merci d'être venus,\net bienvenue."} {
		start := int64(i*4+1) * 48000
		if err := h.store.SaveCue(ctx, "test", captions.Cue{Lang: "fr", Start: start, End: start + 3*48000, Text: text, Final: true}); err != nil {
			t.Fatal(err)
		}
	}
	editor := h.token(t, "test", store.RoleEditor, "", "Ed")
	producer := h.token(t, "test", store.RoleProducer, "", "")
	base := h.url + "/api/events/test/captions/"

	for _, c := range []struct{ file, ctype string }{
		{"fr.srt", "application/x-subrip"}, {"fr.vtt", "text/vtt"}, {"fr.ttml", "application/ttml+xml"}, {"fr.stl", "application/octet-stream"},
	} {
		resp, body := exportGet(t, base+c.file, editor)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", c.file, resp.StatusCode, body)
		}
		if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != c.ctype {
			t.Errorf("%s: Content-Type %q, want %s", c.file, resp.Header.Get("Content-Type"), c.ctype)
		}
		if d, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err != nil || d != "attachment" || params["filename"] != "test-"+c.file {
			t.Errorf("%s: Content-Disposition %q", c.file, resp.Header.Get("Content-Disposition"))
		}
		var s *astisub.Subtitles
		var err error
		switch c.file {
		case "fr.srt":
			s, err = astisub.ReadFromSRT(bytes.NewReader(body))
		case "fr.vtt":
			s, err = astisub.ReadFromWebVTT(bytes.NewReader(body))
		case "fr.ttml":
			s, err = astisub.ReadFromTTML(bytes.NewReader(body))
		case "fr.stl":
			s, err = astisub.ReadFromSTL(bytes.NewReader(body), astisub.STLOptions{})
		}
		if err != nil || len(s.Items) != 2 || s.Items[1].StartAt != 5*time.Second || s.Items[0].String() != "Bonjour à tous." {
			t.Errorf("%s: %v, %d cues: %v", c.file, err, len(s.Items), s.Items)
		}
	}

	// A producer, by link, shifted and cut.
	resp, body := exportGet(t, base+"FR.srt?token="+producer+"&offset=1s&from=2s", "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("producer link: %d %s", resp.StatusCode, body)
	}
	s, err := astisub.ReadFromSRT(bytes.NewReader(body))
	if err != nil || len(s.Items) != 2 || s.Items[0].StartAt != time.Second || s.Items[1].StartAt != 4*time.Second {
		t.Fatalf("shifted export: %v %v", err, s.Items)
	}

	// A language of the event without cues yet: an empty, valid file.
	resp, body = exportGet(t, base+"es.vtt", editor)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("es.vtt: %d %s", resp.StatusCode, body)
	}
	if s, err := astisub.ReadFromWebVTT(bytes.NewReader(body)); err != nil || len(s.Items) != 0 {
		t.Errorf("es.vtt: %v, %d cues", err, len(s.Items))
	}

	interp := h.token(t, "test", store.RoleInterpreter, "fr", "Anne")
	otherEd := h.token(t, "other", store.RoleEditor, "", "")
	revoked := h.token(t, "test", store.RoleEditor, "", "")
	if err := h.store.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url, bearer string
		code        int
	}{
		{base + "fr.srt", "", http.StatusUnauthorized},
		{base + "fr.srt", "nonsense", http.StatusUnauthorized},
		{base + "fr.srt", revoked, http.StatusUnauthorized},
		{base + "fr.srt", interp, http.StatusForbidden},
		{base + "fr.srt", otherEd, http.StatusForbidden},
		{base + "fr.ass", editor, http.StatusBadRequest},
		{base + "fr", editor, http.StatusBadRequest},
		{base + "fr.srt?offset=soon", editor, http.StatusBadRequest},
		{base + "fr.srt?from=5s&to=1s", editor, http.StatusBadRequest},
		{base + "fr.stl?offset=24h", editor, http.StatusBadRequest}, // past EBU STL's last time code
		{base + "de.srt", editor, http.StatusNotFound},
		{base + "not%20a%20tag.srt", editor, http.StatusNotFound},
		{h.url + "/api/events/nope/captions/fr.srt", editor, http.StatusNotFound},
	} {
		resp, body := exportGet(t, c.url, c.bearer)
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != c.code || json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s (token %.8q): %d %s; want %d with {\"error\"}", c.url, c.bearer, resp.StatusCode, body, c.code)
		}
	}
}
