package mixer

import (
	"encoding/json"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"sync"
	"testing"

	"tolk/internal/audio"
)

// qualityOf feeds x to a new meter in whole frames and returns the reading
// after the last one.
func qualityOf(x []float32) InputQuality {
	q := NewQualityMeter()
	for i := 0; i+fs <= len(x); i += fs {
		q.Write(x[i : i+fs])
	}
	return q.Read()
}

// checkFinite fails unless every number of r is finite and r encodes as JSON.
func checkFinite(t testing.TB, r InputQuality) {
	t.Helper()
	if err := finite(r); err != nil {
		t.Fatal(err)
	}
}

func finite(r InputQuality) error {
	for name, v := range map[string]float64{
		"loudness": r.LoudnessLUFS, "peak": r.PeakDB, "clip ratio": r.ClipRatio,
		"noise floor": r.NoiseFloorDB, "speech": r.SpeechDB, "SNR": r.SNRDB, "bandwidth": r.BandwidthHz,
	} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s is %v in %+v", name, v, r)
		}
	}
	if _, err := json.Marshal(r); err != nil {
		return fmt.Errorf("reading does not encode: %w", err)
	}
	return nil
}

// noise returns n samples of Gaussian white noise at the given RMS level in dBFS.
func noise(seed uint64, db float64, n int) []float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	g := audio.DBToGain(db)
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(g * rng.NormFloat64())
	}
	return x
}

// lowpass filters x with a 255-tap windowed-sinc FIR (Blackman window: over
// 70 dB down from about 1 kHz above the cutoff), scaled so the passband
// keeps its level.
func lowpass(x []float32, cutoffHz float64) []float32 {
	const taps = 255
	var h [taps]float64
	fc := cutoffHz / audio.SampleRate
	for i := range h {
		m := float64(i - taps/2)
		s := 2 * fc
		if m != 0 {
			s = math.Sin(2*math.Pi*fc*m) / (math.Pi * m)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/(taps-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/(taps-1))
		h[i] = s * w
	}
	y := make([]float32, len(x))
	for n := range y {
		var acc float64
		for i := 0; i < taps && i <= n; i++ {
			acc += h[i] * float64(x[n-i])
		}
		y[n] = float32(acc)
	}
	return y
}

// add returns a + b, as long as the shorter.
func add(a, b []float32) []float32 {
	o := make([]float32, min(len(a), len(b)))
	for i := range o {
		o[i] = a[i] + b[i]
	}
	return o
}

// bursts is speech as the meter sees it: 0.2-0.6 s bursts of tone or noise at
// speechDB RMS with 0.15-0.5 s pauses, over white noise at noiseDB, for secs.
func bursts(speechDB, noiseDB float64, secs int) []float32 {
	n := secs * audio.SampleRate
	x := noise(7, noiseDB, n)
	rng := rand.New(rand.NewPCG(11, 2))
	g := audio.DBToGain(speechDB)
	for i, b := 0, 0; i < n; b++ {
		i += int((0.15 + 0.35*rng.Float64()) * audio.SampleRate)
		l := min(int((0.2+0.4*rng.Float64())*audio.SampleRate), n-i)
		if l <= 0 {
			break
		}
		var burst []float32
		if b%2 == 0 {
			burst = tone(200+1800*rng.Float64(), g*math.Sqrt2, l)
		} else {
			burst = noise(uint64(b), speechDB, l)
		}
		for j, v := range burst {
			x[i+j] += v
		}
		i += l
	}
	return x
}

// sineClippedAt is a full-scale 997 Hz sine cut flat at ±level.
func sineClippedAt(level float64, n int) []float32 {
	x := tone(997, 1, n)
	for i, v := range x {
		x[i] = float32(math.Max(-level, math.Min(level, float64(v))))
	}
	return x
}

// quantize16 rounds x to 16-bit PCM steps, as a WAV file or an s16 decoder
// delivers it.
func quantize16(x []float32) []float32 {
	o := make([]float32, len(x))
	for i, v := range x {
		o[i] = float32(audio.Int16(v)) / math.MaxInt16
	}
	return o
}

// Level, loudness and clipping of test tones. Loudness follows the mix meters'
// BS.1770 (a 997 Hz sine reads its RMS level, 3.01 dB under its peak);
// full-scale samples count as clipped, and so do flat tops below full scale,
// but not the short runs of equal values a 16-bit low tone has at its crest.
func TestQualityLevelsAndClipping(t *testing.T) {
	const n = 200 * fs
	cases := []struct {
		name         string
		x            []float32
		peak, lufs   float64 // want, ±0.1 dB
		clipping     bool
		ratioAtLeast float64
	}{
		{"-20 dBFS sine", tone(997, 0.1, n), -20, -23.01, false, 0},
		{"0 dBFS sine", tone(997, 1, n), 0, -3.01, true, 0.02},
		{"-1 dBFS sine", tone(997, audio.DBToGain(-1), n), -1, -4.01, false, 0},
		{"sine at +6 dB clipped to full scale", scale(sineClippedAt(0.5, n), 2), 0, math.NaN(), true, 0.6},
		{"sine clipped at -4.4 dBFS", sineClippedAt(0.6, n), -4.44, math.NaN(), true, 0.3},
		{"16-bit 30 Hz sine at -1 dBFS", quantize16(tone(30, audio.DBToGain(-1), n)), -1, math.NaN(), false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := qualityOf(c.x)
			t.Logf("%+v", r)
			checkFinite(t, r)
			if math.Abs(r.PeakDB-c.peak) > 0.1 {
				t.Errorf("peak %.2f dBFS, want %.2f", r.PeakDB, c.peak)
			}
			if !math.IsNaN(c.lufs) {
				if math.Abs(r.LoudnessLUFS-c.lufs) > 0.1 {
					t.Errorf("loudness %.2f LUFS, want %.2f", r.LoudnessLUFS, c.lufs)
				}
				// The same signal on the mix meter reads the same.
				if m := meterOf(c.x); math.Abs(m.lufs-r.LoudnessLUFS) > 0.01 {
					t.Errorf("loudness %.3f LUFS, the mix meter reads %.3f", r.LoudnessLUFS, m.lufs)
				}
			}
			if r.Clipping != c.clipping {
				t.Errorf("clipping %v, want %v", r.Clipping, c.clipping)
			}
			if c.clipping && r.ClipRatio < c.ratioAtLeast {
				t.Errorf("clip ratio %.3f, want at least %.3f", r.ClipRatio, c.ratioAtLeast)
			}
			if !c.clipping && r.ClipRatio != 0 {
				t.Errorf("clip ratio %g on an unclipped signal", r.ClipRatio)
			}
			if c.clipping && r.Verdict != QualityPoor {
				t.Errorf("verdict %q on a clipped signal, want %q", r.Verdict, QualityPoor)
			}
		})
	}
}

