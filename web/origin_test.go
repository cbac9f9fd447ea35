package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/captions/captionstest"
	"tolk/cmd/tolk/event"
	"tolk/internal/store"
	"tolk/web"
)

// TestWebSocketOrigin: the live captions, console and booth WebSockets open
// from the server's own pages, from an origin the operator allowed and from
// clients that send no Origin; a page of any other site gets 403 and no
// socket, as does the passcode form posted from it.
func TestWebSocketOrigin(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, _ := openStore(t)
	cfg := eventConfig(t, `
id: test
title: Origins
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
access: {passcode: "%s"}
`, streamKey, testPasscode)
	rec := captionstest.NewScripted([]captionstest.ScriptedWord{{Text: "welcome", Start: 24000, End: 48000}})
	h := serve(t, cfg, event.Options{Recognizer: rec}, web.Options{Tokens: st, Origins: []string{"https://events.example"}})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	prod, _, err := st.CreateToken(ctx, "test", store.RoleProducer, "", "p")
	if err != nil {
		t.Fatal(err)
	}
	interp, _, err := st.CreateToken(ctx, "test", store.RoleInterpreter, "fr", "i")
	if err != nil {
		t.Fatal(err)
	}
	ws := "ws" + strings.TrimPrefix(h.http.URL, "http")
	self := h.http.URL // the Origin of the server's own pages
	sockets := map[string]string{
		"live captions": ws + "/api/events/test/captions/live/en?token=" + prod,
		"console":       ws + "/console/test/ws?token=" + prod,
		"booth":         ws + "/booth/test/fr/ws?token=" + interp,
	}
	origins := []struct {
		origin string
		ok     bool
	}{
		{"", true},
		{self, true},
		{"https://events.example", true},
		{"HTTPS://EVENTS.EXAMPLE", true},
		{"https://evil.example", false},
		{"https://events.example.evil.example", false},
		{"null", false},
	}
	for name, u := range sockets {
		for _, o := range origins {
			hdr := http.Header{}
			if o.origin != "" {
				hdr.Set("Origin", o.origin)
			}
			c, resp, err := websocket.DefaultDialer.DialContext(ctx, u, hdr)
			if c != nil {
				c.Close()
			}
			code := 0
			if resp != nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			if o.ok && err != nil {
				t.Errorf("%s from Origin %q: %v (%d), want a socket", name, o.origin, err, code)
			}
			if !o.ok && (err == nil || code != http.StatusForbidden) {
				t.Errorf("%s from Origin %q: %v (%d), want 403", name, o.origin, err, code)
			}
		}
	}
	// The passcode form follows the same rule.
	for _, o := range origins {
		resp, body := call(ctx, t, "POST", h.http.URL+"/api/events/test/access", "application/json", `{"passcode": "wrong passcode"}`,
			func(r *http.Request) {
				r.Header.Set("X-Forwarded-For", "192.0.2.200")
				if o.origin != "" {
					r.Header.Set("Origin", o.origin)
				}
			})
		want := http.StatusUnauthorized // wrong, but judged
		if !o.ok {
			want = http.StatusForbidden
		}
		if resp.StatusCode != want {
			t.Errorf("passcode from Origin %q: %d %s, want %d", o.origin, resp.StatusCode, body, want)
		}
	}
}
