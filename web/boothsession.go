package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/interpreter"
	"tolk/mixer"
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

// boothFeeds are an event's shared outgoing tracks for booths: the floor as
// encoded for the floor rendition, and each booth's clean voice for relay.
// Each is written once and copied by pion to every booth that listens. A
// relay is encoded and forwarded only while some booth takes it as input:
// the voice's relay encoder costs more than its language's whole mix.
type boothFeeds struct {
	floor    *webrtc.TrackLocalStaticRTP
	floorSub *media.Reader[media.Unit]
	floorEnd chan struct{}
	relay    map[string]*relayFeed
}

// relayFeed is one booth's clean voice as a shared track, with the number of
// sessions that take it as input.
type relayFeed struct {
	track *webrtc.TrackLocalStaticRTP
	voice *interpreter.Voice

	mu     sync.Mutex
	users  int
	closed bool
	sub    *media.Reader[media.Unit]
	end    chan struct{} // closed when the forwarding goroutine has returned
	seq    uint16        // RTP sequence, continued across stops and starts
}

// boothFeedQueue bounds each booth feed's backlog of packets (≈ 1 s).
const boothFeedQueue = 50

// newEventFeeds builds the feeds of ev's booths: its floor rendition and
// every interpreted language's clean voice.
func newEventFeeds(ev Event) (*boothFeeds, error) {
	var floor *mixer.Mix
	voices := map[string]*interpreter.Voice{}
	for _, r := range ev.Renditions() {
		if r.Floor {
			floor, _ = ev.Mix(r.Tag)
		} else if v, ok := ev.Voice(r.Tag); ok {
			voices[r.Tag] = v
		}
	}
	if floor == nil {
		return nil, errors.New("booth feeds: the event has no floor rendition")
	}
	return newBoothFeeds(floor.Packets().Read("booth floor", boothFeedQueue), voices)
}

// newBoothFeeds forwards floor (the floor rendition's packets) to a shared track
// until Close, and every booth's clean voice to its own while a session uses it.
func newBoothFeeds(floor *media.Reader[media.Unit], voices map[string]*interpreter.Voice) (*boothFeeds, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "floor", "floor")
	if err != nil {
		floor.Close()
		return nil, fmt.Errorf("floor feed: %w", err)
	}
	f := &boothFeeds{floor: t, floorSub: floor, relay: map[string]*relayFeed{}}
	for lang, v := range voices {
		t, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "relay-"+lang, "relay")
		if err != nil {
			floor.Close()
			return nil, fmt.Errorf("relay feed %s: %w", lang, err)
		}
		f.relay[lang] = &relayFeed{track: t, voice: v}
	}
	var seq uint16
	f.floorEnd = forwardUnits(floor, t, &seq)
	return f, nil
}

// forwardUnits writes the packets of sub to t until the subscription closes;
// the returned channel closes then. seq is the goroutine's until that moment.
func forwardUnits(sub *media.Reader[media.Unit], t *webrtc.TrackLocalStaticRTP, seq *uint16) chan struct{} {
	end := make(chan struct{})
	go func() {
		defer close(end)
		rtc.WriteUnits(sub, t, seq, nil, nil)
	}()
	return end
}

// useRelay returns lang's relay track (nil if lang has no booth), forwarding
// it from now on if no other session used it; releaseRelay undoes one useRelay.
func (f *boothFeeds) useRelay(lang string) *webrtc.TrackLocalStaticRTP {
	r, ok := f.relay[lang]
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users++
	if r.users == 1 && !r.closed {
		r.sub = r.voice.Packets().Read("relay", 50)
		r.end = forwardUnits(r.sub, r.track, &r.seq)
	}
	return r.track
}

func (f *boothFeeds) releaseRelay(lang string) {
	r, ok := f.relay[lang]
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.users--
	if r.users == 0 {
		r.stop()
	}
}

// stop ends the forwarding goroutine, if one runs, and waits for it.
func (r *relayFeed) stop() {
	if r.sub == nil {
		return
	}
	r.sub.Close()
	<-r.end
	r.sub = nil
}