// The bandwidth of noise low-passed at a telephone, a wideband and no cutoff,
// also when one frame holds a full-scale click.
func TestQualityBandwidth(t *testing.T) {
	const n = 6 * audio.SampleRate
	click := func(x []float32) []float32 {
		x = append([]float32(nil), x...)
		x[100*fs+480] = 1
		return x
	}
	phone := lowpass(noise(1, -20, n), 3400)
	cases := []struct {
		name   string
		x      []float32
		lo, hi float64
	}{
		{"telephone 3.4 kHz", phone, 3000, 4500},
		{"telephone with a click", click(phone), 3000, 4500},
		{"wideband 8 kHz", lowpass(noise(2, -20, n), 8000), 7000, 9000},
		{"full band", noise(3, -20, n), 15000, 24000},
		{"full band at -70 dBFS", noise(4, -70, n), 15000, 24000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := qualityOf(c.x)
			t.Logf("bandwidth %.0f Hz", r.BandwidthHz)
			checkFinite(t, r)
			if r.BandwidthHz < c.lo || r.BandwidthHz > c.hi {
				t.Errorf("bandwidth %.0f Hz, want %.0f..%.0f", r.BandwidthHz, c.lo, c.hi)
			}
		})
	}
}

// The bandwidth is not guessed from the first frames: it needs 1.5 s of signal.
func TestQualityBandwidthWaitsForSignal(t *testing.T) {
	q := NewQualityMeter()
	x := noise(5, -20, 2*audio.SampleRate)
	for k := 0; k < len(x)/fs; k++ {
		q.Write(x[k*fs : (k+1)*fs])
		bw := q.Read().BandwidthHz
		if k < minBlocks*blockFrames-1 && bw != 0 {
			t.Fatalf("frame %d: bandwidth %.0f Hz before 1.5 s of signal", k, bw)
		}
		if k >= minBlocks*blockFrames-1 && bw < 15000 {
			t.Fatalf("frame %d: bandwidth %.0f Hz on white noise", k, bw)
		}
	}
}

