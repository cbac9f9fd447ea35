package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"tolk/captions/captionstest"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
	"tolk/internal/store"
	"tolk/web"
)

const testPasscode = "Gala 2026 ✓"

// closedEvent is an event served with a store of tokens, its access set by
// the test: a WHIP floor (silence until a publisher comes, which never does:
// the program clock runs on), French interpreted, English captions from a
// scripted recognizer.
type closedEvent struct {
	*harness
	store *store.Store
	dir   string
}

func serveClosed(t testing.TB, access string, st *store.Store, key []byte) *closedEvent {
	t.Helper()
	cfg := eventConfig(t, `
id: test
title: Closed test
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
%s
`, streamKey, access)
	sec := int64(audio.SampleRate)
	rec := captionstest.NewScripted([]captionstest.ScriptedWord{{Text: "welcome", Start: sec / 2, End: sec}})
	h := serve(t, cfg, event.Options{Recognizer: rec}, web.Options{Tokens: st, AccessKey: key})
	return &closedEvent{harness: h, store: st}
}

func openStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, dir
}

func startClosed(t testing.TB, access string) *closedEvent {
	t.Helper()
	st, dir := openStore(t)
	c := serveClosed(t, access, st, nil)
	c.dir = dir
	if err := c.ev.Start(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *closedEvent) token(t testing.TB, event string, role store.Role, name string) (string, store.Token) {
	t.Helper()
	secret, tk, err := c.store.CreateToken(context.Background(), event, role, "", name)
	if err != nil {
		t.Fatal(err)
	}
	return secret, tk
}

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// call makes one request; cred adds the viewer's credentials.
func call(ctx context.Context, t testing.TB, method, u, ctype, body string, cred func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if cred != nil {
		cred(req)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// accessCookie finds the event's session cookie among a response's.
func accessCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == "tolk_access_test" {
			return c
		}
	}
	return nil
}

// passcodeSession types the passcode into the watch page's form and returns
// the session cookie it sets.
func passcodeSession(ctx context.Context, t testing.TB, base string) *http.Cookie {
	t.Helper()
	resp, body := call(ctx, t, "POST", base+"/watch/test?lang=fr", "application/x-www-form-urlencoded",
		url.Values{"passcode": {testPasscode}}.Encode(), nil)
	c := accessCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/watch/test?lang=fr" || c == nil {
		t.Fatalf("the right passcode: %d, Location %q, cookie %v: %s", resp.StatusCode, resp.Header.Get("Location"), c, body)
	}
	return c
}

