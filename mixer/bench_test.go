package mixer

import (
	"fmt"
	"testing"

	"github.com/hraban/opus"

	"tolk/internal/audio"
)

// benchInputs returns the recorded voice and floor cut to the same whole
// number of frames.
func benchInputs(b *testing.B) (voice, floor []float32) {
	voice = speech(b, "voice-a")
	floor = speech(b, "floor")
	n := min(len(voice), len(floor)) / fs * fs
	return voice[:n], floor[:n]
}

// perCore reports how many 20 ms streams one core sustains at this cost.
func perCore(b *testing.B) {
	ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(audio.FrameDuration.Nanoseconds())/ns, "langs/core")
}

// BenchmarkMix is one language's tick without any decode: read the voice,
// duck, mix, limit, meter, encode at the default settings and publish to one
// subscriber.
func BenchmarkMix(b *testing.B) {
	benchMix(b, Config{Lang: "en", Ducking: DefaultDucking()})
}

func benchMix(b *testing.B, cfg Config) {
	voice, floor := benchInputs(b)
	frames := len(floor) / fs
	m, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	m.SetVoice(&clip{x: voice})
	sub := m.Packets().Read("test", 1)
	defer sub.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % frames
		m.Process(int64(k*fs), floor[k*fs:(k+1)*fs])
		<-sub.C
	}
	perCore(b)
}

// BenchmarkMixDSP is the mix without the encoder: side-chain, gains, limiter
// and meters.
func BenchmarkMixDSP(b *testing.B) {
	voice, floor := benchInputs(b)
	frames := len(floor) / fs
	m, err := New(Config{Lang: "en", Ducking: DefaultDucking()})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % frames
		v, f := voice[k*fs:(k+1)*fs], floor[k*fs:(k+1)*fs]
		m.duck.process(v, DefaultDepthDB, m.duckGain[:])
		m.mixInto(v, f, m.gv, m.gf)
		m.lim.process(m.out[:])
		m.meter.process(m.out[:])
	}
	perCore(b)
}

// mixedOutput renders the benchmark's mix once, as the encoder sees it.
func mixedOutput(b *testing.B) []float32 {
	voice, floor := benchInputs(b)
	m, err := New(Config{Lang: "en", Ducking: DefaultDucking()})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	m.SetVoice(&clip{x: voice})
	out, _ := run(b, m, floor, len(floor)/fs)
	return out
}

// BenchmarkOpusEncode is the encoder alone on the mix output at the default
// settings (the part of BenchmarkMix that libopus takes).
func BenchmarkOpusEncode(b *testing.B) {
	benchEncode(b, mixedOutput(b), DefaultBitrate, DefaultComplexity)
}

// BenchmarkOpusEncodeSettings maps encoder cost over bitrate and complexity.
func BenchmarkOpusEncodeSettings(b *testing.B) {
	pcm := mixedOutput(b)
	for _, br := range []int{32000, 48000, 64000, 96000} {
		for _, c := range []int{5, 6, 7, 8, 10} {
			b.Run(fmt.Sprintf("%dk-c%d", br/1000, c), func(b *testing.B) { benchEncode(b, pcm, br, c) })
		}
	}
}

func benchEncode(b *testing.B, pcm []float32, bitrate, complexity int) {
	enc, err := newEncoder(bitrate, complexity)
	if err != nil {
		b.Fatal(err)
	}
	frames := len(pcm) / fs
	buf := make([]byte, maxPacket)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % frames
		if _, err := enc.EncodeFloat32(pcm[k*fs:(k+1)*fs], buf); err != nil {
			b.Fatal(err)
		}
	}
	perCore(b)
}

// BenchmarkOpusDecode decodes the default-settings stream of the mix: the
// cost of an interpreter's voice (or a listener) on the receiving side.
func BenchmarkOpusDecode(b *testing.B) {
	pcm := mixedOutput(b)
	enc, err := newEncoder(DefaultBitrate, DefaultComplexity)
	if err != nil {
		b.Fatal(err)
	}
	var packets [][]byte
	buf := make([]byte, maxPacket)
	for k := 0; k+1 <= len(pcm)/fs; k++ {
		n, err := enc.EncodeFloat32(pcm[k*fs:(k+1)*fs], buf)
		if err != nil {
			b.Fatal(err)
		}
		packets = append(packets, append([]byte(nil), buf[:n]...))
	}
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]float32, fs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := dec.DecodeFloat32(packets[i%len(packets)], out); err != nil {
			b.Fatal(err)
		}
	}
	perCore(b)
}
