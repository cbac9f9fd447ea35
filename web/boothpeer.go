package web

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/rtc"
	"tolk/interpreter"
)

// The booth session's media: one peer connection per page, on which the
// server offers the floor, relay and partner streams and receives the
// interpreter's microphone. Inputs and partners change by replacing a
// sender's track, never by renegotiating.

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
	tf, err := pc.AddTransceiverFromTrack(s.cfg.Feeds.floor, send)
	if err != nil {
		return err
	}
	floor := tf.Sender()
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
		s.wg.Add(1)
		go func() { // ends with the peer
			defer s.wg.Done()
			if snd != floor {
				rtc.DrainRTCP(snd)
				return
			}
			// The page's reports on the floor feed measure the link.
			rtc.ReadReports(snd, time.Now, s.link.report)
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

// linkSample is how often the microphone's inbound statistics are read.
const linkSample = time.Second

// sampleLink reads the microphone's link quality every linkSample until the
// session stops.
func (s *boothSession) sampleLink() {
	defer s.wg.Done()
	t := time.NewTicker(linkSample)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.statsMu.Lock()
			select {
			case <-s.quit: // closed or closing: no stats to read
			default:
				s.link.sample(s.pc)
			}
			s.statsMu.Unlock()
		case <-s.quit:
			return
		}
	}
}
