package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/media"
	"tolk/internal/store"
	"tolk/interpreter"
	"tolk/mixer"
)

// LanguageSettings are a language's live controls.
type LanguageSettings struct {
	// DuckDB is how far the floor goes down under the voice; absent for the
	// floor rendition, which is never ducked.
	DuckDB      *float64 `json:"duck_db,omitempty"`
	VoiceGainDB *float64 `json:"voice_gain_db,omitempty"`
	FloorGainDB float64  `json:"floor_gain_db"`
}

// Meter is a level reading in dBFS (loudness in LUFS).
type Meter struct {
	PeakDB        float64 `json:"peak_db"`
	RMSDB         float64 `json:"rms_db"`
	ShortTermLUFS float64 `json:"short_term_lufs"`
}

// LanguageStatus is one language as the producer sees it.
type LanguageStatus struct {
	Lang  string `json:"lang"`
	Name  string `json:"name"`
	Floor bool   `json:"floor"`
	// Settings are the controls in force.
	Settings LanguageSettings `json:"settings"`
	// Program is the meter of what listeners hear.
	Program Meter `json:"program"`
	// VoiceDB is the clean voice's level (the booth's on-air interpreter);
	// absent for the floor rendition.
	VoiceDB *float64 `json:"voice_db,omitempty"`
	// DuckNowDB is the ducking applied to the floor bed now (0 = full).
	DuckNowDB   float64 `json:"duck_now_db"`
	LimiterDB   float64 `json:"limiter_db"`
	VoiceActive bool    `json:"voice_active"`
	Frames      uint64  `json:"frames"`
	// Outputs are the mix's tracks with every reader's counts (HLS, WHEP,
	// booth feeds, captions): who falls behind and drops.
	Outputs         []media.TrackStats `json:"outputs"`
	WebRTCListeners int64              `json:"webrtc_listeners"`
	// Booth is the language's booth: members, who is on air, handover.
	Booth *interpreter.Snapshot `json:"booth,omitempty"`
	// Mics are the connected members' microphones as the server receives
	// them, by member id.
	Mics map[string]MicStatus `json:"mics,omitempty"`
}

// MicStatus is one booth microphone: its level and its jitter buffer.
type MicStatus struct {
	LevelDB      float64 `json:"level_db"`
	Packets      uint64  `json:"packets"`
	Lost         uint64  `json:"lost"`
	FECRecovered uint64  `json:"fec_recovered"`
	Concealed    uint64  `json:"concealed"`
	Late         uint64  `json:"late"`
	Underruns    uint64  `json:"underruns"`
	DepthMS      float64 `json:"depth_ms"`
	TargetMS     float64 `json:"target_ms"`
}

// EventStatus is GET /api/events/{event}/status.
type EventStatus struct {
	ID        string           `json:"id"`
	Floor     string           `json:"floor"`
	Languages []LanguageStatus `json:"languages"`
}

// languageStatus reads one language's controls, meters and counts.
func languageStatus(st *eventState, rd Rendition) (LanguageStatus, bool) {
	m, ok := st.ev.Mix(rd.Tag)
	if !ok {
		return LanguageStatus{}, false
	}
	set, mt := m.Settings(), m.Meters()
	ls := LanguageStatus{
		Lang: rd.Tag, Name: rd.Name, Floor: rd.Floor,
		Settings:  LanguageSettings{FloorGainDB: round(set.FloorGainDB)},
		Program:   Meter{PeakDB: round(mt.PeakDB), RMSDB: round(mt.RMSDB), ShortTermLUFS: round(mt.ShortTermLUFS)},
		DuckNowDB: round(mt.DuckDB), LimiterDB: round(mt.LimiterDB), VoiceActive: mt.VoiceActive,
		Frames:  m.Stats().Frames,
		Outputs: []media.TrackStats{m.Packets().Stats(), m.PCM().Stats()},
	}
	if !rd.Floor {
		d, g := round(set.DuckDB), round(set.VoiceGainDB)
		ls.Settings.DuckDB, ls.Settings.VoiceGainDB = &d, &g
	}
	if l, ok := st.langs[rd.Tag]; ok {
		ls.WebRTCListeners = l.out.Listeners()
	}
	if v, ok := st.ev.Voice(rd.Tag); ok {
		db := round(v.LevelDB())
		ls.VoiceDB = &db
	}
	if b, ok := st.ev.Booth(rd.Tag); ok {
		if snap, err := b.Snapshot(); err == nil {
			ls.Booth = &snap
		}
		for id, mic := range st.mics.of(rd.Tag) {
			ms := mic.Stats()
			if ls.Mics == nil {
				ls.Mics = map[string]MicStatus{}
			}
			ls.Mics[id] = MicStatus{LevelDB: round(mic.Level()), Packets: ms.Packets, Lost: ms.Lost, FECRecovered: ms.FECRecovered,
				Concealed: ms.Concealed, Late: ms.Late, Underruns: ms.Underruns, DepthMS: round(ms.DepthMS), TargetMS: round(ms.TargetMS)}
		}
	}
	return ls, true
}

// round keeps readings to 0.1 dB: finer is noise on a meter.
func round(x float64) float64 { return math.Round(x*10) / 10 }

func (s *Server) handleStatus(w http.ResponseWriter, r *http.Request) {
	st, ok := s.producerAccess(w, r)
	if !ok {
		return
	}
	out := EventStatus{ID: st.ev.ID(), Floor: st.ev.FloorState(), Languages: []LanguageStatus{}}
	for _, rd := range st.ev.Renditions() {
		if ls, ok := languageStatus(st, rd); ok {
			out.Languages = append(out.Languages, ls)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

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
	ls, _ := languageStatus(st, *rd)
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
	if _, ok := s.checkToken(w, r, secret, st.ev.ID(), "a producer token is needed: ?token=<token>", store.RoleProducer); !ok {
		return
	}
	ws, closed, end, ok := s.pushSocket(w, r)
	if !ok {
		return
	}
	defer end()
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
