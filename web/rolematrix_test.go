package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"tolk/captions/captionstest"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/store"
	"tolk/web"
)

// The role matrix: every route the server registers (web.Server.Routes, read
// from the router itself) against every kind of caller, on a public event and
// on a closed one. A route registered without an entry here fails the test, so
// nobody adds a route without saying who may use it.

// role is one kind of caller.
type role string

const (
	roleNone        role = "none"
	roleListener    role = "listener token"
	rolePasscode    role = "passcode session"
	roleInterpreter role = "interpreter (fr)"
	roleInterpOther role = "interpreter (es)"
	roleEditor      role = "editor"
	roleProducer    role = "producer"
	roleRevoked     role = "revoked producer"
	roleOtherEvent  role = "producer of another event"
)

var roles = []role{roleNone, roleListener, rolePasscode, roleInterpreter, roleInterpOther, roleEditor, roleProducer, roleRevoked, roleOtherEvent}

// access is who may use a route.
type access int

const (
	anyone     access = iota // no credentials needed
	viewers                  // the viewer side: anyone on a public event; a closed one wants a token of the event or the passcode session
	passcodeIn               // the passcode form: on a closed event, a request without a passcode is refused (401) whoever sends it
	producers                // a producer token of the event
	editors                  // an editor or producer token of the event
	booth                    // an interpreter token of the event for this booth's language (fr)
	keyHolder                // the floor's stream key, which none of the roles holds
	nobody                   // no such thing: 404 for everyone
	capability               // a session's own URL (its random id is the credential): 404 for an unknown id, for everyone
)

// class is the status class a request should get.
type class string

const (
	granted   class = "granted" // let through: 2xx, 3xx or a 4xx about the request itself (not 401, 403, 404 of the event, 429)
	refused   class = "401"
	forbidden class = "403"
	notFound  class = "404"
)

// expect is the class a role gets on a route of access a (closed: the event
// is closed to viewers).
func (a access) expect(r role, closed bool) class {
	switch a {
	case anyone:
		return granted
	case nobody, capability:
		return notFound
	case keyHolder:
		return refused
	case passcodeIn:
		if closed {
			return refused
		}
		return granted
	case viewers:
		if !closed {
			return granted
		}
		switch r {
		case roleNone, roleRevoked, roleOtherEvent:
			return refused
		}
		return granted
	}
	// Token routes.
	switch r {
	case roleNone, rolePasscode, roleRevoked:
		return refused
	case roleOtherEvent:
		return forbidden
	}
	ok := false
	switch a {
	case producers:
		ok = r == roleProducer
	case editors:
		ok = r == roleEditor || r == roleProducer
	case booth:
		ok = r == roleInterpreter
	}
	if ok {
		return granted
	}
	return forbidden
}

// route is the matrix's entry for one registered pattern: the request made
// (a method for patterns without one, a concrete path, a body) and who may.
type route struct {
	method, path string
	body         string
	ctype        string
	who          access
}

