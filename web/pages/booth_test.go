package pages

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"tolk/locales"
)

var demoBooth = BoothData{
	EventID:  "demo",
	Title:    "Demo <Conference> & Co",
	Lang:     "fr",
	LangName: "Français",
	Token:    "s3cret+/=&x",
	Floor:    Rendition{Tag: "en", Name: "English", Floor: true},
	Relays:   []Rendition{{Tag: "es", Name: "Español"}, {Tag: "de", Name: "Deutsch"}},
}

func renderBooth(t testing.TB, d BoothData, target string) rendered {
	t.Helper()
	rec := httptest.NewRecorder()
	Booth(rec, httptest.NewRequest(http.MethodGet, target, nil), d)
	resp := rec.Result()
	body := rec.Body.String()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("page does not parse: %v", err)
	}
	return rendered{resp, body, doc}
}

func attrs(n *html.Node) map[string]string {
	m := map[string]string{}
	for _, a := range n.Attr {
		m[a.Key] = a.Val
	}
	return m
}

func TestBoothLocales(t *testing.T) {
	cases := []struct{ locale, want string }{{"", "en"}, {"fr-CA", "fr"}, {"tlh", "en"}}
	for _, loc := range locales.Locales() {
		cases = append(cases, struct{ locale, want string }{loc, loc})
	}
	for _, tc := range cases {
		t.Run(tc.locale, func(t *testing.T) {
			d := demoBooth
			d.Locale = tc.locale
			r := renderBooth(t, d, "/booth/demo/fr?token=x")
			if r.resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", r.resp.StatusCode)
			}
			if cl := r.resp.Header.Get("Content-Language"); cl != tc.want {
				t.Errorf("Content-Language %q, want %q", cl, tc.want)
			}
			root := r.all("html")[0]
			if lang, _ := attr(root, "lang"); lang != tc.want {
				t.Errorf("<html lang=%q>, want %q", lang, tc.want)
			}
			if dir, _ := attr(root, "dir"); dir != locales.Dir(tc.want) {
				t.Errorf("<html dir=%q>, want %q", dir, locales.Dir(tc.want))
			}
			if strings.Contains(r.body, missing) {
				t.Error("page has a missing-key marker")
			}
			cat := locales.Catalog(tc.want)
			for id, key := range map[string]string{"onair-text": "booth.onair.off", "cough": "booth.cough", "handover": "booth.handover.give", "take": "booth.handover.take"} {
				if got := strings.TrimSpace(text(r.byID(id))); got != cat[key] {
					t.Errorf("#%s reads %q, want %q", id, got, cat[key])
				}
			}
			var msgs map[string]string
			r.jsonScript(t, "tolk-messages", &msgs)
			for k, v := range msgs {
				if !strings.HasPrefix(k, "booth.") {
					t.Errorf("message %q is not the booth's", k)
				} else if v != cat[k] {
					t.Errorf("message %q is %q, want the %s catalog's %q", k, v, tc.want, cat[k])
				}
			}
			var cfg boothConfig
			r.jsonScript(t, "tolk-config", &cfg)
			if cfg.Locale != tc.want {
				t.Errorf("config locale %q, want %q", cfg.Locale, tc.want)
			}
		})
	}
}

// TestBoothLocalesDiffer guards against a catalog that copies English: the
// words an interpreter reads most are translated in every locale.
func TestBoothLocalesDiffer(t *testing.T) {
	en := locales.Catalog("en")
	for _, loc := range locales.Locales()[1:] {
		cat := locales.Catalog(loc)
		for _, k := range []string{"booth.onair.on", "booth.onair.off", "booth.onair.partner", "booth.handover.give", "booth.handover.accept", "booth.slowdown", "booth.warning.two_mics", "booth.input.relay"} {
			if cat[k] == en[k] {
				t.Errorf("%s: %q is still English: %q", loc, k, cat[k])
			}
		}
	}
}