// whepOffer is a receive-only audio offer from a real pion peer.
func whepOffer(ctx context.Context, t testing.TB) string {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := rtc.Offer(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	return offer
}

// viewerRoute is one route of the viewer side and how it answers a viewer
// with access; run tries it and cleans up what it opened.
type viewerRoute struct {
	name string
	ok   int
	run  func(cred func(*http.Request)) (int, string)
}

func viewerRoutes(ctx context.Context, t *testing.T, base string) []viewerRoute {
	offer := whepOffer(ctx, t)
	ws := strings.Replace(base, "http", "ws", 1)
	return []viewerRoute{
		{"watch page", 200, func(cred func(*http.Request)) (int, string) {
			resp, body := call(ctx, t, "GET", base+"/watch/test", "", "", cred)
			return resp.StatusCode, body
		}},
		{"HLS master", 200, func(cred func(*http.Request)) (int, string) {
			resp, body := call(ctx, t, "GET", base+"/hls/test/master.m3u8", "", "", cred)
			return resp.StatusCode, body
		}},
		{"WHEP", 201, func(cred func(*http.Request)) (int, string) {
			resp, body := call(ctx, t, "POST", base+"/whep/test/fr", "application/sdp", offer, cred)
			if resp.StatusCode == 201 {
				// The session's URL is its own key: ending it needs nothing else.
				if r, b := call(ctx, t, "DELETE", base+resp.Header.Get("Location"), "", "", nil); r.StatusCode != 200 {
					t.Errorf("DELETE the WHEP session: %d %s", r.StatusCode, b)
				}
			}
			return resp.StatusCode, body
		}},
		{"live captions", 101, func(cred func(*http.Request)) (int, string) {
			req, _ := http.NewRequest("GET", base+"/api/events/test/captions/live/en", nil)
			if cred != nil {
				cred(req)
			}
			conn, resp, err := websocket.DefaultDialer.DialContext(ctx, ws+req.URL.RequestURI(), req.Header)
			if err == nil {
				conn.Close()
				return resp.StatusCode, ""
			}
			if resp == nil {
				t.Fatalf("live captions: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, string(b)
		}},
		{"players' report", 200, func(cred func(*http.Request)) (int, string) {
			resp, body := call(ctx, t, "POST", base+"/api/events/test/viewers", "application/json",
				`{"id": "access-test-1", "lang": "fr", "protocol": "hls", "state": "stopped"}`, cred)
			return resp.StatusCode, body
		}},
		{"access check", 200, func(cred func(*http.Request)) (int, string) {
			resp, body := call(ctx, t, "GET", base+"/api/events/test/access", "", "", cred)
			return resp.StatusCode, body
		}},
	}
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(c) }
}

func withBearer(secret string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }
}

func withQuery(secret string) func(*http.Request) {
	return func(r *http.Request) {
		q := r.URL.Query()
		q.Set("token", secret)
		r.URL.RawQuery = q.Encode()
	}
}

// TestAccessRoutes: every route of a closed event's viewer side answers 401
// with {"error"} without access, with a revoked token, another event's
// token or a forged session, and answers with the passcode's session, a
// listener token's session, the token as Bearer and as ?token=; the event
// API stays open and says the event is closed.
func TestAccessRoutes(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := startClosed(t, "access: {passcode: \""+testPasscode+"\"}")
	base := c.http.URL
	listener, _ := c.token(t, "test", store.RoleListener, "Press pool")
	producer, _ := c.token(t, "test", store.RoleProducer, "Pat")
	revoked, rt := c.token(t, "test", store.RoleListener, "Gone")
	if err := c.store.Revoke(ctx, rt.ID); err != nil {
		t.Fatal(err)
	}
	other, _ := c.token(t, "other", store.RoleListener, "Elsewhere")

	pass := passcodeSession(ctx, t, base)
	resp, body := call(ctx, t, "GET", base+"/watch/test?token="+url.QueryEscape(listener)+"&lang=de", "", "", nil)
	tokenSession := accessCookie(resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/watch/test?lang=de" || tokenSession == nil {
		t.Fatalf("a listener's link: %d, Location %q, cookie %v: %s", resp.StatusCode, resp.Header.Get("Location"), tokenSession, body)
	}
	forged := *pass
	forged.Value = strings.Replace(pass.Value, "1.", "1.9", 1)

	refused := map[string]func(*http.Request){
		"nothing":                nil,
		"a forged session":       withCookie(&forged),
		"a revoked token":        withBearer(revoked),
		"a revoked token query":  withQuery(revoked),
		"another event's token":  withBearer(other),
		"an unknown token":       withBearer("no-such-token-at-all-0123456789"),
		"another event's cookie": withCookie(&http.Cookie{Name: "tolk_access_other", Value: pass.Value}),
	}
	allowed := map[string]func(*http.Request){
		"the passcode's session":  withCookie(pass),
		"a listener's session":    withCookie(tokenSession),
		"a listener token":        withBearer(listener),
		"a listener token query":  withQuery(listener),
		"a producer token":        withBearer(producer),
		"a session and a garbage": func(r *http.Request) { r.AddCookie(pass); r.AddCookie(&http.Cookie{Name: "x", Value: "y"}) },
	}
	for _, route := range viewerRoutes(ctx, t, base) {
		for what, cred := range refused {
			code, body := route.run(cred)
			if route.name == "watch page" {
				if code != 401 || !strings.Contains(body, `id="access-form"`) || strings.Contains(body, `id="play"`) {
					t.Errorf("%s with %s: %d, want 401 and the passcode form:\n%.300s", route.name, what, code, body)
				}
				continue
			}
			var e struct{ Error string }
			if code != 401 || json.Unmarshal([]byte(body), &e) != nil || e.Error == "" {
				t.Errorf("%s with %s: %d %q, want 401 {\"error\"}", route.name, what, code, body)
			}
		}
		for what, cred := range allowed {
			want := route.ok
			if route.name == "watch page" && strings.HasSuffix(what, "query") {
				want = http.StatusSeeOther // a link: its token goes into a session
			}
			if code, body := route.run(cred); code != want {
				t.Errorf("%s with %s: %d %.200s, want %d", route.name, what, code, body, want)
			}
		}
	}
	var info map[string]any
	resp, body = call(ctx, t, "GET", base+"/api/events/test", "", "", nil)
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &info) != nil || info["access"] != "passcode" {
		t.Errorf("event API of a closed event: %d %s", resp.StatusCode, body)
	}
	// The session cookie: HttpOnly, SameSite=Lax, for every path, a day.
	if !pass.HttpOnly || pass.SameSite != http.SameSiteLaxMode || pass.Path != "/" || pass.MaxAge != 86400 || pass.Secure {
		t.Errorf("session cookie %+v", pass)
	}
	if strings.Contains(pass.Value, testPasscode) || strings.Contains(tokenSession.Value, listener) {
		t.Error("a session cookie holds a secret")
	}
	// What the access check says.
	resp, body = call(ctx, t, "GET", base+"/api/events/test/access", "", "", withCookie(tokenSession))
	if resp.StatusCode != 200 || !strings.Contains(body, `"access":"token"`) || !strings.Contains(body, `"expires"`) {
		t.Errorf("access check with a listener's session: %d %s", resp.StatusCode, body)
	}
}

