package hls

import (
	"net/http"
	"testing"

	"tolk/internal/media"
)

// FuzzWriteVideo: any payload, key flag and times are taken or refused
// with an error, never a panic, and the playlist stays servable.
func FuzzWriteVideo(f *testing.F) {
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x24, 0xa0}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	avcc := func(nalus ...[]byte) []byte {
		var b []byte
		for _, n := range nalus {
			b = append(b, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
			b = append(b, n...)
		}
		return b
	}
	f.Add(avcc(sps, pps, []byte{0x65, 0x88, 0x84}), true, int64(0), int64(0))
	f.Add(avcc([]byte{0x41, 0x9a}), false, int64(1600), int64(3200))
	f.Add([]byte{0, 0, 0, 9, 1}, true, int64(5), int64(1))
	f.Fuzz(func(t *testing.T, payload []byte, key bool, dts, pts int64) {
		m, _ := newTestMuxer(t, Options{})
		defer m.Close()
		first := media.Unit{Codec: media.H264, Key: true, Payload: avcc(sps, pps, []byte{0x65, 0x88, 0x84})}
		_ = m.WriteVideo(first)
		_ = m.WriteVideo(media.Unit{Codec: media.H264, Key: key, DTS: dts, PTS: pts, Payload: payload})
		_ = m.WriteVideo(media.Unit{Codec: media.H264, Key: key, DTS: dts + 1600, PTS: pts + 1600, Payload: payload})
		m.Close()
		_ = get(m, http.MethodGet, "video/index.m3u8")
	})
}

// FuzzParseVideoPath: every path maps to a resource whose name parses back
// to it, or is refused.
func FuzzParseVideoPath(f *testing.F) {
	for _, s := range []string{"index.m3u8", "k3x9ab/init0.mp4", "k3x9ab/seg12.m4s", "k3x9ab/part7.m4s", "k3x9ab/part07.m4s", "../x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := parseVideoPath(p)
		if err != nil {
			return
		}
		if r.kind != kindPlaylist && (!validRun(r.run) || r.n < 0) {
			t.Errorf("%q parsed as %+v", p, r)
		}
	})
}