// Speech-like bursts over a steady noise floor: the floor, the speech level
// and the SNR between them.
func TestQualitySNR(t *testing.T) {
	cases := []struct {
		speechDB, noiseDB float64
		verdict           string
	}{
		{-20, -60, QualityGood},
		{-20, -40, QualityFair},
		{-20, -30, QualityPoor},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%.0f over %.0f dB", c.speechDB, c.noiseDB), func(t *testing.T) {
			r := qualityOf(bursts(c.speechDB, c.noiseDB, 12))
			t.Logf("%+v", r)
			checkFinite(t, r)
			if math.Abs(r.NoiseFloorDB-c.noiseDB) > 1 {
				t.Errorf("noise floor %.1f dB, want %.0f ±1", r.NoiseFloorDB, c.noiseDB)
			}
			if math.Abs(r.SpeechDB-c.speechDB) > 2 {
				t.Errorf("speech %.1f dB, want %.0f ±2", r.SpeechDB, c.speechDB)
			}
			if want := c.speechDB - c.noiseDB; math.Abs(r.SNRDB-want) > 3 {
				t.Errorf("SNR %.1f dB, want %.0f ±3", r.SNRDB, want)
			}
			if r.Clipping || r.ClipRatio != 0 {
				t.Errorf("clipping %v (%g) on a clean signal", r.Clipping, r.ClipRatio)
			}
			if r.Verdict != c.verdict {
				t.Errorf("verdict %q, want %q", r.Verdict, c.verdict)
			}
		})
	}
}

// Silence reads as silence: before any frame, on digital silence, on a DC
// offset, and 10 s after the signal stopped.
func TestQualitySilence(t *testing.T) {
	silent := func(t *testing.T, r InputQuality) {
		t.Helper()
		checkFinite(t, r)
		if r.NoiseFloorDB != SilenceDB || r.SpeechDB != SilenceDB || r.SNRDB != 0 || r.BandwidthHz != 0 ||
			r.ClipRatio != 0 || r.Clipping || r.Verdict != QualitySilent {
			t.Errorf("not silent: %+v", r)
		}
	}
	t.Run("new", func(t *testing.T) {
		r := NewQualityMeter().Read()
		silent(t, r)
		if r.LoudnessLUFS != SilenceDB || r.PeakDB != SilenceDB {
			t.Errorf("loudness %v, peak %v before any frame", r.LoudnessLUFS, r.PeakDB)
		}
	})
	t.Run("zeros", func(t *testing.T) {
		r := qualityOf(make([]float32, 600*fs))
		silent(t, r)
		if r.LoudnessLUFS != SilenceDB || r.PeakDB != SilenceDB {
			t.Errorf("loudness %v, peak %v on zeros", r.LoudnessLUFS, r.PeakDB)
		}
	})
	t.Run("DC offset", func(t *testing.T) {
		x := make([]float32, 600*fs)
		for i := range x {
			x[i] = 0.01
		}
		r := qualityOf(x)
		silent(t, r)
		if r.LoudnessLUFS != SilenceDB || math.Abs(r.PeakDB+40) > 0.01 {
			t.Errorf("loudness %v, peak %v on a DC offset of -40 dBFS", r.LoudnessLUFS, r.PeakDB)
		}
	})
	t.Run("after a clipped signal", func(t *testing.T) {
		x := append(scale(sineClippedAt(0.5, 300*fs), 2), make([]float32, (qualityLevelFrames+10)*fs)...)
		r := qualityOf(x)
		silent(t, r)
		if r.LoudnessLUFS != SilenceDB || r.PeakDB != SilenceDB {
			t.Errorf("loudness %v, peak %v 10 s after the signal", r.LoudnessLUFS, r.PeakDB)
		}
	})
}