// TestAccessHLSForPlayers: a closed event's HLS answers are private (no
// shared cache keeps them); a player that got the master playlist with
// ?token= finds the token in every URI and plays through the tree with it;
// a preflight for the Authorization header is answered.
func TestAccessHLSForPlayers(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startClosed(t, "access: {tokens: true}")
	base := c.http.URL
	listener, _ := c.token(t, "test", store.RoleListener, "Player")
	q := "token=" + url.QueryEscape(listener)
	resp, master := call(ctx, t, "GET", base+"/hls/test/master.m3u8?"+q, "", "", nil)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Fatalf("master with ?token=: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	var media string
	for _, line := range strings.Split(master, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			media = line
		}
		if strings.Contains(line, `URI="`) && !strings.Contains(line, q) {
			t.Errorf("a URI of the master lacks the token: %s", line)
		}
	}
	if !strings.HasSuffix(media, "?"+q) {
		t.Fatalf("the variant's URI %q lacks the token:\n%s", media, master)
	}
	resp, pl := call(ctx, t, "GET", base+"/hls/test/"+media+"&_HLS_msn=1&_HLS_part=0", "", "", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("media playlist %s: %d %s", media, resp.StatusCode, pl)
	}
	var seg string
	for _, line := range strings.Split(pl, "\n") {
		if strings.HasPrefix(line, "#EXT-X-MAP:URI=\"") {
			seg = strings.TrimSuffix(strings.TrimPrefix(line, "#EXT-X-MAP:URI=\""), "\"")
		}
	}
	if !strings.HasSuffix(seg, "?"+q) {
		t.Fatalf("the init section's URI %q lacks the token:\n%s", seg, pl)
	}
	dir := media[:strings.LastIndex(media, "/")+1]
	resp, init := call(ctx, t, "GET", base+"/hls/test/"+dir+seg, "", "", nil)
	if resp.StatusCode != 200 || len(init) == 0 || resp.Header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
		t.Errorf("init section: %d, %d bytes, Cache-Control %q", resp.StatusCode, len(init), resp.Header.Get("Cache-Control"))
	}
	// Without the token, the same URI is refused.
	if resp, _ := call(ctx, t, "GET", base+"/hls/test/"+dir+strings.TrimSuffix(seg, "?"+q), "", "", nil); resp.StatusCode != 401 {
		t.Errorf("init section without the token: %d", resp.StatusCode)
	}
	// With the Bearer header, playlists are left as they are.
	resp, plain := call(ctx, t, "GET", base+"/hls/test/master.m3u8", "", "", withBearer(listener))
	if resp.StatusCode != 200 || strings.Contains(plain, "token=") {
		t.Errorf("master with Bearer: %d\n%s", resp.StatusCode, plain)
	}
	resp, _ = call(ctx, t, "OPTIONS", base+"/hls/test/master.m3u8", "", "", func(r *http.Request) {
		r.Header.Set("Origin", "https://player.example.org")
		r.Header.Set("Access-Control-Request-Headers", "authorization")
	})
	if resp.StatusCode != 204 || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// Real players: ffprobe given the master with ?token= follows the URIs
	// (the token in each), or sends the Bearer header with every request.
	audiotest.NeedTool(t, "ffprobe")
	for what, args := range map[string][]string{
		"?token=": {base + "/hls/test/master.m3u8?" + q},
		"Bearer":  {"-headers", "Authorization: Bearer " + listener + "\r\n", base + "/hls/test/master.m3u8"},
		"nothing": {base + "/hls/test/master.m3u8"},
	} {
		out, err := exec.CommandContext(ctx, "ffprobe", append([]string{"-v", "error", "-show_entries", "stream=codec_name:stream_tags=language",
			"-of", "csv=p=0", "-live_start_index", "0"}, args...)...).CombinedOutput()
		langs := strings.Fields(strings.ReplaceAll(string(out), ",", " "))
		if what == "nothing" {
			if err == nil || !strings.Contains(string(out), "401") {
				t.Errorf("ffprobe without a token: %v %s", err, out)
			}
			continue
		}
		if err != nil || !slices.Contains(langs, "en") || !slices.Contains(langs, "fr") || !slices.Contains(langs, "opus") {
			t.Errorf("ffprobe with %s: %v %s", what, err, out)
		}
	}
	// A token-only event shows no passcode field and takes no passcode.
	resp, body := call(ctx, t, "GET", base+"/watch/test", "", "", nil)
	if resp.StatusCode != 401 || strings.Contains(body, `id="passcode"`) || !strings.Contains(body, "personal link") {
		t.Errorf("token-only watch page: %d\n%.400s", resp.StatusCode, body)
	}
	resp, body = call(ctx, t, "POST", base+"/api/events/test/access", "application/json", `{"passcode": "anything-at-all"}`, nil)
	if resp.StatusCode != 401 {
		t.Errorf("a passcode for a token-only event: %d %s", resp.StatusCode, body)
	}
}

