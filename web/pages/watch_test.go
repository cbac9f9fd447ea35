package pages

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"go.uber.org/goleak"
	"golang.org/x/net/html"

	"tolk/locales"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var demo = WatchData{
	EventID: "demo",
	Title:   "Demo <Conference> & Co",
	Renditions: []Rendition{
		{Tag: "en", Name: "English", Floor: true},
		{Tag: "fr", Name: "Français"},
		{Tag: "es", Name: "Español"},
	},
	HLSURL:  "/hls/demo/master.m3u8",
	WHEPURL: "/whep/demo/{lang}",
}

// rendered is a watch page as a browser would see it.
type rendered struct {
	resp *http.Response
	body string
	doc  *html.Node
}

func renderWatch(t testing.TB, d WatchData, target string) rendered {
	t.Helper()
	rec := httptest.NewRecorder()
	Watch(rec, httptest.NewRequest(http.MethodGet, target, nil), d)
	resp := rec.Result()
	body := rec.Body.String()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	return rendered{resp, body, doc}
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

// options lists a select's options as (value, text).
func options(sel *html.Node) [][2]string {
	var opts [][2]string
	walk(sel, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "option" {
			v, _ := attr(n, "value")
			opts = append(opts, [2]string{v, text(n)})
		}
	})
	return opts
}

// labelled returns the ids that the labels point at.
func labelled(labels []*html.Node) map[string]bool {
	ids := map[string]bool{}
	for _, l := range labels {
		if f, ok := attr(l, "for"); ok {
			ids[f] = true
		}
	}
	return ids
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func (r rendered) byID(id string) *html.Node {
	var found *html.Node
	walk(r.doc, func(n *html.Node) {
		if v, ok := attr(n, "id"); ok && v == id && found == nil {
			found = n
		}
	})
	return found
}

func (r rendered) all(tag string) []*html.Node {
	var out []*html.Node
	walk(r.doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
	})
	return out
}

func (r rendered) jsonScript(t testing.TB, id string, v any) {
	t.Helper()
	n := r.byID(id)
	if n == nil {
		t.Fatalf("no #%s", id)
	}
	if typ, _ := attr(n, "type"); typ != "application/json" {
		t.Fatalf("#%s has type %q", id, typ)
	}
	if err := json.Unmarshal([]byte(text(n)), v); err != nil {
		t.Fatalf("#%s is not JSON: %v\n%s", id, err, text(n))
	}
}

func TestWatchLocales(t *testing.T) {
	cases := []struct{ locale, wantLang, play string }{
		{"en", "en", "Play"},
		{"fr", "fr", "Écouter"},
		{"fr-CA", "fr", "Écouter"},
		{"", "en", "Play"},
		{"tlh", "en", "Play"},
	}
	for _, loc := range locales.Locales() {
		cases = append(cases, struct{ locale, wantLang, play string }{loc, loc, locales.Catalog(loc)["watch.play"]})
	}
	for _, tc := range cases {
		t.Run(tc.locale, func(t *testing.T) {
			d := demo
			d.Locale = tc.locale
			r := renderWatch(t, d, "/watch/demo")
			if r.resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.resp.StatusCode)
			}
			if ct := r.resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cl := r.resp.Header.Get("Content-Language"); cl != tc.wantLang {
				t.Errorf("Content-Language %q, want %q", cl, tc.wantLang)
			}
			root := r.all("html")[0]
			if lang, _ := attr(root, "lang"); lang != tc.wantLang {
				t.Errorf("<html lang=%q>, want %q", lang, tc.wantLang)
			}
			if dir, _ := attr(root, "dir"); dir != locales.Dir(tc.wantLang) {
				t.Errorf("<html dir=%q>, want %q", dir, locales.Dir(tc.wantLang))
			}
			if strings.Contains(r.body, missing) {
				t.Errorf("page has a missing-key marker")
			}
			if got := strings.TrimSpace(text(r.byID("play"))); got != tc.play {
				t.Errorf("play button %q, want %q", got, tc.play)
			}
			var msgs map[string]string
			r.jsonScript(t, "tolk-messages", &msgs)
			if msgs["watch.state.live"] != locales.Catalog(tc.wantLang)["watch.state.live"] {
				t.Errorf("embedded messages are not the %s catalog", tc.wantLang)
			}
			var cfg watchConfig
			r.jsonScript(t, "tolk-config", &cfg)
			if cfg.Locale != tc.wantLang {
				t.Errorf("config locale %q, want %q", cfg.Locale, tc.wantLang)
			}
		})
	}
}