// Recorded speech (flite voices at 16 kHz, so about 8 kHz of band, peaks
// normalised to -3 dBFS, digital silence between sentences) reads plausibly.
func TestQualitySpeech(t *testing.T) {
	for _, name := range []string{"voice-a", "voice-b", "floor"} {
		t.Run(name, func(t *testing.T) {
			x := speech(t, name)
			q := NewQualityMeter()
			peak, loud := SilenceDB, SilenceDB
			for k := 0; k+1 <= len(x)/fs; k++ {
				q.Write(x[k*fs : (k+1)*fs])
				r := q.Read()
				checkFinite(t, r)
				peak, loud = max(peak, r.PeakDB), max(loud, r.LoudnessLUFS)
				if r.Clipping {
					t.Fatalf("frame %d: clipping", k)
				}
			}
			r := q.Read()
			t.Logf("max peak %.2f dBFS, max loudness %.1f LUFS, at the end %+v", peak, loud, r)
			if math.Abs(peak+3) > 0.6 {
				t.Errorf("peak %.2f dBFS, want -3 (the fixtures' normalisation)", peak)
			}
			if loud < -28 || loud > -10 {
				t.Errorf("loudness up to %.1f LUFS, want -28..-10", loud)
			}
			if r.BandwidthHz < 7000 || r.BandwidthHz > 8000 {
				t.Errorf("bandwidth %.0f Hz, want 7-8 kHz", r.BandwidthHz)
			}
			if r.SpeechDB < -30 || r.SpeechDB > -10 {
				t.Errorf("speech at %.1f dBFS, want -30..-10", r.SpeechDB)
			}
			if r.SNRDB < 20 {
				t.Errorf("SNR %.1f dB on noiseless speech", r.SNRDB)
			}
			if r.Verdict != QualityFair {
				t.Errorf("verdict %q on wideband speech, want %q", r.Verdict, QualityFair)
			}
		})
	}
}

// Recorded speech over white noise at a known level: the noise floor reads
// that level (the pauses are noise alone) and the SNR follows. Noise within
// 60 dB of the voice's spectral peak fills the band above its 8 kHz.
func TestQualitySpeechInNoise(t *testing.T) {
	x := speech(t, "voice-a")
	clean := qualityOf(x)
	cases := []struct {
		noiseDB float64
		bwLo    float64
		bwHi    float64
	}{
		{-75, 7000, 8000},
		{-45, 15000, 24000},
		{-30, 15000, 24000},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("noise at %.0f dBFS", c.noiseDB), func(t *testing.T) {
			r := qualityOf(add(x, noise(9, c.noiseDB, len(x))))
			t.Logf("%+v", r)
			checkFinite(t, r)
			if math.Abs(r.NoiseFloorDB-c.noiseDB) > 1.5 {
				t.Errorf("noise floor %.1f dBFS, want %.0f ±1.5", r.NoiseFloorDB, c.noiseDB)
			}
			if want := clean.SpeechDB - c.noiseDB; math.Abs(r.SNRDB-want) > 2 {
				t.Errorf("SNR %.1f dB, want %.1f ±2", r.SNRDB, want)
			}
			if r.BandwidthHz < c.bwLo || r.BandwidthHz > c.bwHi {
				t.Errorf("bandwidth %.0f Hz, want %.0f..%.0f", r.BandwidthHz, c.bwLo, c.bwHi)
			}
		})
	}
}

// Frames of the wrong length are counted and change nothing.
func TestQualityIgnoresBadFrames(t *testing.T) {
	q := NewQualityMeter()
	loud := tone(997, 0.5, fs+1)
	for _, f := range [][]float32{nil, {}, loud[:fs-1], loud, make([]float32, 2*fs)} {
		q.Write(f)
	}
	r := q.Read()
	if r.IgnoredFrames != 5 {
		t.Errorf("ignored %d frames, want 5", r.IgnoredFrames)
	}
	if r.PeakDB != SilenceDB || r.Verdict != QualitySilent {
		t.Errorf("bad frames were measured: %+v", r)
	}
	q.Write(loud[:fs])
	if r := q.Read(); math.Abs(r.PeakDB+6.02) > 0.01 || r.IgnoredFrames != 5 {
		t.Errorf("after a good frame: %+v", r)
	}
}

// Write runs on the tick goroutine: it must not allocate.
func TestQualityWriteDoesNotAllocate(t *testing.T) {
	q := NewQualityMeter()
	x := noise(6, -20, 2*fs)
	k := 0
	if a := testing.AllocsPerRun(200, func() {
		q.Write(x[(k%2)*fs : (k%2+1)*fs])
		k++
	}); a != 0 {
		t.Errorf("Write allocates %.1f times per frame", a)
	}
}

