package mixer

import (
	"math"
	"testing"

	"github.com/hraban/opus"

	"tolk/internal/audio"
)

// Decoding the published packets gives back the mix: same level, same
// waveform once the codec's delay is taken out.
func TestOpusRoundTrip(t *testing.T) {
	voice := speech(t, "voice-a")
	floor := speech(t, "floor")
	for _, c := range []struct{ bitrate, complexity int }{{0, 0}, {48000, 5}, {32000, 10}} {
		m, err := New(Config{Lang: "en", Ducking: DefaultDucking(), VoiceGainDB: -3, FloorGainDB: -6, Bitrate: c.bitrate, Complexity: c.complexity})
		if err != nil {
			t.Fatal(err)
		}
		m.SetVoice(&clip{x: voice})
		frames := min(len(voice), len(floor)) / fs
		pkts := m.Packets().Read("test", frames)
		pcm := m.PCM().Read("test", frames)
		for k := 0; k < frames; k++ {
			m.Process(int64(k*fs), frameAt(floor, k))
		}
		m.Close()

		dec, err := opus.NewDecoder(audio.SampleRate, 1)
		if err != nil {
			t.Fatal(err)
		}
		var mixed, decoded []float32
		var bytes int
		buf := make([]float32, fs)
		next := int64(0)
		for p := range pkts.C {
			if p.PTS != next {
				t.Fatalf("packet PTS %d, want %d", p.PTS, next)
			}
			next += fs
			bytes += len(p.Payload)
			n, err := dec.DecodeFloat32(p.Payload, buf)
			if err != nil || n != fs {
				t.Fatalf("decode packet %d: %d samples, %v", p.PTS/fs, n, err)
			}
			decoded = append(decoded, buf...)
		}
		for f := range pcm.C {
			mixed = append(mixed, f.PCM...)
		}
		if len(decoded) != frames*fs || len(mixed) != frames*fs {
			t.Fatalf("got %d decoded and %d mixed samples, want %d", len(decoded), len(mixed), frames*fs)
		}
		if s := m.Stats(); s.Frames != uint64(frames) || s.PacketsDropped != 0 || s.EncodeErrors != 0 {
			t.Errorf("stats %+v", s)
		}

		lag := bestLag(mixed[audio.SampleRate:3*audio.SampleRate], decoded[audio.SampleRate:3*audio.SampleRate], 1000)
		a, b := mixed[:len(mixed)-lag], decoded[lag:]
		level := audio.GainToDB(audio.RMS(b) / audio.RMS(a))
		r := corr(f64(a), f64(b))
		kbps := float64(bytes*8) / (float64(frames) * 0.020) / 1000
		t.Logf("bitrate %d complexity %d: %.1f kb/s, codec delay %d samples, level %+.2f dB, correlation %.4f",
			m.cfg.Bitrate, m.cfg.Complexity, kbps, lag, level, r)
		if math.Abs(level) > 1 {
			t.Errorf("decoded level %+.2f dB off the mix", level)
		}
		if r < 0.95 {
			t.Errorf("decoded/mix correlation %.4f, want ≥ 0.95", r)
		}
		if math.Abs(kbps*1000-float64(m.cfg.Bitrate)) > 0.25*float64(m.cfg.Bitrate) {
			t.Errorf("stream at %.1f kb/s for a %d b/s setting", kbps, m.cfg.Bitrate)
		}
	}
}

// bestLag returns the delay of b against a (0..max samples) with the largest
// cross-correlation.
func bestLag(a, b []float32, maxLag int) int {
	best, bestV := 0, math.Inf(-1)
	n := len(a) - maxLag
	for lag := 0; lag <= maxLag; lag++ {
		var s float64
		for i := 0; i < n; i++ {
			s += float64(a[i]) * float64(b[i+lag])
		}
		if s > bestV {
			best, bestV = lag, s
		}
	}
	return best
}
