package rtc

import (
	"context"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// SenderReport is an RTCP sender report as a receiver saw it: the sender's
// wall clock (NTP) at an RTP timestamp of the stream.
type SenderReport struct {
	NTP time.Time
	RTP uint32
}

// VideoViewer receives a language and the picture from a WHEP endpoint,
// as a browser asking for video does: the RTP of both and their senders'
// reports.
type VideoViewer struct {
	pc       *webrtc.PeerConnection
	location string
	audio    chan *rtp.Packet
	video    chan *rtp.Packet
	wg       sync.WaitGroup

	mu      sync.Mutex
	reports map[webrtc.RTPCodecType]SenderReport
	codec   string
}

// DialWHEPVideo connects to a WHEP endpoint with an audio and a video
// transceiver (receive only); queue bounds each kind's undelivered
// packets (newer ones are dropped).
func DialWHEPVideo(ctx context.Context, api *webrtc.API, endpoint string, queue int) (*VideoViewer, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	recv := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := pc.AddTransceiverFromKind(k, recv); err != nil {
			pc.Close()
			return nil, err
		}
	}
	v := &VideoViewer{pc: pc, audio: make(chan *rtp.Packet, queue), video: make(chan *rtp.Packet, queue),
		reports: map[webrtc.RTPCodecType]SenderReport{}}
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		out := v.audio
		if t.Kind() == webrtc.RTPCodecTypeVideo {
			out = v.video
			v.mu.Lock()
			v.codec = t.Codec().MimeType
			v.mu.Unlock()
		}
		v.wg.Add(2)
		go func() {
			defer v.wg.Done()
			for {
				p, _, err := t.ReadRTP()
				if err != nil {
					return
				}
				select {
				case out <- p:
				default:
				}
			}
		}()
		go func() {
			defer v.wg.Done()
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if sr, ok := p.(*rtcp.SenderReport); ok {
						v.mu.Lock()
						v.reports[t.Kind()] = SenderReport{NTP: ntpTime(sr.NTPTime), RTP: sr.RTPTime}
						v.mu.Unlock()
					}
				}
			}
		}()
	})
	if err := negotiate(ctx, pc, endpoint, "", &v.location); err != nil {
		pc.Close()
		v.wg.Wait()
		return nil, err
	}
	return v, nil
}

// ntpTime converts a 64-bit NTP timestamp.
func ntpTime(t uint64) time.Time {
	const ntpEpochOffset = 2208988800
	secs := int64(t>>32) - ntpEpochOffset
	frac := int64(t&0xffffffff) * 1e9 >> 32
	return time.Unix(secs, frac)
}

// Audio and Video deliver the received RTP of each kind.
func (v *VideoViewer) Audio() <-chan *rtp.Packet { return v.audio }

// Video delivers the picture's RTP packets.
func (v *VideoViewer) Video() <-chan *rtp.Packet { return v.video }

// Codec is the picture's negotiated codec ("" before it arrives).
func (v *VideoViewer) Codec() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.codec
}

// Reports returns the latest sender report of the audio and the video.
func (v *VideoViewer) Reports() (audio, video SenderReport, ok bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	a, okA := v.reports[webrtc.RTPCodecTypeAudio]
	b, okV := v.reports[webrtc.RTPCodecTypeVideo]
	return a, b, okA && okV
}

// Close ends the session (DELETE, unless ctx is done) and the peer, and
// waits for the readers.
func (v *VideoViewer) Close(ctx context.Context) error {
	var err error
	if ctx.Err() == nil {
		err = deleteSession(ctx, v.location, "")
	}
	if cerr := v.pc.Close(); err == nil {
		err = cerr
	}
	v.wg.Wait()
	return err
}
