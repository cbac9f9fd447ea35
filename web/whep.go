package web

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"tolk/internal/rtc"
)

const (
	// negotiateTimeout bounds ICE gathering while answering an offer.
	negotiateTimeout = 10 * time.Second
	// connectTimeout closes a session whose peer never completes ICE and DTLS.
	connectTimeout = 20 * time.Second
)

// whepLang is one language's WHEP sessions on its listener track.
type whepLang struct {
	out *ListenerTrack

	mu       sync.Mutex
	sessions map[string]whepSession
}

// whepSession is one listener's peer and what forgets it among its token's
// live sessions (a no-op without a token).
type whepSession struct {
	pc      *webrtc.PeerConnection
	release func()
}

func newWhepLang(out *ListenerTrack) *whepLang {
	return &whepLang{out: out, sessions: map[string]whepSession{}}
}

// close ends every session; the track is the event's to close.
func (l *whepLang) close() {
	l.mu.Lock()
	ss := l.sessions
	l.sessions = map[string]whepSession{}
	l.mu.Unlock()
	for _, x := range ss {
		l.out.listeners.Add(-1)
		x.release()
		_ = x.pc.Close()
	}
}

func (l *whepLang) add(id string, pc *webrtc.PeerConnection, release func()) {
	l.mu.Lock()
	l.sessions[id] = whepSession{pc: pc, release: release}
	l.mu.Unlock()
	l.out.listeners.Add(1)
}

func (l *whepLang) remove(id string) bool {
	l.mu.Lock()
	x, ok := l.sessions[id]
	delete(l.sessions, id)
	l.mu.Unlock()
	if ok {
		l.out.listeners.Add(-1)
		x.release()
		_ = x.pc.Close()
	}
	return ok
}

func (s *Server) handleWHEPPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Location")
	st, grant, ok := s.viewer(w, r)
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
		total += x.out.Listeners()
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
	sender, err := pc.AddTrack(l.out.track)
	if err != nil {
		_ = pc.Close()
		writeError(w, http.StatusInternalServerError, "could not add the audio track")
		return
	}
	// A viewer that asks for video gets the program's picture beside the
	// language, in the language's stream so that the browser lip-syncs
	// them (the sender reports of both map their RTP clocks to one wall
	// clock).
	var videoSender *webrtc.RTPSender
	if vo, ok := videoOf(st.ev); ok && strings.Contains(offer, "m=video") {
		if videoSender, err = pc.AddTrack(vo.track.Local("tolk-" + lang)); err != nil {
			_ = pc.Close()
			writeError(w, http.StatusInternalServerError, "could not add the video track")
			return
		}
		go rtc.ReadVideoRTCP(videoSender, func() { vo.keyRequests.Add(1) })
	}
	answer, ok := answerOffer(w, r, pc, offer)
	if !ok {
		return
	}
	id := randomID()
	// Revoking the token the listener came with ends the session.
	l.add(id, pc, s.holdViewer(grant, func() { go l.remove(id) }))

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

// videoOf is the event's video output, if it has one.
func videoOf(ev Event) (*VideoOutput, bool) {
	if ve, ok := ev.(videoEvent); ok {
		return ve.VideoOutput()
	}
	return nil, false
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
