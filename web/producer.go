package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"tolk/internal/store"
	"tolk/interpreter"
	"tolk/mixer"
)

// producerAccess checks "Authorization: Bearer <producer token>" for the event.
func (s *Server) producerAccess(w http.ResponseWriter, r *http.Request) (*eventState, bool) {
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, false
	}
	if _, ok := s.checkToken(w, r, bearer(r), st.ev.ID(), "a producer token is needed: Authorization: Bearer <token>", store.RoleProducer); !ok {
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
	// Muted takes the language back to the floor (true) or gives it back
	// to its booth (false).
	Muted *bool `json:"muted"`
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
		writeError(w, http.StatusBadRequest, `body must be {"direct_take": true|false, "muted": true|false}: `+err.Error())
		return
	}
	if set.DirectTake == nil && set.Muted == nil {
		writeError(w, http.StatusBadRequest, `nothing to change: {"direct_take": true|false, "muted": true|false}`)
		return
	}
	if set.DirectTake != nil {
		b.SetDirectTake(*set.DirectTake)
	}
	if set.Muted != nil {
		b.SetMuted(*set.Muted)
	}
	snap, err := b.Snapshot()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, "the booth is closing")
		return
	}
	writeJSON(w, http.StatusOK, BoothInfo{Lang: b.Lang, Snapshot: snap})
}

// notice is the body of POST /api/events/{event}/notices.
type notice struct {
	// Lang is the booth the notice goes to; empty: every booth.
	Lang string `json:"lang"`
	Text string `json:"text"`
}

// handleNotice sends the producer's text to one booth or to all:
// POST /api/events/{event}/notices {"lang"?, "text"}.
func (s *Server) handleNotice(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	var n notice
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 8192))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		writeError(w, http.StatusBadRequest, `body must be {"lang", "text"}: `+err.Error())
		return
	}
	var booths []*interpreter.Booth
	if n.Lang != "" {
		b, ok := st.ev.Booth(n.Lang)
		if !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no booth %q", n.Lang))
			return
		}
		booths = append(booths, b)
	} else {
		for _, rd := range st.ev.Renditions() {
			if b, ok := st.ev.Booth(rd.Tag); ok {
				booths = append(booths, b)
			}
		}
	}
	for _, b := range booths {
		if err := b.Notice(n.Text, n.Lang == ""); err != nil {
			if errors.Is(err, interpreter.ErrBadText) {
				writeError(w, http.StatusBadRequest, "text: "+err.Error())
			} else {
				writeError(w, http.StatusServiceUnavailable, "the booth is closing")
			}
			return
		}
	}
	s.log.Info("producer notice", "event", st.ev.ID(), "lang", n.Lang, "booths", len(booths))
	writeJSON(w, http.StatusOK, map[string]int{"booths": len(booths)})
}

// floorSwitch is the body of POST /api/events/{event}/floor.
type floorSwitch struct {
	Input string `json:"input"`
}

// handleFloorSwitch puts another floor input on the program, with a short
// cross-fade: POST /api/events/{event}/floor {"input": "berlin"}.
func (s *Server) handleFloorSwitch(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	var sw floorSwitch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sw); err != nil || sw.Input == "" {
		writeError(w, http.StatusBadRequest, `body must be {"input": "<floor input id>"}`)
		return
	}
	known := false
	for _, in := range st.ev.FloorInputs() {
		known = known || in.ID == sw.Input
	}
	if !known {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no floor input %q", st.ev.ID(), sw.Input))
		return
	}
	if err := st.ev.SwitchFloor(sw.Input); err != nil {
		if errors.Is(err, mixer.ErrInputNotLive) {
			writeError(w, http.StatusConflict, err.Error()+": the program keeps the input it has")
			return
		}
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	s.log.Info("floor switch", "event", st.ev.ID(), "input", sw.Input)
	writeJSON(w, http.StatusOK, map[string]any{"inputs": st.ev.FloorInputs()})
}