// matrix has one entry per pattern the server registers. The event is
// "test", its languages fr and es.
var matrix = map[string]route{
	"GET /{$}": {path: "/", who: anyone},

	"GET /healthz":         {path: "/healthz", who: anyone},
	"GET /metrics":         {path: "/metrics", who: anyone},
	"GET /static/":         {path: "/static/common.css", who: anyone},
	"/":                    {method: "GET", path: "/no/such/page", who: nobody},
	"GET /watch/{event}":   {path: "/watch/test", who: viewers},
	"POST /watch/{event}":  {path: "/watch/test", ctype: "application/x-www-form-urlencoded", who: passcodeIn},
	"GET /replay/{event}":  {path: "/replay/test", who: viewers},
	"POST /replay/{event}": {path: "/replay/test", ctype: "application/x-www-form-urlencoded", who: passcodeIn},

	"GET /api/events/{event}/replays":                             {path: "/api/events/test/replays", who: viewers},
	"/vod/{event}/{rest...}":                                      {method: "GET", path: "/vod/test/norun/master.m3u8", who: viewers},
	"GET /api/events/{event}":                                     {path: "/api/events/test", who: anyone},
	"GET /api/events/{event}/access":                              {path: "/api/events/test/access", who: viewers},
	"POST /api/events/{event}/access":                             {path: "/api/events/test/access", body: "{}", ctype: "application/json", who: anyone},
	"GET /api/events/{event}/booths":                              {path: "/api/events/test/booths", who: producers},
	"GET /api/events/{event}/captions/{file}":                     {path: "/api/events/test/captions/en.srt", who: editors},
	"GET /api/events/{event}/captions/live/{lang}":                {path: "/api/events/test/captions/live/en", who: viewers},
	"GET /api/events/{event}/captions/{lang}/{list}":              {path: "/api/events/test/captions/en/cues", who: editors},
	"POST /api/events/{event}/captions/{lang}/{action}":           {path: "/api/events/test/captions/en/shift", who: editors},
	"POST /api/events/{event}/captions/{lang}/cues":               {path: "/api/events/test/captions/en/cues", who: editors},
	"PATCH /api/events/{event}/captions/{lang}/cues/{id}":         {path: "/api/events/test/captions/en/cues/999999", who: editors},
	"DELETE /api/events/{event}/captions/{lang}/cues/{id}":        {path: "/api/events/test/captions/en/cues/999999", who: editors},
	"GET /api/events/{event}/captions/{lang}/cues/{id}/versions":  {path: "/api/events/test/captions/en/cues/999999/versions", who: editors},
	"POST /api/events/{event}/captions/{lang}/cues/{id}/{action}": {path: "/api/events/test/captions/en/cues/999999/split", who: editors},
	"POST /api/events/{event}/booths/{lang}":                      {path: "/api/events/test/booths/fr", who: producers},
	"GET /api/events/{event}/status":                              {path: "/api/events/test/status", who: producers},
	"GET /api/events/{event}/recordings":                          {path: "/api/events/test/recordings", who: editors},
	"GET /api/events/{event}/recordings/{run}/levels/{lang}":      {path: "/api/events/test/recordings/norun/levels/fr", who: editors},
	"PATCH /api/events/{event}/languages/{lang}":                  {path: "/api/events/test/languages/fr", who: producers},
	"GET /api/events/{event}/glossary":                            {path: "/api/events/test/glossary", who: producers},
	"PUT /api/events/{event}/glossary":                            {path: "/api/events/test/glossary", body: "{}", ctype: "application/json", who: producers},
	"DELETE /api/events/{event}/glossary":                         {path: "/api/events/test/glossary", who: producers},
	"GET /api/events/{event}/signals":                             {path: "/api/events/test/signals", who: producers},
	"POST /api/events/{event}/viewers":                            {path: "/api/events/test/viewers", who: viewers},
	"GET /api/events/{event}/tokens":                              {path: "/api/events/test/tokens", who: producers},
	"POST /api/events/{event}/tokens":                             {path: "/api/events/test/tokens", who: producers},
	"DELETE /api/events/{event}/tokens/{id}":                      {path: "/api/events/test/tokens/nosuchtoken", who: producers},
	"POST /api/events/{event}/notices":                            {path: "/api/events/test/notices", who: producers},
	"POST /api/events/{event}/floor":                              {path: "/api/events/test/floor", who: producers},
	"GET /api/events/{event}/outputs":                             {path: "/api/events/test/outputs", who: producers},
	"POST /api/events/{event}/outputs/{id}/{action}":              {path: "/api/events/test/outputs/fr-1/stop", who: producers},
	"/hls/{event}/{rest...}":                                      {method: "GET", path: "/hls/test/master.m3u8", who: viewers},
	"POST /whip/{event}":                                          {path: "/whip/test", who: keyHolder},
	"DELETE /whip/{event}/{id}":                                   {path: "/whip/test/nosuchsession", who: keyHolder},
	"PATCH /whip/{event}/{id}":                                    {path: "/whip/test/nosuchsession", who: anyone},
	"OPTIONS /whip/{event}":                                       {path: "/whip/test", who: anyone},
	"GET /console/{event}":                                        {path: "/console/test", who: producers},
	"GET /console/{event}/ws":                                     {path: "/console/test/ws", who: producers},
	"GET /edit/{event}":                                           {path: "/edit/test", who: editors},
	"GET /booth/{event}/{lang}":                                   {path: "/booth/test/fr", who: booth},
	"GET /booth/{event}/{lang}/ws":                                {path: "/booth/test/fr/ws", who: booth},
	"POST /whep/{event}/{lang}":                                   {path: "/whep/test/fr", who: viewers},
	"DELETE /whep/{event}/{lang}/{id}":                            {path: "/whep/test/fr/nosuchsession", who: capability},
	"PATCH /whep/{event}/{lang}/{id}":                             {path: "/whep/test/fr/nosuchsession", who: anyone},
	"OPTIONS /whep/{event}/{lang}":                                {path: "/whep/test/fr", who: anyone},
}

