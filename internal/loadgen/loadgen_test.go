package loadgen

import (
	"bytes"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A live playlist as tolk writes it (web/hls), cut short.
const livePlaylist = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:1
#EXT-X-PART-INF:PART-TARGET=0.200
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600
#EXT-X-MEDIA-SEQUENCE:3
#EXT-X-MAP:URI="q4rwl773/init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:08:10.000Z
#EXT-X-PART:DURATION=0.200,URI="q4rwl773/part3.3.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="q4rwl773/part3.4.m4s",INDEPENDENT=YES
#EXTINF:1.000,
q4rwl773/seg3.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-12-05T21:08:11.000Z
#EXT-X-PART:DURATION=0.200,URI="q4rwl773/part4.0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.200,URI="q4rwl773/part4.1.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="q4rwl773/part4.2.m4s"
`

func TestParsePlaylist(t *testing.T) {
	p, ok := ParsePlaylist([]byte(livePlaylist))
	if !ok {
		t.Fatal("not read as a live playlist")
	}
	if p.PartTarget != 200*time.Millisecond || p.PartHoldBack != 600*time.Millisecond {
		t.Errorf("part target %v, hold-back %v", p.PartTarget, p.PartHoldBack)
	}
	if len(p.Parts) != 4 {
		t.Fatalf("%d parts, want 4", len(p.Parts))
	}
	// The first part is dated by the segment's date; the hint follows the
	// last listed part.
	sec := func(s string) time.Time { t, _ := time.Parse(time.RFC3339Nano, "2026-12-05T21:08:"+s+"Z"); return t }
	if got := p.Parts[1]; got.MSN != 3 || got.Part != 4 || !got.PDT.Equal(sec("10.200")) || got.Dur != 200*time.Millisecond {
		t.Errorf("part 3.4: %+v", got)
	}
	if h := p.Hint; h.URI != "q4rwl773/part4.2.m4s" || h.MSN != 4 || h.Part != 2 || !h.PDT.Equal(sec("11.400")) {
		t.Errorf("hint %+v", h)
	}
	if _, ok := ParsePlaylist([]byte("#EXTM3U\n#EXTINF:1.0,\nseg0.m4s\n")); ok {
		t.Error("a playlist without a preload hint was read as live")
	}
}

func FuzzParsePlaylist(f *testing.F) {
	f.Add([]byte(livePlaylist))
	f.Add([]byte("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"a/part99999999999999999999.1.m4s\"\n"))
	f.Add([]byte("#EXT-X-PART-INF:PART-TARGET=-1\n#EXT-X-PROGRAM-DATE-TIME:x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, ok := ParsePlaylist(b)
		if ok && p.Hint.URI == "" {
			t.Fatal("live without a hint")
		}
		if p.PartTarget < 0 || p.PartHoldBack < 0 {
			t.Fatal("negative durations")
		}
	})
}

const metricsText = `# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 12.5
go_goroutines 214
tolk_hls_requests_total{event="conf",kind="part"} 100
tolk_hls_requests_total{event="conf",kind="playlist"} 90
tolk_hls_requests_total{event="other",kind="part"} 7
tolk_interpreter_connected{event="conf",lang="fr",interpreter="ab",name="Load A b"} 1
`

func TestParseMetrics(t *testing.T) {
	m, err := ParseMetrics(strings.NewReader(metricsText))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		match []string
		want  float64
	}{
		{"process_cpu_seconds_total", nil, 12.5},
		{"go_goroutines", nil, 214},
		{"tolk_hls_requests_total", nil, 197},
		{"tolk_hls_requests_total", []string{`event="conf"`}, 190},
		{"tolk_hls_requests_total", []string{`event="conf"`, `kind="part"`}, 100},
		{"tolk_interpreter_connected", []string{`name="Load A b"`}, 1},
		{"tolk_missing", nil, 0},
	} {
		if got := m.Sum(c.name, c.match...); got != c.want {
			t.Errorf("Sum(%s, %v) = %v, want %v", c.name, c.match, got, c.want)
		}
	}
	if by := m.SumBy("tolk_hls_requests_total", "kind", `event="conf"`); len(by) != 2 || by["part"] != 100 || by["playlist"] != 90 {
		t.Errorf("SumBy kind: %v", by)
	}
	if _, err := ParseMetrics(strings.NewReader("nonsense\n")); err == nil {
		t.Error("a line without a value was read")
	}
}

func FuzzParseMetrics(f *testing.F) {
	f.Add([]byte(metricsText))
	f.Add([]byte("a{b=\"c d\"} NaN\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMetrics(bytes.NewReader(b))
		if err == nil {
			_ = m.Sum("a")
		}
	})
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	if p := Percentile(d, 50); p != 50*time.Millisecond {
		t.Errorf("p50 %v", p)
	}
	if p := Percentile(d, 99); p != 99*time.Millisecond {
		t.Errorf("p99 %v", p)
	}
	if p := Percentile(nil, 99); p != 0 {
		t.Errorf("p99 of nothing %v", p)
	}
	if p := Percentile([]time.Duration{-3}, 1); p != -3 {
		t.Errorf("one sample %v", p)
	}
}

func TestProgramTime(t *testing.T) {
	epoch := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	// 30 hours in: the 32-bit timestamp has wrapped once (24.855 h).
	pts := int64(30 * 3600 * 48000)
	at := epoch.Add(30*time.Hour + 80*time.Millisecond)
	if got := ProgramTime(epoch, uint32(pts), at); !got.Equal(epoch.Add(30 * time.Hour)) {
		t.Errorf("wrapped: %v", got.Sub(epoch))
	}
	// Just after a wrap, a packet from just before it.
	turn := time.Duration(1<<32) * time.Second / 48000
	if got := ProgramTime(epoch, math.MaxUint32-479, epoch.Add(turn+time.Millisecond)); got.Sub(epoch) >= turn || turn-got.Sub(epoch) > 20*time.Millisecond {
		t.Errorf("across the wrap: %v", turn-got.Sub(epoch))
	}
}

func TestParseStat(t *testing.T) {
	st, err := parseStat([]byte("4242 (tolk (serve) x) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st.ppid != 17 || st.cpu != 3 {
		t.Errorf("%+v, want ppid 17 and 3 s", st)
	}
	if _, err := parseStat([]byte("1 (x) S 1")); err == nil {
		t.Error("a short line was read")
	}
	if _, err := ProcCPU(1 << 30); err == nil {
		t.Error("a missing process has a CPU time")
	}
	busy, total, err := MachineBusy()
	if err != nil || busy <= 0 || total < busy {
		t.Errorf("machine: busy %v of %v: %v", busy, total, err)
	}
}

// TestPlotPNG draws a chart with a gap in a series and checks it decodes
// at the expected size with the lines' colours in it.
func TestPlotPNG(t *testing.T) {
	p := Plot{Title: "soak: test", XLabel: "minutes", X: []float64{0, 0.5, 1, 1.5},
		Panels: []Panel{
			{Title: "memory", YLabel: "MB", Series: []Series{{Name: "rss", Y: []float64{40, 42, math.NaN(), 41}}}},
			{Title: "latency", YLabel: "ms", Series: []Series{{Name: "p50", Y: []float64{300, 310, 305, 320}}, {Name: "p99", Y: []float64{800, 900, 850, 1200}}}},
		}}
	var b bytes.Buffer
	if err := p.WritePNG(&b); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := img.Bounds().Dx(), img.Bounds().Dy(); w != plotW || h != 12+titleLine+2*(panelH+panelGap)+10 {
		t.Errorf("size %dx%d", w, h)
	}
	found := map[int]bool{}
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			for k, c := range colLines[:2] {
				if uint8(r>>8) == c.R && uint8(g>>8) == c.G && uint8(bl>>8) == c.B {
					found[k] = true
				}
			}
		}
	}
	if !found[0] || !found[1] {
		t.Errorf("line colours drawn: %v", found)
	}
	if got := wrap("a bb ccc dddd", 6); len(got) != 3 || got[0] != "a bb" || got[2] != "dddd" {
		t.Errorf("wrap: %q", got)
	}
	for v, want := range map[float64]string{0: "0", 2500: "2500", 0.5: "0.5", 1.5: "1.5", 25000: "25K", 2e6: "2M"} {
		if got := formatTick(v); got != want {
			t.Errorf("formatTick(%v) = %q, want %q", v, got, want)
		}
	}
	if niceCeil(7.3) != 10 || niceCeil(0.42) != 0.5 || niceCeil(1200) != 2000 {
		t.Errorf("niceCeil: %v %v %v", niceCeil(7.3), niceCeil(0.42), niceCeil(1200))
	}
}