// Close stops forwarding and waits; later uses of a relay forward nothing.
func (f *boothFeeds) Close() {
	f.floorSub.Close()
	<-f.floorEnd
	for _, r := range f.relay {
		r.mu.Lock()
		r.closed = true
		r.stop()
		r.mu.Unlock()
	}
}

// boothSessionConfig is what a booth session needs besides its WebSocket.
type boothSessionConfig struct {
	API     *webrtc.API
	Cert    webrtc.Certificate
	Booth   *interpreter.Booth
	Feeds   *boothFeeds
	Clock   audio.Clock
	Log     *slog.Logger
	Member  interpreter.Person
	Welcome any // the first message
	// Relays lists the languages this booth may take as input.
	Relays map[string]bool
	// Mics, when set, lists the session's microphone while it runs, for the
	// producer's status.
	Mics *micRegistry
}

// micRegistry is an event's booth microphones now: language → member → mic.
type micRegistry struct {
	mu   sync.Mutex
	mics map[string]map[string]*rtc.Mic
}

func (r *micRegistry) add(lang, member string, m *rtc.Mic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mics == nil {
		r.mics = map[string]map[string]*rtc.Mic{}
	}
	if r.mics[lang] == nil {
		r.mics[lang] = map[string]*rtc.Mic{}
	}
	r.mics[lang][member] = m
}

// remove forgets member's mic if it is still m (a newer session of the same
// member keeps its own).
func (r *micRegistry) remove(lang, member string, m *rtc.Mic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mics[lang][member] == m {
		delete(r.mics[lang], member)
	}
}

// of returns a copy of a language's mics by member.
func (r *micRegistry) of(lang string) map[string]*rtc.Mic {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*rtc.Mic{}
	for k, v := range r.mics[lang] {
		out[k] = v
	}
	return out
}

// boothSession is one booth page's connection: its WebSocket, its peer, its mic.
type boothSession struct {
	cfg  boothSessionConfig
	ws   *websocket.Conn
	pc   *webrtc.PeerConnection
	mic  *rtc.Mic
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
	relayLang              string     // the relay taken as input, "" for none; read loop only
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
	if cfg.Mics != nil {
		cfg.Mics.add(cfg.Booth.Lang, cfg.Member.ID, s.mic)
		defer cfg.Mics.remove(cfg.Booth.Lang, cfg.Member.ID, s.mic)
	}
	if err := s.setupPeer(); err != nil {
		return err
	}
	s.wg.Add(1)
	go s.writeLoop()
	s.Send(cfg.Welcome)
	if err := cfg.Booth.Join(cfg.Member.ID, cfg.Member.Name, s.mic, s.fwd, s); err != nil {
		s.stop()
		s.wg.Wait()
		return err
	}
	if err := s.sendOffer(false); err != nil {
		s.log.Warn("booth offer", "err", err)
	}
	s.readLoop()
	cfg.Booth.Leave(cfg.Member.ID, s)
	s.stop()
	s.wg.Wait()
	s.setRelayLang("")
	return nil
}

func (s *boothSession) setupPeer() error {
	pc, err := s.cfg.API.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{s.cfg.Cert}})
	if err != nil {
		return fmt.Errorf("peer: %w", err)
	}
	s.pc = pc
	id := s.cfg.Member.ID
	if s.fwd, err = webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "mic-"+id, "partner"); err != nil {
		return err
	}
	if s.relayIdle, err = webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "relay", "relay"); err != nil {
		return err
	}
	if s.partnerIdle, err = webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "partner", "partner"); err != nil {
		return err
	}
	// The microphone is the first section (mid 0): a page answering the offer
	// attaches its mic to the first transceiver.
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		return err
	}
	send := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	if _, err := pc.AddTransceiverFromTrack(s.cfg.Feeds.floor, send); err != nil {
		return err
	}
	tr, err := pc.AddTransceiverFromTrack(s.relayIdle, send)
	if err != nil {
		return err
	}
	s.relay = tr.Sender()
	tp, err := pc.AddTransceiverFromTrack(s.partnerIdle, send)
	if err != nil {
		return err
	}
	s.partner = tp.Sender()
	for _, snd := range pc.GetSenders() {
		snd := snd
		s.wg.Add(1)
		go func() { // ends with the peer
			defer s.wg.Done()
			rtc.DrainRTCP(snd)
		}()
	}
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.readMic(t)
		}()
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.log.Info("booth peer", "state", st.String())
		if st == webrtc.PeerConnectionStateFailed {
			// The page sees it too and asks for a restart; a page that is gone
			// is noticed by its WebSocket.
			s.mic.Reset()
		}
	})
	return nil
}

