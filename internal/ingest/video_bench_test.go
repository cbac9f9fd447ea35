package ingest

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

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
