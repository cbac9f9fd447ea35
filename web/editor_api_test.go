package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"

	"tolk/captions"
	"tolk/cmd/tolk/event"
	"tolk/internal/media"
	"tolk/internal/store"
	"tolk/web"
)

// edCall sends a JSON request (body nil: none; a string: as is) with a bearer
// token and returns the status, body and headers.
func edCall(t testing.TB, method, url, token string, body any, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
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
	return resp.StatusCode, b, resp.Header
}

func decode[T any](t testing.TB, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return v
}

// jsonError checks a 4xx body is {"error": "..."} and returns the message.
func jsonError(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error == "" {
		t.Fatalf("not a JSON error: %s", b)
	}
	return e.Error
}

type stale struct {
	Error string        `json:"error"`
	Cue   web.CueJSON   `json:"cue"`
	Cues  []web.CueJSON `json:"cues"`
}

// editorFixture serves the export test event with four French cues from the
// recognizer (1–3 s, 4–6 s, 7–9 s, 10–12 s; the second with a doubtful last
// word, the others without confidence, the last a machine translation) and
// an editor and a producer token.
func editorFixture(t *testing.T) (h *exportHarness, base, editor, producer string) {
	t.Helper()
	h = startExport(t)
	ctx := context.Background()
	for i, text := range []string{"Bonjour à tous.", "Bienvenue à la conférence de tolk.", "Commençons.", "Merci."} {
		start := int64(3*i+1) * 48000
		c := captions.Cue{Lang: "fr", Start: start, End: start + 2*48000, Text: text, Final: true}
		if i == 1 {
			c.Confidence = &media.Confidence{Mean: 0.8, Min: 0.3, Words: []float32{0.9, 0.9, 0.9, 0.9, 0.9, 0.3}}
		}
		c.MachineTranslated = i == 3 // the floor's "Thank you.", translated
		if err := h.store.SaveCue(ctx, "test", c); err != nil {
			t.Fatal(err)
		}
	}
	editor = h.token(t, "test", store.RoleEditor, "", "Eddie")
	producer = h.token(t, "test", store.RoleProducer, "", "Paula")
	return h, h.url + "/api/events/test/captions/fr", editor, producer
}

func listCues(t testing.TB, base, token string) ([]web.CueJSON, http.Header) {
	t.Helper()
	code, b, hdr := edCall(t, "GET", base+"/cues", token, nil)
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, b)
	}
	return decode[[]web.CueJSON](t, b), hdr
}

func TestEditorAPIAuth(t *testing.T) {
	leakCheck(t)
	h, base, editor, producer := editorFixture(t)
	interp := h.token(t, "test", store.RoleInterpreter, "fr", "Anne")
	otherEd := h.token(t, "other", store.RoleEditor, "", "Olga")
	cs, _ := listCues(t, base, editor)
	if _, hdr := listCues(t, base, producer); hdr.Get("X-Cue-Seq") == "" {
		t.Error("no X-Cue-Seq")
	}
	patch := map[string]any{"text": "x", "version": 1}
	id := fmt.Sprint(cs[0].ID)
	for _, c := range []struct {
		method, path string
		token        string
		body         any
		want         int
	}{
		{"GET", "/cues", "", nil, 401},
		{"GET", "/cues", "not-a-token", nil, 401},
		{"GET", "/cues", interp, nil, 403},
		{"GET", "/cues", otherEd, nil, 403},
		{"PATCH", "/cues/" + id, "", patch, 401},
		{"PATCH", "/cues/" + id, interp, patch, 403},
		{"PATCH", "/cues/" + id, otherEd, patch, 403},
		{"POST", "/cues/" + id + "/split", interp, map[string]any{"at_ms": 2000, "version": 1}, 403},
		{"POST", "/shift", interp, map[string]any{"from_ms": 0, "offset_ms": 100}, 403},
		{"POST", "/replace", "", map[string]any{"find": "à", "replace": "a"}, 401},
		{"POST", "/undo", interp, nil, 403},
		{"GET", "/cues/" + id + "/versions", interp, nil, 403},
		{"DELETE", "/cues/" + id + "?version=1", interp, nil, 403},
	} {
		code, b, _ := edCall(t, c.method, base+c.path, c.token, c.body)
		if code != c.want {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, code, b, c.want)
			continue
		}
		jsonError(t, b)
	}
	// ?token= works for the list (a page may pass its own).
	if code, b, _ := edCall(t, "GET", base+"/cues?token="+editor, "", nil); code != 200 {
		t.Errorf("?token=: %d %s", code, b)
	}
	// Nothing changed.
	if after, _ := listCues(t, base, editor); after[0].Version != 1 || after[0].Text != cs[0].Text {
		t.Errorf("refused requests changed a cue: %+v", after[0])
	}
	// Unknown event, language and cue.
	for _, c := range []struct{ method, url string }{
		{"GET", h.url + "/api/events/nope/captions/fr/cues"},
		{"GET", h.url + "/api/events/test/captions/de/cues"},
		{"PATCH", base + "/cues/999999"},
		{"PATCH", h.url + "/api/events/test/captions/es/cues/" + id},
		{"GET", base + "/nothing"},
		{"POST", base + "/cues/" + id + "/explode"},
	} {
		if code, b, _ := edCall(t, c.method, c.url, editor, map[string]any{"text": "x", "version": 1}); code != 404 {
			t.Errorf("%s %s: %d %s, want 404", c.method, c.url, code, b)
		} else {
			jsonError(t, b)
		}
	}
}

