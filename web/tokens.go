package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"tolk/internal/store"
)

// revocationPoll is how often the server looks for tokens revoked by another
// process (tolk token revoke): their live sessions end within it.
const revocationPoll = 500 * time.Millisecond

// TokenInfo is one token in the token API; the secret only in the answer to
// its creation, with the link to hand out.
type TokenInfo struct {
	ID      string     `json:"id"`
	Role    store.Role `json:"role"`
	Lang    string     `json:"lang,omitempty"`
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Revoked *time.Time `json:"revoked,omitempty"`
	// Live counts the sessions open with the token now.
	Live   int    `json:"live"`
	Secret string `json:"secret,omitempty"`
	Link   string `json:"link,omitempty"`
}

// liveSessions are the sessions open with each token, so that revoking a
// token ends them at once: booth pages, consoles, signal streams.
type liveSessions struct {
	mu sync.Mutex
	m  map[string]map[*func()]struct{}
}

// hold registers end as a way to end a session of token id; release
// forgets it when the session ends by itself.
func (l *liveSessions) hold(id string, end func()) (release func()) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]map[*func()]struct{}{}
	}
	if l.m[id] == nil {
		l.m[id] = map[*func()]struct{}{}
	}
	p := &end
	l.m[id][p] = struct{}{}
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.m[id], p)
		if len(l.m[id]) == 0 {
			delete(l.m, id)
		}
	}
}

// end ends every session of token id and returns how many there were.
func (l *liveSessions) end(id string) int {
	l.mu.Lock()
	ends := l.m[id]
	delete(l.m, id)
	l.mu.Unlock()
	for e := range ends {
		(*e)()
	}
	return len(ends)
}

func (l *liveSessions) count(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m[id])
}

// watchRevocations ends the sessions of tokens revoked by another process
// until quit closes.
func (s *Server) watchRevocations(quit <-chan struct{}) {
	since := time.Now().Add(-revocationPoll)
	t := time.NewTicker(revocationPoll)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ids, latest, err := s.tokens.RevokedSince(ctx, since)
		cancel()
		if err != nil {
			s.log.Warn("revoked tokens", "err", err)
			continue
		}
		since = latest
		for _, id := range ids {
			if n := s.endToken(id); n > 0 {
				s.log.Info("token revoked: its sessions end", "token", id, "sessions", n)
			}
		}
	}
}

// tokenInfo describes t for the API.
func (s *Server) tokenInfo(t store.Token) TokenInfo {
	return TokenInfo{ID: t.ID, Role: t.Role, Lang: t.Lang, Name: t.Name, Created: t.Created, Revoked: t.Revoked,
		Live: s.live.count(t.ID)}
}

// pageLink is the page a token opens, on the server the request reached.
func pageLink(r *http.Request, event string, t store.Token, secret string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	base := scheme + "://" + r.Host
	q := "?token=" + url.QueryEscape(secret)
	switch t.Role {
	case store.RoleInterpreter:
		return base + "/booth/" + event + "/" + t.Lang + q
	case store.RoleProducer:
		return base + "/console/" + event + q
	case store.RoleListener:
		return base + "/watch/" + event + q
	}
	return base + "/edit/" + event + q
}

// handleTokens lists the event's tokens: GET /api/events/{event}/tokens.
func (s *Server) handleTokens(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	ts, err := s.tokens.Tokens(r.Context(), st.ev.ID())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not list the tokens")
		return
	}
	out := []TokenInfo{}
	for _, t := range ts {
		out = append(out, s.tokenInfo(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
}

// tokenRequest is the body of POST /api/events/{event}/tokens.
type tokenRequest struct {
	Role store.Role `json:"role"`
	Lang string     `json:"lang"`
	Name string     `json:"name"`
}

// handleCreateToken issues a token: POST /api/events/{event}/tokens.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	var req tokenRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, `body must be {"role", "lang", "name"}: `+err.Error())
		return
	}
	if req.Role == store.RoleInterpreter {
		if _, ok := st.ev.Booth(req.Lang); !ok {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("event %q has no booth for %q", st.ev.ID(), req.Lang))
			return
		}
	}
	secret, t, err := s.tokens.CreateToken(r.Context(), st.ev.ID(), req.Role, req.Lang, req.Name)
	switch {
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
		return
	case err != nil:
		writeError(w, http.StatusInternalServerError, "could not create the token")
		return
	}
	info := s.tokenInfo(t)
	info.Secret, info.Link = secret, pageLink(r, st.ev.ID(), t, secret)
	s.log.Info("token created", "event", st.ev.ID(), "token", t.ID, "role", t.Role, "lang", t.Lang)
	writeJSON(w, http.StatusCreated, info)
}

// handleRevokeToken revokes a token of the event and ends its live
// sessions: DELETE /api/events/{event}/tokens/{id}.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	ts, err := s.tokens.Tokens(r.Context(), st.ev.ID())
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not list the tokens")
		return
	}
	var found *store.Token
	for i := range ts {
		if ts[i].ID == id {
			found = &ts[i]
		}
	}
	if found == nil {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no token %q", st.ev.ID(), id))
		return
	}
	if err := s.tokens.Revoke(r.Context(), id); err != nil {
		writeError(w, http.StatusInternalServerError, "could not revoke the token")
		return
	}
	n := s.endToken(id)
	s.log.Info("token revoked", "event", st.ev.ID(), "token", id, "sessions_ended", n)
	w.WriteHeader(http.StatusNoContent)
}
