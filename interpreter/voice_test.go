package interpreter

import (
	"math"
	"testing"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// toneMic plays a steady tone; a nil-frame mic (gone) returns false.
type toneMic struct {
	freq float64
	gone bool
}

func (m *toneMic) ReadFrame(pts int64) (audio.Frame, bool) {
	if m.gone {
		return audio.Frame{}, false
	}
	return audio.Frame{PTS: pts, Samples: audiotest.Tone(m.freq, 0.5, int(pts), audio.FrameSamples)}, true
}

func runVoice(v *Voice, from int64, frames int) ([]float32, int) {
	var out []float32
	absent := 0
	for i := 0; i < frames; i++ {
		f, ok := v.ReadFrame(from + int64(i*audio.FrameSamples))
		if !ok {
			absent++
			out = append(out, make([]float32, audio.FrameSamples)...)
			continue
		}
		out = append(out, f.Samples...)
	}
	return out, absent
}

func TestVoiceCrossfadeHasNoGap(t *testing.T) {
	v, err := NewVoice(48000)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &toneMic{freq: 300}, &toneMic{freq: 700}
	v.set(&selection{onAir: a, open: true, all: []Mic{a, b}})
	before, absent := runVoice(v, 0, 20)
	v.set(&selection{onAir: b, open: true, all: []Mic{a, b}})
	after, absent2 := runVoice(v, 20*audio.FrameSamples, 20)
	if absent+absent2 != 0 {
		t.Fatalf("voice absent for %d frames around the handover", absent+absent2)
	}
	// Every 5 ms window across the handover carries voice: no gap at all.
	all := append(before, after...)
	win := audio.SampleRate / 200
	for i := audio.FrameSamples; i+win <= len(all); i += win {
		if rms := audio.RMS(all[i : i+win]); rms < 0.25 {
			t.Fatalf("level drops to %.3f at %.1f ms", rms, float64(i)/48)
		}
	}
	// Before: A only. After the 100 ms fade: B only.
	if f, _ := audiotest.DominantFrequency(before[len(before)/2:], audio.SampleRate, 100, 1000, 50); f != 300 {
		t.Fatalf("before handover %.0f Hz, want 300", f)
	}
	tail := after[crossfadeSamples:]
	if amp := audiotest.Goertzel(tail, 300, audio.SampleRate); amp > 0.01 {
		t.Fatalf("A still audible after the cross-fade: %.3f", amp)
	}
	if amp := audiotest.Goertzel(tail, 700, audio.SampleRate); math.Abs(amp-0.5) > 0.05 {
		t.Fatalf("B at %.3f after the cross-fade, want 0.5", amp)
	}
}

func TestVoiceGateRampsAndGoesAbsent(t *testing.T) {
	v, _ := NewVoice(48000)
	a := &toneMic{freq: 440}
	v.set(&selection{onAir: a, open: true, all: []Mic{a}})
	runVoice(v, 0, 5)
	v.set(&selection{onAir: a, open: false, all: []Mic{a}}) // cough
	out, absent := runVoice(v, 5*audio.FrameSamples, 3)
	if absent != 2 {
		t.Fatalf("closed gate: %d absent frames, want 2 (after one ramp frame)", absent)
	}
	// The ramp is 10 ms: no click, the level falls over the first half frame.
	if audio.Peak(out[gateRamp+1:audio.FrameSamples]) != 0 || audio.Peak(out[:gateRamp/2]) < 0.1 {
		t.Fatal("gate does not ramp down over 10 ms")
	}
	v.set(&selection{})
	if _, ok := v.ReadFrame(0); ok {
		t.Fatal("voice with nobody on air")
	}
}

func TestVoicePublishesRelayPackets(t *testing.T) {
	v, _ := NewVoice(48000)
	defer v.Close()
	a := &toneMic{freq: 440}
	v.set(&selection{onAir: a, open: true, all: []Mic{a}})
	sub := v.Packets().Read("test", 10)
	runVoice(v, 0, 3)
	if len(sub.C) != 3 {
		t.Fatalf("%d relay packets, want 3", len(sub.C))
	}
	sub.Close()
}

// TestVoiceSetStampsTheTickThatMixesIt: the program time set returns is that
// of the first tick that reads the new selection, so a state's pts says where
// a handover falls on the program timeline.
func TestVoiceSetStampsTheTickThatMixesIt(t *testing.T) {
	v, _ := NewVoice(48000)
	a, b := &toneMic{freq: 300}, &toneMic{freq: 700}
	if pts := v.set(&selection{onAir: a, open: true, all: []Mic{a, b}}); pts != 0 {
		t.Fatalf("before any tick: pts %d, want 0", pts)
	}
	runVoice(v, 0, 10)
	pts := v.set(&selection{onAir: b, open: true, all: []Mic{a, b}})
	if want := int64(10 * audio.FrameSamples); pts != want {
		t.Fatalf("after 10 ticks: pts %d, want %d", pts, want)
	}
	// The tick at pts is the first to start the cross-fade toward b.
	f, _ := v.ReadFrame(pts)
	if amp := audiotest.Goertzel(f.Samples, 700, audio.SampleRate); amp < 0.01 {
		t.Fatalf("b absent from the tick at pts (%.3f)", amp)
	}
}