func TestWatchContent(t *testing.T) {
	d := demo
	d.Locale = "fr"
	r := renderWatch(t, d, "/watch/demo?lang=fr&audio=es")

	if got := text(r.all("title")[0]); got != "Demo <Conference> & Co · Interprétation en direct" {
		t.Errorf("<title> %q", got)
	}
	if got := text(r.byID("title")); got != d.Title {
		t.Errorf("<h1> %q, want the title as text", got)
	}
	if strings.Contains(r.body, "<Conference>") {
		t.Error("title is not escaped")
	}

	// The language picker: one labelled option per rendition, floor marked.
	sel := r.byID("lang")
	if sel == nil || sel.Data != "select" {
		t.Fatal("no <select id=lang>")
	}
	opts := options(sel)
	want := [][2]string{{"en", "English (langue originale)"}, {"fr", "Français"}, {"es", "Español"}}
	if !slices.Equal(opts, want) {
		t.Errorf("options %v, want %v", opts, want)
	}

	// Every form control has a label.
	labels := labelled(r.all("label"))
	for _, tag := range []string{"select", "input"} {
		for _, n := range r.all(tag) {
			id, _ := attr(n, "id")
			if !labels[id] {
				t.Errorf("<%s id=%q> has no label", tag, id)
			}
		}
	}
	var modes []string
	for _, n := range r.all("input") {
		if name, _ := attr(n, "name"); name == "mode" {
			v, _ := attr(n, "value")
			modes = append(modes, v)
		}
	}
	if !slices.Equal(modes, []string{"webrtc", "hls"}) {
		t.Errorf("modes %v", modes)
	}
	if got := text(r.byID("mode-webrtc").Parent); !strings.Contains(got, "Faible latence (WebRTC)") {
		t.Errorf("WebRTC choice reads %q", got)
	}

	meter := r.byID("meter")
	for k, v := range map[string]string{"role": "meter", "aria-valuemin": "-60", "aria-valuemax": "0", "aria-valuenow": "-60", "aria-labelledby": "meter-label"} {
		if got, _ := attr(meter, k); got != v {
			t.Errorf("meter %s=%q, want %q", k, got, v)
		}
	}
	if got := text(r.byID("meter-label")); got != "Niveau sonore" {
		t.Errorf("meter label %q", got)
	}
	state := r.byID("state")
	if live, _ := attr(state, "aria-live"); live != "polite" {
		t.Errorf("state line aria-live=%q", live)
	}
	if role, _ := attr(state, "role"); role != "status" {
		t.Errorf("state line role=%q", role)
	}

	var cfg watchConfig
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Event != "demo" || cfg.HLS != d.HLSURL || cfg.WHEP != d.WHEPURL || len(cfg.Renditions) != 3 || !cfg.Renditions[0].Floor {
		t.Errorf("config %+v", cfg)
	}

	// The UI-locale links keep the other query parameters.
	var hrefs []string
	for _, a := range r.all("a") {
		h, _ := attr(a, "href")
		hrefs = append(hrefs, h)
	}
	if !slices.Contains(hrefs, "?audio=es&lang=en") {
		t.Errorf("locale links %v", hrefs)
	}
}

