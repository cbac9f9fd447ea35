package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"tolk/internal/config"
	"tolk/internal/store"
)

// Viewer access. An event whose configuration sets access (config.Access: a
// passcode, tokens: true, or both) is closed: its viewer side, the watch page,
// WHEP, the LL-HLS tree, the live captions and the players' reports, answers
// only a viewer who shows one of
//   - the session cookie the server sets (tolk_access_{event}) once the
//     passcode was typed on the watch page, or a token came in its ?token=,
//   - a token of the event (a listener's, or any other role's) as
//     "Authorization: Bearer" or ?token=, for players that keep no cookies.
// Everything else gets 401 with {"error"}. A public event (no access
// settings) is unchanged. viewerAccess is the one check; each route calls it
// through viewer.

// eventAccess is an event's access settings as the server checks them.
type eventAccess struct {
	protected bool
	passcode  bool
	hash      [sha256.Size]byte // of the passcode
}

func newEventAccess(a config.Access) eventAccess {
	return eventAccess{protected: a.Protected(), passcode: a.Passcode != "", hash: hashPasscode(a.Passcode)}
}

// checkPasscode compares a typed passcode with the event's in constant time
// (of the hashes, so the length says nothing either).
func (a eventAccess) checkPasscode(typed string) bool {
	h := hashPasscode(strings.TrimSpace(typed))
	return a.passcode && subtle.ConstantTimeCompare(h[:], a.hash[:]) == 1
}

// mode is how the event API names the access: "" (public), "passcode"
// (a passcode or a token) or "token" (a token only).
func (a eventAccess) mode() string {
	switch {
	case !a.protected:
		return ""
	case a.passcode:
		return "passcode"
	}
	return "token"
}

// viewerGrant is what let a viewer in.
type viewerGrant struct {
	via   string    // "public", "passcode" or "token"
	token string    // the token's id, via a token
	exp   time.Time // when a cookie session ends (zero otherwise)
}

// accessError is a refusal: msg for the API, reason for the watch page.
type accessError struct {
	reason string // "needed", "link" (a token that does not open the event), "ended" (a session that no longer holds)
	msg    string
}

func (e *accessError) Error() string { return e.msg }

var (
	errAccessNeeded = &accessError{"needed", "this event is private: enter its passcode on the watch page, or give a token (Authorization: Bearer <token> or ?token=)"}
	errTokenUnknown = &accessError{"link", "unknown token"}
	errTokenRevoked = &accessError{"link", "this token has been revoked"}
	errTokenOther   = &accessError{"link", "this token is for another event"}
	errSessionEnded = &accessError{"ended", "the access session has ended (expired, its token revoked, or the passcode changed): enter the passcode again"}
)

// viewerGate holds what checking viewers needs across events: the key that
// signs sessions, what the server knows of tokens, the passcode guesses.
type viewerGate struct {
	key     []byte
	now     func() time.Time
	guesses *guessLimiter
	// tokenGuesses counts each client's unknown tokens, on every route
	// that takes a token (auth.go).
	tokenGuesses *guessLimiter

	mu sync.Mutex
	// ids are the tokens met (by cookie or secret): event, and whether
	// revoked. A revocation seen here (the API, the revocation watcher)
	// is never undone by an older read.
	ids map[string]tokenState
	// secrets maps the SHA-256 of a secret met to its token's id, so a
	// player sending its token with every HLS request costs no database
	// read after the first.
	secrets map[[sha256.Size]byte]string
}

type tokenState struct {
	event   string
	revoked bool
}

// maxKnownTokens bounds each of the gate's maps; past it they start afresh
// (the database answers again).
const maxKnownTokens = 65536

func newViewerGate(key []byte) *viewerGate {
	if len(key) < 16 {
		// No key kept: sessions end with the process.
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	return &viewerGate{key: key, now: time.Now, guesses: newGuessLimiter(), tokenGuesses: newTokenGuessLimiter(),
		ids: map[string]tokenState{}, secrets: map[[sha256.Size]byte]string{}}
}

// revoked marks a token revoked: its sessions stop working at once.
func (g *viewerGate) revoked(id string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.ids[id]
	st.revoked = true
	g.ids[id] = st
}

// learn records a token as the database described it.
func (g *viewerGate) learn(t store.Token, secret [sha256.Size]byte, withSecret bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.ids) >= maxKnownTokens {
		g.ids = map[string]tokenState{}
	}
	if len(g.secrets) >= maxKnownTokens {
		g.secrets = map[[sha256.Size]byte]string{}
	}
	st, ok := g.ids[t.ID]
	g.ids[t.ID] = tokenState{event: t.Event, revoked: t.Revoked != nil || (ok && st.revoked)}
	if withSecret {
		g.secrets[secret] = t.ID
	}
}

