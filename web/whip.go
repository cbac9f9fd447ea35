package web

import (
	"crypto/subtle"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/media"
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

	// sync puts the audio and the pictures on one source clock through the
	// publisher's sender reports; clk is the source clock's id for the
	// audio stream now playing (0 before the first frame), audioSSRC its
	// track's.
	sync      *rtc.SenderClock
	clk       atomic.Uint64
	audioSSRC atomic.Uint32
}

// floorVideo is a floor that also takes pictures, each audio frame and
// picture stamped with its source time (mixer.Input): the program places
// the pictures where their sound is.
type floorVideo interface {
	WriteFloorPacketAt(clk uint64, src int64, samples []float32, packet []byte)
	WriteVideo(clk uint64, u media.Unit)
	KeyFrameWanted() bool
}

// whipClocks hands out the WHIP floor's source clock ids: one per audio
// stream of a publisher, rising, as the program needs.
var whipClocks atomic.Uint64

// pliInterval spaces the key frame requests while one is awaited.
const pliInterval = time.Second

// opusDelay is libopus's encoder delay at 48 kHz (its pre-skip, which RTP
// does not signal and the decoder does not remove).
const opusDelay = 312

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
	in := &whipIngest{id: randomID(), pc: pc, sync: rtc.NewSenderClock()}
	log := s.log.With("event", st.ev.ID(), "whip", in.id[:8])
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		in.wg.Add(2)
		go func() {
			defer in.wg.Done()
			in.readReports(r, t.Codec().ClockRate)
		}()
		go func() {
			defer in.wg.Done()
			if t.Kind() == webrtc.RTPCodecTypeVideo {
				s.readWHIPVideo(t, st, in, log)
				return
			}
			s.readWHIPTrack(t, st, in, log)
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

// readReports takes a track's RTCP sender reports (pion's interceptors need
// the RTCP read in any case) until the track ends.
func (in *whipIngest) readReports(r *webrtc.RTPReceiver, rate uint32) {
	for {
		pkts, _, err := r.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			if sr, ok := p.(*rtcp.SenderReport); ok {
				in.sync.Report(sr, rate)
			}
		}
	}
}

// readWHIPVideo passes the publisher's H.264 or VP8 pictures to the floor,
// each on the source clock of the audio (through the sender reports), and
// asks the publisher for a key frame (PLI) when a picture is needed to
// start or go on after a loss, here or on the program. Other codecs are read and dropped. It
// returns when the track ends.
func (s *Server) readWHIPVideo(t *webrtc.TrackRemote, st *eventState, in *whipIngest, log *slog.Logger) {
	buf := make([]byte, maxRTP)
	drain := func() {
		for {
			if _, _, err := t.Read(buf); err != nil {
				return
			}
		}
	}
	floor, _ := st.ev.WHIPFloor()
	fv, ok := floor.(floorVideo)
	if !ok {
		drain()
		return
	}
	vr, err := rtc.NewVideoReceiver(t.Codec().MimeType)
	if err != nil {
		log.Warn("whip video not passed through; the floor stays audio only", "err", err)
		drain()
		return
	}
	log.Info("whip video track", "codec", t.Codec().MimeType)
	ssrc := uint32(t.SSRC())
	var lastPLI time.Time
	pli := func() {
		if now := time.Now(); now.Sub(lastPLI) >= pliInterval {
			lastPLI = now
			_ = in.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
		}
	}
	pli()
	waitKey := false // a picture was left out: the next one written must be a key frame
	var p rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			vs := vr.Stats()
			log.Info("whip video track ended", "frames", vs.Frames, "keys", vs.Keys, "skipped", vs.Skipped, "invalid", vs.Invalid)
			return
		}
		if p.Unmarshal(buf[:n]) != nil {
			continue
		}
		// The sample builder keeps packets until their frame is whole.
		pk := p
		pk.Payload = append([]byte(nil), p.Payload...)
		needKey := vr.Push(&pk, func(u media.Unit, ts uint32) {
			clk := in.clk.Load()
			src, ok := in.sync.Source(ssrc, ts)
			if clk == 0 || !ok {
				waitKey = true // no audio or no report yet: nothing to place it by
				return
			}
			if waitKey && !u.Key {
				return
			}
			waitKey = false
			u.PTS, u.DTS = src, src // WebRTC does not reorder pictures
			fv.WriteVideo(clk, u)
		})
		if needKey || waitKey || fv.KeyFrameWanted() {
			pli()
		}
	}
}

// readWHIPTrack decodes the publisher's Opus into the floor. It returns when
// the track ends. One buffer and one rtp.Packet serve the whole track
// (ReadRTP allocates both per packet): the receiver and the floor copy what
// they keep.
func (s *Server) readWHIPTrack(t *webrtc.TrackRemote, st *eventState, in *whipIngest, log *slog.Logger) {
	buf := make([]byte, maxRTP)
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
		fv, video := floor.(floorVideo)
		ssrc := uint32(t.SSRC())
		in.audioSSRC.Store(ssrc)
		var stream uint64
		clk := uint64(0)
		mic.PlayAt(audio.SystemClock{}, quit, func(samples []float32, packet []byte, at rtc.Played) {
			if video {
				if src, ok := in.sync.Source(ssrc, uint32(at.RTP)); ok {
					if clk == 0 || at.Stream != stream {
						clk, stream = whipClocks.Add(1), at.Stream
						in.clk.Store(clk)
					}
					// Decoded Opus lags what the publisher's encoder was given by
					// the encoder's delay: the sound of an instant comes that
					// much after its RTP timestamp.
					fv.WriteFloorPacketAt(clk, src-opusDelay, samples, packet)
					return
				}
			}
			floor.WriteFloorPacket(samples, packet)
		})
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
