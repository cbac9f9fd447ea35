package mixer

import (
	"testing"

	"tolk/internal/audio"
)

// BenchmarkQualityMeter is one floor input's quality measurement per 20 ms
// frame, on signal that is never silent, so every frame runs the spectrum.
func BenchmarkQualityMeter(b *testing.B) {
	x := bursts(-20, -50, 10)
	frames := len(x) / fs
	q := NewQualityMeter()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % frames
		q.Write(x[k*fs : (k+1)*fs])
	}
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(audio.FrameDuration.Nanoseconds())/ns, "inputs/core")
}