func TestBoothContent(t *testing.T) {
	d := demoBooth
	d.Locale = "fr"
	r := renderBooth(t, d, "/booth/demo/fr?token=abc&lang=fr")

	if got := text(r.all("title")[0]); got != "Cabine Français · Demo <Conference> & Co" {
		t.Errorf("<title> %q", got)
	}
	if got := text(r.byID("title")); got != d.Title {
		t.Errorf("<h1> %q, want the title as text", got)
	}
	if strings.Contains(r.body, "<Conference>") {
		t.Error("title is not escaped")
	}

	// Input: the floor and every relay, labelled, floor first.
	opts := options(r.byID("input"))
	want := [][2]string{{"floor", "Salle (English)"}, {"relay:es", "Relais de la cabine Español"}, {"relay:de", "Relais de la cabine Deutsch"}}
	if !slices.Equal(opts, want) {
		t.Errorf("input options %v, want %v", opts, want)
	}

	// Every form control has a label; every button has a name and a type.
	labels := labelled(r.all("label"))
	controls := 0
	for _, tag := range []string{"select", "input", "textarea"} {
		for _, n := range r.all(tag) {
			controls++
			if id, _ := attr(n, "id"); !labels[id] {
				t.Errorf("<%s id=%q> has no label", tag, id)
			}
		}
	}
	if controls != 5 { // input, two volumes, chat, producer
		t.Errorf("%d form controls, want 5", controls)
	}
	for _, b := range r.all("button") {
		a := attrs(b)
		if a["type"] != "button" && a["type"] != "submit" {
			t.Errorf("button #%s has type %q", a["id"], a["type"])
		}
		if strings.TrimSpace(text(b)) == "" && a["aria-label"] == "" {
			t.Errorf("button #%s has no name", a["id"])
		}
	}

	// ARIA: the toggles, the shortcuts, the meters, the live regions.
	checks := map[string]map[string]string{
		"mic":         {"aria-pressed": "false", "aria-keyshortcuts": "M", "aria-describedby": "mic-hint"},
		"cough":       {"aria-pressed": "false", "aria-keyshortcuts": "C", "aria-describedby": "cough-hint"},
		"handover":    {"aria-keyshortcuts": "H", "aria-disabled": "true"},
		"accept":      {"aria-keyshortcuts": "H", "aria-disabled": "true"},
		"announce":    {"role": "status", "aria-live": "polite", "aria-atomic": "true"},
		"chat-log":    {"role": "log", "aria-live": "polite", "aria-labelledby": "chat-heading"},
		"mic-meter":   {"role": "meter", "aria-valuemin": "-60", "aria-valuemax": "0", "aria-labelledby": "mic-meter-label"},
		"floor-meter": {"role": "meter", "aria-valuemin": "-60", "aria-valuemax": "0", "aria-labelledby": "floor-meter-label"},
		"chat-input":  {"maxlength": "500"},
	}
	for id, want := range checks {
		n := r.byID(id)
		if n == nil {
			t.Errorf("no #%s", id)
			continue
		}
		a := attrs(n)
		for k, v := range want {
			if a[k] != v {
				t.Errorf("#%s %s=%q, want %q", id, k, a[k], v)
			}
		}
	}
	// Every id a page element points at exists.
	walk(r.doc, func(n *html.Node) {
		for _, k := range []string{"aria-labelledby", "aria-describedby", "for"} {
			if v, ok := attr(n, k); ok {
				for _, id := range strings.Fields(v) {
					if r.byID(id) == nil {
						t.Errorf("%s=%q names no element", k, id)
					}
				}
			}
		}
	})
	if got := text(r.byID("mic-meter-label")); got != "Ma voix" {
		t.Errorf("mic meter label %q", got)
	}
	// The shortcuts are written on the page.
	keys := text(r.byID("keys-heading").Parent)
	for _, k := range []string{"M", "Maintenir C", "H", "Ouvrir ou fermer le micro"} {
		if !strings.Contains(keys, k) {
			t.Errorf("shortcut list lacks %q: %q", k, keys)
		}
	}

	var cfg boothConfig
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Event != "demo" || cfg.Lang.Tag != "fr" || cfg.Lang.Name != "Français" || cfg.Floor.Tag != "en" || len(cfg.Relays) != 2 {
		t.Errorf("config %+v", cfg)
	}
	if cfg.WS != "/booth/demo/fr/ws?token=s3cret%2B%2F%3D%26x" {
		t.Errorf("ws URL %q", cfg.WS)
	}
	// The locale links keep the token.
	var hrefs []string
	for _, a := range r.all("a") {
		h, _ := attr(a, "href")
		hrefs = append(hrefs, h)
	}
	if !slices.Contains(hrefs, "?lang=ar&token=abc") {
		t.Errorf("locale links %v", hrefs)
	}
}

