package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/store"
	"tolk/web"
)

// TestTokensAndRevocation: the producer lists, creates and revokes tokens
// through the API; revoking ends every live session of the token at once
// (booth page and console, close code 4003), and a token revoked by another
// process on the same data directory (tolk token revoke) ends its sessions
// within the server's poll.
func TestTokensAndRevocation(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b := startBooths(t, "{tag: fr}, {tag: de}")
	prod, _, err := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	call := func(method, path, body string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, b.http.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+prod)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, out
	}
	for _, c := range []struct {
		body string
		want int
	}{
		{`{"role": "interpreter", "lang": "it", "name": "Ivo"}`, 400},
		{`{"role": "interpreter", "lang": "fr"}`, 400},
		{`{"role": "admin", "name": "x"}`, 400},
		{`{"role": "producer", "lang": "fr"}`, 400},
		{`{"role": "producer", "colour": "red"}`, 400},
	} {
		if code, body := call("POST", "/api/events/test/tokens", c.body); code != c.want || !strings.Contains(string(body), `"error"`) {
			t.Errorf("create %s: %d %s, want %d", c.body, code, body, c.want)
		}
	}
	code, body := call("POST", "/api/events/test/tokens", `{"role": "interpreter", "lang": "fr", "name": "Anne"}`)
	var anne web.TokenInfo
	if code != 201 || json.Unmarshal(body, &anne) != nil || anne.Secret == "" ||
		anne.Link != b.http.URL+"/booth/test/fr?token="+anne.Secret {
		t.Fatalf("create: %d %s", code, body)
	}
	// Anne's booth page and the producer's console, both live.
	booth := dialBooth(t, ctx, b.http.URL, "fr", anne.Secret)
	defer booth.close()
	booth.expect(ctx, "welcome")
	wsURL := strings.Replace(b.http.URL, "http", "ws", 1)
	pTok, _, _ := b.store.CreateToken(ctx, "test", store.RoleProducer, "", "Second producer")
	console, _, err := websocket.DefaultDialer.DialContext(ctx, wsURL+"/console/test/ws?token="+pTok, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer console.Close()
	code, body = call("GET", "/api/events/test/tokens", "")
	var list struct{ Tokens []web.TokenInfo }
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Tokens) != 3 || strings.Contains(string(body), anne.Secret) {
		t.Fatalf("list: %d %s", code, body)
	}
	for _, tk := range list.Tokens {
		if tk.ID == anne.ID && tk.Live != 1 {
			t.Errorf("Anne's token has %d live sessions, want 1", tk.Live)
		}
	}
	if code, _ := call("DELETE", "/api/events/test/tokens/ffffffff", ""); code != 404 {
		t.Errorf("revoke an unknown token: %d", code)
	}
	// Revoke Anne: her booth session ends at once.
	revoked := time.Now()
	if code, body := call("DELETE", "/api/events/test/tokens/"+anne.ID, ""); code != 204 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	select {
	case <-closedAfter(booth.msgs):
		t.Logf("booth session ended %v after the revocation", time.Since(revoked).Round(time.Millisecond))
		if d := time.Since(revoked); d > time.Second {
			t.Errorf("the booth session ended %v after the revocation, want within a second", d)
		}
	case <-ctx.Done():
		t.Fatal("the booth session outlived its token")
	}
	if _, resp, err := websocket.DefaultDialer.DialContext(ctx, wsURL+"/booth/test/fr/ws?token="+anne.Secret, nil); err == nil || resp.StatusCode != 401 {
		t.Errorf("a revoked token reconnects: %v", err)
	}
	// The second producer's token, revoked from another process: the console
	// closes with 4003 within the poll.
	other, err := store.Open(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tok, err := other.Check(ctx, pTok)
	if err != nil {
		t.Fatal(err)
	}
	revoked = time.Now()
	if err := other.Revoke(ctx, tok.ID); err != nil {
		t.Fatal(err)
	}
	_ = console.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := console.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != 4003 {
				t.Fatalf("console closed with %v, want code 4003", err)
			}
			break
		}
	}
	d := time.Since(revoked)
	t.Logf("console ended %v after a revocation by another process", d.Round(time.Millisecond))
	if d > 1500*time.Millisecond {
		t.Errorf("the console ended %v after the revocation, want within the 500 ms poll and a second", d)
	}
}

// closedAfter returns a channel closed once msgs is closed (the rest drained).
func closedAfter(msgs <-chan map[string]any) <-chan struct{} {
	c := make(chan struct{})
	go func() {
		for range msgs {
		}
		close(c)
	}()
	return c
}
