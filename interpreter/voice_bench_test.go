package interpreter

import (
	"context"
	"path/filepath"
	"testing"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// speech is testdata/voice-a.wav of the repository as 48 kHz mono.
func speech(t testing.TB) []float32 {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	x, err := audiotest.Decode(context.Background(), filepath.Join("..", "testdata", "voice-a.wav"))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// loopMic plays x in a loop, one frame per tick.
type loopMic struct{ x []float32 }

func (m *loopMic) ReadFrame(pts int64) (audio.Frame, bool) {
	k := int(pts/audio.FrameSamples) % (len(m.x) / audio.FrameSamples)
	return audio.Frame{PTS: pts, Samples: m.x[k*audio.FrameSamples : (k+1)*audio.FrameSamples]}, true
}

// BenchmarkVoice is a booth's clean voice for one tick, two interpreters in
// the booth, one on air: without subscribers (what the mix pulls) and with a
// booth taking it as relay (the relay encoder).
func BenchmarkVoice(b *testing.B) {
	x := speech(b)
	for _, relay := range []bool{false, true} {
		name := "mix"
		if relay {
			name = "relay"
		}
		b.Run(name, func(b *testing.B) {
			v, err := NewVoice(64000)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			on, off := &loopMic{x: x}, &loopMic{x: x}
			v.set(&selection{onAir: on, open: true, all: []Mic{on, off}})
			b.ReportAllocs()
			if !relay {
				for i := 0; i < b.N; i++ {
					v.ReadFrame(int64(i * audio.FrameSamples))
				}
				return
			}
			sub := v.Packets().Read("test", 1)
			defer sub.Close()
			for i := 0; i < b.N; i++ {
				v.ReadFrame(int64(i * audio.FrameSamples))
				<-sub.C
			}
		})
	}
}
