package pages

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"tolk/locales"
)

var demoReplay = ReplayData{
	EventID:  "demo",
	Title:    "Demo <Conference> & Co",
	Replays:  "/api/events/demo/replays",
	Watch:    "/watch/demo",
	Recorded: true,
}

func renderReplay(t testing.TB, d ReplayData, target string) rendered {
	t.Helper()
	return renderPage(t, httptest.NewRequest(http.MethodGet, target, nil), func(w http.ResponseWriter, r *http.Request) { Replay(w, r, d) })
}

// TestReplayLocales renders the replay page in every UI locale: the
// locale's strings, its direction, no missing key, and the messages its
// script and the watch page's modules it reuses ask for.
func TestReplayLocales(t *testing.T) {
	for _, loc := range locales.Locales() {
		t.Run(loc, func(t *testing.T) {
			d := demoReplay
			d.Locale = loc
			r := renderReplay(t, d, "/replay/demo")
			checkLocale(t, r, loc)
			cat := locales.Catalog(loc)
			if got := strings.TrimSpace(text(r.byID("play"))); got != cat["replay.play"] {
				t.Errorf("play button %q, want %q", got, cat["replay.play"])
			}
			var msgs map[string]string
			r.jsonScript(t, "tolk-messages", &msgs)
			for _, k := range []string{"replay.state.playing", "replay.seek.value", "watch.captions.off", "watch.meter.silent", "watch.error.http"} {
				if msgs[k] == "" || msgs[k] != cat[k] {
					t.Errorf("embedded message %s = %q", k, msgs[k])
				}
			}
			if loc != "en" && cat["replay.keys"] == locales.Catalog("en")["replay.keys"] {
				t.Errorf("replay.keys is still English")
			}
		})
	}
}

// TestReplayContent: every control is labelled, the seek bar is a slider
// with a spoken value, the state line and the caption area are live
// regions, shortcuts are declared, the configuration names the list of
// runs, and the page loads hls.js and its own module under the strict
// policy.
func TestReplayContent(t *testing.T) {
	r := renderReplay(t, demoReplay, "/replay/demo")
	labels := labelled(r.all("label"))
	for _, id := range []string{"lang", "captions", "volume", "seek"} {
		if r.byID(id) == nil || !labels[id] {
			t.Errorf("#%s missing or unlabelled", id)
		}
	}
	seek := attrs(r.byID("seek"))
	if seek["type"] != "range" || seek["aria-valuetext"] != "0:00 of 0:00" {
		t.Errorf("seek bar %v", seek)
	}
	for id, key := range map[string]string{"play": "K", "back": "J", "forward": "L"} {
		a := attrs(r.byID(id))
		if a["type"] != "button" || a["aria-keyshortcuts"] != key {
			t.Errorf("#%s: %v", id, a)
		}
	}
	if a := attrs(r.byID("state")); a["role"] != "status" || a["aria-live"] != "polite" {
		t.Errorf("state line %v", a)
	}
	if a := attrs(r.byID("caption-area")); a["role"] != "region" || a["aria-label"] == "" {
		t.Errorf("caption area %v", a)
	}
	if a := attrs(r.byID("runs-state")); a["role"] != "status" {
		t.Errorf("runs state %v", a)
	}
	if got := text(r.byID("title")); got != demoReplay.Title {
		t.Errorf("title %q", got)
	}
	var cfg struct {
		Event, Replays string
		Recorded       bool
	}
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Event != "demo" || cfg.Replays != "/api/events/demo/replays" || !cfg.Recorded {
		t.Errorf("config %+v", cfg)
	}
	var scripts []string
	for _, s := range r.all("script") {
		if src, ok := attr(s, "src"); ok {
			scripts = append(scripts, src)
		}
	}
	if len(scripts) != 2 || !strings.Contains(scripts[0], "hls.min.js") || !strings.Contains(scripts[1], "replay.js") {
		t.Errorf("scripts %v", scripts)
	}
	csp := r.resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("policy %q", csp)
	}
	var live bool
	walk(r.doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "a" && attrs(n)["href"] == "/watch/demo" {
			live = true
		}
	})
	if !live {
		t.Error("no link to the live page")
	}
	// A server without recordings says so at once.
	d := demoReplay
	d.Recorded = false
	if got := strings.TrimSpace(text(renderReplay(t, d, "/replay/demo").byID("runs-state"))); got != locales.Catalog("en")["replay.runs.off"] {
		t.Errorf("without recordings: %q", got)
	}
}

// TestReplayLocked: a closed event's replay page without access is the
// watch page's passcode form, posting to the replay page, with its status.
func TestReplayLocked(t *testing.T) {
	d := demoReplay
	d.Access = &AccessForm{Passcode: true, Error: "wrong", Action: "/replay/demo", Status: http.StatusUnauthorized}
	r := renderReplay(t, d, "/replay/demo")
	if r.resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("status %d", r.resp.StatusCode)
	}
	form := r.byID("access-form")
	if form == nil || attrs(form)["action"] != "/replay/demo" || r.byID("passcode") == nil || r.byID("access-error") == nil {
		t.Fatal("no passcode form posting to the replay page")
	}
	if r.byID("seek") != nil || strings.Contains(r.body, "/api/events/demo/replays") {
		t.Error("a locked page shows the player or the list")
	}
}

// TestReplayMessageKeys ties the catalog to the page: every replay.* key
// its scripts and template ask for exists, every replay.* key is used, and
// every watch.* key it reuses exists.
func TestReplayMessageKeys(t *testing.T) {
	en := locales.Catalog("en")
	js := pageScripts(t, "replay")
	tmpl, err := templateFS.ReadFile("templates/replay.html")
	if err != nil {
		t.Fatal(err)
	}
	key := `(?:replay|watch)\.[a-z_.]+`
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`'(`+key+`)'`).FindAllSubmatch(js, -1) {
		used[string(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`\.TF? "(`+key+`)"`).FindAllSubmatch(tmpl, -1) {
		used[string(m[1])] = true
	}
	if len(used) < 30 {
		t.Fatalf("found only %d keys: the patterns no longer match the sources", len(used))
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used but not in en.json", k)
		}
	}
	for k := range en {
		if strings.HasPrefix(k, "replay.") && !used[k] {
			t.Errorf("key %q is in en.json but the replay page never uses it", k)
		}
	}
}
