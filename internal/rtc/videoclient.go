package rtc

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
)

// H264Codec is the H.264 tolk's WHIP endpoint negotiates: packetization
// mode 1, constrained baseline as browsers and OBS offer it.
var H264Codec = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
	SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}

// VideoPublisher sends Opus and H.264 to a WHIP endpoint, as OBS does.
type VideoPublisher struct {
	*Publisher
	video *webrtc.TrackLocalStaticSample
	plis  atomic.Int64
	done  chan struct{}
}

// PublishWHIPVideo connects to a WHIP endpoint with an audio and a video
// track.
func PublishWHIPVideo(ctx context.Context, api *webrtc.API, endpoint, token string) (*VideoPublisher, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(OpusCodec, "floor", "whip")
	if err != nil {
		pc.Close()
		return nil, err
	}
	video, err := webrtc.NewTrackLocalStaticSample(H264Codec, "floor-video", "whip")
	if err != nil {
		pc.Close()
		return nil, err
	}
	send := webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}
	if _, err := pc.AddTransceiverFromTrack(audio, send); err != nil {
		pc.Close()
		return nil, err
	}
	tr, err := pc.AddTransceiverFromTrack(video, send)
	if err != nil {
		pc.Close()
		return nil, err
	}
	p := &VideoPublisher{Publisher: &Publisher{pc: pc, track: audio, token: token}, video: video, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			pkts, _, err := tr.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, x := range pkts {
				if _, ok := x.(*rtcp.PictureLossIndication); ok {
					p.plis.Add(1)
				}
			}
		}
	}()
	if err := negotiate(ctx, pc, endpoint, token, &p.location); err != nil {
		pc.Close()
		<-p.done
		return nil, err
	}
	return p, nil
}

// WriteH264 sends one access unit in Annex B lasting d.
func (p *VideoPublisher) WriteH264(annexB []byte, d time.Duration) error {
	return p.video.WriteSample(media.Sample{Data: annexB, Duration: d})
}

// PLIs counts the key frame requests received.
func (p *VideoPublisher) PLIs() int64 { return p.plis.Load() }

// Close ends the session and waits for the RTCP reader.
func (p *VideoPublisher) Close(ctx context.Context) error {
	err := p.Publisher.Close(ctx)
	<-p.done
	return err
}
