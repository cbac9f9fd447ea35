package mixer

import (
	"math"
	"testing"

	"tolk/internal/audio"
)

// voiceActivity marks every frame of voice that has a 1 ms stretch over the
// ducking threshold (silent frames are those without any).
func voiceActivity(voice []float32, thresholdDB float64, frames int) []bool {
	thr := audio.DBToGain(thresholdDB)
	act := make([]bool, frames)
	for k := range act {
		f := frameAt(voice, k)
		for b := 0; b < fs; b += subBlock {
			if audio.RMS(f[b:b+subBlock]) > thr {
				act[k] = true
				break
			}
		}
	}
	return act
}

// checkBed asserts the floor bed's measured gain per frame (NaN where it
// could not be measured) against what the ducking promises for this voice:
// at the depth ±1.5 dB while the voice speaks, held after it stops, and back
// to full (±0.5 dB) within hold + release (+1 frame) of its last sound.
func checkBed(t *testing.T, voice []float32, bedDB []float64, d Ducking) {
	t.Helper()
	frames := len(bedDB)
	act := voiceActivity(voice, d.ThresholdDB, frames)
	loud := func(k int) bool {
		return k >= 0 && audio.RMS(frameAt(voice, k)) > audio.DBToGain(d.ThresholdDB+6)
	}
	holdF := int(d.Hold / audio.FrameDuration)
	backF := int((d.Hold+d.Release)/audio.FrameDuration) + 1
	var speaking, held, full, first int
	for k := 0; k < frames && !act[k]; k++ {
		first = k
	}
	for k := 0; k < frames; k++ {
		if math.IsNaN(bedDB[k]) {
			continue
		}
		switch {
		case k < first-1:
			full++
			if math.Abs(bedDB[k]) > 0.5 {
				t.Errorf("frame %d: bed at %.2f dB before the voice", k, bedDB[k])
			}
		case loud(k) && loud(k-1) && loud(k-2):
			speaking++
			if math.Abs(bedDB[k]-d.DepthDB) > 1.5 {
				t.Errorf("frame %d: bed at %.2f dB while the voice speaks, want %.1f ±1.5", k, bedDB[k], d.DepthDB)
			}
		}
	}
	// Silent runs: held first, full at the end.
	for s := 1; s < frames; s++ {
		if act[s] || !act[s-1] {
			continue
		}
		e := s
		for e < frames && !act[e] {
			e++
		}
		if loud(s-1) && loud(s-2) && loud(s-3) {
			for k := s; k <= s+holdF-2 && k < e; k++ {
				if !math.IsNaN(bedDB[k]) && math.Abs(bedDB[k]-d.DepthDB) > 1.5 {
					t.Errorf("frame %d: bed at %.2f dB during the hold after frame %d", k, bedDB[k], s)
				}
				held++
			}
		}
		for k := s + backF; k < e; k++ {
			if !math.IsNaN(bedDB[k]) {
				full++
				if math.Abs(bedDB[k]) > 0.5 {
					t.Errorf("frame %d: bed at %.2f dB %d ms after the voice stopped at frame %d, want full",
						k, bedDB[k], (k-s)*20, s)
				}
			}
		}
	}
	t.Logf("checked %d speaking, %d held and %d full frames", speaking, held, full)
	if speaking < 50 || held < 10 || full < 50 {
		t.Errorf("too few frames to judge: %d speaking, %d held, %d full", speaking, held, full)
	}
}

// A recorded voice over a steady tone bed the voice lacks: the output carries
// the voice's envelope, and the bed, measured by Goertzel at its frequency,
// sits at the depth while the voice speaks and comes back after.
func TestSpeechOverToneBed(t *testing.T) {
	const bedHz, bedAmp = 12000.0, 0.0316 // −30 dBFS
	voice := speech(t, "voice-a")
	d := DefaultDucking()
	m, err := New(Config{Lang: "en", Ducking: d, VoiceGainDB: -6})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetVoice(&clip{x: voice})
	frames := len(voice)/fs + 100
	out, _ := run(t, m, tone(bedHz, bedAmp, frames*fs), frames)
	out = out[LookaheadSamples:] // align with the inputs

	bed := make([]float64, frames-1)
	for k := range bed {
		f := out[k*fs : (k+1)*fs]
		// The voice's own part at the bed frequency must be far below the
		// ducked bed (20 dB: at most ±0.9 dB of error).
		if v := goertzel(frameAt(voice, k), bedHz) / 2; v > bedAmp*audio.DBToGain(d.DepthDB-20) {
			t.Fatalf("frame %d: the voice has %.1f dBFS at %.0f Hz, too close to the bed", k, audio.GainToDB(v), bedHz)
		}
		bed[k] = audio.GainToDB(goertzel(f, bedHz) / bedAmp)
	}
	checkBed(t, voice, bed, d)

	n := min(len(voice), len(out))
	const win = 480 // 10 ms
	c := corr(envelope(voice[:n], win), envelope(out[:n], win))
	t.Logf("envelope correlation voice/output %.3f", c)
	if c < 0.9 {
		t.Errorf("envelope correlation %.3f, want ≥ 0.9", c)
	}
}

// A recorded voice over a recorded floor: the floor's part of the output is
// what remains after subtracting the voice, and its level against the floor
// input is the bed gain.
func TestSpeechOverFloorClip(t *testing.T) {
	voice := speech(t, "voice-a")
	floor := speech(t, "floor")
	const gv, gf = -6.0, -6.0
	d := DefaultDucking()
	m, err := New(Config{Lang: "en", Ducking: d, VoiceGainDB: gv, FloorGainDB: gf})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetVoice(&clip{x: voice})
	frames := min(len(voice)/fs+100, len(floor)/fs)
	out, _ := run(t, m, floor, frames)
	if p := audio.Peak(out); p >= 0.85 {
		t.Fatalf("output peak %.3f: the limiter would take part, lower the test levels", p)
	}
	out = out[LookaheadSamples:]

	vg := scale(voice, audio.DBToGain(gv))
	fg := scale(floor, audio.DBToGain(gf))
	bed := make([]float64, frames-1)
	for k := range bed {
		in := fg[k*fs : (k+1)*fs]
		rest := make([]float32, fs)
		v := frameAt(vg, k)
		for i := range rest {
			rest[i] = out[k*fs+i] - v[i]
		}
		bed[k] = math.NaN()
		if audio.RMS(in) > audio.DBToGain(-45) {
			bed[k] = audio.GainToDB(audio.RMS(rest) / audio.RMS(in))
		}
	}
	checkBed(t, voice, bed, d)
}
