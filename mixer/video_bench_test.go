package mixer

import (
	"math"
	"testing"
	"time"

	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
)

// BenchmarkProgramVideo is the program's share of a picture: queued by the
// input, placed on the timeline by the clock and written to the video track
// with one reader.
func BenchmarkProgramVideo(b *testing.B) {
	tl := media.NewTimeline()
	tl.Fix(time.Unix(0, 0))
	p, err := NewProgram(audiotest.NewClock(), tl, nil, []InputConfig{{ID: "main"}}, nil)
	if err != nil {
		b.Fatal(err)
	}
	in := p.inputs[0]
	in.place(0, &floorFrame{clk: 1})
	r := p.Video().Read("bench", 16)
	payload := make([]byte, 8000) // a 2 Mb/s picture at 30/s
	b.ReportAllocs()
	var dts int64
	for b.Loop() {
		dts += 1600
		in.WriteVideo(1, media.Unit{Codec: media.H264, Payload: payload, Key: true, PTS: dts, DTS: dts})
		p.moveVideo(math.MaxInt64)
		<-r.C
	}
	if p.videoFrames.Load() == 0 {
		b.Fatal("no picture written")
	}
}
