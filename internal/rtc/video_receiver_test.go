package rtc

import (
	"encoding/binary"
	"testing"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"tolk/internal/media"
)

// A sender's audio (48 kHz) and video (90 kHz) timestamps, with unrelated
// random starts, read the same source time for the same instant once each
// track's report has come; a wrapped timestamp too.
func TestSenderClock(t *testing.T) {
	c := NewSenderClock()
	if _, ok := c.Source(1, 0); ok {
		t.Fatal("a source time before any report")
	}
	ntp := uint64(3_900_000_000) << 32
	c.Report(&rtcp.SenderReport{SSRC: 1, NTPTime: ntp, RTPTime: 4_294_960_000}, 48000)             // audio
	c.Report(&rtcp.SenderReport{SSRC: 2, NTPTime: ntp + 1<<31, RTPTime: 1_000_000 + 45000}, 90000) // video, half a second later
	// One second after the audio report's instant: audio RTP wraps.
	a, ok1 := c.Source(1, uint32(4_294_960_000+48000-1<<32))
	v, ok2 := c.Source(2, 1_000_000+90000)
	if !ok1 || !ok2 || a != 48000 || v != 48000 {
		t.Fatalf("audio %d %v, video %d %v, want both 48000", a, ok1, v, ok2)
	}
}

// rtpH264 packs one NAL unit per packet (single NAL unit mode).
func rtpH264(seq uint16, ts uint32, nalu []byte, marker bool) *rtp.Packet {
	return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: marker, PayloadType: 102},
		Payload: append([]byte(nil), nalu...)}
}

var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x2a}
	testPPS = []byte{0x68, 0xce, 0x3c, 0x80}
	testIDR = []byte{0x65, 0x88, 0x84, 0x00, 0x33}
	testP   = []byte{0x41, 0x9a, 0x02, 0x03}
)

// Frames come out whole with their RTP timestamp; a key frame without its
// parameter sets gets the last ones back; after a lost packet nothing comes
// until a key frame, and the receiver says one is needed.
func TestVideoReceiverH264(t *testing.T) {
	v, err := NewVideoReceiver("video/H264")
	if err != nil {
		t.Fatal(err)
	}
	var got []media.Unit
	var tss []uint32
	emit := func(u media.Unit, ts uint32) { got, tss = append(got, u), append(tss, ts) }
	seq := uint16(100)
	push := func(ts uint32, nalus ...[]byte) bool {
		var need bool
		for i, n := range nalus {
			need = v.Push(rtpH264(seq, ts, n, i == len(nalus)-1), emit)
			seq++
		}
		return need
	}
	if !push(0, testP) {
		t.Fatal("no key frame asked for at the start")
	}
	push(3000, testSPS, testPPS, testIDR)
	push(6000, testP)
	push(9000, testIDR)
	seq++ // lost
	need := false
	for ts := uint32(12000); ts <= 36000; ts += 3000 { // past the 200 ms the builder waits for the lost one
		need = push(ts, testP) || need
	}
	push(39000, testIDR)
	push(42000, testP) // lets the sample builder give out the key frame
	if !need {
		t.Error("no key frame asked for after a loss")
	}
	if len(got) != 4 || tss[0] != 3000 || tss[2] != 9000 || tss[3] != 39000 {
		t.Fatalf("%d frames at %v", len(got), tss)
	}
	for _, i := range []int{0, 2, 3} {
		if !got[i].Key || binary.BigEndian.Uint32(got[i].Payload) != uint32(len(testSPS)) {
			t.Errorf("frame %d: key %v, payload %x: want a key frame starting with the SPS", i, got[i].Key, got[i].Payload)
		}
	}
	if s := v.Stats(); s.Frames != 4 || s.Skipped < 2 {
		t.Errorf("stats %+v", s)
	}
	if _, err := NewVideoReceiver("video/AV1"); err == nil {
		t.Error("AV1 accepted")
	}
}

// FuzzVideoReceiver: any RTP payloads, in any order, give frames whose
// payload is a whole AVCC access unit, and never a panic.
func FuzzVideoReceiver(f *testing.F) {
	f.Add([]byte{0, 1, 24, 0, 24, 0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x2a, 0, 4, 0x68, 0xce, 0x3c, 0x80}, true)
	f.Add([]byte{0x7c, 0x85, 1, 2, 3, 0x7c, 0x45, 4, 5}, false)
	f.Fuzz(func(t *testing.T, data []byte, vp8 bool) {
		mime := "video/H264"
		if vp8 {
			mime = "video/VP8"
		}
		v, err := NewVideoReceiver(mime)
		if err != nil {
			t.Fatal(err)
		}
		// Cut data into packets: each takes a length byte, then that much.
		seq, ts := uint16(0), uint32(0)
		for len(data) > 1 {
			n := min(int(data[0])%64+1, len(data)-1)
			p := &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: data[0]&0x80 != 0},
				Payload: append([]byte(nil), data[1:1+n]...)}
			if data[0]&0x40 != 0 {
				ts += 3000
			}
			seq++
			data = data[1+n:]
			v.Push(p, func(u media.Unit, _ uint32) {
				if u.Codec == media.H264 {
					for b := u.Payload; len(b) > 0; {
						if len(b) < 4 || int(binary.BigEndian.Uint32(b)) > len(b)-4 {
							t.Fatalf("not AVCC: %x", u.Payload)
						}
						b = b[4+binary.BigEndian.Uint32(b):]
					}
				}
			})
		}
	})
}

// VP8 frames come out as they were sent, key frames marked (RFC 6386: the
// frame tag's lowest bit clear), one frame over several packets too.
func TestVideoReceiverVP8(t *testing.T) {
	v, err := NewVideoReceiver("video/VP8")
	if err != nil {
		t.Fatal(err)
	}
	var got []media.Unit
	emit := func(u media.Unit, _ uint32) { got = append(got, u) }
	pkt := func(seq uint16, ts uint32, start bool, marker bool, data ...byte) *rtp.Packet {
		desc := byte(0)
		if start {
			desc = 0x10 // S: start of a partition
		}
		return &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: marker},
			Payload: append([]byte{desc}, data...)}
	}
	v.Push(pkt(1, 0, true, false, 0x10, 0x02, 0x00), emit)   // key frame, first half
	v.Push(pkt(2, 0, false, true, 0x9d, 0x01, 0x2a), emit)   // second half
	v.Push(pkt(3, 3000, true, true, 0x31, 0x01, 0x00), emit) // inter frame
	v.Push(pkt(4, 6000, true, true, 0x31, 0x02, 0x00), emit)
	if len(got) != 2 || !got[0].Key || got[1].Key || got[0].Codec != media.VP8 ||
		string(got[0].Payload) != "\x10\x02\x00\x9d\x01\x2a" {
		t.Fatalf("got %+v", got)
	}
}