// TestWatchSelfContained checks what a strict CSP needs: no inline script or
// handler, no style attribute, no reference off the server, and every asset
// the page names is served.
func TestWatchSelfContained(t *testing.T) {
	d := demo
	d.Locale = "en"
	r := renderWatch(t, d, "/watch/demo")
	csp := r.resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	static := Static()
	var refs int
	walk(r.doc, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
				t.Errorf("<%s %s=...>: inline code or style", n.Data, a.Key)
			}
			if a.Key != "src" && a.Key != "href" {
				continue
			}
			if strings.Contains(a.Val, "//") {
				t.Errorf("<%s %s=%q> leaves the server", n.Data, a.Key, a.Val)
			}
			if !strings.HasPrefix(a.Val, "/static/") {
				continue
			}
			refs++
			rec := httptest.NewRecorder()
			req := httptest.NewRequest(http.MethodGet, strings.TrimPrefix(a.Val, "/static"), nil)
			static.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
				t.Errorf("%s: status %d, %d bytes", a.Val, rec.Code, rec.Body.Len())
			}
			if !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
				t.Errorf("%s: versioned asset not cacheable: %q", a.Val, rec.Header().Get("Cache-Control"))
			}
		}
		if n.Data == "script" {
			src, hasSrc := attr(n, "src")
			typ, _ := attr(n, "type")
			if !hasSrc && typ != "application/json" {
				t.Errorf("inline script %q", text(n))
			}
			_ = src
		}
	})
	if refs != 4 {
		t.Errorf("page references %d static assets, want 4 (css, hls.js, common.js, watch.js)", refs)
	}
	scripts, _ := staticFS.ReadFile("static/watch.js")
	if regexp.MustCompile(`https?://`).Match(scripts) {
		t.Error("watch.js names an absolute URL")
	}
}

func TestWatchWithoutLanguagesOrWebRTC(t *testing.T) {
	r := renderWatch(t, WatchData{EventID: "x", Title: "X", HLSURL: "https://cdn.example/x/master.m3u8", Locale: "en"}, "/watch/x")
	if r.byID("lang") != nil || r.byID("no-lang") == nil {
		t.Error("without renditions the page must say no language is on air")
	}
	if r.byID("mode-webrtc") != nil || r.byID("mode-hls") == nil {
		t.Error("without a WHEP URL only the HLS mode is offered")
	}
	if csp := r.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "connect-src 'self' https://cdn.example") {
		t.Errorf("CSP %q does not allow the HLS origin", csp)
	}
	var cfg watchConfig
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Renditions == nil {
		t.Error("renditions must be a JSON array, not null")
	}
}

// TestMessageKeys ties the catalog to the page: every key the script or the
// template asks for exists, and every watch.* key is used somewhere.
func TestMessageKeys(t *testing.T) {
	en := locales.Catalog("en")
	js, _ := staticFS.ReadFile("static/watch.js")
	tmpl, _ := templateFS.ReadFile("templates/watch.html")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`'(watch\.[a-z_.]+)'`).FindAllSubmatch(js, -1) {
		used[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`\.TF? "(watch\.[a-z_.]+)"`).FindAllSubmatch(tmpl, -1) {
		used[string(m[1])] = true
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used but not in en.json", k)
		}
	}
	for k := range en {
		if strings.HasPrefix(k, "watch.") && !used[k] {
			t.Errorf("key %q is in en.json but the watch page never uses it", k)
		}
	}
}

