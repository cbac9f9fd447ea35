package sfu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/config"
	"tolk/internal/rtc"
)

// WHIPOptions configure a WHIP publication.
type WHIPOptions struct {
	Common
	// URL is the WHIP endpoint; Token its bearer token ("" for none),
	// never logged or shown.
	URL, Token string
	// API makes the peer connections (rtc.NewAPI).
	API *webrtc.API
	// Client sends the WHIP requests (default a client of its own).
	Client *http.Client
}

// NewWHIP makes an output that publishes a language's Opus to a WHIP
// server (RFC 9725), stopped; Start starts it. Each connection gathers its
// candidates before it offers (no trickle, no PATCH), keeps the session's
// Location and deletes it when it ends.
func NewWHIP(opts WHIPOptions) (*Output, error) {
	if opts.Packets == nil {
		return nil, fmt.Errorf("sfu %s: no audio track", opts.ID)
	}
	if opts.API == nil {
		return nil, fmt.Errorf("sfu %s: no WebRTC API", opts.ID)
	}
	if _, err := url.Parse(opts.URL); err != nil || !strings.HasPrefix(opts.URL, "http") {
		return nil, fmt.Errorf("sfu %s: %s is not a WHIP endpoint", opts.ID, config.Redact(opts.URL))
	}
	if opts.Client == nil {
		opts.Client = &http.Client{}
	}
	opts.defaults()
	return newOutput(opts.Common, "whip", config.Redact(opts.URL), func(ctx context.Context) (link, error) {
		return dialWHIP(ctx, opts)
	}), nil
}

// whipLink is one WHIP session.
type whipLink struct {
	opts     WHIPOptions
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticRTP
	location string
	dead     chan error
	rtcp     chan struct{} // closed when the RTCP reader ends
}

// ErrNoLocation is the error of a WHIP server that answered 201 without
// the session's Location, which the client needs to end it.
var ErrNoLocation = errors.New("whip: 201 without a Location")

func dialWHIP(ctx context.Context, opts WHIPOptions) (link, error) {
	pc, err := opts.API.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("whip peer: %w", err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(rtc.OpusCodec, "audio", "tolk-"+opts.Lang)
	if err != nil {
		pc.Close()
		return nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		pc.Close()
		return nil, err
	}
	l := &whipLink{opts: opts, pc: pc, track: track, dead: make(chan error, 1), rtcp: make(chan struct{})}
	go func() {
		defer close(l.rtcp)
		rtc.DrainRTCP(tr.Sender())
	}()
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		switch s {
		case webrtc.PeerConnectionStateConnected:
			once.Do(func() { close(connected) })
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			select {
			case l.dead <- fmt.Errorf("whip: the connection %s", s):
			default:
			}
		}
	})
	fail := func(err error) (link, error) {
		l.close()
		return nil, err
	}
	offer, err := rtc.Offer(ctx, pc)
	if err != nil {
		return fail(err)
	}
	answer, err := l.post(ctx, offer)
	if err != nil {
		return fail(err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fail(fmt.Errorf("whip answer: %w", err))
	}
	select {
	case <-connected:
	case err := <-l.dead:
		return fail(err)
	case <-ctx.Done():
		return fail(fmt.Errorf("whip connect: %w", ctx.Err()))
	}
	return l, nil
}

// post sends the offer and reads the answer and the session's Location.
func (l *whipLink) post(ctx context.Context, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.opts.URL, strings.NewReader(offer))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if l.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+l.opts.Token)
	}
	resp, err := l.opts.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("whip offer: %s", l.redact(err.Error()))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, rtc.MaxSDP))
	if resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("whip offer: %s: %s", resp.Status, l.redact(string(firstLine(body))))
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", ErrNoLocation
	}
	u, err := url.Parse(loc)
	if err != nil {
		return "", fmt.Errorf("whip location: %w", err)
	}
	l.location = resp.Request.URL.ResolveReference(u).String()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/sdp") {
		return "", fmt.Errorf("whip answer of type %q", ct)
	}
	return string(body), nil
}

// redact takes the endpoint and its token out of an error's text.
func (l *whipLink) redact(s string) string {
	s = strings.ReplaceAll(s, l.opts.URL, config.Redact(l.opts.URL))
	if len(l.opts.Token) >= 4 {
		s = strings.ReplaceAll(s, l.opts.Token, "****")
	}
	return s
}

func firstLine(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 200 {
		b = b[:200]
	}
	return b
}

func (l *whipLink) send(p *rtp.Packet) error { return l.track.WriteRTP(p) }

func (l *whipLink) failed() <-chan error { return l.dead }

func (l *whipLink) target() string { return config.Redact(l.opts.URL) }

// close deletes the session (RFC 9725 §4.2) and closes the peer.
func (l *whipLink) close() {
	if l.location != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, l.location, nil)
		if err == nil {
			if l.opts.Token != "" {
				req.Header.Set("Authorization", "Bearer "+l.opts.Token)
			}
			if resp, err := l.opts.Client.Do(req); err == nil {
				resp.Body.Close()
				if resp.StatusCode >= 300 {
					l.opts.Log.Warn("whip delete", "status", resp.Status)
				}
			}
		}
		cancel()
		l.location = ""
	}
	l.pc.Close()
	<-l.rtcp
}
