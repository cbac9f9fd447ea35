package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
	"tolk/internal/rtc"
	"tolk/mixer"
)

const (
	// negotiateTimeout bounds ICE gathering while answering an offer.
	negotiateTimeout = 10 * time.Second
	// connectTimeout closes a session whose peer never completes ICE and DTLS.
	connectTimeout = 20 * time.Second
	// listenerQueue bounds the packets waiting for a language's track writer.
	listenerQueue = 50
)

// whepLang serves one language to every WHEP listener: the mix's packets are
// written once to a shared track, and pion copies them to each peer, so a
// listener costs no encoding.
type whepLang struct {
	log   *slog.Logger
	track *webrtc.TrackLocalStaticRTP
	sub   *media.Reader[media.Unit]
	done  chan struct{}

	mu       sync.Mutex
	sessions map[string]*webrtc.PeerConnection
	count    atomic.Int64
}

func newWhepLang(tag string, m *mixer.Mix, log *slog.Logger) (*whepLang, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "audio-"+tag, "tolk-"+tag)
	if err != nil {
		return nil, fmt.Errorf("whep track %s: %w", tag, err)
	}
	l := &whepLang{log: log, track: track, sub: m.Packets().Read("whep", listenerQueue),
		done: make(chan struct{}), sessions: map[string]*webrtc.PeerConnection{}}
	go l.run()
	return l, nil
}

// run forwards the mix to the shared track; it exits when the subscription closes.
func (l *whepLang) run() {
	defer close(l.done)
	var seq uint16
	rtc.WriteUnits(l.sub, l.track, &seq, func() bool { return l.count.Load() == 0 }, func(err error) {
		if !errors.Is(err, context.Canceled) {
			l.log.Debug("whep write", "err", err)
		}
	})
}

func (l *whepLang) close() {
	l.sub.Close()
	<-l.done
	l.mu.Lock()
	pcs := l.sessions
	l.sessions = map[string]*webrtc.PeerConnection{}
	l.mu.Unlock()
	for _, pc := range pcs {
		_ = pc.Close()
	}
}

func (l *whepLang) remove(id string) bool {
	l.mu.Lock()
	pc, ok := l.sessions[id]
	delete(l.sessions, id)
	l.mu.Unlock()
	if ok {
		l.count.Add(-1)
		_ = pc.Close()
	}
	return ok
}

func (s *Server) handleWHEPPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location")
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	lang := r.PathValue("lang")
	l, ok := st.langs[lang]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no language %q", st.ev.ID(), lang))
		return
	}
	offer, ok := readSDP(w, r)
	if !ok {
		return
	}
	total := int64(0)
	for _, x := range st.langs {
		total += x.count.Load()
	}
	if total >= int64(s.maxL) {
		writeError(w, http.StatusServiceUnavailable, "this event has as many listeners as it can take; use HLS")
		return
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{Certificates: []webrtc.Certificate{s.cert}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not create a peer connection")
		return
	}
	sender, err := pc.AddTrack(l.track)
	if err != nil {
		_ = pc.Close()
		writeError(w, http.StatusInternalServerError, "could not add the audio track")
		return
	}
	answer, ok := answerOffer(w, r, pc, offer)
	if !ok {
		return
	}
	id := randomID()
	l.mu.Lock()
	l.sessions[id] = pc
	l.mu.Unlock()
	l.count.Add(1)

	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(cs webrtc.PeerConnectionState) {
		switch cs {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			once.Do(func() { close(connected) })
			// Removing closes the peer; do it outside pion's callback goroutine.
			go l.remove(id)
		}
	})
	// Read RTCP so the interceptors (NACK, reports) run; exits when the peer closes.
	go rtc.DrainRTCP(sender)
	go func() {
		t := time.NewTimer(connectTimeout)
		defer t.Stop()
		select {
		case <-connected:
		case <-t.C:
			l.remove(id)
		}
	}()
	w.Header().Set("Content-Type", "application/sdp")
	w.Header().Set("Location", "/whep/"+st.ev.ID()+"/"+lang+"/"+id)
	w.WriteHeader(http.StatusCreated)
	_, _ = w.Write([]byte(answer))
}

func (s *Server) handleWHEPDelete(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	l, ok := st.langs[r.PathValue("lang")]
	if !ok || !l.remove(r.PathValue("id")) {
		writeError(w, http.StatusNotFound, "no such session")
		return
	}
	w.WriteHeader(http.StatusOK)
}
