package pages

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"tolk/locales"
)

// TestWatchAccessForm: a closed event's page without access is a passcode
// form in every UI language: a labelled password field that takes the
// focus, an error that is an alert the field refers to, a submit button, no
// player and no hls.js; the status is the form's (401, 429).
func TestWatchAccessForm(t *testing.T) {
	for _, loc := range locales.Locales() {
		cat := locales.Catalog(loc)
		for _, c := range []struct {
			err, want string
			status    int
		}{
			{"", "", http.StatusUnauthorized},
			{"wrong", cat["watch.access.error.wrong"], http.StatusUnauthorized},
			{"empty", cat["watch.access.error.empty"], http.StatusUnauthorized},
			{"limit", strings.ReplaceAll(cat["watch.access.error.limit"], "{seconds}", "7"), http.StatusTooManyRequests},
			{"link", cat["watch.access.error.link"], http.StatusUnauthorized},
			{"ended", cat["watch.access.error.ended"], http.StatusUnauthorized},
		} {
			d := WatchData{EventID: "gala", Title: "Gala <2026>", Locale: loc, Renditions: demo.Renditions, HLSURL: demo.HLSURL,
				Access: &AccessForm{Passcode: true, Error: c.err, RetryAfter: 7, Action: "/watch/gala?lang=" + loc, Status: c.status}}
			r := renderWatch(t, d, "/watch/gala?lang="+loc)
			if r.resp.StatusCode != c.status {
				t.Errorf("%s %q: status %d, want %d", loc, c.err, r.resp.StatusCode, c.status)
			}
			if strings.Contains(r.body, missing) || r.byID("play") != nil || r.byID("lang") != nil || strings.Contains(r.body, "hls.min.js") {
				t.Fatalf("%s %q: a player or a missing string on the form:\n%s", loc, c.err, r.body)
			}
			form := r.byID("access-form")
			if form == nil || attrs(form)["method"] != "post" || attrs(form)["action"] != "/watch/gala?lang="+loc {
				t.Fatalf("%s: form %v", loc, form)
			}
			if n := checkLabelled(t, r, "input"); n != 2 { // the passcode, "show passcode"
				t.Errorf("%s: %d labelled inputs, want 2", loc, n)
			}
			field := attrs(r.byID("passcode"))
			if field["type"] != "password" || field["name"] != "passcode" || field["autocomplete"] != "current-password" {
				t.Errorf("%s: passcode field %v", loc, field)
			}
			if _, ok := field["autofocus"]; !ok {
				t.Errorf("%s: the passcode field does not take the focus", loc)
			}
			if got := strings.TrimSpace(text(r.byID("access-submit"))); got != cat["watch.access.submit"] {
				t.Errorf("%s: submit %q", loc, got)
			}
			if got := text(r.byID("access-heading")); got != cat["watch.access.heading"] {
				t.Errorf("%s: heading %q", loc, got)
			}
			alert := r.byID("access-error")
			if c.err == "" {
				if alert != nil || field["aria-invalid"] != "" {
					t.Errorf("%s: an error on the first visit", loc)
				}
				continue
			}
			if alert == nil || attrs(alert)["role"] != "alert" || strings.TrimSpace(text(alert)) != c.want {
				t.Errorf("%s %q: alert %v %q, want %q", loc, c.err, alert, text(alert), c.want)
			}
			if field["aria-invalid"] != "true" || field["aria-describedby"] != "access-error" {
				t.Errorf("%s %q: the field does not point to the error: %v", loc, c.err, field)
			}
		}
	}
	// An event that opens only with a token: no field, the note instead.
	d := WatchData{EventID: "gala", Title: "Gala", Locale: "de", Access: &AccessForm{Status: http.StatusUnauthorized}}
	r := renderWatch(t, d, "/watch/gala")
	if r.byID("access-form") != nil || text(r.byID("access-intro")) != locales.Catalog("de")["watch.access.intro_token"] {
		t.Errorf("token-only page:\n%s", r.body)
	}
	var cfg watchConfig
	r.jsonScript(t, "tolk-config", &cfg)
	if !cfg.Locked || cfg.HLS != "" || cfg.WHEP != "" || len(cfg.Renditions) != 0 {
		t.Errorf("a locked page's config %+v", cfg)
	}
	refs := checkSelfContained(t, r)
	if want := assetURLs(t, "common.css", "watch.css", "watch.js"); !slices.Equal(refs, want) {
		t.Errorf("a locked page loads %v, want %v", refs, want)
	}
}

// TestConsoleOffersListenerTokens: the console's tokens dialog issues
// listener tokens, named in the console's language.
func TestConsoleOffersListenerTokens(t *testing.T) {
	for _, loc := range []string{"en", "ja"} {
		d := demoConsole
		d.Locale = loc
		r := renderConsole(t, d, "/console/demo?token=x")
		got := options(r.byID("token-role"))
		want := [2]string{"listener", locales.Catalog(loc)["console.tokens.role.listener"]}
		if !slices.Contains(got, want) || len(got) != 4 {
			t.Errorf("%s: token roles %v, want 4 with %v", loc, got, want)
		}
	}
}
