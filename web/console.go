package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/internal/store"
	"tolk/interpreter"
	"tolk/locales"
	"tolk/mixer"
	"tolk/web/pages"
)

const (
	// StatusEvery is how often a console gets the event's status.
	StatusEvery = 200 * time.Millisecond
	// consoleOutbox bounds the messages waiting for a slow console; a full
	// outbox drops status messages (the next one supersedes them) and
	// disconnects the console only for a message that must not be lost.
	consoleOutbox = 32
	// maxConsoleMessage bounds one message from the console (an SDP answer).
	maxConsoleMessage = 64 << 10
)

// statusHub encodes an event's status once per StatusEvery while some
// console reads it, and hands the same bytes to every console: the cost of
// a console beyond the first is a write.
type statusHub struct {
	track *media.Track[[]byte]
	quit  chan struct{}
	done  chan struct{}
}

func newStatusHub(s *Server, st *eventState) *statusHub {
	h := &statusHub{track: media.NewTrack[[]byte](st.ev.ID() + "/status"), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(StatusEvery)
		defer t.Stop()
		for {
			select {
			case <-h.quit:
				return
			case <-t.C:
			}
			if h.track.Readers() == 0 {
				continue
			}
			msg, err := json.Marshal(consoleStatus{Type: "status", Status: s.eventStatus(st)})
			if err != nil {
				s.log.Error("console status", "err", err)
				continue
			}
			h.track.Write(msg)
		}
	}()
	return h
}

func (h *statusHub) close() {
	close(h.quit)
	<-h.done
	h.track.Close()
}

// consoleStatus is the "status" message.
type consoleStatus struct {
	Type   string      `json:"type"`
	Status EventStatus `json:"status"`
}

// consoleWelcome is the first message of a console session.
type consoleWelcome struct {
	Type     string             `json:"type"` // "welcome"
	You      interpreter.Person `json:"you"`
	Event    map[string]string  `json:"event"`
	Every    int64              `json:"status_every_ms"`
	Limits   consoleLimits      `json:"limits"`
	MaxText  int                `json:"max_text"`
	Language []map[string]any   `json:"languages"`
}

// consoleLimits are the ranges of the live controls, in dB.
type consoleLimits struct {
	Duck [2]float64 `json:"duck_db"`
	Gain [2]float64 `json:"gain_db"`
}

// consoleAccess resolves the event and the producer token of a console
// request (?token=, or Authorization: Bearer): 404, 401 or 403 otherwise.
func (s *Server) consoleAccess(w http.ResponseWriter, r *http.Request) (*eventState, store.Token, bool) {
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, store.Token{}, false
	}
	secret := r.URL.Query().Get("token")
	if secret == "" {
		secret = bearer(r)
	}
	tok, ok := s.checkToken(w, r, secret, st.ev.ID(), "a producer token is needed: ?token=<token>", store.RoleProducer)
	return st, tok, ok
}

func (s *Server) handleConsolePage(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.consoleAccess(w, r)
	if !ok {
		return
	}
	ev := st.ev
	d := pages.ConsoleData{
		EventID: ev.ID(),
		Title:   ev.Title(),
		Token:   r.URL.Query().Get("token"),
		Locale:  locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
	}
	for _, rd := range ev.Renditions() {
		d.Renditions = append(d.Renditions, pages.Rendition{Tag: rd.Tag, Name: rd.Name, Floor: rd.Floor})
	}
	pages.Console(w, r, d)
}

// handleConsoleWS is the console's one WebSocket: GET /console/{event}/ws?token=.
func (s *Server) handleConsoleWS(w http.ResponseWriter, r *http.Request) {
	st, tok, ok := s.consoleAccess(w, r)
	if !ok {
		return
	}
	up := websocket.Upgrader{ReadBufferSize: 4096, WriteBufferSize: 16384, CheckOrigin: sameOrigin}
	ws, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	if !s.track(ws) {
		ws.Close()
		return
	}
	defer s.untrack(ws)
	defer s.live.hold(tok.ID, func() { revoked(ws) })()
	c := &consoleSession{s: s, st: st, ws: ws, out: make(chan []byte, consoleOutbox), status: make(chan []byte, 1), quit: make(chan struct{}),
		log: s.log.With("event", st.ev.ID(), "console", tok.ID)}
	if err := c.run(tok); err != nil {
		c.log.Warn("console session", "err", err)
	}
}