func (g *viewerGate) known(id string) (tokenState, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st, ok := g.ids[id]
	return st, ok
}

func (g *viewerGate) knownSecret(h [sha256.Size]byte) (string, tokenState, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	id, ok := g.secrets[h]
	if !ok {
		return "", tokenState{}, false
	}
	st, ok := g.ids[id]
	return id, st, ok
}

// tokenGrant judges a token's secret for the event. A secret the gate has met
// costs nothing; a new one is looked up, unless its client has guessed too
// many unknown tokens (a *guessWait error then), so that many viewers behind
// one address (a CDN) with good tokens pass while a guesser waits.
func (s *Server) tokenGrant(r *http.Request, event, secret string) (viewerGrant, error) {
	if s.tokens == nil {
		return viewerGrant{}, errTokenUnknown
	}
	h := sha256.Sum256([]byte(secret))
	id, st, ok := s.gate.knownSecret(h)
	if !ok {
		client, now := guessClient(r), s.gate.now()
		if ok, wait := s.gate.tokenGuesses.may(client, now); !ok {
			return viewerGrant{}, &guessWait{wait}
		}
		t, err := s.tokens.Check(r.Context(), secret)
		switch {
		case errors.Is(err, store.ErrRevoked):
			s.gate.learn(t, h, false)
			return viewerGrant{}, errTokenRevoked
		case err != nil:
			if errors.Is(err, store.ErrUnknownToken) {
				s.gate.tokenGuesses.take(client, now)
			}
			return viewerGrant{}, errTokenUnknown
		}
		s.gate.learn(t, h, true)
		id, st = t.ID, tokenState{event: t.Event}
		if k, ok := s.gate.known(id); ok {
			st = k
		}
	}
	switch {
	case st.revoked:
		return viewerGrant{}, errTokenRevoked
	case st.event != event:
		return viewerGrant{}, errTokenOther
	}
	return viewerGrant{via: "token", token: id}, nil
}

// sessionGrant judges a session cookie's value for the event.
func (s *Server) sessionGrant(ctx context.Context, st *eventState, value string) (viewerGrant, error) {
	a := st.access
	c, err := parseAccess(s.gate.key, st.ev.ID(), a.hash[:], value, s.gate.now())
	if err != nil || (c.Token == "" && !a.passcode) {
		return viewerGrant{}, errSessionEnded
	}
	g := viewerGrant{via: "passcode", exp: time.Unix(c.Exp, 0)}
	if c.Token == "" {
		return g, nil
	}
	ts, ok := s.gate.known(c.Token)
	if !ok {
		if s.tokens == nil {
			return viewerGrant{}, errSessionEnded
		}
		t, err := s.tokens.Token(ctx, c.Token)
		if err != nil {
			return viewerGrant{}, errSessionEnded
		}
		s.gate.learn(t, [sha256.Size]byte{}, false)
		ts, _ = s.gate.known(c.Token)
	}
	if ts.revoked || ts.event != st.ev.ID() {
		return viewerGrant{}, errSessionEnded
	}
	g.via, g.token = "token", c.Token
	return g, nil
}

// viewerAccess is the one check of the viewer side: whether r may watch and
// listen to the event, and by what. A token given with the request (Bearer,
// then ?token=) is judged before the session cookie.
func (s *Server) viewerAccess(r *http.Request, st *eventState) (viewerGrant, error) {
	if !st.access.protected {
		return viewerGrant{via: "public"}, nil
	}
	if secret := bearer(r); secret != "" {
		return s.tokenGrant(r, st.ev.ID(), secret)
	}
	if secret := r.URL.Query().Get("token"); secret != "" {
		return s.tokenGrant(r, st.ev.ID(), secret)
	}
	if c, err := r.Cookie(accessCookiePrefix + st.ev.ID()); err == nil {
		return s.sessionGrant(r.Context(), st, c.Value)
	}
	return viewerGrant{}, errAccessNeeded
}

// viewer resolves the {event} of a viewer route and checks access: 404 for
// an unknown event, 401 with {"error"} without access.
func (s *Server) viewer(w http.ResponseWriter, r *http.Request) (*eventState, viewerGrant, bool) {
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, viewerGrant{}, false
	}
	g, err := s.viewerAccess(r, st)
	if err != nil {
		refuseViewer(w, err)
		return nil, viewerGrant{}, false
	}
	return st, g, true
}