func TestBoothWSURL(t *testing.T) {
	for _, tc := range []struct {
		d              BoothData
		host, ws, conn string
	}{
		{BoothData{EventID: "demo", Lang: "fr", Token: "T"}, "example.org", "/booth/demo/fr/ws?token=T", "connect-src 'self' ws://example.org wss://example.org"},
		{BoothData{EventID: "a b", Lang: "pt-BR", Token: "x y"}, "h:8080", "/booth/a%20b/pt-BR/ws?token=x+y", "connect-src 'self' ws://h:8080 wss://h:8080"},
		{BoothData{EventID: "e", Lang: "fr", Token: "T", WSURL: "/custom/ws?token=given"}, "h", "/custom/ws?token=given", "connect-src 'self' ws://h wss://h"},
		{BoothData{EventID: "e", Lang: "fr", Token: "T", WSURL: "/custom/ws?x=1"}, "h", "/custom/ws?token=T&x=1", "connect-src 'self' ws://h wss://h"},
		{BoothData{EventID: "e", Lang: "fr", WSURL: "wss://rtc.example:8443/b/ws"}, "h", "wss://rtc.example:8443/b/ws", "connect-src 'self' wss://rtc.example:8443;"},
		{BoothData{EventID: "e", Lang: "fr", WSURL: "https://rtc.example/b/ws"}, "h", "https://rtc.example/b/ws", "connect-src 'self' wss://rtc.example;"},
		{BoothData{EventID: "e", Lang: "fr"}, "bad host;script-src *", "/booth/e/fr/ws", "connect-src 'self';"},
	} {
		req := httptest.NewRequest(http.MethodGet, "/booth/x/y", nil)
		req.Host = tc.host
		rec := httptest.NewRecorder()
		Booth(rec, req, tc.d)
		doc, err := html.Parse(rec.Body)
		if err != nil {
			t.Fatal(err)
		}
		r := rendered{rec.Result(), "", doc}
		var cfg boothConfig
		r.jsonScript(t, "tolk-config", &cfg)
		if cfg.WS != tc.ws {
			t.Errorf("%+v: ws %q, want %q", tc.d, cfg.WS, tc.ws)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp+";", tc.conn) {
			t.Errorf("%+v on host %q: CSP %q lacks %q", tc.d, tc.host, csp, tc.conn)
		}
	}
}

// TestBoothSelfContained checks what a strict CSP needs: no inline script,
// handler or style, nothing off the server, every named asset served.
func TestBoothSelfContained(t *testing.T) {
	d := demoBooth
	r := renderBooth(t, d, "/booth/demo/fr?token=x")
	csp := r.resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if r.resp.Header.Get("Referrer-Policy") != "same-origin" || r.resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("a page carrying a token must not be cached or leak in Referer")
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
			if (a.Key == "src" || a.Key == "href") && strings.Contains(a.Val, "//") {
				t.Errorf("<%s %s=%q> leaves the server", n.Data, a.Key, a.Val)
			}
			if (a.Key == "src" || a.Key == "href") && strings.HasPrefix(a.Val, "/static/") {
				refs = append(refs, a.Val)
				rec := httptest.NewRecorder()
				static.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, strings.TrimPrefix(a.Val, "/static"), nil))
				if rec.Code != http.StatusOK || rec.Body.Len() == 0 || !strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
					t.Errorf("%s: status %d, %d bytes, %q", a.Val, rec.Code, rec.Body.Len(), rec.Header().Get("Cache-Control"))
				}
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
	if len(refs) != 3 {
		t.Errorf("page references %v, want booth.css, common.js, booth.js", refs)
	}
	for _, name := range []string{"static/booth.js", "static/common.js"} {
		js, _ := staticFS.ReadFile(name)
		if regexp.MustCompile(`https?://|wss?://`).Match(js) {
			t.Errorf("%s names an absolute URL", name)
		}
	}
}