// TestAccessPublicUnchanged: an event without access settings answers every
// viewer route as before: no credentials, no cookie, public caching, no
// "access" in the event API.
func TestAccessPublicUnchanged(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startClosed(t, "")
	base := c.http.URL
	for _, route := range viewerRoutes(ctx, t, base) {
		for what, cred := range map[string]func(*http.Request){"nothing": nil, "a bogus token": withBearer("bogus")} {
			if code, body := route.run(cred); code != route.ok {
				t.Errorf("public %s with %s: %d %.200s, want %d", route.name, what, code, body, route.ok)
			}
		}
	}
	resp, body := call(ctx, t, "GET", base+"/watch/test", "", "", nil)
	if accessCookie(resp) != nil || resp.Header.Get("Set-Cookie") != "" || !strings.Contains(body, `id="play"`) {
		t.Errorf("public watch page: cookie %q", resp.Header.Get("Set-Cookie"))
	}
	if resp, body := call(ctx, t, "GET", base+"/api/events/test", "", "", nil); strings.Contains(body, `"access"`) || resp.StatusCode != 200 {
		t.Errorf("public event API: %s", body)
	}
	if resp, body := call(ctx, t, "GET", base+"/api/events/test/access", "", "", nil); resp.StatusCode != 200 || !strings.Contains(body, `"access":"public"`) {
		t.Errorf("public access check: %d %s", resp.StatusCode, body)
	}
	if resp, _ := call(ctx, t, "POST", base+"/watch/test", "application/x-www-form-urlencoded", "passcode=x", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("a passcode posted to a public event: %d", resp.StatusCode)
	}
}