func refuseViewer(w http.ResponseWriter, err error) {
	var gw *guessWait
	if errors.As(err, &gw) {
		tooManyGuesses(w, gw.wait)
		return
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
	writeError(w, http.StatusUnauthorized, err.Error())
}

// holdViewer registers a live session (a WHEP peer, a caption socket) opened
// with a token, so that revoking the token ends it; release forgets it.
func (s *Server) holdViewer(g viewerGrant, end func()) (release func()) {
	if g.token == "" {
		return func() {}
	}
	return s.live.hold(g.token, end)
}

// endToken is what revoking a token does here: its sessions stop opening
// anything, and its live sessions end. It returns how many there were.
func (s *Server) endToken(id string) int {
	s.gate.revoked(id)
	return s.live.end(id)
}

// setSession gives the viewer a session cookie for the event: for the token
// of g, or (g.token "") for the passcode.
func (s *Server) setSession(w http.ResponseWriter, r *http.Request, st *eventState, g viewerGrant) time.Time {
	exp := s.gate.now().Add(accessTTL).Truncate(time.Second)
	v := signAccess(s.gate.key, st.ev.ID(), st.access.hash[:], accessClaim{Exp: exp.Unix(), Token: g.token})
	http.SetCookie(w, &http.Cookie{
		Name:     accessCookiePrefix + st.ev.ID(),
		Value:    v,
		Path:     "/",
		Expires:  exp,
		MaxAge:   int(accessTTL / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https",
		SameSite: http.SameSiteLaxMode,
	})
	return exp
}

// guess spends one passcode guess of the request's client and checks the
// passcode: 0 when it opens the event, else the status to answer (401, or
// 429 with how long to wait).
func (s *Server) guess(r *http.Request, st *eventState, passcode string) (int, time.Duration) {
	if ok, wait := s.gate.guesses.take(guessClient(r), s.gate.now()); !ok {
		return http.StatusTooManyRequests, wait
	}
	if !st.access.checkPasscode(passcode) {
		s.log.Info("wrong passcode", "event", st.ev.ID(), "client", guessClient(r))
		return http.StatusUnauthorized, 0
	}
	return 0, 0
}

// retryAfter is a wait in whole seconds, at least one.
func retryAfter(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// accessAnswer is the body of the access API.
type accessAnswer struct {
	Access  string     `json:"access"` // "public", "passcode" or "token": what lets this client in
	Expires *time.Time `json:"expires,omitempty"`
}

// handleAccessCheck answers whether the request may watch:
// GET /api/events/{event}/access → 200 {"access", "expires"}, or 401. An edge
// cache can ask it (nginx auth_request) before serving a closed event's HLS.
func (s *Server) handleAccessCheck(w http.ResponseWriter, r *http.Request) {
	_, g, ok := s.viewer(w, r)
	if !ok {
		return
	}
	a := accessAnswer{Access: g.via}
	if !g.exp.IsZero() {
		a.Expires = &g.exp
	}
	writeJSON(w, http.StatusOK, a)
}

// handleAccessLogin takes the passcode from a script:
// POST /api/events/{event}/access {"passcode"} → 200 and the session cookie;
// 401 for a wrong passcode, 429 (Retry-After) after too many guesses.
func (s *Server) handleAccessLogin(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin request refused")
		return
	}
	var body struct {
		Passcode string `json:"passcode"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil || strings.TrimSpace(body.Passcode) == "" {
		writeError(w, http.StatusBadRequest, `body must be {"passcode": "…"}`)
		return
	}
	if !st.access.protected {
		writeJSON(w, http.StatusOK, accessAnswer{Access: "public"})
		return
	}
	if !st.access.passcode {
		refuseViewer(w, errors.New("this event opens only with a token"))
		return
	}
	switch code, wait := s.guess(r, st, body.Passcode); code {
	case http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
		writeError(w, code, fmt.Sprintf("too many passcode attempts: try again in %d s", retryAfter(wait)))
		return
	case http.StatusUnauthorized:
		refuseViewer(w, errors.New("wrong passcode"))
		return
	}
	exp := s.setSession(w, r, st, viewerGrant{via: "passcode"})
	writeJSON(w, http.StatusOK, accessAnswer{Access: "passcode", Expires: &exp})
}

// mediaViewer lets a request for a closed event's media (the live HLS tree,
// a VOD) through with the writer to answer on, marked private and carrying
// a ?token= into the playlists' URIs, and the func that ends it; without
// viewer access it answers the request and returns false. An open event's
// requests pass untouched.
func (s *Server) mediaViewer(w http.ResponseWriter, r *http.Request, st *eventState) (http.ResponseWriter, func(), bool) {
	if !st.access.protected {
		return w, func() {}, true
	}
	if r.Method == http.MethodOptions {
		hlsPreflight(w)
		return w, nil, false
	}
	g, err := s.viewerAccess(r, st)
	if err != nil {
		refuseViewer(w, err)
		return w, nil, false
	}
	pw := newPrivateWriter(w, r, g)
	return pw, pw.finish, true
}
