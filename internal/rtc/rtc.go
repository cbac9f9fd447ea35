// Package rtc builds the pion WebRTC API shared by booths, WHIP ingest and WHEP
// listeners, and holds the small helpers they have in common.
package rtc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
)

// Options selects the network the peers use.
type Options struct {
	// Loopback keeps every candidate on 127.0.0.1 (tests and single-machine demos).
	Loopback bool
	// PortMin and PortMax bound the UDP ports used for media; zero means any.
	PortMin, PortMax uint16
	// PublicIPs are announced instead of the host's addresses (a server behind 1:1 NAT).
	PublicIPs []string
}

// OpusCodec is the only audio codec tolk speaks: 48 kHz, in-band FEC on.
var OpusCodec = webrtc.RTPCodecCapability{
	MimeType:    webrtc.MimeTypeOpus,
	ClockRate:   48000,
	Channels:    2,
	SDPFmtpLine: "minptime=10;useinbandfec=1",
}

// NewAPI returns a pion API that negotiates Opus audio, and accepts (but does
// not use) VP8/H264 video so that publishers sending video are not refused.
func NewAPI(opts Options) (*webrtc.API, error) {
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: OpusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("register opus: %w", err)
	}
	for _, c := range []webrtc.RTPCodecParameters{
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, PayloadType: 96},
		{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
			SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102},
	} {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, fmt.Errorf("register video: %w", err)
		}
	}
	ir := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(m, ir); err != nil {
		return nil, fmt.Errorf("register interceptors: %w", err)
	}
	var s webrtc.SettingEngine
	s.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.SetICETimeouts(3*time.Second, 6*time.Second, time.Second)
	if opts.PortMin != 0 || opts.PortMax != 0 {
		if err := s.SetEphemeralUDPPortRange(opts.PortMin, opts.PortMax); err != nil {
			return nil, fmt.Errorf("udp port range: %w", err)
		}
	}
	if len(opts.PublicIPs) > 0 {
		if err := s.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: opts.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, fmt.Errorf("public ips: %w", err)
		}
	}
	if opts.Loopback {
		s.SetIncludeLoopbackCandidate(true)
		s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
		s.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	} else {
		s.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
		s.SetIncludeLoopbackCandidate(true)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s)), nil
}

// MaxSDP bounds an offer or answer body.
const MaxSDP = 64 << 10

// ErrBadSDP marks an offer that could not be applied.
var ErrBadSDP = errors.New("bad sdp")

// Answer applies a remote offer, creates the answer and waits for ICE gathering
// so the answer carries every candidate (WHIP/WHEP without trickle).
func Answer(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if !strings.Contains(offer, "v=0") {
		return "", fmt.Errorf("%w: not a session description", ErrBadSDP)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrBadSDP, err)
	}
	return gather(ctx, pc, ans)
}

// gather sets the local description and waits until it carries every candidate.
func gather(ctx context.Context, pc *webrtc.PeerConnection, desc webrtc.SessionDescription) (string, error) {
	done := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return "", fmt.Errorf("set local description: %w", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return "", fmt.Errorf("ice gathering: %w", ctx.Err())
	}
	return pc.LocalDescription().SDP, nil
}

// Offer creates a local offer and waits for ICE gathering.
func Offer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	return offer(ctx, pc, nil)
}

// RestartOffer is Offer with an ICE restart: new credentials and candidates,
// so a connection whose ICE failed can recover without a new peer.
func RestartOffer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	return offer(ctx, pc, &webrtc.OfferOptions{ICERestart: true})
}

func offer(ctx context.Context, pc *webrtc.PeerConnection, opts *webrtc.OfferOptions) (string, error) {
	off, err := pc.CreateOffer(opts)
	if err != nil {
		return "", fmt.Errorf("create offer: %w", err)
	}
	return gather(ctx, pc, off)
}

// BoothOpusFmtp is what a booth asks of every Opus stream it negotiates:
// in-band FEC against loss, mono, a bitrate ceiling well above what speech
// needs, 10 ms packets allowed. Browsers set their encoder from the offer's
// fmtp, so the server's offer states it; this is the one place SDP is
// rewritten.
const BoothOpusFmtp = "minptime=10;useinbandfec=1;stereo=0;maxaveragebitrate=64000"

// SetOpusFmtp gives every Opus format of an SDP the fmtp parameters params
// (replacing the existing line, or adding one after the rtpmap), whatever
// pion wrote there before.
func SetOpusFmtp(sdp, params string) string {
	nl := "\r\n"
	if !strings.Contains(sdp, nl) {
		nl = "\n"
	}
	lines := strings.Split(sdp, nl)
	var pts []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(l, "a=rtpmap:"); ok {
			pt, codec, _ := strings.Cut(rest, " ")
			if strings.HasPrefix(strings.ToLower(codec), "opus/48000") {
				pts = append(pts, pt)
			}
		}
	}
	for _, pt := range pts {
		line := "a=fmtp:" + pt + " " + params
		done := false
		for i, l := range lines {
			if strings.HasPrefix(l, "a=fmtp:"+pt+" ") {
				lines[i], done = line, true
			}
		}
		if done {
			continue
		}
		for i, l := range lines {
			if strings.HasPrefix(l, "a=rtpmap:"+pt+" ") {
				lines = append(lines[:i+1], append([]string{line}, lines[i+1:]...)...)
				break
			}
		}
	}
	return strings.Join(lines, nl)
}
