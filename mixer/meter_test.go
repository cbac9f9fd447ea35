package mixer

import (
	"math"
	"testing"

	"tolk/internal/audio"
)

func meterOf(x []float32) reading {
	m := newMeter()
	var r reading
	for i := 0; i+fs <= len(x); i += fs {
		r = m.process(x[i : i+fs])
	}
	return r
}

// BS.1770 is anchored so a 997 Hz sine reads its RMS level in dBFS (−3.01 dB
// below its peak) in LUFS. The K-weighting's shelf is +4 dB at the top and
// already +0.69 dB at 1 kHz (the −0.691 in the formula), so highs read about
// 3.3 dB louder than 1 kHz; lows under the 38 Hz high-pass read much quieter.
func TestMeterLoudness(t *testing.T) {
	const amp = 0.1 // −20 dBFS peak, −23.01 dBFS RMS
	cases := []struct {
		hz             float64
		lufsLo, lufsHi float64
	}{
		{997, -23.11, -22.91},
		{10000, -23.01 + 3.0, -23.01 + 3.7},
		{20, -23.01 - 30, -23.01 - 8},
	}
	for _, c := range cases {
		r := meterOf(tone(c.hz, amp, 200*fs))
		t.Logf("%5.0f Hz: peak %.2f dBFS, RMS %.2f dBFS, %.2f LUFS", c.hz, r.peakDB, r.rmsDB, r.lufs)
		if r.lufs < c.lufsLo || r.lufs > c.lufsHi {
			t.Errorf("%.0f Hz sine reads %.2f LUFS, want %.2f..%.2f", c.hz, r.lufs, c.lufsLo, c.lufsHi)
		}
		if math.Abs(r.rmsDB+23.01) > 0.05 {
			t.Errorf("%.0f Hz sine: RMS %.2f dBFS, want -23.01", c.hz, r.rmsDB)
		}
		if math.Abs(r.peakDB+20) > 0.05 {
			t.Errorf("%.0f Hz sine: peak %.2f dBFS, want -20", c.hz, r.peakDB)
		}
	}
}

// The windows: peak and RMS forget after 300 ms, short-term loudness after 3 s,
// and silence reads SilenceDB.
func TestMeterWindows(t *testing.T) {
	m := newMeter()
	loud := tone(997, 0.5, fs)
	quiet := make([]float32, fs)
	var r reading
	for k := 0; k < 100; k++ {
		r = m.process(loud)
	}
	for k := 0; k < 16; k++ {
		r = m.process(quiet)
	}
	if r.peakDB != SilenceDB || r.rmsDB != SilenceDB {
		t.Errorf("300 ms after the tone: peak %.1f, RMS %.1f, want %v", r.peakDB, r.rmsDB, SilenceDB)
	}
	if r.lufs < -15 {
		t.Errorf("short-term loudness %.1f LUFS forgot the tone within 3 s", r.lufs)
	}
	for k := 0; k < 150; k++ {
		r = m.process(quiet)
	}
	if r.lufs != SilenceDB {
		t.Errorf("3 s of silence reads %.1f LUFS", r.lufs)
	}
}

// Mix reports the meters of its output.
func TestMixMeters(t *testing.T) {
	m, err := New(Config{Lang: "it", Floor: true, FloorGainDB: -6})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if got := m.Meters(); got.PeakDB != SilenceDB || got.ShortTermLUFS != SilenceDB {
		t.Errorf("meters before the first tick: %+v", got)
	}
	x := tone(997, 0.2, 200*fs)
	for k := 0; k < 200; k++ {
		m.Process(int64(k*fs), frameAt(x, k))
	}
	got := m.Meters()
	want := audio.GainToDB(0.1)
	if math.Abs(got.PeakDB-want) > 0.05 || math.Abs(got.RMSDB-(want-3.01)) > 0.05 || math.Abs(got.ShortTermLUFS-(want-3.01)) > 0.1 {
		t.Errorf("meters %+v, want peak %.2f, RMS and LUFS %.2f", got, want, want-3.01)
	}
	if got.DuckDB != 0 || got.VoiceActive {
		t.Errorf("floor rendition ducks: %+v", got)
	}
}