// consoleSession is one console page's connection: status and booth
// signals out, and a peer on which the producer hears any language.
type consoleSession struct {
	s   *Server
	st  *eventState
	ws  *websocket.Conn
	log *slog.Logger
	out chan []byte
	// status holds the newest status not yet written: a newer one replaces
	// it (counted in the event's dropped statuses), so a console that
	// stops reading never queues stale statuses nor holds up the others.
	status chan []byte
	quit   chan struct{}
	once   sync.Once
	wg     sync.WaitGroup

	pc       *webrtc.PeerConnection
	sender   *webrtc.RTPSender
	idle     *webrtc.TrackLocalStaticRTP
	listenMu sync.Mutex
	hearing  *ListenerTrack // what the producer hears now, nil for nothing
	hearLang string
}

func (c *consoleSession) run(tok store.Token) error {
	c.ws.SetReadLimit(maxConsoleMessage)
	if err := c.setupPeer(); err != nil {
		c.stop()
		return err
	}
	c.wg.Add(1)
	go c.writeLoop()
	ev := c.st.ev
	wel := consoleWelcome{Type: "welcome", You: interpreter.Person{ID: tok.ID, Name: tok.Name},
		Event: map[string]string{"id": ev.ID(), "title": ev.Title()}, Every: StatusEvery.Milliseconds(),
		Limits:  consoleLimits{Duck: [2]float64{mixer.MinDuckDB, mixer.MaxDuckDB}, Gain: [2]float64{mixer.MinGainDB, mixer.MaxGainDB}},
		MaxText: interpreter.MaxText}
	for _, rd := range ev.Renditions() {
		_, booth := ev.Booth(rd.Tag)
		_, caps := ev.CaptionFeed(rd.Tag)
		wel.Language = append(wel.Language, map[string]any{"tag": rd.Tag, "name": rd.Name, "floor": rd.Floor,
			"booth": booth, "captions": caps})
	}
	c.sendJSON(wel)
	if err := c.sendOffer(); err != nil {
		c.log.Warn("console offer", "err", err)
	}
	// Status and signals are forwarded until the page goes.
	status := c.st.status.track.Read("console", 2)
	var signals []*media.Reader[interpreter.Signal]
	for _, rd := range ev.Renditions() {
		if b, ok := ev.Booth(rd.Tag); ok {
			signals = append(signals, b.Signals().Read("console", signalQueue))
		}
	}
	c.wg.Add(1 + len(signals))
	go func() {
		defer c.wg.Done()
		for msg := range status.C {
			c.sendStatus(msg)
		}
	}()
	for _, sig := range signals {
		go func() {
			defer c.wg.Done()
			for x := range sig.C {
				c.sendJSON(interpreter.SignalMsg{Type: "signal", Signal: x})
			}
		}()
	}
	c.readLoop()
	c.stop()
	status.Close()
	for _, sig := range signals {
		sig.Close()
	}
	c.wg.Wait()
	c.listen("")
	return nil
}

func (c *consoleSession) setupPeer() error {
	pc, err := c.s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{c.s.cert}})
	if err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	c.pc = pc
	if c.idle, err = webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "monitor", "monitor"); err != nil {
		return err
	}
	tr, err := pc.AddTransceiverFromTrack(c.idle, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		return err
	}
	c.sender = tr.Sender()
	c.wg.Add(1)
	go func() { // ends with the peer
		defer c.wg.Done()
		rtc.DrainRTCP(c.sender)
	}()
	return nil
}

func (c *consoleSession) sendOffer() error {
	ctx, cancel := context.WithTimeout(context.Background(), boothGatherTimeout)
	defer cancel()
	sdp, err := rtc.Offer(ctx, c.pc)
	if err != nil {
		return err
	}
	c.sendJSON(map[string]string{"type": "offer", "sdp": sdp})
	return nil
}

