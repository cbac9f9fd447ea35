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

var demoEditor = EditorData{
	EventID:  "demo",
	Title:    "Demo <Conference> & Co",
	Token:    "s3cret+/=&x",
	You:      "Eddie",
	Recorded: true,
	Editable: true,
	Languages: []Rendition{
		{Tag: "en", Name: "English", Floor: true},
		{Tag: "fr", Name: "Français"},
		{Tag: "pt-BR", Name: ""},
	},
}

func renderEditor(t testing.TB, d EditorData, target string) rendered {
	t.Helper()
	return renderPage(t, httptest.NewRequest(http.MethodGet, target, nil), func(w http.ResponseWriter, r *http.Request) { Editor(w, r, d) })
}

// TestEditorLocales renders the editor in every interface locale (and falls
// back to English for others): no key is missing, the script gets exactly
// the editor's messages in that locale, the controls' words and the help's
// shortcuts are the locale's.
func TestEditorLocales(t *testing.T) {
	cases := []struct{ locale, want string }{{"", "en"}, {"fr-CA", "fr"}, {"tlh", "en"}}
	for _, loc := range locales.Locales() {
		cases = append(cases, struct{ locale, want string }{loc, loc})
	}
	for _, tc := range cases {
		t.Run(tc.locale, func(t *testing.T) {
			d := demoEditor
			d.Locale = tc.locale
			r := renderEditor(t, d, "/edit/demo?token=x")
			checkLocale(t, r, tc.want)
			cat := locales.Catalog(tc.want)
			checkTitle(t, r, strings.ReplaceAll(cat["edit.page_title"], "{title}", d.Title), d.Title)
			for id, key := range map[string]string{
				"play": "edit.player.play", "cue-split": "edit.cue.split", "cue-merge": "edit.cue.merge", "replace-all": "edit.find.replace_all",
				"undo-last": "edit.undo_last", "help-heading": "edit.help.heading", "cues-heading": "edit.cues.heading",
				"cue-take-theirs": "edit.conflict.theirs", "cue-keep-mine": "edit.conflict.mine", "export-srt": "edit.export.srt",
			} {
				if got := strings.TrimSpace(text(r.byID(id))); got != cat[key] {
					t.Errorf("#%s reads %q, want %q", id, got, cat[key])
				}
			}
			var rows []string
			walk(r.byID("help"), func(n *html.Node) {
				if n.Type == html.ElementNode && n.Data == "td" && (n.FirstChild == nil || n.FirstChild.Data != "kbd") {
					rows = append(rows, text(n))
				}
			})
			if len(rows) != len(Shortcuts) {
				t.Fatalf("the help lists %d shortcuts, want %d", len(rows), len(Shortcuts))
			}
			for i, s := range Shortcuts {
				if rows[i] != cat["edit.key."+s.Action] {
					t.Errorf("help row %d reads %q, want %q", i, rows[i], cat["edit.key."+s.Action])
				}
			}
			var msgs map[string]string
			r.jsonScript(t, "tolk-messages", &msgs)
			for k, v := range cat {
				if strings.HasPrefix(k, "edit.") && msgs[k] != v {
					t.Errorf("message %q is %q, want the %s catalog's %q", k, msgs[k], tc.want, v)
				}
			}
			for k := range msgs {
				if !strings.HasPrefix(k, "edit.") {
					t.Errorf("message %q is not the editor's", k)
				}
			}
		})
	}
}

// TestEditorMessageKeys ties the catalog to the editor: every key its
// scripts or template ask for exists, every editor key is used (the help's
// descriptions are edit.key.ACTION of the shortcuts), and no key is built
// at run time where this test cannot see it.
func TestEditorMessageKeys(t *testing.T) {
	en := locales.Catalog("en")
	js := pageScripts(t, "edit")
	tmpl, err := templateFS.ReadFile("templates/edit.html")
	if err != nil {
		t.Fatal(err)
	}
	key := `edit\.[a-z_.]+`
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
	for _, s := range Shortcuts {
		used["edit.key."+s.Action] = true
	}
	if m := regexp.MustCompile(`'edit\.[a-z_.]*\.'\s*\+`).Find(js); m != nil {
		t.Errorf("a message key is built at run time: %s", m)
	}
	for k := range used {
		if _, ok := en[k]; !ok {
			t.Errorf("key %q is used but not in en.json", k)
		}
	}
	for k := range en {
		if strings.HasPrefix(k, "edit.") && !used[k] {
			t.Errorf("key %q is in en.json but the editor never uses it", k)
		}
	}
}

