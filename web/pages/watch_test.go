package pages

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"

	"tolk/locales"
)

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

func renderWatch(t testing.TB, d WatchData, target string) rendered {
	t.Helper()
	return renderPage(t, httptest.NewRequest(http.MethodGet, target, nil), func(w http.ResponseWriter, r *http.Request) { Watch(w, r, d) })
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
			checkLocale(t, r, tc.wantLang)
			if got := strings.TrimSpace(text(r.byID("play"))); got != tc.play {
				t.Errorf("play button %q, want %q", got, tc.play)
			}
			var msgs map[string]string
			r.jsonScript(t, "tolk-messages", &msgs)
			if msgs["watch.state.live"] != locales.Catalog(tc.wantLang)["watch.state.live"] {
				t.Errorf("embedded messages are not the %s catalog", tc.wantLang)
			}
		})
	}
}

func TestWatchContent(t *testing.T) {
	d := demo
	d.Locale = "fr"
	r := renderWatch(t, d, "/watch/demo?lang=fr&audio=es")

	checkTitle(t, r, "Demo <Conference> & Co · Interprétation en direct", d.Title)

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
	if n := checkLabelled(t, r, "select", "input"); n != 6 { // audio, captions, captions over the picture, two modes, volume
		t.Errorf("%d form controls, want 6", n)
	}
	// The stage for the floor's picture, hidden until a picture plays,
	// named for screen readers in the page's language.
	if st := r.byID("stage"); st == nil {
		t.Error("no stage for the picture")
	} else if _, hidden := attr(st, "hidden"); !hidden {
		t.Error("the stage is shown before any picture")
	}
	if pic := r.byID("picture"); pic == nil {
		t.Error("no picture group")
	} else if l, _ := attr(pic, "aria-label"); l != "Vidéo de la salle" {
		t.Errorf("picture labelled %q", l)
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
	if hrefs := r.hrefs(); !slices.Contains(hrefs, "?audio=es&lang=en") {
		t.Errorf("locale links %v", hrefs)
	}
}

// TestWatchSelfContained: the page runs under a strict CSP and loads the
// shared assets, hls.js and its own, each by its versioned URL.
func TestWatchSelfContained(t *testing.T) {
	d := demo
	d.Locale = "en"
	refs := checkSelfContained(t, renderWatch(t, d, "/watch/demo"))
	if want := assetURLs(t, "common.css", "watch.css", "hls.min.js", "watch.js"); !slices.Equal(refs, want) {
		t.Errorf("page references %v, want %v", refs, want)
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

func FuzzWatch(f *testing.F) {
	f.Add("Demo", "fr", "Français", "/whep/demo/{lang}", "fr")
	f.Add("</script><script>alert(1)</script>", "x\"y", "<!--", "javascript:alert(1)", "ar")
	f.Add("\u2028\u2029", "", "", "https://h/{lang}", "")
	f.Fuzz(func(t *testing.T, title, tag, name, whep, locale string) {
		d := WatchData{EventID: "e", Title: title, Renditions: []Rendition{{Tag: tag, Name: name}}, HLSURL: "/hls/e/master.m3u8", WHEPURL: whep, Locale: locale}
		r := renderWatch(t, d, "/watch/e")
		checkInert(t, r, 4)
		var cfg watchConfig
		r.jsonScript(t, "tolk-config", &cfg)
		// JSON carries text: invalid UTF-8 arrives as U+FFFD, so compare valid input only.
		if utf8.ValidString(whep+tag) && (cfg.WHEP != whep || len(cfg.Renditions) != 1 || cfg.Renditions[0].Tag != tag) {
			t.Fatalf("config did not survive the page: %+v", cfg)
		}
	})
}

func BenchmarkWatch(b *testing.B) {
	d := demo
	d.Locale = "fr"
	benchPage(b, "/watch/demo", func(w http.ResponseWriter, r *http.Request) { Watch(w, r, d) })
}

// TestWatchCaptions: a server-given caption list becomes the picker (Off
// first) and the live WebSocket paths; without one the config says null and
// the page asks the event API.
func TestWatchCaptions(t *testing.T) {
	d := demo
	d.Captions = []Rendition{{Tag: "en", Name: "English"}, {Tag: "fr", MachineTranslated: true}}
	r := renderWatch(t, d, "/watch/demo")
	var cfg struct {
		Captions *[]struct {
			Tag, Name, Live string
			MT              bool `json:"machine_translation"`
		} `json:"captions"`
	}
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Captions == nil || len(*cfg.Captions) != 2 {
		t.Fatalf("config captions = %+v", cfg.Captions)
	}
	if c := (*cfg.Captions)[1]; c.Live != "/api/events/demo/captions/live/fr" || c.Name != "fr" || !c.MT {
		t.Errorf("second caption = %+v", c)
	}
	if c := (*cfg.Captions)[0]; c.MT {
		t.Errorf("first caption = %+v, marked machine translation", c)
	}
	sel := r.byID("captions")
	if sel == nil {
		t.Fatal("no caption picker")
	}
	if got := options(sel); len(got) != 4 || got[0][0] != "" || got[1][0] != "en" || got[2][0] != "fr" || got[3][0] != "es" {
		t.Errorf("caption options = %q", got)
	} else if got[2][1] != "fr (machine translation)" || got[1][1] != "English" {
		t.Errorf("caption option labels = %q", got)
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

// TestWatchDelayLine: the measured delay has its line under the state line,
// hidden until measured and not a live region (it changes every report; the
// state line is what screen readers follow).
func TestWatchDelayLine(t *testing.T) {
	for _, loc := range locales.Locales() {
		d := demo
		d.Locale = loc
		r := renderWatch(t, d, "/watch/demo")
		n := r.byID("delay")
		if n == nil {
			t.Fatalf("%s: no #delay", loc)
		}
		a := attrs(n)
		if _, h := attr(n, "hidden"); !h || a["aria-live"] != "" || a["role"] != "" || strings.TrimSpace(text(n)) != "" {
			t.Errorf("%s: delay line %v %q", loc, a, text(n))
		}
		if n.Parent != r.byID("state").Parent {
			t.Errorf("%s: the delay line is not beside the state line", loc)
		}
		var msgs map[string]string
		r.jsonScript(t, "tolk-messages", &msgs)
		if v := msgs["watch.delay.value"]; v == "" || !strings.Contains(v, "{seconds}") || (loc != "en" && v == locales.Catalog("en")["watch.delay.value"]) {
			t.Errorf("%s: watch.delay.value is %q", loc, v)
		}
	}
}

// TestPageModulesLayered: each page's modules import one another without a
// cycle (the entry module wires what a lower part hands up), and none grows
// past 400 lines.
func TestPageModulesLayered(t *testing.T) {
	line := regexp.MustCompile(`(?m)^(?:(?:import|export)\b[^\n]*|\})\s*\bfrom\s*'([^']*)'|^import\s*'([^']*)'`)
	imports := map[string][]string{}
	for _, name := range modules(t) {
		for _, m := range line.FindAllSubmatch(assets[name].data, -1) {
			spec := string(m[1]) + string(m[2])
			u, err := url.Parse(spec)
			if err != nil {
				t.Fatalf("%s: import %q: %v", name, spec, err)
			}
			imports[name] = append(imports[name], path.Join(path.Dir(name), u.Path))
		}
	}
	// Depth-first search; a module met again while on the stack closes a cycle.
	const (
		unseen = iota
		onStack
		done
	)
	mark := map[string]int{}
	var stack []string
	var visit func(string)
	visit = func(n string) {
		mark[n] = onStack
		stack = append(stack, n)
		for _, d := range imports[n] {
			switch mark[d] {
			case onStack:
				i := slices.Index(stack, d)
				t.Errorf("import cycle: %s → %s", strings.Join(stack[i:], " → "), d)
			case unseen:
				visit(d)
			}
		}
		stack = stack[:len(stack)-1]
		mark[n] = done
	}
	for _, entry := range []string{"booth.js", "watch.js", "replay.js"} {
		visit(entry)
	}
	for name, m := range mark {
		if n := bytes.Count(assets[name].data, []byte("\n")); m == done && n >= 400 {
			t.Errorf("%s has %d lines, want under 400", name, n)
		}
	}
	for _, want := range []string{"booth/notices.js", "booth/latency.js", "watch/report.js", "shared/latency.js"} {
		if mark[want] != done {
			t.Errorf("%s is not reached from its page", want)
		}
	}
}
