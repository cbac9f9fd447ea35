package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"tolk/internal/store"
	"tolk/interpreter"
)

// producerAccess checks "Authorization: Bearer <producer token>" for the event.
func (s *Server) producerAccess(w http.ResponseWriter, r *http.Request) (*eventState, bool) {
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, false
	}
	secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if s.tokens == nil || secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
		writeError(w, http.StatusUnauthorized, "a producer token is needed: Authorization: Bearer <token>")
		return nil, false
	}
	tok, err := s.tokens.Check(r.Context(), strings.TrimSpace(secret))
	switch {
	case errors.Is(err, store.ErrRevoked):
		writeError(w, http.StatusUnauthorized, "this token has been revoked")
		return nil, false
	case err != nil:
		writeError(w, http.StatusUnauthorized, "unknown token")
		return nil, false
	case tok.Event != st.ev.ID() || tok.Role != store.RoleProducer:
		writeError(w, http.StatusForbidden, "this token is not a producer token of this event")
		return nil, false
	}
	return st, true
}

// BoothInfo is one booth in GET /api/events/{event}/booths.
type BoothInfo struct {
	Lang string `json:"lang"`
	interpreter.Snapshot
}

func (s *Server) handleBooths(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	out := []BoothInfo{}
	for _, rd := range st.ev.Renditions() {
		if b, ok := st.ev.Booth(rd.Tag); ok {
			snap, err := b.Snapshot()
			if err != nil {
				continue
			}
			out = append(out, BoothInfo{Lang: rd.Tag, Snapshot: snap})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"booths": out})
}

// boothSettings is the body of POST /api/events/{event}/booths/{lang}.
type boothSettings struct {
	DirectTake *bool `json:"direct_take"`
}

func (s *Server) handleBoothSettings(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	b, ok := st.ev.Booth(r.PathValue("lang"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no booth %q", r.PathValue("lang")))
		return
	}
	var set boothSettings
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&set); err != nil {
		writeError(w, http.StatusBadRequest, "body must be {\"direct_take\": true|false}: "+err.Error())
		return
	}
	if set.DirectTake == nil {
		writeError(w, http.StatusBadRequest, "nothing to change: {\"direct_take\": true|false}")
		return
	}
	b.SetDirectTake(*set.DirectTake)
	snap, err := b.Snapshot()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the booth is closing")
		return
	}
	writeJSON(w, http.StatusOK, BoothInfo{Lang: b.Lang, Snapshot: snap})
}
