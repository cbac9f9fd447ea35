package pages

import (
	"encoding/json"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.uber.org/goleak"
	"golang.org/x/net/html"

	"tolk/locales"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rendered is a page as a browser would see it.
type rendered struct {
	resp *http.Response
	body string
	doc  *html.Node
}

// renderPage runs a page handler on req and parses what it wrote.
func renderPage(t testing.TB, req *http.Request, serve func(http.ResponseWriter, *http.Request)) rendered {
	t.Helper()
	rec := httptest.NewRecorder()
	serve(rec, req)
	body := rec.Body.String()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	return rendered{rec.Result(), body, doc}
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

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
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

// benchPage measures rendering one page for target.
func benchPage(b *testing.B, target string, serve func(http.ResponseWriter, *http.Request)) {
	req := httptest.NewRequest(http.MethodGet, target, nil)
	for b.Loop() {
		serve(httptest.NewRecorder(), req)
	}
}

// hrefs lists the targets of the page's links (the UI-locale links).
func (r rendered) hrefs() []string {
	var out []string
	for _, a := range r.all("a") {
		h, _ := attr(a, "href")
		out = append(out, h)
	}
	return out
}

// checkLocale checks that a page speaks locale want: headers, <html lang
// dir>, no missing key, and the locale handed to its script.
func checkLocale(t *testing.T, r rendered, want string) {
	t.Helper()
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.resp.StatusCode)
	}
	if ct := r.resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cl := r.resp.Header.Get("Content-Language"); cl != want {
		t.Errorf("Content-Language %q, want %q", cl, want)
	}
	root := r.all("html")[0]
	if lang, _ := attr(root, "lang"); lang != want {
		t.Errorf("<html lang=%q>, want %q", lang, want)
	}
	if dir, _ := attr(root, "dir"); dir != locales.Dir(want) {
		t.Errorf("<html dir=%q>, want %q", dir, locales.Dir(want))
	}
	if strings.Contains(r.body, missing) {
		t.Error("page has a missing-key marker")
	}
	var cfg struct {
		Locale string `json:"locale"`
	}
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Locale != want {
		t.Errorf("config locale %q, want %q", cfg.Locale, want)
	}
}

// checkTitle checks the <title>, and the event title as escaped text in <h1>.
func checkTitle(t *testing.T, r rendered, title, h1 string) {
	t.Helper()
	if got := text(r.all("title")[0]); got != title {
		t.Errorf("<title> %q, want %q", got, title)
	}
	if got := text(r.byID("title")); got != h1 {
		t.Errorf("<h1> %q, want the title as text %q", got, h1)
	}
	if strings.Contains(r.body, "<Conference>") {
		t.Error("title is not escaped")
	}
}

// checkLabelled checks that every form control of the given tags has a
// label, and returns how many there are.
func checkLabelled(t *testing.T, r rendered, tags ...string) int {
	t.Helper()
	labels := labelled(r.all("label"))
	controls := 0
	for _, tag := range tags {
		for _, n := range r.all(tag) {
			controls++
			if id, _ := attr(n, "id"); !labels[id] {
				t.Errorf("<%s id=%q> has no label", tag, id)
			}
		}
	}
	return controls
}

// checkSelfContained checks what a strict CSP needs: no inline script,
// handler or style, nothing off the server, every named asset served and
// cacheable for its version. It returns the /static/ URLs in page order.
func checkSelfContained(t *testing.T, r rendered) []string {
	t.Helper()
	csp := r.resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if r.resp.Header.Get("Referrer-Policy") != "same-origin" || r.resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("a page (the booth's carries a token) must not be cached or leak in Referer")
	}
	static := Static()
	var refs []string
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
			refs = append(refs, a.Val)
			rec := httptest.NewRecorder()
			static.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(a.Val, "/static"), nil))
			if rec.Code != http.StatusOK || rec.Body.Len() == 0 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
				t.Errorf("%s: status %d, %d bytes, Cache-Control %q", a.Val, rec.Code, rec.Body.Len(), rec.Header().Get("Cache-Control"))
			}
		}
		if n.Data == "script" {
			_, hasSrc := attr(n, "src")
			typ, _ := attr(n, "type")
			if !hasSrc && typ != "application/json" {
				t.Errorf("inline script %q", text(n))
			}
		}
	})
	return refs
}

// checkInert checks, for a page rendered from arbitrary data, that nothing
// the data says became code or policy: the page renders, has exactly its
// own scripts and the messages, and a CSP the data did not widen.
func checkInert(t *testing.T, r rendered, scripts int) {
	t.Helper()
	if r.resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", r.resp.StatusCode)
	}
	if n := len(r.all("script")); n != scripts {
		t.Fatalf("%d script elements, want %d", n, scripts)
	}
	if r.byID("tolk-messages") == nil {
		t.Fatal("messages missing")
	}
	if csp := r.resp.Header.Get("Content-Security-Policy"); strings.Count(csp, "script-src") != 1 || strings.Contains(csp, "*") {
		t.Fatalf("data changed the policy: %q", csp)
	}
}

