package rtc

import (
	"math/rand/v2"
	"testing"

	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// BenchmarkMic is one interpreter's microphone for one 20 ms tick: the track
// reader pushes the packet, the program clock reads the frame (Opus decode
// included). mics/core is how many microphones one core keeps up with.
func BenchmarkMic(b *testing.B) {
	x := micSpeech(b)
	for _, bc := range []struct {
		name string
		enc  micEncoder
		loss float64
	}{
		{"speech32k", micBrowser, 0},
		{"speech32k-loss5", micBrowser, 0.05},
		{"speech32k-60ms", micEncoder{app: micBrowser.app, bitrate: 32000, frame: 3 * audio.FrameSamples, fec: true}, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			pk := bc.enc.encode(b, x)
			per := bc.enc.frame / audio.FrameSamples // ticks per packet
			clk := audiotest.NewClock()
			m, err := NewMic(clk)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 1))
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 1}}
			seq := 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%per == 0 {
					if rng.Float64() >= bc.loss {
						p.SequenceNumber = uint16(seq)
						p.Timestamp = uint32(seq * bc.enc.frame)
						p.Payload = pk[seq%len(pk)]
						m.Push(p)
					}
					seq++
				}
				clk.Advance(audio.FrameDuration)
				m.ReadFrame(int64(i * audio.FrameSamples))
			}
			if testing.Verbose() {
				b.Logf("N=%d %+v", b.N, m.Stats())
			}
			ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			b.ReportMetric(float64(audio.FrameDuration.Nanoseconds())/ns, "mics/core")
		})
	}
}

// BenchmarkMicPush is the track reader's side alone, roughly what the lock is
// held for per packet (nobody reads, so each packet also drops the oldest).
func BenchmarkMicPush(b *testing.B) {
	pk := micBrowser.encode(b, micSpeech(b)[:10*audio.SampleRate])
	clk := audiotest.NewClock()
	m, err := NewMic(clk)
	if err != nil {
		b.Fatal(err)
	}
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 1}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.SequenceNumber = uint16(i)
		p.Timestamp = uint32(i * audio.FrameSamples)
		p.Payload = pk[i%len(pk)]
		clk.Advance(audio.FrameDuration)
		m.Push(p)
	}
}
