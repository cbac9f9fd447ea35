package web

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/rtc"
)

// maxRTP holds any RTP packet pion delivers (its receive MTU is 1460 bytes).
const maxRTP = 1500

// whipIngest is the one WHIP publisher of an event's floor.
type whipIngest struct {
	id   string
	pc   *webrtc.PeerConnection
	wg   sync.WaitGroup
	once sync.Once
}

func (w *whipIngest) close() {
	w.once.Do(func() { _ = w.pc.Close() })
	w.wg.Wait()
}

// authorized checks the bearer token against the stream key in constant time.
func authorized(r *http.Request, key string) bool {
	tok := bearer(r)
	if tok == "" || key == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(key)) == 1
}

func (s *Server) whipEvent(w http.ResponseWriter, r *http.Request) (*eventState, bool) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location")
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, false
	}
	key := ""
	for _, in := range st.ev.Config().Floor.AllInputs() {
		if in.Source == "whip" {
			key = in.StreamKey
		}
	}
	if !authorized(r, key) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
		writeError(w, http.StatusUnauthorized, "a valid stream key is needed: Authorization: Bearer <stream key>")
		return nil, false
	}
	if _, ok := st.ev.WHIPFloor(); !ok {
		writeError(w, http.StatusConflict, "this event's floor does not come from WHIP")
		return nil, false
	}
	return st, true
}

func (s *Server) handleWHIPPost(w http.ResponseWriter, r *http.Request) {
	st, ok := s.whipEvent(w, r)
	if !ok {
		return
	}
	offer, ok := readSDP(w, r)
	if !ok {
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{s.cert}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not create a peer connection")
		return
	}
	in := &whipIngest{id: randomID(), pc: pc}
	log := s.log.With("event", st.ev.ID(), "whip", in.id[:8])
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		in.wg.Add(1)
		go func() {
			defer in.wg.Done()
			s.readWHIPTrack(t, st, log)
		}()
	})
	pc.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		log.Info("whip publisher", "state", cs.String())
		if cs == webrtc.PeerConnectionStateFailed {
			go s.endWHIP(st, in)
		}
	})
	answer, ok := answerOffer(w, r, pc, offer)
	if !ok {
		return
	}
	// A new publisher replaces the old one: an encoder that reconnects after a
	// network drop must not wait for the dead session to time out.
	s.mu.Lock()
	old := st.whip
	st.whip = in
	s.mu.Unlock()
	if old != nil {
		old.close()
	}
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whip/"+st.ev.ID()+"/"+in.id)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer))
}

func (s *Server) endWHIP(st *eventState, in *whipIngest) {
	s.mu.Lock()
	if st.whip == in {
		st.whip = nil
	}
	s.mu.Unlock()
	in.close()
}

// readWHIPTrack decodes the publisher's Opus into the floor; video is read and
// dropped unparsed. It returns when the track ends. One buffer and one
// rtp.Packet serve the whole track (ReadRTP allocates both per packet): the
// receiver and the floor copy what they keep.
func (s *Server) readWHIPTrack(t *webrtc.TrackRemote, st *eventState, log *slog.Logger) {
	buf := make([]byte, maxRTP)
	if t.Kind() != webrtc.RTPCodecTypeAudio {
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
		}
	}
	// The publisher's packets go through the same jitter buffer (FEC, loss
	// concealment, drift) as an interpreter's microphone, played out onto the
	// floor every 20 ms; whole packets are forwarded as they came.
	mic, err := rtc.NewMic(audio.SystemClock{})
	if err != nil {
		log.Error("whip decoder", "err", err)
		return
	}
	quit := make(chan struct{})
	var play sync.WaitGroup
	play.Add(1)
	go func() {
		defer play.Done()
		floor, _ := st.ev.WHIPFloor()
		mic.Play(audio.SystemClock{}, quit, floor.WriteFloorPacket)
	}()
	defer play.Wait()
	defer close(quit)
	log.Info("whip audio track", "codec", t.Codec().MimeType)
	var p rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			ms := mic.Stats()
			log.Info("whip audio track ended", "lost", ms.Lost, "fec_recovered", ms.FECRecovered, "concealed", ms.Concealed,
				"late", ms.Late, "invalid", ms.Invalid)
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue // a malformed packet is skipped, not the end of the track
		}
		mic.Push(&p)
	}
}

func (s *Server) handleWHIPDelete(w http.ResponseWriter, r *http.Request) {
	st, ok := s.whipEvent(w, r)
	if !ok {
		return
	}
	s.mu.Lock()
	in := st.whip
	if in == nil || in.id != r.PathValue("id") {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "no such session")
		return
	}
	st.whip = nil
	s.mu.Unlock()
	in.close()
	w.WriteHeader(http.StatusOK)
}
