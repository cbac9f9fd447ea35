package mixer

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"tolk/internal/audio"
)

// counting is a Source that counts its reads.
type counting struct {
	clip
	reads atomic.Int64
}

func (c *counting) ReadFrame(pts int64) (audio.Frame, bool) {
	c.reads.Add(1)
	return c.clip.ReadFrame(pts)
}

func TestFloorRendition(t *testing.T) {
	m, err := New(Config{Lang: "floor", Floor: true, FloorGainDB: -3, Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	v := &counting{clip: clip{x: tone(500, 0.5, 100*fs)}}
	m.SetVoice(v)
	floor := speech(t, "floor")[:100*fs]
	out, ms := run(t, m, floor, 100)
	if v.reads.Load() != 0 {
		t.Errorf("floor rendition read its voice %d times", v.reads.Load())
	}
	want := delayed(scale(floor, audio.DBToGain(-3)), LookaheadSamples)
	var worst float64
	for i := range out {
		worst = max(worst, math.Abs(float64(out[i]-want[i])))
	}
	if worst > 1e-6 {
		t.Errorf("floor rendition differs from the gained floor by %g", worst)
	}
	for k, r := range ms {
		if r.DuckDB != 0 || r.VoiceActive {
			t.Fatalf("frame %d: floor rendition ducks: %+v", k, r)
		}
	}
}

// Gains set while running ramp over one frame and land exactly.
func TestSetGains(t *testing.T) {
	m, err := New(Config{Lang: "nl", Ducking: Ducking{DepthDB: 0}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.SetVoice(&clip{x: tone(1000, 0.1, 100*fs)})
	floor := tone(100, 0.1, 100*fs)
	sub := m.PCM().Read("test", 100)
	defer sub.Close()
	for k := 0; k < 100; k++ {
		if k == 50 {
			m.SetGains(-6, -12)
		}
		m.Process(int64(k*fs), frameAt(floor, k))
	}
	var out []float32
	for k := 0; k < 100; k++ {
		out = append(out, (<-sub.C).PCM...)
	}
	out = out[LookaheadSamples:]
	for _, c := range []struct {
		frame   int
		hz, dB  float64
		comment string
	}{{40, 1000, 0, "voice before"}, {40, 100, 0, "floor before"}, {60, 1000, -6, "voice after"}, {60, 100, -12, "floor after"}} {
		got := audio.GainToDB(goertzel(out[c.frame*fs:(c.frame+1)*fs], c.hz) / 0.1)
		if math.Abs(got-c.dB) > 0.1 {
			t.Errorf("%s: %.2f dB, want %.0f", c.comment, got, c.dB)
		}
	}
	// The change is a ramp: no sample-to-sample jump bigger than the signals' own.
	for i := 50*fs - 10; i < 51*fs+10; i++ {
		if d := math.Abs(float64(out[i] - out[i-1])); d > 0.03 {
			t.Fatalf("sample %d jumps by %.3f", i, d)
		}
	}
}

// Nothing a source hands over can crash the mix or push it past the ceiling.
func TestBadInput(t *testing.T) {
	m, err := New(Config{Lang: "pt", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	sub := m.PCM().Read("test", 16)
	defer sub.Close()
	nasty := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 1e30, -1e30, 0.5}
	long := make([]float32, 3*fs)
	for i := range long {
		long[i] = nasty[i%len(nasty)]
	}
	voices := []Source{nil, &clip{x: long}, fixed(long[:100]), fixed(nil), fixed(long)}
	floors := [][]float32{nil, {}, long[:17], long, long[:fs]}
	k := 0
	for _, v := range voices {
		m.SetVoice(v)
		for _, f := range floors {
			m.Process(int64(k*fs), f)
			k++
			got := <-sub.C
			for i, s := range got.PCM {
				if !(math.Abs(float64(s)) <= float64(ceiling)) {
					t.Fatalf("tick %d sample %d: %v", k, i, s)
				}
			}
		}
	}
	if r := m.Meters(); r.LimiterDB > -20 {
		t.Errorf("limiter reduction %.1f dB on huge input", r.LimiterDB)
	}
	// And it recovers: a clean tone afterwards comes through untouched.
	m.SetVoice(nil)
	x := tone(440, 0.3, 100*fs)
	var last []float32
	for j := 0; j < 100; j++ {
		m.Process(int64((k+j)*fs), frameAt(x, j))
		last = (<-sub.C).PCM
	}
	if got := audio.GainToDB(goertzel(last, 440) / 0.3); math.Abs(got) > 0.05 {
		t.Errorf("clean tone at %.2f dB after bad input", got)
	}
	if r := m.Meters(); r.LimiterDB != 0 {
		t.Errorf("limiter still reducing %.3f dB on a clean tone", r.LimiterDB)
	}
}

// fixed is a Source that always returns the same samples, whatever length.
type fixed []float32

func (f fixed) ReadFrame(pts int64) (audio.Frame, bool) {
	return audio.Frame{PTS: pts, Samples: f}, true
}

func TestNewRejects(t *testing.T) {
	for name, cfg := range map[string]Config{
		"positive depth":     {Ducking: Ducking{DepthDB: 3}},
		"NaN depth":          {Ducking: Ducking{DepthDB: math.NaN()}},
		"negative hold":      {Ducking: Ducking{Hold: -time.Second}},
		"positive thresh":    {Ducking: Ducking{ThresholdDB: 6}},
		"huge voice gain":    {VoiceGainDB: 40},
		"NaN floor gain":     {FloorGainDB: math.NaN()},
		"tiny bitrate":       {Bitrate: 1000},
		"complexity 11":      {Complexity: 11},
		"negative bitrate":   {Bitrate: -64000},
		"complexity -1":      {Complexity: -1},
		"everything at once": {Bitrate: 1, Complexity: 99, VoiceGainDB: 99},
	} {
		if m, err := New(cfg); err == nil {
			m.Close()
			t.Errorf("%s: accepted", name)
		}
	}
	m, err := New(Config{})
	if err != nil {
		t.Fatalf("zero config: %v", err)
	}
	defer m.Close()
	if m.cfg.Bitrate != DefaultBitrate || m.cfg.Complexity != DefaultComplexity || m.cfg.Ducking.Hold != DefaultHold {
		t.Errorf("zero config not defaulted: %+v", m.cfg)
	}
}

// Steady-state ticks allocate nothing but the packet each subscriber gets.
func TestProcessAllocations(t *testing.T) {
	m, err := New(Config{Lang: "sv", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	voice := tone(300, 0.3, 200*fs)
	m.SetVoice(&clip{x: voice})
	floor := tone(100, 0.3, fs)
	k := 0
	tick := func() { m.Process(int64(k%150*fs), floor); k++ }
	if n := testing.AllocsPerRun(100, tick); n != 0 {
		t.Errorf("%.1f allocations per tick without subscribers, want 0", n)
	}
	sub := m.Packets().Read("test", 1)
	defer sub.Close()
	if n := testing.AllocsPerRun(100, func() { tick(); <-sub.C }); n > 1 {
		t.Errorf("%.1f allocations per tick with one subscriber, want 1 (the packet)", n)
	}
}

// A subscriber that never reads loses packets and the mix goes on.
func TestSlowSubscriberDrops(t *testing.T) {
	m, err := New(Config{Lang: "da"})
	if err != nil {
		t.Fatal(err)
	}
	slow := m.Packets().Read("test", 2)
	slowPCM := m.PCM().Read("test", 3)
	fast := m.Packets().Read("test", 64)
	for k := 0; k < 10; k++ {
		m.Process(int64(k*fs), nil)
	}
	s := m.Stats()
	if s.Frames != 10 || s.PacketsDropped != 8 || s.PCMDropped != 7 || slow.Dropped() != 8 || fast.Dropped() != 0 {
		t.Errorf("stats %+v, slow dropped %d, fast dropped %d", s, slow.Dropped(), fast.Dropped())
	}
	m.Close()
	n := 0
	for range fast.C {
		n++
	}
	for range slowPCM.C {
	}
	if n != 10 {
		t.Errorf("fast subscriber got %d packets, want 10", n)
	}
	// After Close nothing is published and nothing breaks.
	m.Process(10*fs, nil)
	if _, ok := <-m.Packets().Read("test", 1).C; ok {
		t.Error("subscription after Close is open")
	}
}

// Every method but Process may be called from other goroutines while the tick
// runs (go test -race checks the claim).
func TestConcurrentControl(t *testing.T) {
	m, err := New(Config{Lang: "pl", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	a := &clip{x: tone(300, 0.3, 400*fs)}
	b := &clip{x: tone(500, 0.3, 400*fs)}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				switch g {
				case 0:
					m.SetVoice([]Source{a, nil, b}[i%3])
				case 1:
					m.SetDuckDepth(-float64(i % 30))
					m.SetGains(-float64(i%6), -float64(i%4))
				case 2:
					_ = m.Meters()
					_ = m.Stats()
				case 3:
					s := m.Packets().Read("test", 1)
					<-s.C
					s.Close()
				}
				time.Sleep(50 * time.Microsecond)
			}
		}(g)
	}
	floor := tone(100, 0.3, fs)
	for k := 0; k < 400; k++ {
		m.Process(int64(k*fs), floor)
		if k%40 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	close(stop)
	m.Close() // unblocks the subscriber goroutine
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("control goroutines did not finish")
	}
	if m.Stats().Frames != 400 {
		t.Errorf("frames %d", m.Stats().Frames)
	}
}

// FuzzProcess feeds arbitrary samples as voice and floor: the output stays
// finite and under the ceiling.
func FuzzProcess(f *testing.F) {
	f.Add([]byte{0, 0, 0x80, 0x7f, 0xff, 0xff, 0xff, 0xff}, uint8(3))
	f.Add(make([]byte, 4*fs), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		x := make([]float32, len(data)/4)
		for i := range x {
			x[i] = math.Float32frombits(uint32(data[4*i]) | uint32(data[4*i+1])<<8 | uint32(data[4*i+2])<<16 | uint32(data[4*i+3])<<24)
		}
		cut := int(split) * len(x) / 256
		m, err := New(Config{Lang: "fz", Ducking: DefaultDucking(), Complexity: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		sub := m.PCM().Read("test", 4)
		m.SetVoice(&clip{x: x[:cut]})
		for k := 0; k < 3; k++ {
			m.Process(int64(k*fs), x[cut:])
			for _, s := range (<-sub.C).PCM {
				if !(math.Abs(float64(s)) <= float64(ceiling)) {
					t.Fatalf("output sample %v", s)
				}
			}
		}
	})
}

func TestFloorForwardsItsPacketUntouched(t *testing.T) {
	floorMix, err := New(Config{Lang: "en", Floor: true})
	if err != nil {
		t.Fatal(err)
	}
	defer floorMix.Close()
	fr, err := New(Config{Lang: "fr", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer fr.Close()
	fs, frs := floorMix.Packets().Read("test", 4), fr.Packets().Read("test", 4)
	pcm := make([]float32, audio.FrameSamples)
	packet := []byte{0xfc, 0xff, 0xfe} // any 20 ms Opus packet
	floorMix.ProcessPacket(0, pcm, packet)
	fr.ProcessPacket(0, pcm, packet)
	got := <-fs.C
	if string(got.Payload) != string(packet) || got.PTS != 0 {
		t.Fatalf("floor published %x at %d, want the packet %x as it came", got.Payload, got.PTS, packet)
	}
	packet[0] = 0 // the published copy is the receiver's own
	if got.Payload[0] != 0xfc {
		t.Fatal("the floor published the caller's buffer")
	}
	if mixed := <-frs.C; string(mixed.Payload) == string([]byte{0xfc, 0xff, 0xfe}) {
		t.Fatal("an interpreted mix forwarded the floor packet instead of encoding its mix")
	}
}

func TestSettingsReportWhatWasSet(t *testing.T) {
	m, err := New(Config{Lang: "fr", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if s := m.Settings(); s.DuckDB != -14 || math.Abs(s.VoiceGainDB) > 1e-9 || math.Abs(s.FloorGainDB) > 1e-9 {
		t.Fatalf("defaults %+v", s)
	}
	m.SetDuckDepth(-20)
	m.SetGains(-3, 6)
	if s := m.Settings(); s.DuckDB != -20 || math.Abs(s.VoiceGainDB+3) > 1e-6 || math.Abs(s.FloorGainDB-6) > 1e-6 {
		t.Fatalf("after setting -20/-3/6: %+v", s)
	}
}

// TestVoiceIn: the mix remembers when a voice was in it: an interpreter on
// air from 1 s to 3 s of program time (a clip), nobody before or after.
func TestVoiceIn(t *testing.T) {
	m, err := New(Config{Lang: "fr", Ducking: DefaultDucking()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	const sec = audio.SampleRate
	if m.VoiceIn(0, sec) {
		t.Error("voiced before any tick")
	}
	m.SetVoice(&clip{x: tone(660, 0.3, 2*sec), start: sec})
	for pts := int64(0); pts < 5*sec; pts += audio.FrameSamples {
		m.Process(pts, nil)
	}
	for _, c := range []struct {
		from, to int64
		want     bool
	}{
		{0, sec, false},
		{0, sec + audio.FrameSamples, true},
		{sec / 2, 2 * sec, true},
		{2 * sec, 4 * sec, true},
		{3 * sec, 5 * sec, false},
		{4 * sec, 9 * sec, false}, // past the last tick: as it is now
	} {
		if got := m.VoiceIn(c.from, c.to); got != c.want {
			t.Errorf("VoiceIn(%.2f s, %.2f s) = %v, want %v", float64(c.from)/sec, float64(c.to)/sec, got, c.want)
		}
	}
	// A log that forgot its oldest changes says voiced for what it forgot.
	var l presenceLog
	for i := range maxPresence + 2 {
		l.tick(int64(i)*audio.FrameSamples, i%2 == 0)
	}
	if !l.during(0, audio.FrameSamples/2) {
		t.Error("a forgotten time counts as unvoiced")
	}
	if l.during(int64(maxPresence+1)*audio.FrameSamples, int64(maxPresence+2)*audio.FrameSamples) {
		t.Error("the latest tick, unvoiced, counts as voiced")
	}
}
