package web_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"tolk/captions/captionstest"
	"tolk/captions/translate/translatefake"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/store"
	"tolk/locales"
	"tolk/web"
)

// TestBrowserConsoleCaptionOnly: the producer console lists the captions of
// a language nobody interprets (Japanese, the floor's captions translated
// by the Cloud Translation client against the local fake) with their
// machine-translation mark, their state and their last cue, in Chromium;
// the status API and /metrics carry the same language.
func TestBrowserConsoleCaptionOnly(t *testing.T) {
	leakCheck(t)
	cl, stopTranslate := translatefake.Client(t)
	defer stopTranslate()
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {fr: none, ja: translate}, translate: {project: tolk-test}}
record: false
`, floor)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sec := int64(audio.SampleRate)
	const said = "good morning and welcome"
	script := captionstest.Repeated(said, 2*sec, 6*sec, 100*sec)
	h := serve(t, cfg, event.Options{Recognizer: captionstest.NewScripted(script), Translator: cl, Cues: st},
		web.Options{Tokens: st, Cues: st})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	prod, _, err := st.CreateToken(context.Background(), "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK      bool
		Error   string
		Heading string
		Items   []struct {
			Lang, Name, MT, State string
			NameLang              string     `json:"name_lang"`
			MTTitle               string     `json:"mt_title"`
			MTSpoken              string     `json:"mt_spoken"`
			DataState             string     `json:"data_state"`
			Facts                 [][]string `json:"facts"`
		}
		Aria          string
		PageErrors    []string `json:"page_errors"`
		ConsoleErrors []string `json:"console_errors"`
	}
	runBrowser(t, "console_captions.mjs", &rep, h.http.URL, "--event", "test", "--token", prod, "--timeout", "60")
	en := locales.Catalog("en")
	if !rep.OK || len(rep.PageErrors) > 0 || len(rep.ConsoleErrors) > 0 {
		t.Fatalf("console: %+v", rep)
	}
	if rep.Heading != en["console.caption_only.heading"] || len(rep.Items) != 1 {
		t.Fatalf("heading %q, items %+v", rep.Heading, rep.Items)
	}
	it := rep.Items[0]
	if it.Lang != "ja" || it.Name != "日本語" || it.NameLang != "ja" || it.MT != en["console.caption_only.mt"] ||
		it.MTTitle != en["console.caption_only.mt_full"] || it.MTSpoken != en["console.caption_only.mt_full"] || it.State != en["console.captions.live"] || it.DataState != "live" {
		t.Errorf("entry %+v", it)
	}
	facts := map[string][]string{}
	for _, f := range it.Facts {
		facts[f[0]] = f[1:]
	}
	if c := facts[en["console.caption_only.cues"]]; len(c) == 0 || c[0] == "0" {
		t.Errorf("cue count %v", c)
	}
	if c := facts[en["console.caption_only.last_cue"]]; len(c) != 2 || c[0] != translatefake.Translate(said, "ja", false) || c[1] != "ja" {
		t.Errorf("last cue %v (facts %v)", c, it.Facts)
	}
	if !strings.Contains(rep.Aria, en["console.caption_only.heading"]) || !strings.Contains(rep.Aria, "日本語 "+en["console.caption_only.mt_full"]) {
		t.Errorf("accessibility tree:\n%s", rep.Aria)
	}

	// The same from the API and /metrics.
	code, b, _ := edCall(t, http.MethodGet, h.http.URL+"/api/events/test/status", prod, nil)
	s := decode[web.EventStatus](t, b)
	if code != http.StatusOK || len(s.CaptionOnly) != 1 || s.CaptionOnly[0].Tag != "ja" || !s.CaptionOnly[0].MachineTranslation ||
		s.CaptionOnly[0].Captions.Cues == 0 || slices.ContainsFunc(s.Languages, func(l web.LanguageStatus) bool { return l.Tag == "ja" }) {
		t.Errorf("status %d: caption_only %+v, languages %d", code, s.CaptionOnly, len(s.Languages))
	}
	metrics := get(t, h.http.URL+"/metrics")
	if !strings.Contains(metrics, `tolk_captions_available{event="test",lang="ja"} 1`) {
		t.Errorf("metrics lack the Japanese captions:\n%s", grepLines(metrics, "caption"))
	}
}

// grepLines keeps the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
