package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/rtc"
	"tolk/interpreter"
)

const (
	// maxBoothMessage bounds one WebSocket message from a page (an SDP answer fits).
	maxBoothMessage = 64 << 10
	// boothOutbox bounds the messages waiting for a slow page; beyond it the page
	// is disconnected (it reconnects and gets the current state).
	boothOutbox       = 64
	boothWriteTimeout = 5 * time.Second
	boothPingEvery    = 15 * time.Second
	// boothGatherTimeout bounds ICE gathering for the server's offer.
	boothGatherTimeout = 10 * time.Second
)

// boothSessionConfig is what a booth session needs besides its WebSocket.
type boothSessionConfig struct {
	API     *webrtc.API
	Cert    webrtc.Certificate
	Booth   *interpreter.Booth
	Feeds   *BoothFeeds
	Clock   audio.Clock
	Log     *slog.Logger
	Member  interpreter.Person
	Welcome any // the first message
	// Relays lists the languages this booth may take as input.
	Relays map[string]bool
	// Links, when set, lists the session's microphone and link quality
	// while it runs, for the producer's status.
	Links *linkRegistry
	// ProgramAt, when set, gives the program time being played at a wall
	// clock time: pongs carry it, so the page can measure its latency.
	ProgramAt func(time.Time) int64
	// Revoked, when set, is true once the member's token was revoked: the
	// session's end is then a leave, not a lost connection.
	Revoked *atomic.Bool
}

// boothSession is one booth page's connection: its WebSocket, its peer, its mic.
type boothSession struct {
	cfg  boothSessionConfig
	ws   *websocket.Conn
	pc   *webrtc.PeerConnection
	mic  *rtc.Mic
	link *boothLink
	fwd  *webrtc.TrackLocalStaticRTP
	out  chan any
	log  *slog.Logger
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup

	relay, partner         *webrtc.RTPSender
	relayIdle, partnerIdle *webrtc.TrackLocalStaticRTP
	partnerNow             webrtc.TrackLocal
	mu                     sync.Mutex // guards partnerNow
	// statsMu keeps the link sampler's GetStats and the peer's Close
	// apart: pion's Close clears what GetStats reads without its lock.
	statsMu   sync.Mutex
	relayLang string // the relay taken as input, "" for none; read loop only
}

// Serve runs a booth page's session until the page goes or the booth closes.
func serveBoothSession(ws *websocket.Conn, cfg boothSessionConfig) error {
	s := &boothSession{cfg: cfg, ws: ws, out: make(chan any, boothOutbox), quit: make(chan struct{}),
		log: cfg.Log.With("lang", cfg.Booth.Lang, "member", cfg.Member.ID)}
	ws.SetReadLimit(maxBoothMessage)
	var err error
	if s.mic, err = rtc.NewMic(cfg.Clock); err != nil {
		return err
	}
	s.link = &boothLink{mic: s.mic}
	if cfg.Links != nil {
		cfg.Links.add(cfg.Booth.Lang, cfg.Member.ID, s.link)
		defer cfg.Links.remove(cfg.Booth.Lang, cfg.Member.ID, s.link)
	}
	if err := s.setupPeer(); err != nil {
		if s.pc != nil {
			_ = s.pc.Close()
		}
		return err
	}
	s.wg.Add(2)
	go s.writeLoop()
	go s.sampleLink()
	s.Send(cfg.Welcome)
	if err := cfg.Booth.Join(cfg.Member.ID, cfg.Member.Name, s.mic, s.fwd, s); err != nil {
		s.stop()
		s.wg.Wait()
		return err
	}
	// A member who listened to a relay before a lost connection or a
	// restart hears it again; the floor if that booth is gone.
	if in := cfg.Booth.Input(cfg.Member.ID); in != "floor" {
		if err := s.setInput(in); err != nil {
			s.log.Info("booth relay not restored", "input", in, "err", err)
			_ = cfg.Booth.Do(cfg.Member.ID, s, interpreter.Action{Type: "input", Source: "floor"})
		}
	}
	if err := s.sendOffer(false); err != nil {
		s.log.Warn("booth offer", "err", err)
	}
	// A page that closes its socket (1000, or 1001 as a tab closes) has
	// left; any other end (the network, a dead or too slow page, the
	// server stopping) is a lost connection, and a member lost on air is
	// awaited back on air. A revoked token has left for good.
	if err := s.readLoop(); pageLeft(err) || (cfg.Revoked != nil && cfg.Revoked.Load()) {
		cfg.Booth.Leave(cfg.Member.ID, s)
	} else {
		cfg.Booth.Lost(cfg.Member.ID, s)
	}
	s.stop()
	s.wg.Wait()
	s.setRelayLang("")
	return nil
}

// Send implements Conn: it queues msg for the page, or gives up on a page
// that is too far behind (it will reconnect).
func (s *boothSession) Send(msg any) bool {
	select {
	case s.out <- msg:
		return true
	case <-s.quit:
		return false
	default:
		s.log.Warn("booth page too slow: disconnecting")
		go s.stop()
		return false
	}
}

