package mixer

import (
	"math"
	"testing"
	"time"

	"tolk/internal/audio"
)

const fs = audio.FrameSamples

// frameOf returns the index of the frame whose end is the first at or after
// sample s: the first meter reading that can show what happened at s.
func frameOf(s int) int { return (s+fs-1)/fs - 1 }

func TestDuckCurve(t *testing.T) {
	const (
		on       = 10 // voice starts at this frame
		length   = 50 // and lasts this many frames
		floorHz  = 100.0
		voiceHz  = 1000.0
		level    = 0.1 // −20 dBFS, far below the limiter
		tolDB    = 0.05
		measTolB = 0.5
	)
	cases := []struct {
		name string
		d    Ducking
	}{
		{"defaults", DefaultDucking()},
		{"deep slow", Ducking{DepthDB: -24, Attack: 50 * time.Millisecond, Hold: 200 * time.Millisecond, Release: time.Second}},
		{"shallow odd", Ducking{DepthDB: -6, Attack: 30 * time.Millisecond, Hold: 510 * time.Millisecond, Release: 410 * time.Millisecond}},
		{"zero durations take defaults", Ducking{DepthDB: -14}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d.withDefaults()
			m, err := New(Config{Lang: "de", Ducking: tc.d})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			total := on + length + int((d.Hold+d.Release)/audio.FrameDuration) + 20
			voice := make([]float32, (on+length)*fs)
			copy(voice[on*fs:], tone(voiceHz, level, length*fs))
			m.SetVoice(&clip{x: voice})
			floor := tone(floorHz, level, total*fs)
			out, ms := run(t, m, floor, total)

			attack, hold, release := int(audio.Samples(d.Attack)), int(audio.Samples(d.Hold)), int(audio.Samples(d.Release))
			onS, offS := on*fs, (on+length)*fs
			wantReach := frameOf(onS + attack)
			wantRelease := frameOf(offS + hold)
			wantFull := frameOf(offS + hold + release)

			reach, release, full := -1, -1, -1
			for k, r := range ms {
				switch {
				case reach < 0 && r.DuckDB <= d.DepthDB+tolDB:
					reach = k
				case reach >= 0 && release < 0 && r.DuckDB > d.DepthDB+tolDB:
					release = k
				case release >= 0 && full < 0 && r.DuckDB >= -tolDB:
					full = k
				}
			}
			t.Logf("depth reached at frame %d (want %d), release from %d (want %d), full at %d (want %d)",
				reach, wantReach, release, wantRelease, full, wantFull)
			for _, c := range []struct {
				what      string
				got, want int
			}{{"depth reached", reach, wantReach}, {"release start", release, wantRelease}, {"full level", full, wantFull}} {
				if c.got < c.want-1 || c.got > c.want+1 {
					t.Errorf("%s at frame %d, want %d ±1", c.what, c.got, c.want)
				}
			}
			for k := range ms {
				if k < on && ms[k].DuckDB != 0 {
					t.Errorf("frame %d: floor ducked %.2f dB before the voice", k, ms[k].DuckDB)
				}
				if k > wantReach && k < wantRelease-1 && math.Abs(ms[k].DuckDB-d.DepthDB) > tolDB {
					t.Errorf("frame %d: floor at %.2f dB while held, want %.1f", k, ms[k].DuckDB, d.DepthDB)
				}
				if ms[k].VoiceActive != (k >= on && k < wantRelease) && k != on-1 && k != wantRelease-1 && k != wantRelease {
					t.Errorf("frame %d: VoiceActive %v", k, ms[k].VoiceActive)
				}
			}

			// The audio agrees with the meter: the floor tone's level in the
			// output, relative to before the voice, is the reported gain in
			// the steady stretches.
			ref := goertzel(out[2*fs:on*fs], floorHz)
			steady := append(rangeOf(wantReach+2, wantRelease-2), rangeOf(wantFull+2, total)...)
			for _, k := range steady {
				if k >= on+length-1 && k <= on+length+1 {
					continue // the voice's edge leaks into the tone measurement
				}
				got := audio.GainToDB(goertzel(out[k*fs:(k+1)*fs], floorHz) / ref)
				if math.Abs(got-ms[k].DuckDB) > measTolB {
					t.Errorf("frame %d: floor tone at %.2f dB in the output, meter says %.2f", k, got, ms[k].DuckDB)
				}
			}
			// The voice passes at its own level.
			if got := goertzel(out[(on+5)*fs:(on+length-1)*fs], voiceHz); math.Abs(audio.GainToDB(got/level)) > 0.1 {
				t.Errorf("voice tone at %.2f dB of its input", audio.GainToDB(got/level))
			}
		})
	}
}