// assetURLs are the versioned URLs of the named assets, as a page writes them.
func assetURLs(t *testing.T, names ...string) []string {
	t.Helper()
	var out []string
	for _, n := range names {
		u, err := assetURL(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// TestMessageKeys ties the catalog to each page: every key its script or
// template asks for exists, and every key of the page's prefix is used.
func TestMessageKeys(t *testing.T) {
	en := locales.Catalog("en")
	for _, name := range []string{"watch", "booth"} {
		t.Run(name, func(t *testing.T) {
			js := pageScripts(t, name)
			tmpl, err := templateFS.ReadFile("templates/" + name + ".html")
			if err != nil {
				t.Fatal(err)
			}
			key := regexp.QuoteMeta(name) + `\.[a-z_.]+`
			used := map[string]bool{}
			for _, m := range regexp.MustCompile(`'(`+key+`)'`).FindAllSubmatch(js, -1) {
				used[string(m[1])] = true
			}
			for _, m := range regexp.MustCompile(`\.TF? "(`+key+`)"`).FindAllSubmatch(tmpl, -1) {
				used[string(m[1])] = true
			}
			if len(used) < 20 {
				t.Fatalf("found only %d keys: the patterns no longer match the sources", len(used))
			}
			for k := range used {
				if _, ok := en[k]; !ok {
					t.Errorf("key %q is used but not in en.json", k)
				}
			}
			for k := range en {
				if strings.HasPrefix(k, name+".") && !used[k] {
					t.Errorf("key %q is in en.json but the %s page never uses it", k, name)
				}
			}
		})
	}
}

// TestTemplatesHaveNoText: strings reach the pages only through the catalog,
// so no template has letters between its tags except the booth's shortcut
// keys and template actions.
func TestTemplatesHaveNoText(t *testing.T) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil || len(names) < 5 {
		t.Fatalf("templates %v, %v", names, err)
	}
	strip := regexp.MustCompile(`(?s)<script.*?</script>|<[^>]*>|\{\{.*?\}\}`)
	for _, name := range names {
		tmpl, _ := templateFS.ReadFile(name)
		for _, w := range regexp.MustCompile(`\pL+`).FindAll(strip.ReplaceAll(tmpl, nil), -1) {
			if s := string(w); !(name == "templates/booth.html" && (s == "M" || s == "H")) {
				t.Errorf("%s has literal text %q", name, s)
			}
		}
	}
}

// TestScriptsStayOnServer: the pages' own scripts name no absolute URL; they
// reach only what the configuration hands them.
func TestScriptsStayOnServer(t *testing.T) {
	for _, name := range modules(t) {
		if regexp.MustCompile(`https?://|wss?://`).Match(assets[name].data) {
			t.Errorf("%s names an absolute URL", name)
		}
	}
}

// TestSharedFrame: both pages come from the one frame, so they load the
// shared stylesheet before their own, their own module script (which imports
// the shared modules), and show the same locale footer.
func TestSharedFrame(t *testing.T) {
	w, b := demo, demoBooth
	w.Locale, b.Locale = "ar", "ar"
	pages := map[string]rendered{
		"watch": renderWatch(t, w, "/watch/demo?lang=ar"),
		"booth": renderBooth(t, b, "/booth/demo/fr?lang=ar"),
	}
	for name, r := range pages {
		var styles, scripts []string
		for _, l := range r.all("link") {
			if a := attrs(l); a["rel"] == "stylesheet" {
				styles = append(styles, a["href"])
			}
		}
		for _, s := range r.all("script") {
			if src, ok := attr(s, "src"); ok && !strings.Contains(src, "hls.min.js") {
				if typ, _ := attr(s, "type"); typ != "module" {
					t.Errorf("%s: script %s has type %q, want module", name, src, typ)
				}
				scripts = append(scripts, src)
			}
		}
		if want := assetURLs(t, "common.css", name+".css"); !slices.Equal(styles, want) {
			t.Errorf("%s: stylesheets %v, want %v", name, styles, want)
		}
		if want := assetURLs(t, name+".js"); !slices.Equal(scripts, want) {
			t.Errorf("%s: scripts %v, want %v", name, scripts, want)
		}
		footer := r.all("footer")
		if len(footer) != 1 || attrs(footer[0])["class"] != "locales" {
			t.Fatalf("%s: no locale footer", name)
		}
		if got := text(r.byID("locale-label")); got != locales.Catalog("ar")[name+".locale.label"] {
			t.Errorf("%s: footer label %q", name, got)
		}
		var links, current []string
		walk(footer[0], func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "a" {
				links = append(links, attrs(n)["hreflang"])
				if attrs(n)["aria-current"] == "true" {
					current = append(current, text(n))
				}
			}
		})
		if !slices.Equal(links, locales.Locales()) || !slices.Equal(current, []string{"العربية"}) {
			t.Errorf("%s: footer links %v, current %v", name, links, current)
		}
	}
}

// TestTranslated guards against a catalog that copies English: the words
// the pages' users read most are translated in every locale.
func TestTranslated(t *testing.T) {
	en := locales.Catalog("en")
	keys := []string{
		"booth.onair.on", "booth.onair.off", "booth.onair.partner", "booth.handover.give", "booth.handover.accept",
		"booth.slowdown", "booth.warning.two_mics", "booth.input.relay", "booth.captions.none",
		"watch.captions.unavailable", "watch.captions.none",
	}
	for _, loc := range locales.Locales()[1:] {
		cat := locales.Catalog(loc)
		for _, k := range keys {
			if cat[k] == en[k] {
				t.Errorf("%s: %q is still English: %q", loc, k, cat[k])
			}
		}
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
	for name, ctype := range map[string]string{"/watch.js": "text/javascript", "/watch.css": "text/css", "/common.css": "text/css", "/hls.min.js": "text/javascript", "/shared/page.js": "text/javascript", "/booth/conn.js": "text/javascript"} {
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
	for _, target := range []string{"/nope.js", "/../pages.go", "/", "/static/watch.js", "/templates/watch.html", "/templates/common.html"} {
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