// readMic feeds the microphone to the jitter buffer and to the partner feed.
// One buffer and one rtp.Packet serve the whole track (ReadRTP allocates both
// per packet): the jitter buffer copies the payload and the partner feed
// writes it out before the next read. A malformed packet is skipped.
func (s *boothSession) readMic(t *webrtc.TrackRemote) {
	buf := make([]byte, 1500) // a datagram: more than pion's receive MTU
	var p rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		s.mic.Push(&p)
		_ = s.fwd.WriteRTP(&p)
	}
}

func (s *boothSession) sendOffer(restart bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), boothGatherTimeout)
	defer cancel()
	offer := rtc.Offer
	if restart {
		offer = rtc.RestartOffer
	}
	sdp, err := offer(ctx, s.pc)
	if err != nil {
		return err
	}
	sdp = rtc.SetOpusFmtp(sdp, rtc.BoothOpusFmtp)
	s.Send(map[string]string{"type": "offer", "sdp": sdp})
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

// Partner implements interpreter.Conn: f is the partner's forward track, as
// it joined the booth.
func (s *boothSession) Partner(f interpreter.Forward) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := f.(webrtc.TrackLocal)
	if !ok || t == nil {
		t = s.partnerIdle
	}
	if t == s.partnerNow {
		return
	}
	s.partnerNow = t
	if err := s.partner.ReplaceTrack(t); err != nil {
		s.log.Warn("partner feed", "err", err)
	}
}

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
}

func (s *boothSession) readLoop() {
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			return
		}
		if err := s.handle(data); err != nil {
			code := "bad_message"
			switch {
			case errors.Is(err, interpreter.ErrNotAllowed):
				code = "not_allowed"
			case errors.Is(err, interpreter.ErrBadState), errors.Is(err, interpreter.ErrNoMember):
				code = "bad_state"
			case errors.Is(err, interpreter.ErrClosed):
				return
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
		s.Send(map[string]any{"type": "pong", "t": t})
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

// setInput switches what the relay stream carries, without renegotiation.
func (s *boothSession) setInput(src string) error {
	if src == "floor" {
		if err := s.relay.ReplaceTrack(s.relayIdle); err != nil {
			return err
		}
		s.setRelayLang("")
		return nil
	}
	lang, ok := strings.CutPrefix(src, "relay:")
	var t *webrtc.TrackLocalStaticRTP
	if ok && s.cfg.Relays[lang] {
		t = s.cfg.Feeds.useRelay(lang)
	}
	if t == nil {
		return fmt.Errorf("input must be floor or relay:TAG of another booth, not %q", src)
	}
	if err := s.relay.ReplaceTrack(t); err != nil {
		s.cfg.Feeds.releaseRelay(lang)
		return err
	}
	s.setRelayLang(lang)
	return nil
}

// setRelayLang records the relay this session takes, releasing the previous
// one ("" is the floor: none).
func (s *boothSession) setRelayLang(lang string) {
	if s.relayLang != "" {
		s.cfg.Feeds.releaseRelay(s.relayLang)
	}
	s.relayLang = lang
}

// stop ends the session: WebSocket, peer and goroutines.
func (s *boothSession) stop() {
	s.once.Do(func() {
		close(s.quit)
		_ = s.ws.Close()
		_ = s.pc.Close()
	})
}
