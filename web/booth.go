package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/audio"
	"tolk/internal/store"
	"tolk/interpreter"
	"tolk/locales"
	"tolk/web/pages"
)

// boothAccess resolves the event, the booth and the interpreter's token, or
// answers 404 (unknown event or language), 409 (a rebroadcast: no booth is
// open), 401 (no, unknown or revoked token) or 403 (a token for another
// event, language or role).
func (s *Server) boothAccess(w http.ResponseWriter, r *http.Request) (*eventState, *interpreter.Booth, store.Token, bool) {
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, nil, store.Token{}, false
	}
	lang := r.PathValue("lang")
	booth, ok := st.ev.Booth(lang)
	if rb, isRB := st.ev.(rebroadcaster); !ok && isRB {
		if run, on := rb.Rebroadcast(); on {
			writeError(w, http.StatusConflict, fmt.Sprintf("event %q is a rebroadcast of the recorded run %s: every language plays as recorded and the booths are closed", st.ev.ID(), run))
			return nil, nil, store.Token{}, false
		}
	}
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no booth for %q", st.ev.ID(), lang))
		return nil, nil, store.Token{}, false
	}
	tok, ok := s.checkToken(w, r, r.URL.Query().Get("token"), st.ev.ID(), "an interpreter token is needed: ?token=…", store.RoleInterpreter)
	if !ok {
		return nil, nil, store.Token{}, false
	}
	if tok.Lang != lang {
		writeError(w, http.StatusForbidden, fmt.Sprintf("this token is for the %s booth", tok.Lang))
		return nil, nil, store.Token{}, false
	}
	return st, booth, tok, true
}

func (s *Server) handleBoothPage(w http.ResponseWriter, r *http.Request) {
	st, booth, _, ok := s.boothAccess(w, r)
	if !ok {
		return
	}
	ev := st.ev
	d := pages.BoothData{
		EventID: ev.ID(),
		Title:   ev.Title(),
		Lang:    booth.Lang,
		Token:   r.URL.Query().Get("token"),
		WSURL:   "/booth/" + ev.ID() + "/" + booth.Lang + "/ws?token=" + url.QueryEscape(r.URL.Query().Get("token")),
		Locale:  locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
	}
	for _, rd := range ev.Renditions() {
		switch {
		case rd.Floor:
			d.Floor = pages.Rendition{Tag: rd.Tag, Name: rd.Name, Floor: true}
		case rd.Tag == booth.Lang:
			d.LangName = rd.Name
		default:
			d.Relays = append(d.Relays, pages.Rendition{Tag: rd.Tag, Name: rd.Name})
		}
	}
	pages.Booth(w, r, d)
}

// welcome is the first message of a booth session.
type welcome struct {
	Type   string              `json:"type"`
	You    interpreter.Person  `json:"you"`
	Event  map[string]string   `json:"event"`
	Lang   map[string]string   `json:"lang"`
	Floor  map[string]string   `json:"floor"`
	Relays []map[string]string `json:"relays"`
}

func (s *Server) handleBoothWS(w http.ResponseWriter, r *http.Request) {
	st, booth, tok, ok := s.boothAccess(w, r)
	if !ok {
		return
	}
	ev := st.ev
	wel := welcome{Type: "welcome", You: interpreter.Person{ID: tok.ID, Name: tok.Name},
		Event: map[string]string{"id": ev.ID(), "title": ev.Title()}}
	relays := map[string]bool{}
	for _, rd := range ev.Renditions() {
		item := map[string]string{"tag": rd.Tag, "name": rd.Name}
		switch {
		case rd.Floor:
			wel.Floor = item
		case rd.Tag == booth.Lang:
			wel.Lang = item
		default:
			wel.Relays = append(wel.Relays, item)
			relays[rd.Tag] = true
		}
	}
	up := websocket.Upgrader{
		ReadBufferSize: 4096, WriteBufferSize: 4096,
		CheckOrigin: sameOrigin,
	}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered
	}
	if !s.track(ws) {
		ws.Close()
		return
	}
	defer s.untrack(ws)
	var gone atomic.Bool
	defer s.live.hold(tok.ID, func() {
		gone.Store(true)
		revoked(ws)
	})()
	err = serveBoothSession(ws, boothSessionConfig{
		API: s.api, Cert: s.cert, Booth: booth, Feeds: st.ev.BoothFeeds(), Clock: audio.SystemClock{},
		Log: s.log.With("event", ev.ID()), Member: interpreter.Person{ID: tok.ID, Name: tok.Name},
		Welcome: wel, Relays: relays, Links: &st.links, ProgramAt: ev.ProgramAt, Revoked: &gone,
	})
	if err != nil {
		s.log.Warn("booth session", "err", err)
	}
}

// sameOrigin accepts WebSockets and forms from pages of this server, of the
// origins the operator allowed (Options.Origins, withOrigins) and from
// non-browser clients, which send no Origin.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return (err == nil && u.Host == r.Host) || originAllowed(r, o)
}

// track registers a booth WebSocket so Close can end it; false once closed.
func (s *Server) track(ws *websocket.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.sessions.Add(1)
	s.wsConns[ws] = struct{}{}
	return true
}

func (s *Server) untrack(ws *websocket.Conn) {
	s.mu.Lock()
	delete(s.wsConns, ws)
	s.mu.Unlock()
	s.sessions.Done()
}

// closeRevoked is the close code a session gets when its token is revoked:
// the page says so and does not reconnect.
const closeRevoked = 4003

// revoked ends a WebSocket session whose token was revoked. Closing the
// socket ends its session (the read loop fails), and with it its peer.
func revoked(ws *websocket.Conn) {
	_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(closeRevoked, "token revoked"), time.Now().Add(time.Second))
	_ = ws.Close()
}
