package pages

import (
	"net/http"
	"net/http/httptest"
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
	return renderPage(t, httptest.NewRequest(http.MethodGet, target, nil), func(w http.ResponseWriter, r *http.Request) { Booth(w, r, d) })
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
			checkLocale(t, r, tc.want)
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
		})
	}
}

func TestBoothContent(t *testing.T) {
	d := demoBooth
	d.Locale = "fr"
	r := renderBooth(t, d, "/booth/demo/fr?token=abc&lang=fr")

	checkTitle(t, r, "Cabine Français · Demo <Conference> & Co", d.Title)

	// Input: the floor and every relay, labelled, floor first.
	opts := options(r.byID("input"))
	want := [][2]string{{"floor", "Salle (English)"}, {"relay:es", "Relais de la cabine Español"}, {"relay:de", "Relais de la cabine Deutsch"}}
	if !slices.Equal(opts, want) {
		t.Errorf("input options %v, want %v", opts, want)
	}

	// Every form control has a label; every button has a name and a type.
	if controls := checkLabelled(t, r, "select", "input", "textarea"); controls != 5 { // input, two volumes, chat, producer
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
	if hrefs := r.hrefs(); !slices.Contains(hrefs, "?lang=ar&token=abc") {
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
		r := renderPage(t, req, func(w http.ResponseWriter, r *http.Request) { Booth(w, r, tc.d) })
		var cfg boothConfig
		r.jsonScript(t, "tolk-config", &cfg)
		if cfg.WS != tc.ws {
			t.Errorf("%+v: ws %q, want %q", tc.d, cfg.WS, tc.ws)
		}
		if csp := r.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp+";", tc.conn) {
			t.Errorf("%+v on host %q: CSP %q lacks %q", tc.d, tc.host, csp, tc.conn)
		}
	}
}

// TestBoothSelfContained: the page runs under a strict CSP and loads the
// shared assets and its own, each by its versioned URL.
func TestBoothSelfContained(t *testing.T) {
	refs := checkSelfContained(t, renderBooth(t, demoBooth, "/booth/demo/fr?token=x"))
	if want := assetURLs(t, "common.css", "booth.css", "booth.js"); !slices.Equal(refs, want) {
		t.Errorf("page references %v, want %v", refs, want)
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
		checkInert(t, r, 3)
		var cfg boothConfig
		r.jsonScript(t, "tolk-config", &cfg)
		if utf8.ValidString(lang+relayTag) && (cfg.Lang.Tag != lang || len(cfg.Relays) != 1 || cfg.Relays[0].Tag != relayTag) {
			t.Fatalf("config did not survive the page: %+v", cfg)
		}
	})
}

func BenchmarkBooth(b *testing.B) {
	d := demoBooth
	d.Locale = "fr"
	benchPage(b, "/booth/demo/fr?token=x", func(w http.ResponseWriter, r *http.Request) { Booth(w, r, d) })
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

// TestBoothProducerParts: the parts the producer drives are on the page in
// every locale, hidden until the script needs them: the area for the
// producer's messages (a labelled list, not a live region: the announcer
// reads each message once), the muted banner, the revocation notice and the
// floor's delay beside the round trip. Their sentences are translated.
func TestBoothProducerParts(t *testing.T) {
	en := locales.Catalog("en")
	for _, loc := range locales.Locales() {
		d := demoBooth
		d.Locale = loc
		r := renderBooth(t, d, "/booth/demo/fr?token=x")
		cat := locales.Catalog(loc)
		for id, key := range map[string]string{"producer-heading": "booth.notice.heading", "muted-banner": "booth.muted.banner",
			"revoked-notice": "booth.revoked.detail"} {
			if got := strings.TrimSpace(text(r.byID(id))); got != cat[key] {
				t.Errorf("%s: #%s reads %q, want %q", loc, id, got, cat[key])
			}
		}
		for _, id := range []string{"producer-box", "muted-banner", "revoked-notice", "floor-delay"} {
			n := r.byID(id)
			if n == nil {
				t.Fatalf("%s: no #%s", loc, id)
			}
			if _, h := attr(n, "hidden"); !h {
				t.Errorf("%s: #%s is shown before the page knows anything", loc, id)
			}
		}
		box := attrs(r.byID("producer-box"))
		if r.byID("producer-box").Data != "section" || box["aria-labelledby"] != "producer-heading" || box["aria-live"] != "" {
			t.Errorf("%s: producer box %v", loc, box)
		}
		if l := r.byID("producer-log"); l == nil || l.Data != "ol" || l.Parent != r.byID("producer-box") {
			t.Errorf("%s: the producer's messages are not an ordered list in the box", loc)
		}
		// The delay sits with the round trip, in the connection box.
		if p := r.byID("floor-delay").Parent; p == nil || attrs(p)["id"] != "conn-box" {
			t.Errorf("%s: the floor delay is not beside the round trip", loc)
		}
		var msgs map[string]string
		r.jsonScript(t, "tolk-messages", &msgs)
		for _, k := range []string{"booth.onair.muted", "booth.onair.muted_floor", "booth.announce.muted", "booth.announce.unmuted",
			"booth.notice.all", "booth.notice.announce", "booth.notice.announce_all", "booth.conn.revoked", "booth.delay.value"} {
			if msgs[k] != cat[k] || msgs[k] == "" {
				t.Errorf("%s: the page's message %q is %q, want %q", loc, k, msgs[k], cat[k])
			}
			if loc != "en" && cat[k] == en[k] {
				t.Errorf("%s: %q is still English: %q", loc, k, cat[k])
			}
		}
	}
}
