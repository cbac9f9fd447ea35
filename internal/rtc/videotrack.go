package rtc

import (
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
)

// VideoClockRate is the RTP clock of video (RFC 6184, RFC 7741).
const VideoClockRate = 90000

// videoMTU bounds a video RTP payload: below any path MTU after SRTP and
// the UDP/IP headers.
const videoMTU = 1200

// VideoTrack sends the program's video to every peer bound to it: each
// frame is packetized once per codec (H.264 with pion's payloader, single
// NAL units, STAP-A for the parameter sets and FU-A for the rest; VP8 with
// its descriptor) and written to each peer with that peer's SSRC, payload
// type and sequence numbers. A peer starts at a key frame, so its decoder
// never sees a picture whose references it lacks. Peers take it through
// Local, which names the stream it belongs to (the language's, so the
// browser lip-syncs the two). WriteFrame is called from one goroutine.
type VideoTrack struct {
	mu       sync.Mutex
	bindings map[string]*videoBinding

	h264    codecs.H264Payloader
	vp8     codecs.VP8Payloader
	packets []rtp.Packet // the frame being written, reused

	frames, sent, waiting, unsupported atomic.Uint64
}

// videoBinding is one peer's stream of the track.
type videoBinding struct {
	ssrc      uint32
	ptH264    uint8 // 0: the peer did not negotiate the codec
	ptVP8     uint8
	writer    webrtc.TrackLocalWriter
	seq       uint16
	started   bool // a key frame has been sent: the peer can decode
	startedAt uint64
}

// NewVideoTrack returns a track with no peer.
func NewVideoTrack() *VideoTrack {
	return &VideoTrack{bindings: map[string]*videoBinding{}}
}

// VideoStats are a video track's counts.
type VideoStats struct {
	// Frames were written to the track; Sent is frames times peers that
	// took them.
	Frames, Sent uint64
	// Waiting counts frames a peer skipped while it waited for a key
	// frame (a join, or a loss); Unsupported frames a peer skipped as it
	// had not negotiated their codec.
	Waiting, Unsupported uint64
	Peers                int
}

// Stats returns the track's counts.
func (v *VideoTrack) Stats() VideoStats {
	return VideoStats{Frames: v.frames.Load(), Sent: v.sent.Load(), Waiting: v.waiting.Load(),
		Unsupported: v.unsupported.Load(), Peers: v.Peers()}
}

// Peers is how many peers are bound now.
func (v *VideoTrack) Peers() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.bindings)
}

// Resync makes every peer wait for the next key frame: a frame was lost
// before the track (a reader that dropped), and the pictures after it
// until a key frame would decode wrong.
func (v *VideoTrack) Resync() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, b := range v.bindings {
		b.started = false
	}
}