// TestAccessPasscodeForm: the watch page's form: a wrong or empty passcode
// shows it again with the error (in the page's language), a client that
// guesses too often gets 429 and a wait, another client is not held up; the
// JSON API takes the passcode the same way.
func TestAccessPasscodeForm(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startClosed(t, "access: {passcode: \""+testPasscode+"\"}")
	base := c.http.URL
	resp, body := call(ctx, t, "GET", base+"/watch/test?lang=fr", "", "", nil)
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(body, `action="/watch/test?lang=fr"`) ||
		!strings.Contains(body, "Code d’accès") || strings.Contains(body, "hls.min.js") || strings.Contains(body, `role="alert"`) {
		t.Errorf("first visit: %d\n%s", resp.StatusCode, body)
	}
	from := func(ip string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", ip) }
	}
	post := func(passcode, ip string) (*http.Response, string) {
		return call(ctx, t, "POST", base+"/watch/test", "application/x-www-form-urlencoded", url.Values{"passcode": {passcode}}.Encode(), from(ip))
	}
	resp, body = post("  ", "198.51.100.1")
	if resp.StatusCode != 401 || !strings.Contains(body, `data-error="empty"`) {
		t.Errorf("empty passcode: %d\n%s", resp.StatusCode, body)
	}
	for i := range 5 {
		resp, body = post("guess-"+string(rune('a'+i)), "198.51.100.1")
		if resp.StatusCode != 401 || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "That passcode is not right") ||
			!strings.Contains(body, `aria-invalid="true"`) || accessCookie(resp) != nil {
			t.Fatalf("wrong passcode %d: %d\n%s", i+1, resp.StatusCode, body)
		}
	}
	resp, body = post(testPasscode, "198.51.100.1")
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "10" || !strings.Contains(body, "Try again in 10 seconds") || accessCookie(resp) != nil {
		t.Errorf("sixth guess: %d, Retry-After %q\n%s", resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	resp, body = call(ctx, t, "POST", base+"/api/events/test/access", "application/json", `{"passcode": "x-guess"}`, from("198.51.100.1"))
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, `"error"`) {
		t.Errorf("JSON guess over the limit: %d %s", resp.StatusCode, body)
	}
	// Another network is not held up.
	if resp, _ := post(testPasscode, "198.51.100.2"); resp.StatusCode != http.StatusSeeOther || accessCookie(resp) == nil {
		t.Errorf("right passcode from another client: %d", resp.StatusCode)
	}
	for _, c := range []struct {
		body, origin string
		want         int
	}{
		{`{"passcode": "` + testPasscode + `"}`, "", 200},
		{`{"passcode": "wrong-one"}`, "", 401},
		{`{"pass": "x"}`, "", 400},
		{`{"passcode": ""}`, "", 400},
		{`{"passcode": "` + testPasscode + `"}`, "https://evil.example.org", 403},
	} {
		resp, body := call(ctx, t, "POST", base+"/api/events/test/access", "application/json", c.body, func(r *http.Request) {
			r.Header.Set("X-Forwarded-For", "198.51.100.3")
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
		})
		if resp.StatusCode != c.want || (c.want == 200) != (accessCookie(resp) != nil) {
			t.Errorf("POST access %s from %q: %d %s, want %d", c.body, c.origin, resp.StatusCode, body, c.want)
		}
	}
	if resp, _ := call(ctx, t, "POST", base+"/watch/test", "application/x-www-form-urlencoded", "passcode=x", func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example.org")
	}); resp.StatusCode != 403 {
		t.Errorf("a cross-origin form: %d", resp.StatusCode)
	}
	// A link whose token does not open the event says so.
	resp, body = call(ctx, t, "GET", base+"/watch/test?token=bogus", "", "", nil)
	if resp.StatusCode != 401 || !strings.Contains(body, `data-error="link"`) || accessCookie(resp) != nil {
		t.Errorf("a bogus link: %d\n%s", resp.StatusCode, body)
	}
}