// TestRoleMatrix makes every route × role request on a public event, one
// closed with a passcode and one closed to all but tokens, and checks the status class, the {"error"} body of every refusal
// outside the viewer pages, and the security headers of every answer.
func TestRoleMatrix(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, ev := range []struct{ name, access string }{
		{"public", ""},
		{"closed with a passcode", "access: {passcode: \"" + testPasscode + "\"}"},
		{"closed to tokens only", "access: {tokens: true}"},
	} {
		closed := ev.access != ""
		t.Run(ev.name, func(t *testing.T) {
			m := newMatrixEvent(t, ev.access)
			patterns := m.srv.Routes()
			if len(patterns) == 0 {
				t.Fatal("the server lists no routes")
			}
			seen := map[string]bool{}
			n := 0
			for _, p := range patterns {
				seen[p] = true
				e, ok := matrix[p]
				if !ok {
					t.Errorf("route %q has no entry in the role matrix (web/rolematrix_test.go): say who may use it", p)
					continue
				}
				method := e.method
				if m, _, ok := strings.Cut(p, " "); ok && !strings.HasPrefix(p, "/") {
					method = m
				}
				for i, rl := range roles {
					want := e.who.expect(rl, closed)
					if rl == rolePasscode && m.cookie == nil && want == granted && e.who == viewers && closed {
						want = refused // no passcode, no session: a caller without credentials
					}
					resp, body := m.request(ctx, t, method, e, rl, i)
					n++
					got := classOf(resp.StatusCode, body)
					if got != want {
						t.Errorf("%s %s as %s: %d (%s), want %s: %.200s", method, e.path, rl, resp.StatusCode, got, want, body)
					}
					checkHeaders(t, method+" "+e.path, resp)
					if got != granted && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
						var eb struct {
							Error string `json:"error"`
						}
						if err := json.Unmarshal([]byte(body), &eb); err != nil || eb.Error == "" {
							t.Errorf("%s %s as %s: %d without {\"error\"}: %.200s", method, e.path, rl, resp.StatusCode, body)
						}
					} else if got == refused || got == forbidden {
						// Only the viewer pages answer a refusal with a page.
						if !strings.HasPrefix(e.path, "/watch/") && !strings.HasPrefix(e.path, "/replay/") {
							t.Errorf("%s %s as %s: %d as %q, want JSON", method, e.path, rl, resp.StatusCode, resp.Header.Get("Content-Type"))
						}
					}
				}
			}
			for p := range matrix {
				if !seen[p] {
					t.Errorf("the role matrix has an entry for %q, which the server does not register", p)
				}
			}
			t.Logf("%d routes × %d roles: %d requests", len(patterns), len(roles), n)
		})
	}
}

