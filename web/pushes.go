package web

import (
	"errors"
	"fmt"
	"net/http"

	"tolk/internal/restream"
)

// ErrNoPush is the error of an event asked for a push it does not have.
var ErrNoPush = errors.New("no such push")

// pusher is an event that pushes languages to platforms (config outputs:,
// cmd/tolk/event): the console lists them and starts and stops them.
type pusher interface {
	// Pushes lists every push's state, stream keys redacted.
	Pushes() []restream.Status
	StartPush(id string) error
	StopPush(id string) error
}

// pushesOf returns an event's pushes, none when it has no such outputs.
func pushesOf(ev Event) []restream.Status {
	if p, ok := ev.(pusher); ok {
		return p.Pushes()
	}
	return []restream.Status{}
}

// handlePushes lists the pushes: GET /api/events/{event}/outputs.
func (s *Server) handlePushes(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"outputs": pushesOf(st.ev)})
}

// handlePushAction starts or stops a push:
// POST /api/events/{event}/outputs/{id}/start and .../stop. The answer is
// the push's state.
func (s *Server) handlePushAction(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	p, ok := st.ev.(pusher)
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no output %q", st.ev.ID(), id))
		return
	}
	var err error
	switch action {
	case "start":
		err = p.StartPush(id)
	case "stop":
		err = p.StopPush(id)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown action %q: start or stop", action))
		return
	}
	if errors.Is(err, ErrNoPush) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no output %q", st.ev.ID(), id))
		return
	} else if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	for _, ps := range p.Pushes() {
		if ps.ID == id {
			s.log.Info("push "+action, "event", st.ev.ID(), "push", id, "url", ps.URL)
			writeJSON(w, http.StatusOK, ps)
			return
		}
	}
	writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no output %q", st.ev.ID(), id))
}