func TestEditorAPI(t *testing.T) {
	leakCheck(t)
	h, base, editor, producer := editorFixture(t)
	cs, hdr := listCues(t, base, editor)
	if len(cs) != 4 {
		t.Fatalf("%d cues", len(cs))
	}
	c := cs[1]
	if c.StartMS != 4000 || c.EndMS != 6000 || c.Version != 1 || c.Reviewed || c.Original != nil || c.EditedBy != "recognizer" ||
		c.EditedRole != "recognizer" || c.EditedAt == "" || c.Seq == 0 {
		t.Errorf("listed cue = %+v", c)
	}
	// The recognizer's doubt: its least sure word under 0.5.
	if k := c.Confidence; k == nil || k.By != "recognizer" || k.Mean != 0.8 || k.Min != 0.3 || len(k.Words) != 6 ||
		fmt.Sprint(k.LowWords) != "[5]" || !k.Doubtful {
		t.Errorf("confidence = %+v", k)
	}
	if cs[0].Confidence != nil {
		t.Errorf("a cue without confidence has %+v", cs[0].Confidence)
	}
	if !cs[3].MachineTranslated || cs[0].MachineTranslated || cs[1].MachineTranslated {
		t.Errorf("machine translation marks %v %v %v", cs[0].MachineTranslated, cs[1].MachineTranslated, cs[3].MachineTranslated)
	}
	// 34 characters in 2 s: 17 cps, at the limit; 9 more per second with
	// ?max_cps=10 is a warning.
	if c.Checks.Chars != 34 || c.Checks.CPS != 17 || len(c.Checks.Warnings) != 0 {
		t.Errorf("checks = %+v", c.Checks)
	}
	code, b, _ := edCall(t, "GET", base+"/cues?max_cps=10&max_line=20", editor, nil)
	if strict := decode[[]web.CueJSON](t, b); code != 200 || fmt.Sprint(strict[1].Checks.Warnings) != "[reading_speed line_length]" {
		t.Errorf("stricter limits: %d %+v", code, strict[1].Checks)
	}
	if code, b, _ := edCall(t, "GET", base+"/cues?max_cps=abc", editor, nil); code != 400 {
		t.Errorf("bad limit: %d %s", code, b)
	}
	code, b, _ = edCall(t, "GET", base+"/limits", editor, nil)
	if l := decode[map[string]float64](t, b); code != 200 || l["max_cps"] != 17 || l["max_line"] != 42 || l["max_lines"] != 2 || l["min_ms"] != 833 || l["max_ms"] != 7000 {
		t.Errorf("limits: %d %s", code, b)
	}
	// The list's ETag answers 304 while nothing changed.
	etag := hdr.Get("ETag")
	if code, _, _ := edCall(t, "GET", base+"/cues", editor, nil, "If-None-Match", etag); code != http.StatusNotModified {
		t.Errorf("If-None-Match %s: %d", etag, code)
	}
	seq := hdr.Get("X-Cue-Seq")

	// The editor changes the text: a new version by them.
	path := fmt.Sprintf("%s/cues/%d", base, c.ID)
	code, b, _ = edCall(t, "PATCH", path, editor, map[string]any{"text": "Bienvenue à la conférence\nde Tolk.", "version": 1})
	if code != 200 {
		t.Fatalf("patch: %d %s", code, b)
	}
	e := decode[web.CueJSON](t, b)
	if e.Version != 2 || e.Text != "Bienvenue à la conférence\nde Tolk." || e.EditedBy != "Eddie" || e.EditedRole != "editor" ||
		e.Original == nil || e.Original.Text != "Bienvenue à la conférence de tolk." || e.Checks.Lines != 2 {
		t.Errorf("patched = %+v", e)
	}
	// Its text is a person's now: no longer doubtful.
	if k := e.Confidence; k == nil || k.By != "editor" || k.Mean != 1 || k.Min != 1 || k.Words != nil || k.Doubtful {
		t.Errorf("confidence after the edit = %+v", k)
	}

	// The producer, still on version 1, is refused with the newer text.
	code, b, _ = edCall(t, "PATCH", path, producer, map[string]any{"text": "Autre chose.", "version": 1})
	if code != http.StatusConflict {
		t.Fatalf("stale patch: %d %s", code, b)
	}
	if st := decode[stale](t, b); st.Error == "" || st.Cue.ID != c.ID || st.Cue.Version != 2 || st.Cue.Text != e.Text || len(st.Cues) != 1 {
		t.Errorf("409 body = %+v", st)
	}

	// Bad times and texts: 400 with a JSON error, nothing changed.
	for _, bad := range []map[string]any{
		{"start_ms": -1, "version": 2},
		{"start_ms": 5000, "end_ms": 4500, "version": 2},
		{"end_ms": 4000, "version": 2},
		{"end_ms": 7500, "version": 2},   // onto 7–9 s
		{"start_ms": 2500, "version": 2}, // onto 1–3 s
		{"text": strings.Repeat("é", store.MaxCueText+1), "version": 2},
		{"text": "x"},
		{"version": 2},
		{"text": "x", "version": 2, "colour": "red"},
	} {
		code, b, _ := edCall(t, "PATCH", path, editor, bad)
		if code != 400 {
			t.Errorf("%v: %d %s, want 400", bad, code, b)
			continue
		}
		msg := jsonError(t, b)
		t.Logf("%v → %s", bad, msg)
	}
	code, b, _ = edCall(t, "PATCH", path, editor, map[string]any{"end_ms": 7500, "version": 2})
	if ov := decode[map[string]json.RawMessage](t, b); code != 400 || ov["overlaps"] == nil || decode[web.CueJSON](t, ov["overlaps"]).ID != cs[2].ID {
		t.Errorf("overlap answer: %d %s", code, b)
	}
	for _, raw := range []string{`{"version": 2, "text": "a"} {}`, `[1]`, `{"version": "2"}`, `{"version": 2, "start_ms": 1.5}`, ``, `{`} {
		if code, b, _ := edCall(t, "PATCH", path, editor, raw); code != 400 {
			t.Errorf("body %q: %d %s", raw, code, b)
		} else {
			jsonError(t, b)
		}
	}
	if code, b, _ := edCall(t, "PATCH", path, editor, `{"text": "`+strings.Repeat("x", 70000)+`", "version": 2}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("huge body: %d %.100s", code, b)
	}
	if after, _ := listCues(t, base, editor); after[1].Version != 2 || after[1].Text != e.Text || after[1].StartMS != 4000 || after[1].EndMS != 6000 {
		t.Fatalf("refused changes changed the cue: %+v", after[1])
	}

	// The changes since the first list: only this cue.
	code, b, hdr = edCall(t, "GET", base+"/cues?since="+seq, editor, nil)
	if ch := decode[[]web.CueJSON](t, b); code != 200 || len(ch) != 1 || ch[0].ID != c.ID || hdr.Get("X-Cue-Seq") == seq {
		t.Errorf("changes since %s: %d %s", seq, code, b)
	}
	seq = hdr.Get("X-Cue-Seq")

	// A waiting change list wakes on the next change.
	type answer struct {
		code int
		body []byte
	}
	got := make(chan answer, 1)
	began := time.Now()
	go func() {
		code, b, _ := edCall(t, "GET", base+"/cues?since="+seq+"&wait=15", producer, nil)
		got <- answer{code, b}
	}()
	time.Sleep(200 * time.Millisecond) // let it wait; it returns the change either way
	code, b, _ = edCall(t, "PATCH", path, producer, map[string]any{"reviewed": true, "start_ms": 3500, "version": 2})
	if code != 200 {
		t.Fatalf("mark reviewed: %d %s", code, b)
	}
	a := <-got
	if ch := decode[[]web.CueJSON](t, a.body); a.code != 200 || len(ch) != 1 || !ch[0].Reviewed || ch[0].StartMS != 3500 || ch[0].EditedBy != "Paula" {
		t.Errorf("waited changes: %d %s", a.code, a.body)
	}
	t.Logf("a waiting change list answered %v after it was asked (including the 200 ms before the change)", time.Since(began).Round(time.Millisecond))

	// History.
	code, b, _ = edCall(t, "GET", path+"/versions", editor, nil)
	vs := decode[struct {
		Cue      web.CueJSON       `json:"cue"`
		Versions []web.VersionJSON `json:"versions"`
	}](t, b)
	if code != 200 || len(vs.Versions) != 3 || vs.Versions[0].Kind != "recognizer" || vs.Versions[1].By != "Eddie" ||
		vs.Versions[2].By != "Paula" || !vs.Versions[2].Reviewed || vs.Cue.Version != 3 {
		t.Errorf("versions: %d %s", code, b)
	}

	// Split, merge, shift, replace, undo.
	third := cs[2] // "Commençons." 7–9 s
	code, b, _ = edCall(t, "POST", fmt.Sprintf("%s/cues/%d/split", base, third.ID), editor,
		map[string]any{"at_ms": 8000, "version": 1, "text_before": "Commen-", "text_after": "çons."})
	op := decode[web.OpResultJSON](t, b)
	if code != 200 || op.Op == nil || op.Op.Kind != "split" || len(op.Cues) != 2 || op.Cues[0].EndMS != 8000 || op.Cues[1].Text != "çons." {
		t.Fatalf("split: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", fmt.Sprintf("%s/cues/%d/merge", base, third.ID), editor,
		map[string]any{"version": 2, "next_version": 1})
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Cues[0].Text != "Commen-\nçons." || !op.Cues[1].Deleted {
		t.Fatalf("merge: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", fmt.Sprintf("%s/cues/%d/merge", base, third.ID), editor,
		map[string]any{"version": 3, "next_version": 7})
	if st := decode[stale](t, b); code != 409 || len(st.Cues) != 2 {
		t.Errorf("merge with a stale next version: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/shift", editor, map[string]any{"from_ms": 9500, "offset_ms": 250})
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Changed != 1 || op.Op.Kind != "shift" {
		t.Errorf("shift: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/shift", editor, map[string]any{"from_ms": 9500, "offset_ms": -5000})
	if code != 400 {
		t.Errorf("shift onto the cue before: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/replace", editor, map[string]any{"find": "À", "replace": "a", "whole_word": true, "case": false})
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Changed != 2 || op.Replaced != 2 {
		t.Errorf("replace: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/undo", editor, nil)
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Changed != 2 || op.Op.Kind != "undo" {
		t.Errorf("undo replace: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/replace", editor, map[string]any{"find": ""})
	if code != 400 {
		t.Errorf("empty find: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/replace", editor, map[string]any{"find": "zzz", "replace": "y"})
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Changed != 0 || op.Op != nil || op.Seq == 0 {
		t.Errorf("replace of nothing: %d %s", code, b)
	}
	// Undo on the cue the producer marked: the replace was undone already
	// (version 5 now), so the producer's change goes, back to the editor's
	// text.
	code, b, _ = edCall(t, "POST", path+"/undo", editor, map[string]any{"version": 5})
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Cues[0].Reviewed || op.Cues[0].StartMS != 4000 || op.Cues[0].Version != 6 ||
		op.Cues[0].Text != e.Text {
		t.Errorf("undo cue: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", path+"/restore", editor, map[string]any{"version": 6})
	if r := decode[web.CueJSON](t, b); code != 200 || r.Text != "Bienvenue à la conférence de tolk." || r.Original != nil {
		t.Errorf("restore the original: %d %s", code, b)
	}
	code, b, _ = edCall(t, "POST", base+"/cues", editor, map[string]any{"start_ms": 20000, "end_ms": 21500, "text": "Applaudissements."})
	added := decode[web.CueJSON](t, b)
	if code != 201 || added.Version != 1 || added.EditedBy != "Eddie" {
		t.Errorf("add: %d %s", code, b)
	}
	if code, b, _ := edCall(t, "DELETE", fmt.Sprintf("%s/cues/%d?version=1", base, added.ID), editor, nil); code != 200 || !decode[web.CueJSON](t, b).Deleted {
		t.Errorf("delete: %d %s", code, b)
	}
	code, b, _ = edCall(t, "GET", base+"/ops", editor, nil)
	ops := decode[struct {
		Ops []web.OpJSON `json:"ops"`
	}](t, b)
	// edit, edit, split, merge, shift, replace, undo, undo, restore, add, delete
	if code != 200 || len(ops.Ops) != 11 || ops.Ops[0].Kind != "delete" || ops.Ops[len(ops.Ops)-1].Kind != "edit" {
		t.Errorf("ops: %d %s", code, b)
	}
	// The last cue's latest change is the shift: undoing it on the cue
	// takes the shift back; then there is nothing left to undo (409).
	code, b, _ = edCall(t, "POST", fmt.Sprintf("%s/cues/%d/undo", base, cs[3].ID), editor, map[string]any{"version": 2})
	if op := decode[web.OpResultJSON](t, b); code != 200 || op.Op.Undoes == 0 || op.Cues[0].StartMS != 10000 {
		t.Errorf("undo of the shift on its cue: %d %s", code, b)
	}
	if code, b, _ := edCall(t, "POST", fmt.Sprintf("%s/cues/%d/undo", base, cs[3].ID), editor, map[string]any{"version": 3}); code != 409 {
		t.Errorf("undo of a cue as the recognizer wrote it: %d %s", code, b)
	} else {
		jsonError(t, b)
	}

	// Exports carry the edits. The first cue went through the replace and
	// its undo: version 3.
	code, b, _ = edCall(t, "PATCH", fmt.Sprintf("%s/cues/%d", base, cs[0].ID), editor, map[string]any{"text": "Bonjour à toutes et à tous.", "end_ms": 3200, "version": 3})
	if code != 200 {
		t.Fatalf("patch: %d %s", code, b)
	}
	for _, f := range []string{"fr.srt", "fr.vtt"} {
		code, b, _ := edCall(t, "GET", h.url+"/api/events/test/captions/"+f, editor, nil)
		var s *astisub.Subtitles
		var err error
		if f == "fr.srt" {
			s, err = astisub.ReadFromSRT(bytes.NewReader(b))
		} else {
			s, err = astisub.ReadFromWebVTT(bytes.NewReader(b))
		}
		if code != 200 || err != nil || len(s.Items) != 4 || s.Items[0].String() != "Bonjour à toutes et à tous." ||
			s.Items[0].EndAt != 3200*time.Millisecond || len(s.Items[2].Lines) != 2 || s.Items[2].Lines[1].String() != "çons." {
			t.Errorf("%s: %d %v %v", f, code, err, s)
		}
	}
	code, b, hdr = edCall(t, "GET", h.url+"/api/events/test/captions/fr.ebu-tt-d.xml", editor, nil)
	var doc struct {
		XMLName xml.Name `xml:"http://www.w3.org/ns/ttml tt"`
		Spans   []string `xml:"http://www.w3.org/ns/ttml body>div>p>span"`
	}
	if err := xml.Unmarshal(b, &doc); code != 200 || err != nil || len(doc.Spans) < 1 || doc.Spans[0] != "Bonjour à toutes et à tous." ||
		!strings.Contains(hdr.Get("Content-Disposition"), "test-fr.ebu-tt-d.xml") {
		t.Errorf("ebu-tt-d: %d %v %+v %s", code, err, doc, hdr.Get("Content-Disposition"))
	}
}

// TestEditorRoutes shows the editor's routes live beside the export and
// the live captions WebSocket: each request reaches its own handler.
func TestEditorRoutes(t *testing.T) {
	leakCheck(t)
	h, base, editor, _ := editorFixture(t)
	if code, b, _ := edCall(t, "GET", h.url+"/api/events/test/captions/fr.srt", editor, nil); code != 200 || !bytes.Contains(b, []byte("Bonjour")) {
		t.Errorf("export: %d %s", code, b)
	}
	// Not a WebSocket handshake: the live handler answers, not the editor.
	code, b, _ := edCall(t, "GET", h.url+"/api/events/test/captions/live/fr", "", nil)
	if code == 200 || code == 401 {
		t.Errorf("live captions without a handshake: %d %s", code, b)
	}
	if code, b, _ := edCall(t, "GET", h.url+"/api/events/test/captions/live/cues", editor, nil); code == 200 || code == 401 {
		t.Errorf("/captions/live/cues reached the editor: %d %s", code, b)
	}
	if code, _, _ := edCall(t, "GET", base+"/cues", editor, nil); code != 200 {
		t.Errorf("cues: %d", code)
	}
}

// FuzzEditorRequests sends arbitrary bodies to every editor request: each
// answer is a 2xx, or a 4xx with a JSON error; never a 5xx.
func FuzzEditorRequests(f *testing.F) {
	f.Add(0, `{"text": "x", "version": 1}`)
	f.Add(0, `{"start_ms": 100, "end_ms": 50, "version": 1}`)
	f.Add(1, `{"at_ms": 2000, "version": 1, "text_before": "a"}`)
	f.Add(2, `{"version": 1, "next_version": 1, "text": null}`)
	f.Add(3, `{"from_ms": 0, "offset_ms": -99999999999999}`)
	f.Add(4, `{"find": "[", "replace": "$1", "whole_word": true, "case": true}`)
	f.Add(5, ``)
	f.Add(6, `{"version": 1}`)
	f.Add(7, `{"version": 1, "to_version": 99}`)
	f.Add(8, `{"start_ms": 9223372036854775807, "end_ms": 1, "text": "\u0000"}`)
	f.Add(9, `{"op": -1}`)
	st, err := store.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for i := 0; i < 5; i++ {
		s := int64(3*i+1) * 48000
		if err := st.SaveCue(ctx, "test", captions.Cue{Lang: "fr", Start: s, End: s + 96000, Text: "un deux trois", Final: true}); err != nil {
			f.Fatal(err)
		}
	}
	secret, _, err := st.CreateToken(ctx, "test", store.RoleEditor, "", "Fuzz")
	if err != nil {
		f.Fatal(err)
	}
	srv := serve(f, whipConfig(f), event.Options{}, web.Options{Tokens: st, Cues: st}).srv
	base := "/api/events/test/captions/fr"
	f.Fuzz(func(t *testing.T, which int, body string) {
		reqs := []struct{ method, path string }{
			{"PATCH", "/cues/2"}, {"POST", "/cues/3/split"}, {"POST", "/cues/1/merge"}, {"POST", "/shift"},
			{"POST", "/replace"}, {"POST", "/undo"}, {"POST", "/cues/2/undo"}, {"POST", "/cues/2/restore"},
			{"POST", "/cues"}, {"POST", "/undo"}, {"GET", "/cues?wait=0.1&since=" + url.QueryEscape(body)},
			{"DELETE", "/cues/4?version=" + url.QueryEscape(body)}, {"GET", "/cues?max_cps=" + url.QueryEscape(body)},
		}
		rq := reqs[uint(which)%uint(len(reqs))]
		var rd io.Reader
		path := rq.path
		if rq.method != "GET" && rq.method != "DELETE" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(rq.method, base+path, rd)
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 200 && rec.Code < 300:
		case rec.Code >= 400 && rec.Code < 500:
			if !strings.Contains(rec.Body.String(), `"error"`) {
				t.Fatalf("%s %s %q: %d without a JSON error: %s", rq.method, path, body, rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("%s %s %q: status %d: %s", rq.method, path, body, rec.Code, rec.Body.String())
		}
	})
}