// WriteFrame packetizes a frame (H.264 in AVCC, or VP8) and sends it to
// every peer that negotiated its codec and has started (or starts with
// this key frame). The RTP timestamp is the frame's presentation time at
// 90 kHz: the same program clock as the audio's 48 kHz timestamps, which
// the sender reports relate to the wall clock.
func (v *VideoTrack) WriteFrame(u media.Unit) error {
	v.frames.Add(1)
	v.mu.Lock()
	defer v.mu.Unlock()
	if len(v.bindings) == 0 {
		return nil
	}
	ts := uint32(u.PTS * VideoClockRate / 48000)
	v.packets = v.packets[:0]
	switch u.Codec {
	case media.H264:
		au := u.Payload
		for len(au) >= 4 {
			n := int(binary.BigEndian.Uint32(au))
			if n == 0 || n > len(au)-4 {
				return errors.New("video: malformed AVCC access unit")
			}
			nalu := au[4 : 4+n]
			au = au[4+n:]
			if t := nalu[0] & 0x1f; t == 9 || t == 12 {
				continue // access unit delimiters and filler mean nothing over RTP
			}
			for _, p := range v.h264.Payload(videoMTU, nalu) {
				v.packets = append(v.packets, rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: ts}, Payload: p})
			}
		}
	case media.VP8:
		for _, p := range v.vp8.Payload(videoMTU, u.Payload) {
			v.packets = append(v.packets, rtp.Packet{Header: rtp.Header{Version: 2, Timestamp: ts}, Payload: p})
		}
	default:
		return nil
	}
	if len(v.packets) == 0 {
		return nil
	}
	v.packets[len(v.packets)-1].Marker = true
	var errs []error
	for _, b := range v.bindings {
		pt := b.ptH264
		if u.Codec == media.VP8 {
			pt = b.ptVP8
		}
		switch {
		case pt == 0:
			v.unsupported.Add(1)
			continue
		case !b.started && !u.Key:
			v.waiting.Add(1)
			continue
		}
		if !b.started {
			b.started, b.startedAt = true, v.frames.Load()
		}
		v.sent.Add(1)
		for i := range v.packets {
			h := v.packets[i].Header
			b.seq++
			h.SSRC, h.PayloadType, h.SequenceNumber = b.ssrc, pt, b.seq
			if _, err := b.writer.WriteRTP(&h, v.packets[i].Payload); err != nil {
				errs = append(errs, err)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Local is the track as one peer connection adds it: id "video" in
// stream streamID (the audio's, so that the browser syncs the two).
func (v *VideoTrack) Local(streamID string) webrtc.TrackLocal {
	return &videoLocal{v: v, stream: streamID}
}

// videoLocal is one peer's view of a VideoTrack.
type videoLocal struct {
	v      *VideoTrack
	stream string
}

// Bind takes the peer's negotiated H.264 (packetization mode 1) and VP8
// payload types; the codec it reports is H.264 if there is one.
func (l *videoLocal) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	b := &videoBinding{ssrc: uint32(ctx.SSRC()), writer: ctx.WriteStream(), seq: uint16(ctx.SSRC())}
	var chosen webrtc.RTPCodecParameters
	for _, c := range ctx.CodecParameters() {
		switch {
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeH264) && b.ptH264 == 0 &&
			strings.Contains(c.SDPFmtpLine, "packetization-mode=1"):
			b.ptH264 = uint8(c.PayloadType)
			chosen = c
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8) && b.ptVP8 == 0:
			b.ptVP8 = uint8(c.PayloadType)
			if b.ptH264 == 0 {
				chosen = c
			}
		}
	}
	if b.ptH264 == 0 && b.ptVP8 == 0 {
		return webrtc.RTPCodecParameters{}, webrtc.ErrUnsupportedCodec
	}
	l.v.mu.Lock()
	l.v.bindings[ctx.ID()] = b
	l.v.mu.Unlock()
	return chosen, nil
}

// Unbind forgets the peer.
func (l *videoLocal) Unbind(ctx webrtc.TrackLocalContext) error {
	l.v.mu.Lock()
	defer l.v.mu.Unlock()
	if _, ok := l.v.bindings[ctx.ID()]; !ok {
		return webrtc.ErrUnbindFailed
	}
	delete(l.v.bindings, ctx.ID())
	return nil
}

func (l *videoLocal) ID() string                { return "video" }
func (l *videoLocal) RID() string               { return "" }
func (l *videoLocal) StreamID() string          { return l.stream }
func (l *videoLocal) Kind() webrtc.RTPCodecType { return webrtc.RTPCodecTypeVideo }

// ReadVideoRTCP reads a video sender's RTCP until its peer closes, as
// DrainRTCP does, and calls onKeyRequest for every picture loss indication
// or full intra request. Pass-through video cannot make a key frame on
// demand: the requests are counted, and the peer's picture heals at the
// publisher's next key frame.
func ReadVideoRTCP(s *webrtc.RTPSender, onKeyRequest func()) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				onKeyRequest()
			}
		}
	}
}
