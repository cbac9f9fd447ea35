package audiotest

import (
	"math"
	"testing"

	"tolk/internal/audio"
)

func TestLevelsAndMedian(t *testing.T) {
	x := Tone(1000, 0.5, 0, audio.SampleRate) // 1 s
	lv := Levels(x, 1000, audio.SampleRate, audio.SampleRate/10)
	if len(lv) != 10 {
		t.Fatalf("%d windows, want 10", len(lv))
	}
	// A gap (as a lost packet leaves) pulls one window down, not the median.
	clear(x[audio.SampleRate/10 : audio.SampleRate/5])
	lv = Levels(x, 1000, audio.SampleRate, audio.SampleRate/10)
	if m := Median(lv); math.Abs(m-0.5) > 0.01 {
		t.Errorf("median level %.3f, want 0.5", m)
	}
	if lv[1] > 0.01 {
		t.Errorf("the silent window measures %.3f", lv[1])
	}
	in := []float64{3, 1, 2, 4}
	if m := Median(in); m != 3 || in[0] != 3 {
		t.Errorf("median %v of %v (want 3, input unchanged)", m, in)
	}
	if Median(nil) != 0 {
		t.Error("median of nothing is not 0")
	}
}

func TestOpusPacketsLoopWithoutGap(t *testing.T) {
	pcm := Tone(440, 0.4, 0, audio.FrameSamples*5/2) // 2.5 frames
	pkts, err := OpusPackets(pcm, 32000)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != 3 {
		t.Errorf("%d packets for 2.5 frames, want 3", len(pkts))
	}
	for i, p := range pkts {
		if len(p) < 3 {
			t.Errorf("packet %d is %d bytes", i, len(p))
		}
	}
	if _, err := OpusPackets(nil, 32000); err == nil {
		t.Error("no error for no audio")
	}
}
