package rtc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// The clients below speak WHIP and WHEP from Go: the load tool, benchmarks and
// integration tests use them as an encoder or a player would.

// exchange POSTs an offer and returns the answer and the session URL.
func exchange(ctx context.Context, endpoint, token, offer string) (answer, location string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewBufferString(offer))
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Content-Type", "application/sdp")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", "", fmt.Errorf("post offer: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxSDP))
	if resp.StatusCode != http.StatusCreated {
		return "", "", fmt.Errorf("post offer: %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", "", fmt.Errorf("location: %w", err)
	}
	base, _ := url.Parse(endpoint)
	return string(body), base.ResolveReference(loc).String(), nil
}

func deleteSession(ctx context.Context, location, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, location, nil)
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("delete session: %s", resp.Status)
	}
	return nil
}

// Publisher sends Opus to a WHIP endpoint.
type Publisher struct {
	pc       *webrtc.PeerConnection
	track    *webrtc.TrackLocalStaticSample
	location string
	token    string
}

// PublishWHIP connects to a WHIP endpoint with a bearer token.
func PublishWHIP(ctx context.Context, api *webrtc.API, endpoint, token string) (*Publisher, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	track, err := webrtc.NewTrackLocalStaticSample(OpusCodec, "floor", "whip")
	if err != nil {
		pc.Close()
		return nil, err
	}
	if _, err := pc.AddTransceiverFromTrack(track, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		pc.Close()
		return nil, err
	}
	p := &Publisher{pc: pc, track: track, token: token}
	if err := negotiate(ctx, pc, endpoint, token, &p.location); err != nil {
		pc.Close()
		return nil, err
	}
	return p, nil
}

func negotiate(ctx context.Context, pc *webrtc.PeerConnection, endpoint, token string, location *string) error {
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	offer, err := Offer(ctx, pc)
	if err != nil {
		return err
	}
	answer, loc, err := exchange(ctx, endpoint, token, offer)
	if err != nil {
		return err
	}
	*location = loc
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	select {
	case <-connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("connect: %w", ctx.Err())
	}
}

// WriteOpus sends one Opus packet lasting d.
func (p *Publisher) WriteOpus(data []byte, d time.Duration) error {
	return p.track.WriteSample(media.Sample{Data: data, Duration: d})
}

// Close ends the session (DELETE) and the peer.
func (p *Publisher) Close(ctx context.Context) error {
	err := deleteSession(ctx, p.location, p.token)
	if cerr := p.pc.Close(); err == nil {
		err = cerr
	}
	return err
}

// Listener receives one language from a WHEP endpoint.
type Listener struct {
	pc       *webrtc.PeerConnection
	location string
	token    string
	packets  chan *rtp.Packet
	done     chan struct{} // closed when the track reader ends
	started  chan struct{} // closed when the track reader starts
}

// DialWHEP connects to a WHEP endpoint; Packets delivers the audio's RTP.
// queue bounds the undelivered packets (older ones are dropped).
func DialWHEP(ctx context.Context, api *webrtc.API, endpoint string, queue int) (*Listener, error) {
	return DialWHEPToken(ctx, api, endpoint, "", queue)
}

// DialWHEPToken is DialWHEP with a token, sent as "Authorization: Bearer"
// with the offer and the DELETE (a listener token of a closed event).
func DialWHEPToken(ctx context.Context, api *webrtc.API, endpoint, token string, queue int) (*Listener, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		pc.Close()
		return nil, err
	}
	l := &Listener{pc: pc, token: token, packets: make(chan *rtp.Packet, queue), done: make(chan struct{}), started: make(chan struct{})}
	var once sync.Once
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		once.Do(func() {
			close(l.started)
			go func() {
				defer close(l.done)
				for {
					p, _, err := t.ReadRTP()
					if err != nil {
						return
					}
					select {
					case l.packets <- p:
					default:
					}
				}
			}()
		})
	})
	if err := negotiate(ctx, pc, endpoint, token, &l.location); err != nil {
		pc.Close()
		return nil, err
	}
	return l, nil
}

// Packets delivers received RTP packets.
func (l *Listener) Packets() <-chan *rtp.Packet { return l.packets }

// Close ends the session (DELETE, unless ctx is already done) and the peer, and
// waits for the reader.
func (l *Listener) Close(ctx context.Context) error {
	var err error
	if ctx.Err() == nil {
		err = deleteSession(ctx, l.location, l.token)
	}
	if cerr := l.pc.Close(); err == nil {
		err = cerr
	}
	select {
	case <-l.started:
		<-l.done // the peer is closed, so the reader ends
	default: // the track never started: nothing to wait for
	}
	return err
}
