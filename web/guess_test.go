package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestTokenGuessLimit: unknown tokens count against the client's address on
// every kind of token route (producer API, booth, the viewer side of a closed
// event, the WHIP stream key). Past the burst the address gets 429 with
// Retry-After and {"error"}, even for a good token it has not shown before; a
// token it already used still opens the viewer side (many viewers behind one
// CDN address), and other addresses are not held up.
func TestTokenGuessLimit(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m := newMatrixEvent(t, "access: {passcode: \""+testPasscode+"\"}")
	base := m.http.URL

	type try struct {
		method, path string
		bearer       string
		query        string
	}
	do := func(addr string, tr try) (*http.Response, string) {
		u := base + tr.path
		if tr.query != "" {
			u += "?token=" + tr.query
		}
		return call(ctx, t, tr.method, u, "", "", func(r *http.Request) {
			r.Header.Set("X-Forwarded-For", addr)
			if tr.bearer != "" {
				r.Header.Set("Authorization", "Bearer "+tr.bearer)
			}
		})
	}
	routes := map[string]func(secret string) try{
		"producer API": func(s string) try { return try{method: "GET", path: "/api/events/test/status", bearer: s} },
		"booth":        func(s string) try { return try{method: "GET", path: "/booth/test/fr", query: s} },
		"viewer (HLS)": func(s string) try { return try{method: "GET", path: "/hls/test/master.m3u8", query: s} },
		"WHIP":         func(s string) try { return try{method: "POST", path: "/whip/test", bearer: s} },
	}
	i := 0
	for name, mk := range routes {
		i++
		addr := fmt.Sprintf("198.51.100.%d", i)
		// A listener token used before the guessing starts.
		if name == "viewer (HLS)" {
			if resp, body := do(addr, mk(m.secrets[roleListener])); resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: the listener token: %d %s", name, resp.StatusCode, body)
			}
		}
		refused := 0
		var last *http.Response
		var lastBody string
		for n := 0; n < 40; n++ {
			resp, body := do(addr, mk(fmt.Sprintf("guess-%d-%d", i, n)))
			if resp.StatusCode != http.StatusUnauthorized {
				last, lastBody = resp, body
				break
			}
			refused++
		}
		t.Logf("%s: %d unknown tokens refused with 401 before the limit", name, refused)
		if last == nil || last.StatusCode != http.StatusTooManyRequests {
			t.Fatalf("%s: no 429 after %d unknown tokens", name, refused)
		}
		if refused != 20 {
			t.Errorf("%s: the limit came after %d guesses, want the burst of 20", name, refused)
		}
		ra, err := strconv.Atoi(last.Header.Get("Retry-After"))
		var eb struct {
			Error string `json:"error"`
		}
		if err != nil || ra < 1 || ra > 3 || json.Unmarshal([]byte(lastBody), &eb) != nil || eb.Error == "" {
			t.Errorf("%s: 429 with Retry-After %q and body %s", name, last.Header.Get("Retry-After"), lastBody)
		}
		// A good token never shown from this address waits as well...
		good := m.secrets[roleProducer]
		if name == "booth" {
			good = m.secrets[roleInterpreter]
		}
		if name != "WHIP" {
			if resp, body := do(addr, mk(good)); resp.StatusCode != http.StatusTooManyRequests {
				t.Errorf("%s: a good token from a limited address: %d %s, want 429", name, resp.StatusCode, body)
			}
		}
		// ...except a viewer's token the gate has met.
		if name == "viewer (HLS)" {
			if resp, body := do(addr, mk(m.secrets[roleListener])); resp.StatusCode != http.StatusOK {
				t.Errorf("%s: the listener token already met, from a limited address: %d %s", name, resp.StatusCode, body)
			}
		}
		// Another address is not held up.
		other := fmt.Sprintf("203.0.113.%d", i)
		want := http.StatusUnauthorized
		if resp, body := do(other, mk("another-guess")); resp.StatusCode != want {
			t.Errorf("%s: another address's first unknown token: %d %s, want %d", name, resp.StatusCode, body, want)
		}
	}
}
