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

var demoConsole = ConsoleData{
	EventID: "demo",
	Title:   "Demo <Conference> & Co",
	Token:   "s3cret+/=&x",
	Renditions: []Rendition{
		{Tag: "en", Name: "English", Floor: true},
		{Tag: "fr", Name: "Français"},
		{Tag: "de", Name: "Deutsch"},
		{Tag: "pt-BR", Name: ""},
	},
}

func renderConsole(t testing.TB, d ConsoleData, target string) rendered {
	t.Helper()
	return renderPage(t, httptest.NewRequest(http.MethodGet, target, nil), func(w http.ResponseWriter, r *http.Request) { Console(w, r, d) })
}

// TestConsoleLocales renders the console in every interface locale (and
// falls back to English for others): no key is missing, the script gets
// exactly the console's messages in that locale, and the words on the cards
// are the locale's.
func TestConsoleLocales(t *testing.T) {
	cases := []struct{ locale, want string }{{"", "en"}, {"de-AT", "de"}, {"tlh", "en"}}
	for _, loc := range locales.Locales() {
		cases = append(cases, struct{ locale, want string }{loc, loc})
	}
	for _, tc := range cases {
		t.Run(tc.locale, func(t *testing.T) {
			d := demoConsole
			d.Locale = tc.locale
			r := renderConsole(t, d, "/console/demo?token=x")
			checkLocale(t, r, tc.want)
			cat := locales.Catalog(tc.want)
			for id, key := range map[string]string{
				"c1-listen": "console.card.listen", "c1-mute": "console.card.mute", "c1-onair": "console.card.floor_only",
				"c0-onair": "console.card.original", "traffic-heading": "console.traffic.heading", "tokens-open": "console.tokens.open",
				"conn-text": "console.conn.connecting", "c1-program-label": "console.meter.program", "floor-heading": "console.floor.heading",
			} {
				if got := strings.TrimSpace(text(r.byID(id))); got != cat[key] {
					t.Errorf("#%s reads %q, want %q", id, got, cat[key])
				}
			}
			if got, _ := attr(r.byID("c1-listen"), "aria-label"); got != strings.ReplaceAll(cat["console.card.listen_to"], "{name}", "Français") {
				t.Errorf("listen button's name %q", got)
			}
			var msgs map[string]string
			r.jsonScript(t, "tolk-messages", &msgs)
			for k, v := range cat {
				if strings.HasPrefix(k, "console.") && msgs[k] != v {
					t.Errorf("message %q is %q, want the %s catalog's %q", k, msgs[k], tc.want, v)
				}
			}
			for k := range msgs {
				if !strings.HasPrefix(k, "console.") {
					t.Errorf("message %q is not the console's", k)
				}
			}
		})
	}
}

// TestConsoleMessageKeys ties the catalog to the console: every key its
// scripts or template ask for exists, and every console key is used.
func TestConsoleMessageKeys(t *testing.T) {
	en := locales.Catalog("en")
	js := pageScripts(t, "console")
	tmpl, err := templateFS.ReadFile("templates/console.html")
	if err != nil {
		t.Fatal(err)
	}
	key := `console\.[a-z_.]+`
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`'(`+key+`)'`).FindAllSubmatch(js, -1) {
		used[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`\.TF? "(`+key+`)"`).FindAllSubmatch(tmpl, -1) {
		used[string(m[1])] = true
	}
	if len(used) < 100 {
		t.Fatalf("found only %d keys: the patterns no longer match the sources", len(used))
	}
	// A key built at run time ('console.floor.' + state) would escape this
	// test: the scripts name every key in full.
	if m := regexp.MustCompile(`'console\.[a-z_.]*\.'\s*\+`).Find(js); m != nil {
		t.Errorf("a message key is built at run time: %s", m)
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used but not in en.json", k)
		}
	}
	for k := range en {
		if strings.HasPrefix(k, "console.") && !used[k] {
			t.Errorf("key %q is in en.json but the console never uses it", k)
		}
	}
}

