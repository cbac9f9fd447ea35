package rtc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// peerCtx is a peer's binding as pion hands it to a track: its codecs,
// SSRC and writer.
type peerCtx struct {
	id     string
	ssrc   uint32
	codecs []webrtc.RTPCodecParameters
	w      *countWriter
}

func (c peerCtx) CodecParameters() []webrtc.RTPCodecParameters           { return c.codecs }
func (c peerCtx) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (c peerCtx) SSRC() webrtc.SSRC                                      { return webrtc.SSRC(c.ssrc) }
func (c peerCtx) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (c peerCtx) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (c peerCtx) WriteStream() webrtc.TrackLocalWriter                   { return c.w }
func (c peerCtx) ID() string                                             { return c.id }
func (c peerCtx) RTCPReader() interceptor.RTCPReader                     { return nil }

// countWriter keeps what a peer was sent: packets, and the first one.
type countWriter struct {
	packets, markers int
	first            *rtp.Packet
	seq              []uint16
}

func (w *countWriter) WriteRTP(h *rtp.Header, payload []byte) (int, error) {
	w.packets++
	if h.Marker {
		w.markers++
	}
	if w.first == nil {
		w.first = &rtp.Packet{Header: *h, Payload: append([]byte(nil), payload...)}
	}
	w.seq = append(w.seq, h.SequenceNumber)
	return len(payload), nil
}

func (w *countWriter) Write(b []byte) (int, error) { return len(b), nil }

var (
	h264Params = webrtc.RTPCodecParameters{PayloadType: 102, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264,
		ClockRate: 90000, SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}
	vp8Params = webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}}
)

func clip(t testing.TB, secs float64) []media.Unit {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	units, err := videotest.Clip(ctx, videotest.Options{Seconds: secs, GOP: 30})
	if err != nil {
		t.Skipf("no clip (ffmpeg): %v", err)
	}
	return units
}

// TestVideoTrackStartsAtKeyFrames: a peer bound mid-GOP gets nothing until
// the next key frame, then every frame, each ending on a marked packet with
// contiguous sequence numbers of its own and the program time at 90 kHz; a
// peer with VP8 only gets no H.264; Resync makes every peer wait again.
func TestVideoTrackStartsAtKeyFrames(t *testing.T) {
	units := clip(t, 2)
	v := NewVideoTrack()
	early, late, vp8 := &countWriter{}, &countWriter{}, &countWriter{}
	bind := func(id string, w *countWriter, codecs ...webrtc.RTPCodecParameters) {
		c, err := v.Local("tolk-fr").Bind(peerCtx{id: id, ssrc: uint32(len(id)), codecs: codecs, w: w})
		if err != nil {
			t.Fatal(err)
		}
		if c.MimeType != codecs[0].MimeType {
			t.Fatalf("bound %s", c.MimeType)
		}
	}
	bind("early", early, h264Params, vp8Params)
	bind("vp8-only", vp8, vp8Params)
	for i, u := range units {
		if i == 10 {
			bind("late", late, h264Params)
		}
		if err := v.WriteFrame(u); err != nil {
			t.Fatal(err)
		}
	}
	if early.markers != 60 || late.markers != 30 || vp8.packets != 0 {
		t.Errorf("frames: early %d, late %d (want 60, 30); vp8-only %d packets", early.markers, late.markers, vp8.packets)
	}
	if late.first.PayloadType != 102 || late.first.Timestamp != uint32(units[30].PTS*90000/48000) {
		t.Errorf("late peer's first packet: pt %d ts %d", late.first.PayloadType, late.first.Timestamp)
	}
	for i := 1; i < len(late.seq); i++ {
		if late.seq[i] != late.seq[i-1]+1 {
			t.Fatalf("sequence %d after %d", late.seq[i], late.seq[i-1])
		}
	}
	v.Resync()
	before := early.markers
	for _, u := range units[31:45] {
		_ = v.WriteFrame(u)
	}
	if early.markers != before {
		t.Errorf("%d frames sent after a resync before any key frame", early.markers-before)
	}
	if s := v.Stats(); s.Peers != 3 || s.Unsupported == 0 || s.Waiting == 0 {
		t.Errorf("stats %+v", s)
	}
}

// BenchmarkVideoTrack: one 720p30 frame (testsrc2, libx264 ultrafast,
// ≈ 1 Mb/s... see the packets per frame reported) packetized once and
// written to each of n peers (the peer's SRTP and socket are not in it:
// the writer counts).
func BenchmarkVideoTrack(b *testing.B) {
	units := clip(b, 4)
	for _, n := range []int{1, 100} {
		b.Run(fmt.Sprintf("peers-%d", n), func(b *testing.B) {
			v := NewVideoTrack()
			ws := make([]*countWriter, n)
			for i := range ws {
				ws[i] = &countWriter{}
				if _, err := v.Local("s").Bind(peerCtx{id: fmt.Sprint(i), ssrc: uint32(i), codecs: []webrtc.RTPCodecParameters{h264Params}, w: ws[i]}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i%len(units) == 0 {
					for _, w := range ws {
						w.seq = w.seq[:0]
					}
				}
				u := units[i%len(units)]
				u.PTS += int64(i/len(units)) * 4 * 48000
				if err := v.WriteFrame(u); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ws[0].packets)/float64(b.N), "packets/frame")
		})
	}
}

// FuzzVideoTrackWriteFrame: any payload, as H.264 (AVCC) or VP8, key or
// not, is packetized or refused without a panic, and what is sent to a
// peer ends on a marked packet.
func FuzzVideoTrackWriteFrame(f *testing.F) {
	f.Add([]byte{0, 0, 0, 5, 0x65, 1, 2, 3, 4}, true, false)
	f.Add([]byte{0, 0, 0, 2, 0x67, 1, 0, 0, 0, 2, 0x68, 1, 0, 0, 0, 1, 0x65}, true, false)
	f.Add([]byte{0, 0, 0, 9, 1}, false, false)
	f.Add([]byte{0x10, 2, 3}, true, true)
	f.Fuzz(func(t *testing.T, payload []byte, key, vp8 bool) {
		v := NewVideoTrack()
		w := &countWriter{}
		if _, err := v.Local("s").Bind(peerCtx{id: "p", ssrc: 1, codecs: []webrtc.RTPCodecParameters{h264Params, vp8Params}, w: w}); err != nil {
			t.Fatal(err)
		}
		u := media.Unit{Codec: media.H264, Key: key, Payload: payload}
		if vp8 {
			u.Codec = media.VP8
		}
		_ = v.WriteFrame(u)
		if w.packets > 0 && w.markers != 1 {
			t.Fatalf("%d packets, %d marked", w.packets, w.markers)
		}
	})
}