// listen switches what the producer hears to lang's mix ("" for nothing),
// by replacing the sender's track: no renegotiation, so the switch takes
// one packet.
func (c *consoleSession) listen(lang string) error {
	var next *ListenerTrack
	if id, ok := strings.CutPrefix(lang, "input:"); ok {
		if next, ok = c.st.ev.FloorPreview(id); !ok {
			return fmt.Errorf("event %q has no floor input %q", c.st.ev.ID(), id)
		}
	} else if lang != "" {
		l, ok := c.st.langs[lang]
		if !ok {
			return fmt.Errorf("event %q has no language %q", c.st.ev.ID(), lang)
		}
		next = l.out
	}
	c.listenMu.Lock()
	defer c.listenMu.Unlock()
	if next == c.hearing {
		return nil
	}
	var t webrtc.TrackLocal = c.idle
	if next != nil {
		t = next.track
		next.monitors.Add(1)
	}
	if err := c.sender.ReplaceTrack(t); err != nil && !errors.Is(err, webrtc.ErrConnectionClosed) {
		if next != nil {
			next.monitors.Add(-1)
		}
		return fmt.Errorf("listen: %w", err)
	}
	if c.hearing != nil {
		c.hearing.monitors.Add(-1)
	}
	c.hearing, c.hearLang = next, lang
	return nil
}

// sendJSON queues a message that must reach the page; a page too far
// behind is disconnected (it reconnects and starts afresh).
func (c *consoleSession) sendJSON(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.log.Error("console message", "err", err)
		return
	}
	select {
	case c.out <- b:
	case <-c.quit:
	default:
		c.log.Warn("console too slow: disconnecting")
		go c.stop()
	}
}

// sendStatus queues a status message in place of any still unwritten,
// which is dropped and counted: the newer one says everything it said. Only
// the session's status goroutine calls it.
func (c *consoleSession) sendStatus(b []byte) {
	for {
		select {
		case c.status <- b:
			return
		default:
		}
		select {
		case <-c.status:
			c.st.consoleDropped.Add(1)
		default:
		}
	}
}

func (c *consoleSession) writeLoop() {
	defer c.wg.Done()
	ping := time.NewTicker(boothPingEvery)
	defer ping.Stop()
	write := func(typ int, b []byte) bool {
		_ = c.ws.SetWriteDeadline(time.Now().Add(boothWriteTimeout))
		if err := c.ws.WriteMessage(typ, b); err != nil {
			c.stop()
			return false
		}
		return true
	}
	for {
		// Messages that must arrive go first, in their order (the welcome
		// before any status).
		select {
		case b := <-c.out:
			if !write(websocket.TextMessage, b) {
				return
			}
			continue
		default:
		}
		select {
		case b := <-c.out:
			if !write(websocket.TextMessage, b) {
				return
			}
		case b := <-c.status:
			if !write(websocket.TextMessage, b) {
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(boothWriteTimeout)); err != nil {
				c.stop()
				return
			}
		case <-c.quit:
			return
		}
	}
}

// consoleInbound is any message from the console page.
type consoleInbound struct {
	Type string          `json:"type"`
	SDP  string          `json:"sdp"`
	Lang *string         `json:"lang"`
	T    json.RawMessage `json:"t"`
}

func (c *consoleSession) readLoop() {
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		if err := c.handle(data); err != nil {
			c.sendJSON(map[string]string{"type": "error", "code": "bad_message", "message": err.Error()})
		}
	}
}

func (c *consoleSession) handle(data []byte) error {
	var m consoleInbound
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("not a JSON message: %w", err)
	}
	switch m.Type {
	case "answer":
		if m.SDP == "" {
			return errors.New("answer without sdp")
		}
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return fmt.Errorf("bad answer: %w", err)
		}
		return nil
	case "listen":
		if m.Lang == nil {
			return errors.New(`listen needs lang: a language tag, "input:ID" for a floor input, or "" for nothing`)
		}
		if err := c.listen(*m.Lang); err != nil {
			return err
		}
		c.sendJSON(map[string]string{"type": "listening", "lang": *m.Lang})
		return nil
	case "ping":
		var t float64
		if len(m.T) == 0 || len(m.T) > 32 || json.Unmarshal(m.T, &t) != nil {
			return errors.New("ping needs a number t")
		}
		c.sendJSON(map[string]any{"type": "pong", "t": t, "server_ms": time.Now().UnixMilli()})
		return nil
	case "":
		return errors.New("message without a type")
	}
	return fmt.Errorf("unknown message type %q", m.Type)
}

// stop ends the session: WebSocket and peer.
func (c *consoleSession) stop() {
	c.once.Do(func() {
		close(c.quit)
		_ = c.ws.Close()
		if c.pc != nil {
			_ = c.pc.Close()
		}
	})
}