// TestAccessRevocation: revoking a listener token ends its WHEP sessions
// (Bearer and ?token=) and its caption socket (close code 4003) at once,
// and its session cookie and the token stop opening anything; a token
// revoked by another process (tolk token revoke) ends its sessions within
// the server's poll.
func TestAccessRevocation(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c := startClosed(t, "access: {passcode: \""+testPasscode+"\"}")
	base := c.http.URL
	producer, _ := c.token(t, "test", store.RoleProducer, "Pat")
	secret, tk := c.token(t, "test", store.RoleListener, "Lena")
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	byHeader, err := rtc.DialWHEPToken(ctx, api, base+"/whep/test/fr", secret, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer byHeader.Close(context.Background())
	byQuery, err := rtc.DialWHEP(ctx, api, base+"/whep/test/fr?token="+url.QueryEscape(secret), 64)
	if err != nil {
		t.Fatal(err)
	}
	defer byQuery.Close(context.Background())
	resp, _ := call(ctx, t, "GET", base+"/watch/test?token="+url.QueryEscape(secret), "", "", nil)
	session := accessCookie(resp)
	if session == nil {
		t.Fatal("no session from the link")
	}
	hdr := http.Header{}
	hdr.Set("Cookie", session.String())
	capSock, _, err := websocket.DefaultDialer.DialContext(ctx, strings.Replace(base, "http", "ws", 1)+"/api/events/test/captions/live/en", hdr)
	if err != nil {
		t.Fatal(err)
	}
	defer capSock.Close()
	capClosed := make(chan error, 1)
	go func() {
		for {
			if _, _, err := capSock.ReadMessage(); err != nil {
				capClosed <- err
				return
			}
		}
	}()
	fr, _ := c.ev.Listeners("fr")
	if n := fr.Listeners(); n != 2 {
		t.Fatalf("%d WHEP listeners of fr, want 2", n)
	}
	resp, body := call(ctx, t, "GET", base+"/api/events/test/tokens", "", "", withBearer(producer))
	if !strings.Contains(body, `"id":"`+tk.ID+`","role":"listener","name":"Lena"`) || !strings.Contains(body, `"live":3`) {
		t.Errorf("token list: %d %s", resp.StatusCode, body)
	}

	revokedAt := time.Now()
	if resp, body := call(ctx, t, "DELETE", base+"/api/events/test/tokens/"+tk.ID, "", "", withBearer(producer)); resp.StatusCode != 204 {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	for fr.Listeners() > 0 && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("revoked listener token: both WHEP sessions ended %d ms after the revocation was answered", time.Since(revokedAt).Milliseconds())
	if fr.Listeners() != 0 {
		t.Fatal("the WHEP sessions outlived their token")
	}
	select {
	case err := <-capClosed:
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != 4003 {
			t.Errorf("the caption socket closed with %v, want 4003", err)
		}
		t.Logf("caption socket closed (4003) %d ms after the revocation", time.Since(revokedAt).Milliseconds())
	case <-ctx.Done():
		t.Fatal("the caption socket outlived its token")
	}
	for what, cred := range map[string]func(*http.Request){"its session": withCookie(session), "the token": withBearer(secret)} {
		if resp, body := call(ctx, t, "GET", base+"/hls/test/master.m3u8", "", "", cred); resp.StatusCode != 401 {
			t.Errorf("HLS with %s after the revocation: %d %s", what, resp.StatusCode, body)
		}
	}
	resp, body = call(ctx, t, "GET", base+"/watch/test", "", "", withCookie(session))
	if resp.StatusCode != 401 || !strings.Contains(body, `data-error="ended"`) {
		t.Errorf("the watch page with a revoked token's session: %d\n%.500s", resp.StatusCode, body)
	}

	// Revoked by another process on the same data directory.
	secret2, tk2 := c.token(t, "test", store.RoleListener, "Lars")
	l2, err := rtc.DialWHEPToken(ctx, api, base+"/whep/test/fr", secret2, 64)
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close(context.Background())
	other, err := store.Open(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	revokedAt = time.Now()
	if err := other.Revoke(ctx, tk2.ID); err != nil {
		t.Fatal(err)
	}
	for fr.Listeners() > 0 && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	if fr.Listeners() != 0 {
		t.Fatal("the WHEP session outlived a token revoked by another process")
	}
	t.Logf("token revoked by another process: its WHEP session ended %d ms later (poll every 500 ms)", time.Since(revokedAt).Milliseconds())
}

// TestAccessSessionsAcrossRestarts: a session signed with the data
// directory's key holds after a restart with the same passcode, and ends
// when the passcode changed or the key is another; a token's session ends
// with a token revoked while the server was down.
func TestAccessSessionsAcrossRestarts(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, _ := openStore(t)
	key, err := st.Key(ctx, "access")
	if err != nil {
		t.Fatal(err)
	}
	withPasscode := func(p string) string { return "access: {passcode: \"" + p + "\"}" }
	first := serveClosed(t, withPasscode(testPasscode), st, key)
	pass := passcodeSession(ctx, t, first.http.URL)
	secret, tk := first.token(t, "test", store.RoleListener, "Lena")
	resp, _ := call(ctx, t, "GET", first.http.URL+"/watch/test?token="+url.QueryEscape(secret), "", "", nil)
	tokSession := accessCookie(resp)
	first.close()

	check := func(c *closedEvent, cookie *http.Cookie) int {
		resp, _ := call(ctx, t, "GET", c.http.URL+"/api/events/test/access", "", "", withCookie(cookie))
		return resp.StatusCode
	}
	same := serveClosed(t, withPasscode(testPasscode), st, key)
	if code := check(same, pass); code != 200 {
		t.Errorf("after a restart with the same passcode: %d, want 200", code)
	}
	if code := check(same, tokSession); code != 200 {
		t.Errorf("a token's session after a restart: %d, want 200", code)
	}
	same.close()
	if err := st.Revoke(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	changed := serveClosed(t, withPasscode("a new passcode"), st, key)
	if code := check(changed, pass); code != 401 {
		t.Errorf("after the passcode changed: %d, want 401", code)
	}
	if code := check(changed, tokSession); code != 401 {
		t.Errorf("a token revoked while the server was down: %d, want 401", code)
	}
	changed.close()
	otherKey := make([]byte, 32)
	_, _ = rand.Read(otherKey)
	rekeyed := serveClosed(t, withPasscode(testPasscode), st, otherKey)
	if code := check(rekeyed, pass); code != 401 {
		t.Errorf("with another key: %d, want 401", code)
	}
}

// FuzzAccessRequest: whatever a viewer sends as session, passcode or token,
// a closed event answers with a page, a redirect or a 4xx, never a 5xx.
func FuzzAccessRequest(f *testing.F) {
	st, _ := openStore(f)
	c := serveClosed(f, "access: {passcode: \""+testPasscode+"\"}", st, nil)
	f.Add("1.99999999999.p.AAAA", testPasscode, "")
	f.Add("", "", "bogus")
	f.Add("1.0.t0a1b2c3d.x", "\x00", "%zz")
	f.Fuzz(func(t *testing.T, cookie, passcode, token string) {
		for _, method := range []string{"GET", "POST"} {
			u := "/watch/test?token=" + url.QueryEscape(token)
			req, _ := http.NewRequest(method, u, strings.NewReader(url.Values{"passcode": {passcode}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Cookie", "tolk_access_test="+cookie)
			rec := httptest.NewRecorder()
			c.srv.ServeHTTP(rec, req)
			if rec.Code >= 500 || (rec.Code != 200 && rec.Code != 303 && rec.Code < 400) {
				t.Fatalf("%s %s with cookie %q, passcode %q: %d", method, u, cookie, passcode, rec.Code)
			}
		}
	})
}