// classOf names the class of a status. A 404 is "granted" unless it is the
// catch-all's or an unknown session's: the matrix asks for resources that do
// not exist (cue 999999, run "norun") once access is given.
func classOf(code int, body string) class {
	switch {
	case code == http.StatusUnauthorized:
		return refused
	case code == http.StatusForbidden:
		return forbidden
	case code == http.StatusNotFound && (strings.Contains(body, "no such page") || strings.Contains(body, "no such session")):
		return notFound
	case code == http.StatusTooManyRequests || code >= 500:
		return class(fmt.Sprint(code))
	}
	return granted
}

// checkHeaders checks the security headers every answer carries.
func checkHeaders(t *testing.T, what string, resp *http.Response) {
	t.Helper()
	h := resp.Header
	if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" || h.Get("X-Frame-Options") != "SAMEORIGIN" ||
		h.Get("Content-Security-Policy") == "" {
		t.Errorf("%s: security headers missing: %v", what, h)
	}
	pp := h.Get("Permissions-Policy")
	mic := strings.Contains(pp, "microphone=(self)")
	boothPage := strings.HasPrefix(what, "GET /booth/") && !strings.HasSuffix(what, "/ws")
	if !strings.Contains(pp, "microphone=") || mic != boothPage {
		t.Errorf("%s: Permissions-Policy %q (the microphone is for booth pages only)", what, pp)
	}
}

// matrixEvent is the event of the matrix with a token for every role.
type matrixEvent struct {
	*harness
	secrets map[role]string
	cookie  *http.Cookie
}

func newMatrixEvent(t testing.TB, access string) *matrixEvent {
	t.Helper()
	st, _ := openStore(t)
	cfg := eventConfig(t, `
id: test
title: Role matrix
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}, {tag: es}]
hls: {part_ms: 200, segment_ms: 1000}
%s
`, streamKey, access)
	sec := int64(audio.SampleRate)
	rec := captionstest.NewScripted([]captionstest.ScriptedWord{{Text: "welcome", Start: sec / 2, End: sec}})
	h := serve(t, cfg, event.Options{Recognizer: rec}, web.Options{Tokens: st, Cues: st})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	m := &matrixEvent{harness: h, secrets: map[role]string{}}
	mk := func(event string, r store.Role, lang string) (string, store.Token) {
		secret, tk, err := st.CreateToken(context.Background(), event, r, lang, "matrix")
		if err != nil {
			t.Fatal(err)
		}
		return secret, tk
	}
	m.secrets[roleListener], _ = mk("test", store.RoleListener, "")
	m.secrets[roleInterpreter], _ = mk("test", store.RoleInterpreter, "fr")
	m.secrets[roleInterpOther], _ = mk("test", store.RoleInterpreter, "es")
	m.secrets[roleEditor], _ = mk("test", store.RoleEditor, "")
	m.secrets[roleProducer], _ = mk("test", store.RoleProducer, "")
	m.secrets[roleOtherEvent], _ = mk("other", store.RoleProducer, "")
	var revoked store.Token
	m.secrets[roleRevoked], revoked = mk("test", store.RoleProducer, "")
	if err := st.Revoke(context.Background(), revoked.ID); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(access, "passcode") {
		m.cookie = passcodeSession(context.Background(), t, h.http.URL)
	}
	return m
}

// request makes e's request as role r: its token as Bearer and as ?token=
// (routes take one or the other), the passcode session as its cookie. Each
// role comes from an address of its own (X-Forwarded-For from loopback), so
// one role's refused stream keys do not spend another's guesses.
func (m *matrixEvent) request(ctx context.Context, t *testing.T, method string, e route, r role, i int) (*http.Response, string) {
	t.Helper()
	u := m.http.URL + e.path
	secret := m.secrets[r]
	if secret != "" {
		u += "?token=" + url.QueryEscape(secret)
	}
	return call(ctx, t, method, u, e.ctype, e.body, func(req *http.Request) {
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("192.0.2.%d", i+1))
		if secret != "" {
			req.Header.Set("Authorization", "Bearer "+secret)
		}
		if r == rolePasscode && m.cookie != nil {
			req.AddCookie(m.cookie)
		}
	})
}
