package rtc

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// BoothClient is an interpreter's booth page in Go (docs/booth-protocol.md):
// a WebSocket for signalling and state, a peer that sends a microphone and
// receives the floor, relay and partner streams. Tests and the load tool use it.
type BoothClient struct {
	ws  *websocket.Conn
	pc  *webrtc.PeerConnection
	mic *webrtc.TrackLocalStaticSample
	// Messages delivers every message from the server (bounded; extra ones are
	// dropped); it is closed when the connection ends.
	Messages chan map[string]any
	wmu      sync.Mutex
	wg       sync.WaitGroup
	endMu    sync.Mutex
	end      error // why the connection ended
}

// DialBooth connects to /booth/{event}/{lang}/ws?token= on base (http://…),
// answers the server's offer and returns once the answer is sent. onPacket,
// if not nil, is called for every received RTP packet with its stream id
// ("floor", "relay", "partner"), on the track's reader goroutine.
func DialBooth(ctx context.Context, api *webrtc.API, base, event, lang, token string,
	onPacket func(stream string, p *rtp.Packet)) (*BoothClient, error) {
	u := strings.Replace(base, "http", "ws", 1) + "/booth/" + event + "/" + lang + "/ws?token=" + token
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, u, http.Header{})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial booth: %s", resp.Status)
		}
		return nil, fmt.Errorf("dial booth: %w", err)
	}
	c := &BoothClient{ws: ws, Messages: make(chan map[string]any, 256)}
	offers := make(chan string, 1)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(c.Messages)
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				c.endMu.Lock()
				c.end = err
				c.endMu.Unlock()
				return
			}
			if m["type"] == "offer" {
				if sdp, ok := m["sdp"].(string); ok {
					select {
					case offers <- sdp:
					default:
					}
				}
			}
			select {
			case c.Messages <- m:
			default:
			}
		}
	}()
	fail := func(err error) (*BoothClient, error) {
		c.Close()
		return nil, err
	}
	var offer string
	select {
	case offer = <-offers:
	case <-ctx.Done():
		return fail(fmt.Errorf("no offer: %w", ctx.Err()))
	}
	if c.pc, err = api.NewPeerConnection(webrtc.Configuration{}); err != nil {
		return fail(err)
	}
	c.pc.OnTrack(func(tr *webrtc.TrackRemote, rcv *webrtc.RTPReceiver) {
		id := tr.StreamID()
		c.wg.Add(2)
		go func() {
			// The server's sender reports must be read for the receiver
			// reports to answer them (LSR), as a browser's do: the server
			// measures the round trip from them.
			defer c.wg.Done()
			for {
				if _, _, err := rcv.ReadRTCP(); err != nil {
					return
				}
			}
		}()
		go func() {
			defer c.wg.Done()
			for {
				p, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				if onPacket != nil {
					onPacket(id, p)
				}
			}
		}()
	})
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return fail(fmt.Errorf("offer: %w", err))
	}
	if c.mic, err = webrtc.NewTrackLocalStaticSample(OpusCodec, "mic", "mic"); err != nil {
		return fail(err)
	}
	// The remote-created transceivers have no sender yet: AddTrack takes the
	// first one, which the server made for the microphone.
	if _, err := c.pc.AddTrack(c.mic); err != nil {
		return fail(err)
	}
	answer, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return fail(err)
	}
	sdp, err := gather(ctx, c.pc, answer)
	if err != nil {
		return fail(err)
	}
	if err := c.Send(map[string]any{"type": "answer", "sdp": sdp}); err != nil {
		return fail(err)
	}
	return c, nil
}

// Ended is why the connection ended, nil while it is open: a
// *websocket.CloseError carrying the server's close code (4003 for a revoked
// token), or the network error. It is set before Messages is closed.
func (c *BoothClient) Ended() error {
	c.endMu.Lock()
	defer c.endMu.Unlock()
	return c.end
}

// Send writes one message to the server.
func (c *BoothClient) Send(m any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	return c.ws.WriteJSON(m)
}

// SendRaw writes a text frame as is (tests of malformed messages).
func (c *BoothClient) SendRaw(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, b)
}

// Speak sends one Opus packet of d on the microphone.
func (c *BoothClient) Speak(packet []byte, d time.Duration) error {
	return c.mic.WriteSample(media.Sample{Data: packet, Duration: d})
}

// Leave closes the connection as a page that is closed does (close code
// 1000: the interpreter left, and is not awaited back on air), then Close.
func (c *BoothClient) Leave() {
	c.wmu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye"), time.Now().Add(time.Second))
	c.wmu.Unlock()
	c.Close()
}

// Close drops the connection, as a lost network would (no close message),
// and waits for the readers.
func (c *BoothClient) Close() {
	_ = c.ws.Close()
	if c.pc != nil {
		_ = c.pc.Close()
	}
	c.wg.Wait()
}
