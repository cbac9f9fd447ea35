package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/media"
	"tolk/internal/store"
	"tolk/interpreter"
	"tolk/mixer"
)

// languagePatch is the body of PATCH /api/events/{event}/languages/{lang}.
type languagePatch struct {
	DuckDB      *float64 `json:"duck_db"`
	VoiceGainDB *float64 `json:"voice_gain_db"`
	FloorGainDB *float64 `json:"floor_gain_db"`
}

// check validates the whole patch before anything changes.
func (p languagePatch) check(floor bool) error {
	if p.DuckDB == nil && p.VoiceGainDB == nil && p.FloorGainDB == nil {
		return errors.New(`nothing to change: {"duck_db", "voice_gain_db", "floor_gain_db"}`)
	}
	if floor && (p.DuckDB != nil || p.VoiceGainDB != nil) {
		return errors.New("the floor rendition has no voice and is never ducked: only floor_gain_db applies")
	}
	in := func(name string, v *float64, lo, hi float64) error {
		if v != nil && !(*v >= lo && *v <= hi) {
			return fmt.Errorf("%s %g is outside %g..%g dB", name, *v, lo, hi)
		}
		return nil
	}
	return errors.Join(in("duck_db", p.DuckDB, mixer.MinDuckDB, mixer.MaxDuckDB),
		in("voice_gain_db", p.VoiceGainDB, mixer.MinGainDB, mixer.MaxGainDB),
		in("floor_gain_db", p.FloorGainDB, mixer.MinGainDB, mixer.MaxGainDB))
}

func (s *Server) handleLanguagePatch(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	var rd *Rendition
	for _, x := range st.ev.Renditions() {
		if x.Tag == r.PathValue("lang") {
			rd = &x
		}
	}
	m, ok := st.ev.Mix(r.PathValue("lang"))
	if rd == nil || !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no language %q", st.ev.ID(), r.PathValue("lang")))
		return
	}
	var p languagePatch
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		writeError(w, http.StatusBadRequest, `body must be {"duck_db", "voice_gain_db", "floor_gain_db"} (numbers, dB): `+err.Error())
		return
	}
	if err := p.check(rd.Floor); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if p.DuckDB != nil {
		m.SetDuckDepth(*p.DuckDB)
	}
	if p.VoiceGainDB != nil || p.FloorGainDB != nil {
		cur := m.Settings()
		v, f := cur.VoiceGainDB, cur.FloorGainDB
		if p.VoiceGainDB != nil {
			v = *p.VoiceGainDB
		}
		if p.FloorGainDB != nil {
			f = *p.FloorGainDB
		}
		m.SetGains(v, f)
	}
	s.log.Info("language settings", "event", st.ev.ID(), "lang", rd.Tag, "duck_db", p.DuckDB, "voice_gain_db", p.VoiceGainDB, "floor_gain_db", p.FloorGainDB)
	ls, _ := languageStatus(st, *rd, st.viewers.summary(time.Now()))
	writeJSON(w, http.StatusOK, ls)
}

// pushSocket upgrades r to a WebSocket that only the server writes to (live
// captions, signals): closed is closed when the page goes (a read error, as
// the page sends nothing), and end, deferred by the caller, closes the socket
// and waits for its reader. ok is false when the upgrade did not happen (the
// upgrader or the closing server has answered).
func (s *Server) pushSocket(w http.ResponseWriter, r *http.Request) (ws *websocket.Conn, closed <-chan struct{}, end func(), ok bool) {
	up := websocket.Upgrader{ReadBufferSize: 1024, WriteBufferSize: 4096, CheckOrigin: sameOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return nil, nil, nil, false
	}
	if !s.track(ws) {
		ws.Close()
		return nil, nil, nil, false
	}
	ws.SetReadLimit(1024)
	c := make(chan struct{})
	go func() {
		defer close(c)
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return ws, c, func() {
		ws.Close()
		<-c
		s.untrack(ws)
	}, true
}

// signalQueue bounds the signals waiting for one producer's socket.
const signalQueue = 64

// handleSignals streams every booth's messages to the producer ("slow down",
// notes): GET /api/events/{event}/signals?token=<producer token> (WebSocket;
// the token may also come as Authorization: Bearer). Each message is
// {"type": "signal", "kind", "lang", "from": {id, name}, "text", "at"}.
func (s *Server) handleSignals(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	secret := r.URL.Query().Get("token")
	if secret == "" {
		secret = bearer(r)
	}
	tok, ok := s.checkToken(w, r, secret, st.ev.ID(), "a producer token is needed: ?token=<token>", store.RoleProducer)
	if !ok {
		return
	}
	ws, closed, end, ok := s.pushSocket(w, r)
	if !ok {
		return
	}
	defer end()
	defer s.live.hold(tok.ID, func() { revoked(ws) })()
	// One reader per booth, merged; each ends when its booth closes or the
	// socket goes.
	merged := make(chan interpreter.Signal, signalQueue)
	done := make(chan struct{})
	var readers []*media.Reader[interpreter.Signal]
	for _, rd := range st.ev.Renditions() {
		if b, ok := st.ev.Booth(rd.Tag); ok {
			readers = append(readers, b.Signals().Read("producer", signalQueue))
		}
	}
	var fwd sync.WaitGroup
	for _, rdr := range readers {
		fwd.Add(1)
		go func() {
			defer fwd.Done()
			for sig := range rdr.C {
				select {
				case merged <- sig:
				case <-done:
					return
				}
			}
		}()
	}
	defer func() {
		close(done)
		for _, rdr := range readers {
			rdr.Close()
		}
		fwd.Wait()
	}()
	ping := time.NewTicker(15 * time.Second)
	defer ping.Stop()
	for {
		select {
		case sig := <-merged:
			_ = ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := ws.WriteJSON(interpreter.SignalMsg{Type: "signal", Signal: sig}); err != nil {
				return
			}
		case <-ping.C:
			if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				return
			}
		case <-closed:
			return
		}
	}
}