// replacedMsg tells a page that a newer connection with its token took its
// place; the connection then closes with code 4001.
type replacedMsg struct {
	Type string `json:"type"` // "replaced"
}

// Replaced implements interpreter.Conn.
func (s *boothSession) Replaced() { s.Send(replacedMsg{Type: "replaced"}) }

func (s *boothSession) writeLoop() {
	defer s.wg.Done()
	ping := time.NewTicker(boothPingEvery)
	defer ping.Stop()
	for {
		select {
		case m := <-s.out:
			_ = s.ws.SetWriteDeadline(time.Now().Add(boothWriteTimeout))
			if err := s.ws.WriteJSON(m); err != nil {
				s.stop()
				return
			}
			if _, ok := m.(replacedMsg); ok {
				_ = s.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4001, "replaced"), time.Now().Add(time.Second))
				s.stop()
				return
			}
		case <-ping.C:
			if err := s.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(boothWriteTimeout)); err != nil {
				s.stop()
				return
			}
		case <-s.quit:
			return
		}
	}
}

// boothInbound is any message from the page; fields unused by a type are ignored.
type boothInbound struct {
	Type   string          `json:"type"`
	SDP    string          `json:"sdp"`
	On     *bool           `json:"on"`
	Down   *bool           `json:"down"`
	Text   string          `json:"text"`
	Source string          `json:"source"`
	T      json.RawMessage `json:"t"`
	// FloorMS is the page's measured delay from the program to its ear.
	FloorMS *float64 `json:"floor_ms"`
}

// maxReportedLatencyMS bounds what a page may report as its latency.
const maxReportedLatencyMS = 60000

// pageLeft tells whether the read loop ended because the page closed the
// socket on purpose.
func pageLeft(err error) bool {
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway)
}

// readLoop handles the page's messages until the socket ends, and returns
// why it ended.
func (s *boothSession) readLoop() error {
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			return err
		}
		if err := s.handle(data); err != nil {
			code := "bad_message"
			switch {
			case errors.Is(err, interpreter.ErrNotAllowed):
				code = "not_allowed"
			case errors.Is(err, interpreter.ErrBadState), errors.Is(err, interpreter.ErrNoMember):
				code = "bad_state"
			case errors.Is(err, interpreter.ErrClosed):
				return err
			}
			s.Send(map[string]string{"type": "error", "code": code, "message": err.Error()})
		}
	}
}

func (s *boothSession) handle(data []byte) error {
	var m boothInbound
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("not a JSON message: %w", err)
	}
	b := s.cfg.Booth
	id := s.cfg.Member.ID
	switch m.Type {
	case "answer":
		if m.SDP == "" {
			return errors.New("answer without sdp")
		}
		if err := s.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: m.SDP}); err != nil {
			return fmt.Errorf("bad answer: %w", err)
		}
		return nil
	case "restart":
		s.mic.Reset()
		return s.sendOffer(true)
	case "ping":
		if len(m.T) == 0 || len(m.T) > 32 {
			return errors.New("ping needs a number t")
		}
		var t float64
		if err := json.Unmarshal(m.T, &t); err != nil {
			return errors.New("ping needs a number t")
		}
		pong := map[string]any{"type": "pong", "t": t, "server_ms": time.Now().UnixMilli()}
		if s.cfg.ProgramAt != nil {
			pong["pts"] = s.cfg.ProgramAt(time.Now())
		}
		s.Send(pong)
		return nil
	case "latency":
		if m.FloorMS == nil || !(*m.FloorMS >= 0 && *m.FloorMS <= maxReportedLatencyMS) {
			return fmt.Errorf("latency needs floor_ms: 0 to %d", maxReportedLatencyMS)
		}
		s.link.setFloorToEar(*m.FloorMS)
		return nil
	case "mic":
		if m.On == nil {
			return errors.New("mic needs on: true or false")
		}
		return b.Do(id, s, interpreter.Action{Type: "mic", On: *m.On})
	case "cough":
		if m.Down == nil {
			return errors.New("cough needs down: true or false")
		}
		return b.Do(id, s, interpreter.Action{Type: "cough", Down: *m.Down})
	case "input":
		if err := s.setInput(m.Source); err != nil {
			return err
		}
		return b.Do(id, s, interpreter.Action{Type: "input", Source: m.Source})
	case "handover", "accept", "cancel", "take", "slow_down":
		return b.Do(id, s, interpreter.Action{Type: m.Type})
	case "chat", "to_producer":
		return b.Do(id, s, interpreter.Action{Type: m.Type, Text: m.Text})
	case "":
		return errors.New("message without a type")
	}
	return fmt.Errorf("unknown message type %q", m.Type)
}

// stop ends the session: WebSocket, peer and goroutines.
func (s *boothSession) stop() {
	s.once.Do(func() {
		close(s.quit)
		_ = s.ws.Close()
		s.statsMu.Lock()
		_ = s.pc.Close()
		s.statsMu.Unlock()
	})
}
