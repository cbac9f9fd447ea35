//go:build browser

package web_test

import (
	"context"
	"testing"
	"time"

	"tolk/internal/store"
)

// TestBrowserWatchAccess: a closed event in Chromium. The watch page is the
// passcode form (401), with the focus in the field; a wrong passcode typed
// and sent with Enter brings the form back with the error as an alert the
// field refers to; the right one lands on the watch page with an HttpOnly
// session cookie, and hls.js plays the floor with it (the page goes live,
// the tone is heard). A listener's link plays over WebRTC until the
// producer revokes the token: the server's WHEP session ends at once, and
// the page comes back to the form saying its access ended.
func TestBrowserWatchAccess(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	floor := toneFile(t, 440, 0.5, 30)
	st, _ := openStore(t)
	cfg := eventConfig(t, `
id: test
title: Closed browser test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
access: {passcode: "%s"}
`, floor, testPasscode)
	h := startWith(t, cfg, st)
	prod, _, err := st.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	lis, ltk, err := st.CreateToken(ctx, "test", store.RoleListener, "", "Lena")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Form struct {
			Status      int
			Focused     string
			FieldType   string `json:"field_type"`
			Alert       bool
			ShowOffered bool `json:"show_offered"`
		}
		Wrong struct {
			Status      int
			Alert       *string
			Error       string
			Invalid     string
			DescribedBy string `json:"described_by"`
			Focused     string
			ShownAs     string `json:"shown_as"`
		}
		Right struct {
			Status         int
			URL            string
			CookieHTTPOnly *bool  `json:"cookie_http_only"`
			CookieSameSite string `json:"cookie_same_site"`
		}
		HLS struct {
			ConnectMS  int `json:"connect_ms"`
			State      string
			PeakHz     float64 `json:"peak_hz"`
			HLSJS      *string `json:"hls_js"`
			Refused401 int     `json:"requests_401"`
		}
		Listener struct {
			Status          int
			Landed          bool
			State           string
			PeakHz          float64 `json:"peak_hz"`
			ServerListeners int     `json:"server_listeners"`
		}
		Revoke struct {
			Status      int
			AnsweredMS  int    `json:"answered_ms"`
			ServerEndMS int    `json:"server_end_ms"`
			PageEndMS   *int   `json:"page_end_ms"`
			FormMS      int    `json:"form_ms"`
			FormError   string `json:"form_error"`
		}
	}
	runBrowser(t, "watch_access.mjs", &rep, h.http.URL, "--event", "test", "--passcode", testPasscode,
		"--listener", lis, "--listener-id", ltk.ID, "--producer", prod, "--lang", "en")

	if f := rep.Form; f.Status != 401 || f.Focused != "passcode" || f.FieldType != "password" || f.Alert || !f.ShowOffered {
		t.Errorf("first visit: %+v, want 401, the focus in a password field, no alert, the show box offered", f)
	}
	w := rep.Wrong
	if w.Status != 401 || w.Alert == nil || *w.Alert != "That passcode is not right. Check it and try again." || w.Error != "wrong" ||
		w.Invalid != "true" || w.DescribedBy != "access-error" || w.Focused != "passcode" || w.ShownAs != "text" {
		t.Errorf("wrong passcode: %+v", w)
	}
	if r := rep.Right; r.Status != 200 || r.URL != h.http.URL+"/watch/test" || r.CookieHTTPOnly == nil || !*r.CookieHTTPOnly || r.CookieSameSite != "Lax" {
		t.Errorf("right passcode: %+v", r)
	}
	if x := rep.HLS; x.State != "live" || x.HLSJS == nil || !near(x.PeakHz, 440, 30) || x.Refused401 != 0 {
		t.Errorf("HLS with the passcode's session: %+v, want live, hls.js, 440 Hz, nothing refused", x)
	}
	t.Logf("HLS: live %d ms after Play, %.0f Hz", rep.HLS.ConnectMS, rep.HLS.PeakHz)
	if l := rep.Listener; l.Status != 200 || !l.Landed || l.State != "live" || !near(l.PeakHz, 440, 30) || l.ServerListeners != 1 {
		t.Errorf("listener link over WebRTC: %+v", l)
	}
	r := rep.Revoke
	if r.Status != 204 || r.FormError != "ended" {
		t.Errorf("revocation: %+v, want 204 and the form saying the access ended", r)
	}
	t.Logf("revoked a WebRTC listener's token: answered in %d ms; the server's WHEP session ended %d ms after the request, the page left live after %v ms and showed the form after %d ms",
		r.AnsweredMS, r.ServerEndMS, ptr(r.PageEndMS), r.FormMS)
}
