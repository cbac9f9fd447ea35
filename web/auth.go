package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
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
// missing, unknown or revoked token (need says how to give one) and 403 for a
// token of another event or of a role not in roles.
func (s *Server) checkToken(w http.ResponseWriter, r *http.Request, secret, event, need string, roles ...store.Role) (store.Token, bool) {
	if s.tokens == nil || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
		writeError(w, http.StatusUnauthorized, need)
		return store.Token{}, false
	}
	tok, err := s.tokens.Check(r.Context(), secret)
	switch {
	case errors.Is(err, store.ErrRevoked):
		writeError(w, http.StatusUnauthorized, "this token has been revoked")
		return store.Token{}, false
	case err != nil:
		writeError(w, http.StatusUnauthorized, "unknown token")
		return store.Token{}, false
	case tok.Event != event || !slices.Contains(roles, tok.Role):
		writeError(w, http.StatusForbidden, fmt.Sprintf("this %s token of event %q gives no access here", tok.Role, tok.Event))
		return store.Token{}, false
	}
	return tok, true
}
