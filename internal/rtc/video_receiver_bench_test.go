package rtc

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"

	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// BenchmarkVideoReceiver is the WHIP floor's video per picture: a real
// 720p30 clip's RTP (pion's H.264 payloader, 1200-byte payloads) through the
// sample builder to AVCC units.
func BenchmarkVideoReceiver(b *testing.B) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg not found")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	units, err := videotest.Clip(ctx, videotest.Options{Seconds: 4, GOP: 60})
	if err != nil {
		b.Fatal(err)
	}
	var pkts []*rtp.Packet
	var pay codecs.H264Payloader
	seq := uint16(0)
	bytes := 0
	for i, u := range units {
		var au h264.AVCC
		if err := au.Unmarshal(u.Payload); err != nil {
			b.Fatal(err)
		}
		annexB, _ := h264.AnnexB(au).Marshal()
		bytes += len(annexB)
		ps := pay.Payload(1200, annexB)
		for k, p := range ps {
			pkts = append(pkts, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(i * 3000),
				Marker: k == len(ps)-1}, Payload: p})
			seq++
		}
	}
	b.ReportAllocs()
	frames := 0
	for b.Loop() {
		v, _ := NewVideoReceiver("video/H264")
		for _, p := range pkts {
			cp := *p
			v.Push(&cp, func(media.Unit, uint32) { frames++ })
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/picture")
	b.ReportMetric(float64(len(pkts))/float64(len(units)), "packets/picture")
	b.ReportMetric(float64(bytes*8/len(units)*30)/1e6, "Mb/s")
}