// Read is safe while Write runs, and sees whole readings.
func TestQualityConcurrentRead(t *testing.T) {
	q := NewQualityMeter()
	x := bursts(-20, -50, 4)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := q.Read()
				if err := finite(r); err != nil {
					t.Error(err)
					return
				}
				if r.SNRDB != r.SpeechDB-r.NoiseFloorDB && r.Verdict != QualitySilent {
					t.Errorf("torn reading: %+v", r)
					return
				}
			}
		}()
	}
	for k := 0; k < len(x)/fs; k++ {
		q.Write(x[k*fs : (k+1)*fs])
	}
	close(stop)
	wg.Wait()
}

// The real FFT agrees with a direct DFT of the windowed samples.
func TestQualitySpectrumMatchesDFT(t *testing.T) {
	q := NewQualityMeter()
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range q.ring {
		q.ring[i] = rng.Float64()*2 - 1
	}
	q.pos = 100 // the oldest sample is not at 0
	q.spectrum()
	var worst float64
	for k := 0; k <= fftM; k++ {
		var sum complex128
		for n := 0; n < fftN; n++ {
			x := q.ring[(q.pos+n)%fftN] * q.tab.hann[n]
			sum += complex(x, 0) * cmplx.Exp(complex(0, -2*math.Pi*float64(k*n)/fftN))
		}
		want := real(sum)*real(sum) + imag(sum)*imag(sum)
		worst = max(worst, math.Abs(q.acc[k]-want)/max(want, 1e-9))
	}
	if worst > 1e-9 {
		t.Errorf("power spectrum off the DFT by up to %g (relative)", worst)
	}
}

// The verdict is the worst of its three judgements.
func TestQualityVerdict(t *testing.T) {
	good := InputQuality{SpeechDB: -20, NoiseFloorDB: -60, SNRDB: 40, BandwidthHz: 16000}
	cases := []struct {
		name string
		edit func(*InputQuality)
		want string
	}{
		{"clean fullband", func(*InputQuality) {}, QualityGood},
		{"silent", func(r *InputQuality) { r.SpeechDB, r.NoiseFloorDB, r.SNRDB = SilenceDB, SilenceDB, 0 }, QualitySilent},
		{"SNR 29 dB", func(r *InputQuality) { r.SNRDB = 29 }, QualityFair},
		{"SNR 14 dB", func(r *InputQuality) { r.SNRDB = 14 }, QualityPoor},
		{"a clipped sample", func(r *InputQuality) { r.ClipRatio = 1e-6 }, QualityFair},
		{"0.1% clipped", func(r *InputQuality) { r.ClipRatio = 1e-3 }, QualityPoor},
		{"wideband", func(r *InputQuality) { r.BandwidthHz = 7800 }, QualityFair},
		{"telephone", func(r *InputQuality) { r.BandwidthHz = 3600 }, QualityPoor},
		{"bandwidth not known yet", func(r *InputQuality) { r.BandwidthHz = 0 }, QualityGood},
		{"wideband and noisy", func(r *InputQuality) { r.BandwidthHz, r.SNRDB = 7800, 10 }, QualityPoor},
	}
	for _, c := range cases {
		r := good
		c.edit(&r)
		if got := verdict(&r); got != c.want {
			t.Errorf("%s: verdict %q, want %q", c.name, got, c.want)
		}
	}
}

// Any bytes as samples, NaN and infinities included, in frames of any length:
// no panic, and every reading is finite.
func FuzzQualityMeter(f *testing.F) {
	f.Add([]byte{0, 0, 0xc0, 0x7f, 0, 0, 0x80, 0x7f, 0, 0, 0x80, 0xff}) // NaN, +Inf, -Inf
	f.Add([]byte{0xff, 0xff, 0x7f, 0x7f, 1, 0, 0, 0})                   // MaxFloat32, a denormal
	f.Add(make([]byte, 4*fs))
	f.Add([]byte{0, 0, 0x80, 0x3f, 0, 0, 0x80, 0xbf}) // +1, -1
	f.Fuzz(func(t *testing.T, data []byte) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		q := NewQualityMeter()
		q.Write(x) // whatever its length
		if len(x) == 0 {
			return
		}
		frame := make([]float32, fs)
		for k := 0; k <= minBlocks*blockFrames; k++ {
			for i := range frame {
				frame[i] = x[(k*fs+i)%len(x)]
			}
			q.Write(frame)
			if k%10 == 0 {
				checkFinite(t, q.Read())
			}
		}
		checkFinite(t, q.Read())
	})
}