// TestConsoleTranslated: what a producer reads most is translated in every
// locale, not copied from English.
func TestConsoleTranslated(t *testing.T) {
	en := locales.Catalog("en")
	keys := []string{
		"console.card.listen", "console.card.mute", "console.card.release", "console.card.muted", "console.card.floor_only",
		"console.card.on_air", "console.card.two_mics", "console.alert.slow_down", "console.alert.slow_down_from",
		"console.alert.reply", "console.alert.dismiss", "console.traffic.heading", "console.notice.label",
		"console.tokens.revoke", "console.tokens.confirm", "console.conn.revoked", "console.banner.revoked", "console.link.poor",
		"console.detail.duck",
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

func TestConsoleContent(t *testing.T) {
	d := demoConsole
	d.Locale = "fr"
	r := renderConsole(t, d, "/console/demo?token=abc&lang=fr")
	checkTitle(t, r, "Demo <Conference> & Co — console", d.Title)

	// One card per language, the floor first, in the configuration's order;
	// a language without a name shows its tag.
	var cards []string
	walk(r.doc, func(n *html.Node) {
		if n.Type == html.ElementNode && attrs(n)["class"] == "card" {
			cards = append(cards, attrs(n)["data-lang"]+"="+attrs(n)["id"])
		}
	})
	if want := []string{"en=c0", "fr=c1", "de=c2", "pt-BR=c3"}; !slices.Equal(cards, want) {
		t.Errorf("cards %v, want %v", cards, want)
	}
	if got := text(r.byID("c3-name")); !strings.Contains(got, "pt-BR") {
		t.Errorf("unnamed language's card reads %q", got)
	}
	// The floor has no booth: no mute, no voice meter, no interpreters.
	for _, id := range []string{"c0-mute", "c0-voice", "c0-bed", "c0-interps", "c0-alert"} {
		if r.byID(id) != nil {
			t.Errorf("the floor's card has #%s", id)
		}
	}
	for _, id := range []string{"c1-mute", "c1-voice", "c1-bed", "c1-interps", "c1-alert", "c1-warning", "c1-captions"} {
		if r.byID(id) == nil {
			t.Errorf("a booth's card lacks #%s", id)
		}
	}

	// Every form control is labelled (a <label for> or aria-labelledby);
	// every button has a type and a name.
	labels := labelled(r.all("label"))
	for _, tag := range []string{"input", "select", "textarea"} {
		for _, n := range r.all(tag) {
			a := attrs(n)
			if !labels[a["id"]] && a["aria-labelledby"] == "" && a["aria-label"] == "" {
				t.Errorf("<%s id=%q> has no label", tag, a["id"])
			}
		}
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
	// ARIA: meters, toggles, live regions, dialogs.
	checks := map[string]map[string]string{
		"c1-program":   {"role": "meter", "aria-valuemin": "-60", "aria-valuemax": "0", "aria-labelledby": "c1-name c1-program-label"},
		"c1-voice":     {"role": "meter", "aria-labelledby": "c1-name c1-voice-label"},
		"c1-bed":       {"role": "meter", "aria-labelledby": "c1-name c1-bed-label"},
		"floor-meter":  {"role": "meter", "aria-labelledby": "floor-heading"},
		"c1-listen":    {"aria-pressed": "false"},
		"c1-details":   {"aria-expanded": "false", "aria-controls": "detail"},
		"alerts":       {"role": "log", "aria-live": "assertive", "aria-labelledby": "traffic-heading"},
		"announce":     {"role": "status", "aria-live": "polite"},
		"banner":       {"role": "alert"},
		"sound":        {"aria-pressed": "true"},
		"tokens-open":  {"aria-haspopup": "dialog", "aria-controls": "tokens"},
		"detail":       {"aria-labelledby": "detail-heading"},
		"tokens":       {"aria-labelledby": "tokens-heading"},
		"notice-input": {"maxlength": "500"},
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
	// Every id an element points at exists, and ids are unique.
	seen := map[string]bool{}
	walk(r.doc, func(n *html.Node) {
		if id, ok := attr(n, "id"); ok {
			if seen[id] {
				t.Errorf("id %q given twice", id)
			}
			seen[id] = true
		}
		for _, k := range []string{"aria-labelledby", "aria-describedby", "aria-controls", "for"} {
			if v, ok := attr(n, k); ok {
				for _, id := range strings.Fields(v) {
					if r.byID(id) == nil {
						t.Errorf("%s=%q names no element", k, id)
					}
				}
			}
		}
	})
	// The token dialog offers a booth for each interpreted language only.
	if got := options(r.byID("token-lang")); !slices.Equal(got, [][2]string{{"fr", "Français"}, {"de", "Deutsch"}, {"pt-BR", "pt-BR"}}) {
		t.Errorf("token languages %v", got)
	}

	var cfg consoleConfig
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Event != "demo" || cfg.API != "/api/events/demo" || cfg.Token != d.Token || len(cfg.Renditions) != 4 || !cfg.Renditions[0].Floor {
		t.Errorf("config %+v", cfg)
	}
	if cfg.WS != "/console/demo/ws?token=s3cret%2B%2F%3D%26x" {
		t.Errorf("ws URL %q", cfg.WS)
	}
	if hrefs := r.hrefs(); !slices.Contains(hrefs, "?lang=ar&token=abc") {
		t.Errorf("locale links %v", hrefs)
	}
}

// TestConsoleSelfContained: the console runs under a strict CSP and loads the
// shared stylesheet and its own assets, each by its versioned URL.
func TestConsoleSelfContained(t *testing.T) {
	r := renderConsole(t, demoConsole, "/console/demo?token=x")
	refs := checkSelfContained(t, r)
	if want := assetURLs(t, "common.css", "console.css", "console.js"); !slices.Equal(refs, want) {
		t.Errorf("page references %v, want %v", refs, want)
	}
	if csp := r.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "ws://example.com") {
		t.Errorf("CSP %q does not admit the console's WebSocket", csp)
	}
}

func FuzzConsole(f *testing.F) {
	f.Add("Demo", "fr", "Français", "T", "en")
	f.Add("</script><script>alert(1)</script>", "x\" onclick=\"y", "<!--", "a&b=c", "ar")
	f.Add("", "", "", "", "")
	f.Fuzz(func(t *testing.T, title, tag, name, token, locale string) {
		d := ConsoleData{EventID: "e", Title: title, Token: token, Locale: locale,
			Renditions: []Rendition{{Tag: "en", Name: "English", Floor: true}, {Tag: tag, Name: name}}}
		r := renderConsole(t, d, "/console/e")
		checkInert(t, r, 3)
		var cfg consoleConfig
		r.jsonScript(t, "tolk-config", &cfg)
		if len(cfg.Renditions) != 2 || (utf8.ValidString(tag) && cfg.Renditions[1].Tag != tag) {
			t.Fatalf("config did not survive the page: %+v", cfg)
		}
	})
}
