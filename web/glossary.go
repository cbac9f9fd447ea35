package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"tolk/captions/glossary"
)

// maxGlossaryBody bounds PUT /api/events/{event}/glossary: the largest valid
// glossary (1000 entries of 100 bytes and 64 KB of text) with JSON escaping.
const maxGlossaryBody = 512 << 10

// glossaryEvent is an event whose recognizers take a live glossary
// (*event.Event; nil in a rebroadcast), which it keeps across restarts.
type glossaryEvent interface {
	Glossary() *glossary.Live
	// SetGlossary saves a valid glossary and makes it current.
	SetGlossary(ctx context.Context, g glossary.Glossary) error
	// ResetGlossary forgets the saved glossary and makes the configured
	// one current.
	ResetGlossary(ctx context.Context) error
}

// GlossaryInfo is the body of GET and PUT /api/events/{event}/glossary.
type GlossaryInfo struct {
	glossary.Glossary
	// Version changes with every accepted PUT; recognizers apply a new
	// version at their next utterance.
	Version uint64 `json:"version"`
}

// eventGlossary is the event with a live glossary, or a 404 for an event
// without recognizers.
func (s *Server) eventGlossary(w http.ResponseWriter, r *http.Request) (glossaryEvent, bool) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return nil, false
	}
	if ge, ok := st.ev.(glossaryEvent); ok && ge.Glossary() != nil {
		return ge, true
	}
	writeError(w, http.StatusNotFound, "this event has no live captions to adapt")
	return nil, false
}

func glossaryInfo(l *glossary.Live) GlossaryInfo {
	g, v := l.Get()
	if g.Terms == nil {
		g.Terms = []string{}
	}
	if g.Speakers == nil {
		g.Speakers = []string{}
	}
	return GlossaryInfo{Glossary: g, Version: v}
}

func (s *Server) handleGlossaryGet(w http.ResponseWriter, r *http.Request) {
	ge, ok := s.eventGlossary(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, glossaryInfo(ge.Glossary()))
}

// handleGlossaryDelete goes back to the configured glossary, which a restart
// starts from again.
func (s *Server) handleGlossaryDelete(w http.ResponseWriter, r *http.Request) {
	ge, ok := s.eventGlossary(w, r)
	if !ok {
		return
	}
	if err := ge.ResetGlossary(r.Context()); err != nil {
		s.log.Error("glossary reset", "event", r.PathValue("event"), "err", err)
		writeError(w, http.StatusInternalServerError, "the glossary could not be reset")
		return
	}
	info := glossaryInfo(ge.Glossary())
	s.log.Info("glossary reset to the configured one", "event", r.PathValue("event"), "version", info.Version)
	writeJSON(w, http.StatusOK, info)
}

// handleGlossaryPut replaces the glossary, and saves it for the next run;
// the recognizers take it at their next utterance.
func (s *Server) handleGlossaryPut(w http.ResponseWriter, r *http.Request) {
	ge, ok := s.eventGlossary(w, r)
	if !ok {
		return
	}
	var g glossary.Glossary
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxGlossaryBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "the glossary is larger than 512 KB")
			return
		}
		writeError(w, http.StatusBadRequest, `body must be {"terms": [...], "speakers": [...], "text": "..."}: `+err.Error())
		return
	}
	if err := dec.Decode(&struct{}{}); err != io.EOF {
		writeError(w, http.StatusBadRequest, "body must be one JSON object")
		return
	}
	if err := g.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, "glossary: "+err.Error())
		return
	}
	if err := ge.SetGlossary(r.Context(), g); err != nil {
		s.log.Error("glossary not saved", "event", r.PathValue("event"), "err", err)
		writeError(w, http.StatusInternalServerError, "the glossary could not be saved")
		return
	}
	info := glossaryInfo(ge.Glossary())
	s.log.Info("glossary changed", "event", r.PathValue("event"), "version", info.Version,
		"terms", len(g.Terms), "speakers", len(g.Speakers), "text_bytes", len(g.Text))
	writeJSON(w, http.StatusOK, info)
}
