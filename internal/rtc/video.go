package rtc

import (
	"fmt"
	"strings"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"tolk/internal/media"
)

// videoMaxLate is how many packets the sample builder holds back waiting for
// a missing one: a 720p key frame at 2 Mb/s is about 60 packets.
// videoMaxDelay bounds that wait in time: past it a lost packet is given up
// (and a key frame asked for) rather than holding the picture back longer.
const (
	videoMaxLate  = 512
	videoMaxDelay = 200 * time.Millisecond
)

// VideoReceiverStats counts a video receiver's frames.
type VideoReceiverStats struct {
	Frames, Keys uint64
	// Skipped are frames left out while waiting for a key frame (after a
	// loss, or at the start); Invalid could not be parsed.
	Skipped, Invalid uint64
}

// VideoReceiver turns a publisher's video RTP (H.264 or VP8) into whole
// frames: H.264 access units in AVCC with their SPS and PPS on every key
// frame, VP8 frames as they are. After a lost packet it hands out nothing
// until the next key frame, and says so, so that the caller asks the
// publisher for one (PLI). One goroutine uses it.
type VideoReceiver struct {
	codec    media.Codec
	sb       *samplebuilder.SampleBuilder
	needKey  bool
	sps, pps []byte
	stats    VideoReceiverStats
}

// NewVideoReceiver returns a receiver for the track's MIME type (video/H264
// or video/VP8); another codec is refused.
func NewVideoReceiver(mime string) (*VideoReceiver, error) {
	v := &VideoReceiver{needKey: true}
	switch {
	case strings.EqualFold(mime, webrtc.MimeTypeH264):
		v.codec = media.H264
		v.sb = samplebuilder.New(videoMaxLate, &codecs.H264Packet{}, 90000, samplebuilder.WithMaxTimeDelay(videoMaxDelay))
	case strings.EqualFold(mime, webrtc.MimeTypeVP8):
		v.codec = media.VP8
		v.sb = samplebuilder.New(videoMaxLate, &codecs.VP8Packet{}, 90000, samplebuilder.WithMaxTimeDelay(videoMaxDelay))
	default:
		return nil, fmt.Errorf("video codec %s is not passed through (H.264 and VP8 are)", mime)
	}
	return v, nil
}

// Codec is the codec of the frames.
func (v *VideoReceiver) Codec() media.Codec { return v.codec }

// Stats returns the counts.
func (v *VideoReceiver) Stats() VideoReceiverStats { return v.stats }

// Push takes one RTP packet, which it keeps until its frame is whole (the
// caller must not reuse it), and calls emit for each frame it completes,
// with the frame's RTP timestamp (90 kHz); the unit's PTS and DTS are left
// to the caller, its payload is the unit's own. It returns true while a
// key frame is needed.
func (v *VideoReceiver) Push(p *rtp.Packet, emit func(u media.Unit, ts uint32)) (needKey bool) {
	if len(p.Payload) == 0 {
		return v.needKey // padding
	}
	v.sb.Push(p)
	for s := v.sb.Pop(); s != nil; s = v.sb.Pop() {
		if s.PrevDroppedPackets > 0 {
			v.needKey = true
		}
		u, ok := v.unit(s.Data)
		switch {
		case !ok:
			v.stats.Invalid++
			v.needKey = true
			continue
		case v.needKey && !u.Key:
			v.stats.Skipped++
			continue
		}
		v.needKey = false
		v.stats.Frames++
		if u.Key {
			v.stats.Keys++
		}
		emit(u, s.PacketTimestamp)
	}
	return v.needKey
}

// unit makes a frame of a sample's data.
func (v *VideoReceiver) unit(data []byte) (media.Unit, bool) {
	if len(data) == 0 {
		return media.Unit{}, false
	}
	if v.codec == media.VP8 {
		// RFC 6386 9.1: the frame tag's lowest bit is 0 on a key frame.
		key := data[0]&1 == 0
		return media.Unit{Codec: media.VP8, Key: key, Payload: append([]byte(nil), data...)}, true
	}
	var au h264.AnnexB
	if err := au.Unmarshal(data); err != nil {
		return media.Unit{}, false
	}
	return v.h264Unit(au)
}

func (v *VideoReceiver) h264Unit(au [][]byte) (media.Unit, bool) {
	hasSPS, hasPPS := false, false
	kept := au[:0:0]
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			v.sps, hasSPS = append(v.sps[:0], n...), true
		case h264.NALUTypePPS:
			v.pps, hasPPS = append(v.pps[:0], n...), true
		case h264.NALUTypeAccessUnitDelimiter:
			continue
		}
		kept = append(kept, n)
	}
	if len(kept) == 0 {
		return media.Unit{}, false
	}
	key := h264.IsRandomAccess(kept)
	if key && (!hasSPS || !hasPPS) {
		if len(v.sps) == 0 || len(v.pps) == 0 {
			key = false // no decoder can start here
		} else {
			kept = append([][]byte{v.sps, v.pps}, kept...)
		}
	}
	payload, err := h264.AVCC(kept).Marshal()
	if err != nil {
		return media.Unit{}, false
	}
	return media.Unit{Codec: media.H264, Key: key, Payload: payload}, true
}