// TestHLSJSCopy keeps the served hls.js identical to the one the lock file
// installs.
func TestHLSJSCopy(t *testing.T) {
	want, err := os.ReadFile("../node_modules/hls.js/dist/hls.min.js")
	if os.IsNotExist(err) {
		t.Skip("web/node_modules not installed (npm ci in web/)")
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := staticFS.ReadFile("static/hls.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if sha256.Sum256(got) != sha256.Sum256(want) {
		t.Fatal("static/hls.min.js differs from web/node_modules/hls.js/dist/hls.min.js: copy it again")
	}
}

func TestStatic(t *testing.T) {
	h := Static()
	get := func(method, target string, hdr map[string]string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, target, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for name, ctype := range map[string]string{"/watch.js": "text/javascript", "/watch.css": "text/css", "/hls.min.js": "text/javascript"} {
		rec := get(http.MethodGet, name, nil)
		if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), ctype) {
			t.Errorf("%s: %d %q", name, rec.Code, rec.Header().Get("Content-Type"))
		}
		if rec.Header().Get("Cache-Control") != "no-cache" {
			t.Errorf("%s without version: Cache-Control %q", name, rec.Header().Get("Cache-Control"))
		}
		etag := rec.Header().Get("ETag")
		if again := get(http.MethodGet, name, map[string]string{"If-None-Match": etag}); again.Code != http.StatusNotModified {
			t.Errorf("%s: If-None-Match gave %d", name, again.Code)
		}
	}
	for _, target := range []string{"/nope.js", "/../pages.go", "/", "/static/watch.js", "/templates/watch.html"} {
		rec := get(http.MethodGet, target, nil)
		var body map[string]string
		if rec.Code != http.StatusNotFound || json.Unmarshal(rec.Body.Bytes(), &body) != nil || body["error"] == "" {
			t.Errorf("%s: %d %q, want 404 with a JSON error", target, rec.Code, rec.Body.String())
		}
	}
	if rec := get(http.MethodPost, "/watch.js", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", rec.Code)
	}
	if rec := get(http.MethodHead, "/watch.css", nil); rec.Code != http.StatusOK || rec.Body.Len() != 0 {
		t.Errorf("HEAD: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

func FuzzWatch(f *testing.F) {
	f.Add("Demo", "fr", "Français", "/whep/demo/{lang}", "fr")
	f.Add("</script><script>alert(1)</script>", "x\"y", "<!--", "javascript:alert(1)", "ar")
	f.Add("\u2028\u2029", "", "", "https://h/{lang}", "")
	f.Fuzz(func(t *testing.T, title, tag, name, whep, locale string) {
		d := WatchData{EventID: "e", Title: title, Renditions: []Rendition{{Tag: tag, Name: name}}, HLSURL: "/hls/e/master.m3u8", WHEPURL: whep, Locale: locale}
		r := renderWatch(t, d, "/watch/e")
		if r.resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.resp.StatusCode)
		}
		var cfg watchConfig
		r.jsonScript(t, "tolk-config", &cfg)
		// JSON carries text: invalid UTF-8 arrives as U+FFFD, so compare valid input only.
		if utf8.ValidString(whep+tag) && (cfg.WHEP != whep || len(cfg.Renditions) != 1 || cfg.Renditions[0].Tag != tag) {
			t.Fatalf("config did not survive the page: %+v", cfg)
		}
		// Exactly the page's own scripts: nothing the data says became code.
		if n := len(r.all("script")); n != 5 {
			t.Fatalf("%d script elements, want 5", n)
		}
		if !bytes.Contains([]byte(r.body), []byte(`id="tolk-messages"`)) {
			t.Fatal("messages missing")
		}
	})
}

func BenchmarkWatch(b *testing.B) {
	d := demo
	d.Locale = "fr"
	req := httptest.NewRequest(http.MethodGet, "/watch/demo", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		Watch(rec, req, d)
	}
}

// TestWatchCaptions: a server-given caption list becomes the picker (Off
// first) and the live WebSocket paths; without one the config says null and
// the page asks the event API.
func TestWatchCaptions(t *testing.T) {
	d := demo
	d.Captions = []Rendition{{Tag: "en", Name: "English"}, {Tag: "fr"}}
	r := renderWatch(t, d, "/watch/demo")
	var cfg struct {
		Captions *[]struct{ Tag, Name, Live string } `json:"captions"`
	}
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Captions == nil || len(*cfg.Captions) != 2 {
		t.Fatalf("config captions = %+v", cfg.Captions)
	}
	if c := (*cfg.Captions)[1]; c.Live != "/api/events/demo/captions/live/fr" || c.Name != "fr" {
		t.Errorf("second caption = %+v", c)
	}
	sel := r.byID("captions")
	if sel == nil {
		t.Fatal("no caption picker")
	}
	if got := options(sel); len(got) != 4 || got[0][0] != "" || got[1][0] != "en" || got[2][0] != "fr" || got[3][0] != "es" {
		t.Errorf("caption options = %q", got)
	}
	if !labelled(r.all("label"))["captions"] {
		t.Error("caption picker has no label")
	}
	if _, hidden := attr(r.byID("captions-field"), "hidden"); hidden {
		t.Error("caption picker hidden although there are captions")
	}
	if area := r.byID("caption-area"); area == nil {
		t.Error("no caption area")
	}

	r = renderWatch(t, demo, "/watch/demo")
	cfg.Captions = nil
	var raw map[string]json.RawMessage
	r.jsonScript(t, "tolk-config", &raw)
	if string(raw["captions"]) != "null" {
		t.Errorf("captions without a list = %s, want null", raw["captions"])
	}
	if _, hidden := attr(r.byID("captions-field"), "hidden"); !hidden {
		t.Error("caption picker shown before the page knows of any captions")
	}
}

// disabledOptions lists the values of a select's disabled options.
func disabledOptions(sel *html.Node) []string {
	var out []string
	walk(sel, func(n *html.Node) {
		if _, off := attr(n, "disabled"); n.Type == html.ElementNode && n.Data == "option" && off {
			v, _ := attr(n, "value")
			out = append(out, v)
		}
	})
	return out
}

func hidden(n *html.Node) bool {
	_, h := attr(n, "hidden")
	return h
}

// TestWatchCaptionsUnavailable: in every locale, the audio languages without
// captions follow those with them in the picker, disabled and labelled so;
// an event with none at all says so in a sentence instead of a picker.
func TestWatchCaptionsUnavailable(t *testing.T) {
	for _, loc := range locales.Locales() {
		t.Run(loc, func(t *testing.T) {
			cat := locales.Catalog(loc)
			d := demo
			d.Locale = loc
			d.Captions = []Rendition{{Tag: "en", Name: "English"}}
			r := renderWatch(t, d, "/watch/demo")
			sel := r.byID("captions")
			unav := func(name string) string { return strings.ReplaceAll(cat["watch.captions.unavailable"], "{name}", name) }
			want := [][2]string{{"", cat["watch.captions.off"]}, {"en", "English"}, {"fr", unav("Français")}, {"es", unav("Español")}}
			if got := options(sel); !slices.Equal(got, want) {
				t.Errorf("caption options %q, want %q", got, want)
			}
			if got := disabledOptions(sel); !slices.Equal(got, []string{"fr", "es"}) {
				t.Errorf("disabled options %q, want fr and es", got)
			}
			if hidden(r.byID("captions-field")) || hidden(sel) || hidden(r.byID("captions-label")) || !hidden(r.byID("captions-none")) {
				t.Error("with a caption language the picker shows and the no-captions sentence does not")
			}

			d.Captions = []Rendition{}
			r = renderWatch(t, d, "/watch/demo")
			note := r.byID("captions-none")
			if note == nil || hidden(note) || hidden(r.byID("captions-field")) {
				t.Fatal("without captions the page must say so")
			}
			if got := text(note); got != cat["watch.captions.none"] {
				t.Errorf("no-captions sentence %q, want %q", got, cat["watch.captions.none"])
			}
			if v, ok := attr(note, "aria-hidden"); ok && v != "false" {
				t.Errorf("no-captions sentence is aria-hidden=%q", v)
			}
			if !hidden(r.byID("captions")) || !hidden(r.byID("captions-label")) {
				t.Error("without captions the picker is hidden")
			}
			if strings.Contains(r.body, missing) {
				t.Error("page has a missing-key marker")
			}
		})
	}
	// Until the list is known (nil: the page asks the event API) no language
	// is marked and nothing is said.
	r := renderWatch(t, demo, "/watch/demo")
	if got := disabledOptions(r.byID("captions")); len(got) != 0 || !hidden(r.byID("captions-none")) {
		t.Errorf("caption list unknown: disabled %q, sentence hidden %v", got, hidden(r.byID("captions-none")))
	}
}

// TestCaptionMessagesTranslated: the new caption strings are not English
// copies in the other locales.
func TestCaptionMessagesTranslated(t *testing.T) {
	en := locales.Catalog("en")
	for _, loc := range locales.Locales()[1:] {
		cat := locales.Catalog(loc)
		for _, k := range []string{"watch.captions.unavailable", "watch.captions.none", "booth.captions.none"} {
			if cat[k] == en[k] {
				t.Errorf("%s: %q is still English: %q", loc, k, cat[k])
			}
		}
	}
}