func rangeOf(lo, hi int) []int {
	var r []int
	for k := lo; k < hi; k++ {
		r = append(r, k)
	}
	return r
}

// A voice that goes away (source removed, or no frames) lets the floor come
// back through hold and release, never to silence.
func TestDuckVoiceAbsent(t *testing.T) {
	for _, how := range []string{"SetVoice(nil)", "ReadFrame false"} {
		t.Run(how, func(t *testing.T) {
			m, err := New(Config{Lang: "fr", Ducking: DefaultDucking()})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			endless := &clip{x: tone(700, 0.2, 200*fs)}
			short := &clip{x: tone(700, 0.2, 30*fs)}
			if how == "SetVoice(nil)" {
				m.SetVoice(endless)
			} else {
				m.SetVoice(short)
			}
			floor := tone(100, 0.1, 120*fs)
			var ms []Meters
			for k := 0; k < 120; k++ {
				if k == 30 && how == "SetVoice(nil)" {
					m.SetVoice(nil)
				}
				m.Process(int64(k*fs), frameAt(floor, k))
				ms = append(ms, m.Meters())
			}
			if ms[29].DuckDB != DefaultDepthDB {
				t.Fatalf("floor at %.2f dB while the voice speaks", ms[29].DuckDB)
			}
			wantFull := frameOf(30*fs + int(audio.Samples(DefaultHold+DefaultRelease)))
			for k := 30; k < 120; k++ {
				if k >= wantFull+1 && ms[k].DuckDB != 0 {
					t.Errorf("frame %d: floor at %.2f dB, want full after frame %d", k, ms[k].DuckDB, wantFull)
				}
				if k < wantFull-1 && ms[k].DuckDB >= -0.05 {
					t.Errorf("frame %d: floor back before the release ended", k)
				}
			}
			if how == "ReadFrame false" && m.Stats().VoiceMissing != 90 {
				t.Errorf("VoiceMissing = %d, want 90", m.Stats().VoiceMissing)
			}
		})
	}
}

// The floor gain is continuous sample by sample, across frame boundaries,
// through speech that starts and stops, a removed voice and depth changes.
func TestDuckGainContinuous(t *testing.T) {
	d := newDucker(DefaultDucking())
	g := make([]float32, fs)
	voice := tone(300, 0.3, fs)
	quiet := make([]float32, fs)
	prev := float32(1)
	var worst float64
	depth := DefaultDepthDB
	for k := 0; k < 400; k++ {
		var v []float32
		switch {
		case k%97 < 40:
			v = voice
		case k%97 < 60:
			v = quiet
		}
		if k == 150 {
			depth = -30
		}
		if k == 250 {
			depth = -3
		}
		d.process(v, depth, g)
		for _, x := range g {
			worst = max(worst, math.Abs(float64(x-prev)))
			prev = x
		}
	}
	// The steepest legal move: the attack at the deepest depth used, 30 dB
	// in 20 ms, near 0 dB.
	limit := audio.DBToGain(30.0/float64(audio.Samples(DefaultAttack))) - 1
	t.Logf("largest sample-to-sample gain change %.5f (limit %.5f)", worst, limit)
	if worst > limit*1.05 {
		t.Errorf("gain jumps by %.5f between samples, more than the attack ramp's %.5f", worst, limit)
	}
}

