package web

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/fmp4"
	"tolk/internal/media"
	"tolk/internal/recording"
)

// recordTone records a run of one language, a 0.4 sine of 440 Hz encoded by
// libopus at 32 kb/s, d long, and opens it.
func recordTone(b *testing.B, d time.Duration) (*recording.Reader, uint32) {
	b.Helper()
	lib := recording.NewLibrary(b.TempDir())
	rec, err := recording.New(recording.Options{Library: lib, Event: "bench", Audio: []recording.Lang{{Tag: "en", Name: "English"}},
		Epoch: func() (time.Time, bool) { return time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC), true }, SyncEvery: -1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.SetBitrate(32000); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 1500)
	for pts := int64(0); pts < audio.Samples(d); pts += audio.FrameSamples {
		n, err := enc.EncodeFloat32(audiotest.Tone(440, 0.4, int(pts), audio.FrameSamples), buf)
		if err != nil {
			b.Fatal(err)
		}
		rec.WritePacket("en", media.Unit{PTS: pts, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)})
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	rd, err := lib.Open("bench", rec.Status().Run)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rd.Close() })
	t, ok := rd.Track(fmp4.Audio, "en")
	if !ok {
		b.Fatal("no English track")
	}
	return rd, t.ID
}

// BenchmarkBlockLevels is what the editor's strip costs the server when a
// block is not cached yet: 60 s of one language read from the run file,
// decoded by libopus and measured every 100 ms.
func BenchmarkBlockLevels(b *testing.B) {
	rd, track := recordTone(b, 70*time.Second)
	b.ResetTimer()
	for b.Loop() {
		lv, err := blockLevels(rd, track, 0)
		if err != nil || len(lv) != 600 || lv[300] != -11 {
			b.Fatalf("%v %d %v", err, len(lv), lv[300])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/60, "µs/audio-second")
}
