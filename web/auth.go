package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"tolk/internal/store"
)

// Tokens checks, lists, issues and revokes access tokens; *store.Store is one.
type Tokens interface {
	Check(ctx context.Context, secret string) (store.Token, error)
	// Token finds a token by its public id (store.ErrNotFound if none).
	Token(ctx context.Context, id string) (store.Token, error)
	Tokens(ctx context.Context, event string) ([]store.Token, error)
	CreateToken(ctx context.Context, event string, role store.Role, lang, name string) (string, store.Token, error)
	Revoke(ctx context.Context, idOrSecret string) error
	RevokedSince(ctx context.Context, since time.Time) ([]string, time.Time, error)
}

// bearer returns the token of an "Authorization: Bearer" header, or "" when
// there is none.
func bearer(r *http.Request) string {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(secret)
}

// checkToken is the one place tokens are judged: it answers 401 for a
// missing, unknown or revoked token (need says how to give one), 403 for a
// token of another event or of a role not in roles, and 429 to a client that
// has shown too many unknown tokens (tokenGuesses).
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request, secret, event, need string, roles ...store.Role) (store.Token, bool) {
	if s.tokens == nil || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
		writeError(w, http.StatusUnauthorized, need)
		return store.Token{}, false
	}
	client, now := guessClient(r), s.gate.now()
	if ok, wait := s.gate.tokenGuesses.may(client, now); !ok {
		tooManyGuesses(w, wait)
		return store.Token{}, false
	}
	tok, err := s.tokens.Check(r.Context(), secret)
	switch {
	case errors.Is(err, store.ErrRevoked):
		writeError(w, http.StatusUnauthorized, "this token has been revoked")
		return store.Token{}, false
	case err != nil:
		if errors.Is(err, store.ErrUnknownToken) {
			s.gate.tokenGuesses.take(client, now)
		}
		writeError(w, http.StatusUnauthorized, "unknown token")
		return store.Token{}, false
	case tok.Event != event || !slices.Contains(roles, tok.Role):
		writeError(w, http.StatusForbidden, fmt.Sprintf("this %s token of event %q gives no access here", tok.Role, tok.Event))
		return store.Token{}, false
	}
	return tok, true
}

// Token guessing. Each unknown token a client shows (on any route that takes
// one: booth, console, editor, API, and the viewer side of a closed event)
// spends one guess of its address (guessClient: IPv6 by /64, the forwarded
// address behind a proxy on loopback); past a burst of tokenGuessBurst the
// client may try one more every tokenGuessEvery, and meanwhile gets 429 with
// Retry-After before its token is even looked up. Revoked tokens and tokens
// of another event or role are real tokens, not guesses: they cost nothing.
// A token is 128 random bits, so the limit is not what keeps it secret; it
// keeps a scanner from turning into database load and shows up in the log.
const (
	tokenGuessBurst = 20
	tokenGuessEvery = 3 * time.Second
)

func newTokenGuessLimiter() *guessLimiter {
	return &guessLimiter{burst: tokenGuessBurst, every: tokenGuessEvery, max: maxGuessers, next: map[string]time.Time{}}
}

// may reports whether client may guess at now, without spending a guess, and
// if not, how long until it may.
func (l *guessLimiter) may(client string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	tat, known := l.next[client]
	if !known {
		return true, 0
	}
	if allowAt := tat.Add(-time.Duration(l.burst-1) * l.every); allowAt.After(now) {
		return false, allowAt.Sub(now)
	}
	return true, 0
}

// guessWait is the refusal of a client that guessed too many tokens.
type guessWait struct{ wait time.Duration }

func (e *guessWait) Error() string {
	return fmt.Sprintf("too many unknown tokens from this address: try again in %d s", retryAfter(e.wait))
}

// tooManyGuesses answers 429 with Retry-After and {"error"}.
func tooManyGuesses(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
	writeError(w, http.StatusTooManyRequests, (&guessWait{wait}).Error())
}

// keyGuarded counts a refused stream key (the WHIP routes answer 401 to a
// Bearer that is not the floor's key) as a token guess of the client, and
// refuses a client past its guesses with 429 before h sees the key.
func (s *Server) keyGuarded(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if bearer(r) == "" {
			h(w, r)
			return
		}
		client, now := guessClient(r), s.gate.now()
		if ok, wait := s.gate.tokenGuesses.may(client, now); !ok {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			tooManyGuesses(w, wait)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h(sw, r)
		if sw.code == http.StatusUnauthorized {
			s.gate.tokenGuesses.take(client, now)
		}
	}
}

// statusWriter remembers the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