// TestBoothMessageKeys ties the catalog to the page: every key the script or
// the template asks for exists, and every booth.* key is used somewhere.
func TestBoothMessageKeys(t *testing.T) {
	en := locales.Catalog("en")
	js, _ := staticFS.ReadFile("static/booth.js")
	tmpl, _ := templateFS.ReadFile("templates/booth.html")
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`'(booth\.[a-z_.]+)'`).FindAllSubmatch(js, -1) {
		used[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`\.TF? "(booth\.[a-z_.]+)"`).FindAllSubmatch(tmpl, -1) {
		used[string(m[1])] = true
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys: the patterns no longer match the sources", len(used))
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used but not in en.json", k)
		}
	}
	for k := range en {
		if strings.HasPrefix(k, "booth.") && !used[k] {
			t.Errorf("key %q is in en.json but the booth page never uses it", k)
		}
	}
	// Strings reach the page only through the catalog: no letters between
	// tags of the template except the shortcut keys and template actions.
	stripped := regexp.MustCompile(`(?s)<script.*?</script>|<[^>]*>|\{\{.*?\}\}`).ReplaceAll(tmpl, nil)
	for _, w := range regexp.MustCompile(`\pL+`).FindAll(stripped, -1) {
		if s := string(w); s != "M" && s != "H" {
			t.Errorf("template has literal text %q", s)
		}
	}
}

func FuzzBooth(f *testing.F) {
	f.Add("Demo", "fr", "Français", "T", "es", "Español", "", "fr")
	f.Add("</script><script>alert(1)</script>", "x\"y", "<!--", "a&b=c", "'", "\u2028", "javascript:alert(1)", "ar")
	f.Add("", "", "", "", "", "", "wss://h/{x}?token=", "")
	f.Fuzz(func(t *testing.T, title, lang, langName, token, relayTag, relayName, wsURL, locale string) {
		d := BoothData{EventID: "e", Title: title, Lang: lang, LangName: langName, Token: token, WSURL: wsURL,
			Floor: Rendition{Tag: "en", Name: "English"}, Relays: []Rendition{{Tag: relayTag, Name: relayName}}, Locale: locale}
		r := renderBooth(t, d, "/booth/e/x")
		if r.resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", r.resp.StatusCode)
		}
		var cfg boothConfig
		r.jsonScript(t, "tolk-config", &cfg)
		if utf8.ValidString(lang+relayTag) && (cfg.Lang.Tag != lang || len(cfg.Relays) != 1 || cfg.Relays[0].Tag != relayTag) {
			t.Fatalf("config did not survive the page: %+v", cfg)
		}
		if n := len(r.all("script")); n != 4 {
			t.Fatalf("%d script elements, want 4", n)
		}
		if csp := r.resp.Header.Get("Content-Security-Policy"); strings.Count(csp, "script-src") != 1 || strings.Contains(csp, "*") {
			t.Fatalf("data changed the policy: %q", csp)
		}
	})
}

func BenchmarkBooth(b *testing.B) {
	d := demoBooth
	d.Locale = "fr"
	req := httptest.NewRequest(http.MethodGet, "/booth/demo/fr?token=x", nil)
	for b.Loop() {
		rec := httptest.NewRecorder()
		Booth(rec, req, d)
	}
}

// TestBoothFloorCaptionsNote: the floor-caption strip carries, hidden until
// the event says the floor language has no captions, a note in the UI locale.
func TestBoothFloorCaptionsNote(t *testing.T) {
	for _, loc := range locales.Locales() {
		d := demoBooth
		d.Locale = loc
		r := renderBooth(t, d, "/booth/demo/fr?token=x")
		note := r.byID("floor-captions-none")
		if note == nil {
			t.Fatalf("%s: no #floor-captions-none", loc)
		}
		if p := note.Parent; p == nil || attrs(p)["id"] != "floor-captions" {
			t.Errorf("%s: the note is not in the floor-caption strip", loc)
		}
		if want := locales.Catalog(loc)["booth.captions.none"]; text(note) != want {
			t.Errorf("%s: note %q, want %q", loc, text(note), want)
		}
		if a := attrs(note); a["aria-hidden"] != "" {
			t.Errorf("%s: note is aria-hidden", loc)
		}
		if _, h := attr(note, "hidden"); !h {
			t.Errorf("%s: note shown before the page knows the floor has no captions", loc)
		}
	}
}
