package ingest

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// BenchmarkVideoReader is the floor's video path in tolk per picture: the
// MPEG-TS ffmpeg remuxes to (720p30 H.264, a key frame a second) demuxed by
// mediacommon, each access unit turned into an AVCC unit on the source clock.
// ffmpeg's own remux is not in it (measured as process CPU in benchmarks.md).
func BenchmarkVideoReader(b *testing.B) {
	needFFmpeg(b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	units, err := videotest.Clip(ctx, videotest.Options{Seconds: 4, GOP: 30})
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "v.ts")
	if err := videotest.WriteTS(path, units); err != nil {
		b.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data) / len(units)))
	b.ReportAllocs()
	b.ResetTimer()
	frames := 0
	for b.Loop() {
		s := &sinkVideo{}
		(&videoReader{w: s, log: slog.New(slog.DiscardHandler)}).run(bytes.NewReader(data))
		frames += len(s.units)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(frames), "ns/picture")
	b.ReportMetric(float64(len(data)*8/len(units)*30)/1e6, "Mb/s")
}

// firstAV records when the first audio frame and the first picture came.
type firstAV struct {
	audio, video sync.Once
	a, v         chan time.Time
}

func (f *firstAV) WriteFloor([]float32) {}
func (f *firstAV) WriteFloorAt(uint64, int64, []float32) {
	f.audio.Do(func() { f.a <- time.Now() })
}
func (f *firstAV) WriteVideo(uint64, media.Unit) { f.video.Do(func() { f.v <- time.Now() }) }

// BenchmarkListenerVideoStartup: a live publisher with 720p30 H.264 (key
// frames every second) and AAC, from its start to the first audio frame
// and the first picture at the Writer.
func BenchmarkListenerVideoStartup(b *testing.B) {
	needFFmpeg(b)
	for _, scheme := range []string{"rtmp", "srt"} {
		b.Run(scheme, func(b *testing.B) {
			var ta, tv time.Duration
			for b.Loop() {
				network := map[string]string{"rtmp": "tcp", "srt": "udp"}[scheme]
				port := freePort(b, network)
				url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, testKey)
				if scheme == "srt" {
					url = fmt.Sprintf("srt://127.0.0.1:%d", port)
				}
				src, err := NewListener(url, nil)
				if err != nil {
					b.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				w := &firstAV{a: make(chan time.Time, 1), v: make(chan time.Time, 1)}
				done := make(chan struct{})
				go func() { defer close(done); src.Run(ctx, w) }()
				eventually(b, 10*time.Second, "listener to bind", func() bool { return portBound(b, network, port) })
				start := time.Now()
				pub := startVideoPublisherTo(b, scheme, port, testKey, false)
				for got := 0; got < 2; got++ {
					select {
					case at := <-w.a:
						ta += at.Sub(start)
					case at := <-w.v:
						tv += at.Sub(start)
					case <-ctx.Done():
						b.Fatal("no audio or no picture within the timeout")
					}
				}
				pub.kill()
				cancel()
				<-done
			}
			b.ReportMetric(float64(ta.Milliseconds())/float64(b.N), "ms-to-first-audio")
			b.ReportMetric(float64(tv.Milliseconds())/float64(b.N), "ms-to-first-picture")
		})
	}
}