// TestEditorTranslated: what an editor reads most is translated in every
// locale, not copied from English.
func TestEditorTranslated(t *testing.T) {
	en := locales.Catalog("en")
	keys := []string{
		"edit.subtitle", "edit.cue.split", "edit.cue.merge", "edit.cue.reviewed", "edit.cue.time_hint", "edit.conflict.refused",
		"edit.conflict.mine", "edit.find.replace_all", "edit.shift.hint", "edit.warn.reading_speed", "edit.warn.line_length",
		"edit.help.heading", "edit.key.split", "edit.key.nudge", "edit.cues.count", "edit.say.deleted", "edit.history.restore_original",
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

// TestEditorContent: every control is labelled, the list and the editor's
// parts are named, the shortcuts are declared on their controls as the
// table says, the live regions are there, and the script's configuration
// carries the token, the API and the languages.
func TestEditorContent(t *testing.T) {
	r := renderEditor(t, demoEditor, "/edit/demo?token=x")
	if n := checkLabelled(t, r, "select", "input", "textarea"); n < 13 {
		t.Errorf("only %d labelled controls", n)
	}
	keys := map[string]string{}
	for _, s := range Shortcuts {
		keys[s.Action] = s.Aria
	}
	for id, action := range map[string]string{"play": "play", "back": "back", "forward": "forward", "cue-split": "split",
		"cue-merge": "merge", "cue-play": "play_cue", "add-cue": "add", "undo-last": "undo", "help-open": "help",
		"cue-reviewed": "reviewed", "find": "find"} {
		if got, _ := attr(r.byID(id), "aria-keyshortcuts"); got != keys[action] || got == "" {
			t.Errorf("#%s aria-keyshortcuts %q, want %q", id, got, keys[action])
		}
	}
	for _, id := range []string{"announce", "cues-count", "player-state", "cue-status", "find-count", "shift-status"} {
		a := attrs(r.byID(id))
		if a["aria-live"] != "polite" {
			t.Errorf("#%s is no polite live region: %v", id, a)
		}
	}
	if a := attrs(r.byID("cue-conflict")); a["role"] != "alert" {
		t.Errorf("the conflict panel %v", a)
	}
	if a := attrs(r.byID("cues")); r.byID("cues").Data != "ol" || a["aria-labelledby"] != "cues-heading" {
		t.Errorf("the list of cues %v", a)
	}
	for _, id := range []string{"help", "history"} {
		if n := r.byID(id); n == nil || n.Data != "dialog" || attrs(n)["aria-labelledby"] == "" {
			t.Errorf("#%s is no named dialog", id)
		}
	}
	if got := options(r.byID("lang")); len(got) != 3 || got[2] != [2]string{"pt-BR", "pt-BR"} || got[1] != [2]string{"fr", "Français"} {
		t.Errorf("language picker %v", got)
	}
	var cfg editorConfig
	r.jsonScript(t, "tolk-config", &cfg)
	if cfg.Token != demoEditor.Token || cfg.API != "/api/events/demo" || cfg.VOD != "/vod/demo/" || !cfg.Recorded || !cfg.Editable ||
		len(cfg.Languages) != 3 || len(cfg.Shortcuts) != len(Shortcuts) || cfg.You != "Eddie" {
		t.Errorf("config %+v", cfg)
	}
	// Two shortcuts never share a key.
	seen := map[string]string{}
	for _, s := range Shortcuts {
		k := s.Code + map[bool]string{true: "+alt"}[s.Alt] + map[bool]string{true: "+shift"}[s.Shift] + map[bool]string{true: "+ctrl"}[s.Ctrl]
		if s.Field {
			k += "+field"
		}
		if other, dup := seen[k]; dup {
			t.Errorf("%s and %s share %s", s.Action, other, k)
		}
		seen[k] = s.Action
	}
	// Without recordings or a cue store, the page says so.
	d := demoEditor
	d.Recorded, d.Editable, d.Languages = false, false, nil
	r = renderEditor(t, d, "/edit/demo?token=x")
	cat := locales.Catalog("en")
	if text(r.byID("no-store")) != cat["edit.no_store"] || text(r.byID("no-langs")) != cat["edit.lang.none"] ||
		strings.TrimSpace(text(r.byID("player-state"))) != cat["edit.player.off"] {
		t.Error("the page does not say what it lacks")
	}
}

// TestEditorSelfContained: the editor runs under a strict CSP (media from
// blob: for hls.js) and loads the shared stylesheet, its own, hls.js and
// its module, each by its versioned URL.
func TestEditorSelfContained(t *testing.T) {
	r := renderEditor(t, demoEditor, "/edit/demo?token=x")
	refs := checkSelfContained(t, r)
	if want := assetURLs(t, "common.css", "edit.css", "hls.min.js", "edit.js"); !slices.Equal(refs, want) {
		t.Errorf("page references %v, want %v", refs, want)
	}
	if csp := r.resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "media-src 'self' blob:") {
		t.Errorf("CSP %q does not let hls.js play", csp)
	}
	// Locale links keep the token, so a change of language keeps the page.
	for _, h := range r.hrefs() {
		if strings.Contains(h, "lang=") && !strings.Contains(h, "token=x") {
			t.Errorf("locale link %q drops the token", h)
		}
	}
}

// TestEditorModulesSmall: no module of the editor is over 400 lines.
func TestEditorModulesSmall(t *testing.T) {
	for name, a := range assets {
		if (name == "edit.js" || strings.HasPrefix(name, "edit/")) && strings.Count(string(a.data), "\n") > 400 {
			t.Errorf("%s has %d lines", name, strings.Count(string(a.data), "\n"))
		}
	}
}

func FuzzEditor(f *testing.F) {
	f.Add("Demo", "fr", "Français", "T", "Eddie", "en")
	f.Add("</script><script>alert(1)</script>", "x\" onclick=\"y", "<!--", "a&b=c", "<b>", "ar")
	f.Add("", "", "", "", "", "")
	f.Fuzz(func(t *testing.T, title, tag, name, token, you, locale string) {
		d := EditorData{EventID: "e", Title: title, Token: token, You: you, Locale: locale, Recorded: true, Editable: true,
			Languages: []Rendition{{Tag: "en", Name: "English", Floor: true}, {Tag: tag, Name: name}}}
		r := renderEditor(t, d, "/edit/e")
		checkInert(t, r, 4)
		var cfg editorConfig
		r.jsonScript(t, "tolk-config", &cfg)
		if len(cfg.Languages) != 2 || (utf8.ValidString(tag) && cfg.Languages[1].Tag != tag) ||
			(utf8.ValidString(token) && cfg.Token != token) {
			t.Fatalf("config did not survive the page: %+v", cfg)
		}
	})
}