// A producer's depth change glides at the slew rate instead of jumping.
func TestSetDuckDepth(t *testing.T) {
	m, err := New(Config{Lang: "es", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetVoice(&clip{x: tone(500, 0.2, 200*fs)})
	floor := make([]float32, fs)
	for k := 0; k < 10; k++ {
		m.Process(int64(k*fs), floor)
	}
	m.SetDuckDepth(-24)
	m.SetDuckDepth(math.NaN()) // ignored
	var prev = m.Meters().DuckDB
	reached := -1
	for k := 10; k < 60; k++ {
		m.Process(int64(k*fs), floor)
		got := m.Meters().DuckDB
		if step := prev - got; step > 40*0.020+1e-9 {
			t.Fatalf("frame %d: depth jumped %.2f dB in one frame", k, step)
		}
		if reached < 0 && got <= -24+1e-9 {
			reached = k
		}
		prev = got
	}
	// 10 dB at 40 dB/s is 250 ms, 12.5 frames.
	if reached < 10+12 || reached > 10+14 {
		t.Errorf("new depth reached at frame %d, want about %d", reached, 10+13)
	}
}

func TestReleaseNowSkipsHoldAndReturnsFast(t *testing.T) {
	for _, c := range []struct {
		name    string
		release func(m *Mix)
		within  time.Duration
	}{
		{"ReleaseNow", (*Mix).ReleaseNow, FastRelease},
		{"ReleaseWithin(CutRelease)", func(m *Mix) { m.ReleaseWithin(CutRelease) }, CutRelease},
	} {
		m, err := New(Config{Lang: "fr", Ducking: DefaultDucking()})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		floor := make([]float32, audio.FrameSamples)
		voice := &steady{amp: 0.3}
		m.SetVoice(voice)
		var pts int64
		for i := 0; i < 25; i++ { // 500 ms of speech: fully ducked
			m.Process(pts, floor)
			pts += audio.FrameSamples
		}
		if d := m.Meters().DuckDB; d > DefaultDepthDB+0.5 {
			t.Fatalf("%s: not ducked after speech: %.1f dB", c.name, d)
		}
		m.SetVoice(nil)
		c.release(m)
		frames := 0
		for m.Meters().DuckDB < -0.01 {
			m.Process(pts, floor)
			pts += audio.FrameSamples
			frames++
			if frames > 100 {
				t.Fatalf("%s: the floor never came back", c.name)
			}
		}
		// 150 ms is 7.5 frames: full level by the 8th tick, not after hold
		// + release (45 ticks); 80 ms by the 4th.
		if want := int(c.within/audio.FrameDuration) + 1; frames > want || frames < want-1 {
			t.Fatalf("%s: floor back at full after %d frames, want %d", c.name, frames, want)
		}
	}
}

type steady struct{ amp float32 }

func (s *steady) ReadFrame(pts int64) (audio.Frame, bool) {
	f := make([]float32, audio.FrameSamples)
	for i := range f {
		if i%2 == 0 {
			f[i] = s.amp
		} else {
			f[i] = -s.amp
		}
	}
	return audio.Frame{PTS: pts, Samples: f}, true
}

// The floor bed meter reads the floor as listeners hear it under the voice:
// its level, less the floor gain and the ducking.
func TestFloorBedMeter(t *testing.T) {
	m, err := New(Config{Lang: "fr", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	floor := tone(300, 0.1, 400*fs) // -23 dBFS RMS
	_, ms := run(t, m, floor, 50)
	if got := ms[len(ms)-1].FloorBedDB; math.Abs(got-(-23.01)) > 0.2 {
		t.Fatalf("floor bed %.2f dB with no voice, want -23", got)
	}
	m.SetGains(0, -6)
	m.SetVoice(&clip{x: tone(500, 0.2, 400*fs), start: 50 * fs})
	var ms2 []Meters
	for k := 50; k < 150; k++ {
		m.Process(int64(k*fs), frameAt(floor, k))
		ms2 = append(ms2, m.Meters())
	}
	last := ms2[len(ms2)-1]
	if want := -23.01 - 6 + last.DuckDB; last.DuckDB > -13 || math.Abs(last.FloorBedDB-want) > 0.3 {
		t.Fatalf("floor bed %.2f dB under the voice (duck %.2f dB, floor gain -6), want %.2f", last.FloorBedDB, last.DuckDB, want)
	}
}
