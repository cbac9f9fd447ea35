package rtc

import (
	"context"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// micCodecDelay is the Opus encoder's lookahead at 48 kHz: decoded audio lags
// the input by this much.
const micCodecDelay = 312

// micSpeech is testdata/voice-a.wav of the repository as 48 kHz mono.
func micSpeech(t testing.TB) []float32 {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	x, err := audiotest.Decode(context.Background(), filepath.Join("..", "..", "testdata", "voice-a.wav"))
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// micEncoder describes how the test "browser" encodes its microphone.
type micEncoder struct {
	app     opus.Application
	bitrate int
	frame   int // samples per packet
	fec     bool
}

// micBrowser is a microphone as browsers send it: 32 kb/s hybrid-mode Opus
// with in-band FEC in 20 ms packets. Browsers use the VoIP application, whose
// high-pass filter shifts the phase of the low end (speech correlates at 0.86
// after a clean encode and decode); the audio application keeps the waveform
// (0.99), so correlation measures the buffer rather than the codec.
var micBrowser = micEncoder{app: opus.AppAudio, bitrate: 32000, frame: audio.FrameSamples, fec: true}

// encode cuts x into packets (the tail is zero-padded).
func (e micEncoder) encode(t testing.TB, x []float32) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(audio.SampleRate, 1, e.app)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(e.bitrate); err != nil {
		t.Fatal(err)
	}
	if e.fec {
		if err := enc.SetInBandFEC(true); err != nil {
			t.Fatal(err)
		}
		if err := enc.SetPacketLossPerc(10); err != nil {
			t.Fatal(err)
		}
	}
	var out [][]byte
	buf := make([]byte, 4000)
	pcm := make([]float32, e.frame)
	for i := 0; i < len(x); i += e.frame {
		clear(pcm)
		copy(pcm, x[i:])
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
	return out
}

// micArrival is a packet and when it reaches the server.
type micArrival struct {
	at time.Duration
	p  *rtp.Packet
}

// micStream numbers packets from seq0/ts0 (each dur samples long) and sends
// one every period.
func micStream(payloads [][]byte, dur int, ssrc uint32, seq0 uint16, ts0 uint32, period time.Duration) []micArrival {
	a := make([]micArrival, len(payloads))
	for i, pl := range payloads {
		a[i] = micArrival{at: time.Duration(i) * period, p: &rtp.Packet{
			Header:  rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq0 + uint16(i), Timestamp: ts0 + uint32(i*dur), SSRC: ssrc},
			Payload: pl,
		}}
	}
	return a
}

// micRun is the program clock: it delivers the arrivals in time order on the
// manual clock and reads a frame every 20 ms, half a period after the packet
// of the same number is due. It runs for ticks ticks or, when ticks is 0,
// until every packet has arrived and less than a frame is left to play. It
// returns the played audio (silence where ReadFrame returned false) and which
// ticks played; each, if set, runs after every tick.
func micRun(t testing.TB, m *Mic, clk *audiotest.Clock, arr []micArrival, ticks int, each func(k int)) ([]float32, []bool) {
	t.Helper()
	sort.SliceStable(arr, func(i, j int) bool { return arr[i].at < arr[j].at })
	var now time.Duration
	to := func(d time.Duration) {
		if d > now {
			clk.Advance(d - now)
			now = d
		}
	}
	var out []float32
	var played []bool
	next := 0
	for k := 0; ticks == 0 || k < ticks; k++ {
		if ticks == 0 && next == len(arr) && m.Stats().DepthMS < 20 {
			break
		}
		tick := time.Duration(k)*audio.FrameDuration + audio.FrameDuration/2
		for ; next < len(arr) && arr[next].at <= tick; next++ {
			to(arr[next].at)
			m.Push(arr[next].p)
		}
		to(tick)
		f, ok := m.ReadFrame(int64(k * audio.FrameSamples))
		if ok {
			if len(f.Samples) != audio.FrameSamples || f.PTS != int64(k*audio.FrameSamples) {
				t.Fatalf("tick %d: frame of %d samples at %d", k, len(f.Samples), f.PTS)
			}
			out = append(out, f.Samples...)
		} else {
			out = append(out, make([]float32, audio.FrameSamples)...)
		}
		played = append(played, ok)
		if each != nil {
			each(k)
		}
	}
	return out, played
}

func micNew(t testing.TB) (*Mic, *audiotest.Clock) {
	t.Helper()
	clk := audiotest.NewClock()
	m, err := NewMic(clk)
	if err != nil {
		t.Fatal(err)
	}
	return m, clk
}

func micFirstPlayed(played []bool) int {
	for k, ok := range played {
		if ok {
			return k
		}
	}
	return -1
}

// micCorr is the Pearson correlation of a and b over their common length.
func micCorr(a, b []float32) float64 {
	n := min(len(a), len(b))
	var sa, sb float64
	for i := range n {
		sa += float64(a[i])
		sb += float64(b[i])
	}
	ma, mb := sa/float64(n), sb/float64(n)
	var ab, aa, bb float64
	for i := range n {
		da, db := float64(a[i])-ma, float64(b[i])-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	if aa == 0 || bb == 0 {
		return 0
	}
	return ab / math.Sqrt(aa*bb)
}

// micAlignedCorr correlates the input with what was played from tick start on,
// the codec delay removed: the buffer must neither lose nor stretch time.
func micAlignedCorr(in, out []float32, start int) float64 {
	o := out[start*audio.FrameSamples+micCodecDelay:]
	n := min(len(o), len(in)) - audio.FrameSamples // the encoder's padded tail
	return micCorr(in[:n], o[:n])
}

func TestMicInOrder(t *testing.T) {
	for _, tc := range []struct {
		name    string
		x       []float32
		minCorr float64
	}{
		{"tone", audiotest.Tone(440, 0.5, 0, 3*audio.SampleRate), 0.95},
		{"speech", micSpeech(t), 0.9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := micNew(t)
			pk := micBrowser.encode(t, tc.x)
			out, played := micRun(t, m, clk, micStream(pk, audio.FrameSamples, 7, 65500, 4e9, audio.FrameDuration), 0, nil)
			start := micFirstPlayed(played)
			// Playout starts at the 40 ms target: with the second packet.
			if start != 1 {
				t.Fatalf("playout started at tick %d, want 1", start)
			}
			for k := start; k < start+len(pk); k++ {
				if !played[k] {
					t.Fatalf("tick %d did not play", k)
				}
			}
			st := m.Stats()
			if st.Packets != uint64(len(pk)) || st.Lost+st.Late+st.Duplicates+st.Concealed+st.Underruns+st.Skipped+st.Invalid != 0 {
				t.Fatalf("stats %+v", st)
			}
			c := micAlignedCorr(tc.x, out, start)
			t.Logf("%s: %d packets, correlation %.3f with the input, target %.0f ms", tc.name, len(pk), c, st.TargetMS)
			if c < tc.minCorr {
				t.Fatalf("correlation %.3f < %.2f", c, tc.minCorr)
			}
		})
	}
}

func TestMicReorder(t *testing.T) {
	x := micSpeech(t)
	pk := micBrowser.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 7, 100, 0, audio.FrameDuration)
	for i := 0; i+1 < len(arr); i += 2 { // every pair arrives the wrong way round
		arr[i].at, arr[i+1].at = arr[i+1].at, arr[i].at
	}
	m, clk := micNew(t)
	out, played := micRun(t, m, clk, arr, 0, nil)
	st := m.Stats()
	if st.Lost+st.Late+st.Concealed+st.Underruns != 0 {
		t.Fatalf("reordering within the target depth cost audio: %+v", st)
	}
	c := micAlignedCorr(x, out, micFirstPlayed(played))
	t.Logf("reordered neighbours: correlation %.3f, target %.0f ms", c, st.TargetMS)
	if c < 0.9 {
		t.Fatalf("correlation %.3f", c)
	}
}

// micLossRun plays x through the mic with 5 % of the packets lost (seeded, the
// first three kept) and returns the stats, the correlation with the input
// over the whole clip and over the lost packets' frames alone.
func micLossRun(t *testing.T, e micEncoder, x []float32) (st MicStats, all, lost float64) {
	t.Helper()
	pk := e.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 7, 65000, 1<<31, audio.FrameDuration)
	rng := rand.New(rand.NewPCG(5, 5))
	kept := arr[:0]
	var dropped []int
	for i, a := range arr {
		if i > 2 && rng.Float64() < 0.05 {
			dropped = append(dropped, i)
			continue
		}
		kept = append(kept, a)
	}
	m, clk := micNew(t)
	out, played := micRun(t, m, clk, kept, 0, nil)
	st = m.Stats()
	if st.Lost != uint64(len(dropped)) || st.Underruns != 0 || st.Late != 0 || st.Skipped != 0 {
		t.Fatalf("dropped %d: stats %+v", len(dropped), st)
	}
	start := micFirstPlayed(played)
	var in, got []float32
	for _, i := range dropped {
		o := (start+i)*audio.FrameSamples + micCodecDelay
		if o+audio.FrameSamples <= len(out) {
			in = append(in, x[i*audio.FrameSamples:(i+1)*audio.FrameSamples]...)
			got = append(got, out[o:o+audio.FrameSamples]...)
		}
	}
	return st, micAlignedCorr(x, out, start), micCorr(in, got)
}

func TestMicRandomLoss(t *testing.T) {
	x := micSpeech(t)
	st, all, lost := micLossRun(t, micBrowser, x)
	if st.FECRecovered == 0 || st.FECRecovered+st.Concealed != st.Lost {
		t.Fatalf("lost %d: %d from FEC, %d concealed", st.Lost, st.FECRecovered, st.Concealed)
	}
	t.Logf("5%% loss with FEC: %d lost, %d recovered from FEC, %d concealed; correlation %.3f (lost frames alone %.3f)",
		st.Lost, st.FECRecovered, st.Concealed, all, lost)
	if all < 0.9 {
		t.Fatalf("correlation %.3f < 0.9", all)
	}

	// The same losses in a stream without FEC data are all concealed, and
	// the lost frames come out worse.
	plain := micBrowser
	plain.fec = false
	pst, pall, plost := micLossRun(t, plain, x)
	t.Logf("5%% loss without FEC: %d concealed; correlation %.3f (lost frames alone %.3f)", pst.Concealed, pall, plost)
	if pst.FECRecovered != 0 || pst.Concealed != pst.Lost || plost >= lost {
		t.Fatalf("without FEC: %+v, lost frames %.3f vs %.3f with FEC", pst, plost, lost)
	}
}

func TestMicBurstLoss(t *testing.T) {
	x := audiotest.Tone(440, 0.5, 0, 3*audio.SampleRate)
	pk := micBrowser.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 7, 65530, 0, audio.FrameDuration)
	arr = append(arr[:50:50], arr[60:]...) // 200 ms from 1 s on
	m, clk := micNew(t)
	out, played := micRun(t, m, clk, arr, 0, nil)
	st := m.Stats()
	if st.Underruns != 1 || st.Lost != 10 {
		t.Fatalf("stats %+v, want one underrun and 10 lost", st)
	}
	// Concealment covers 100 ms, then silence until the buffer refills.
	gap := 0
	for k := 52; k < 70; k++ {
		if !played[k] {
			gap++
		}
	}
	if gap == 0 || gap > 12 {
		t.Fatalf("%d silent ticks around the burst", gap)
	}
	// Playout resumes and carries the tone to the end.
	last := 60 + 1 + (len(pk) - 60)
	for k := 75; k < last; k++ {
		if !played[k] {
			t.Fatalf("tick %d did not play after recovery", k)
		}
	}
	f, a := audiotest.DominantFrequency(out[80*audio.FrameSamples:130*audio.FrameSamples], audio.SampleRate, 200, 2000, 10)
	t.Logf("burst of 200 ms: %d silent ticks, %d concealed, then %.0f Hz at %.2f", gap, st.Concealed, f, a)
	if f != 440 || a < 0.35 {
		t.Fatalf("after recovery: %.0f Hz at %.2f", f, a)
	}
}

// micBursty delays packets as a congested Wi-Fi link does: now and then the
// link stalls for 20-90 ms and everything sent meanwhile arrives at once.
func micBursty(arr []micArrival, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var stallFrom, stallTo time.Duration
	for i := range arr {
		send := arr[i].at
		if send >= stallTo {
			stallFrom = send + time.Duration(100+rng.IntN(400))*time.Millisecond
			stallTo = stallFrom + time.Duration(20+rng.IntN(70))*time.Millisecond
		}
		arr[i].at = send + 5*time.Millisecond
		if send >= stallFrom {
			arr[i].at = stallTo + time.Duration(rng.IntN(2))*time.Millisecond
		}
	}
}

func TestMicJitter(t *testing.T) {
	x := audiotest.Tone(440, 0.5, 0, 40*audio.SampleRate)
	pk := micBrowser.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 7, 0, 0, audio.FrameDuration)
	micBursty(arr, 3)
	m, clk := micNew(t)
	const warm = 500 // 10 s to learn the jitter
	var atWarm MicStats
	maxDepth := 0.0
	_, played := micRun(t, m, clk, arr, 0, func(k int) {
		if k == warm {
			atWarm = m.Stats()
		}
		if k > warm {
			maxDepth = max(maxDepth, m.Stats().DepthMS)
		}
	})
	st := m.Stats()
	for k := warm; k < len(pk); k++ {
		if !played[k] {
			t.Fatalf("tick %d did not play after adaptation", k)
		}
	}
	t.Logf("bursty arrivals: target %.0f ms (from 40), warm-up: %d underruns %d concealed; after: %d underruns, %d concealed, %d skipped, depth ≤ %.0f ms",
		st.TargetMS, atWarm.Underruns, atWarm.Concealed, st.Underruns-atWarm.Underruns, st.Concealed-atWarm.Concealed, st.Skipped-atWarm.Skipped, maxDepth)
	if st.Underruns != atWarm.Underruns || st.Lost != 0 || st.Late != 0 {
		t.Fatalf("after adaptation: %+v (at warm-up %+v)", st, atWarm)
	}
	if st.TargetMS <= 60 || st.TargetMS > 120 {
		t.Fatalf("target %.0f ms does not reflect 20-90 ms stalls", st.TargetMS)
	}
}

func TestMicTrimsInPauses(t *testing.T) {
	// A second of tone, a second of silence, four times; the link stalls for
	// 60 ms during the first tone, which leaves the buffer deeper than it
	// needs to be, but not so deep that a drift skip would cut the tone.
	x := make([]float32, 8*audio.SampleRate)
	for s := 0; s < 8; s += 2 {
		copy(x[s*audio.SampleRate:], audiotest.Tone(440, 0.5, 0, audio.SampleRate))
	}
	pk := micBrowser.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 1, 0, 0, audio.FrameDuration)
	for i := range arr {
		if at := arr[i].at; at >= 500*time.Millisecond && at < 560*time.Millisecond {
			arr[i].at = 560 * time.Millisecond
		}
	}
	m, clk := micNew(t)
	levels := make([]float64, 0, len(pk))
	var prevSkipped uint64
	var afterStall, afterPause MicStats
	micRun(t, m, clk, arr, 0, func(k int) {
		st := m.Stats()
		if st.Skipped != prevSkipped && levels[k-1] > micQuietDB {
			t.Fatalf("tick %d skipped a packet after a frame at %.0f dBFS", k, levels[k-1])
		}
		prevSkipped = st.Skipped
		levels = append(levels, m.Level())
		switch k {
		case 45:
			afterStall = st
		case 150:
			afterPause = st
		}
	})
	t.Logf("after a 60 ms stall: depth %.0f ms (target %.0f); after the pause: %.0f ms, %d packets skipped in silence",
		afterStall.DepthMS, afterStall.TargetMS, afterPause.DepthMS, afterPause.Skipped)
	if afterStall.DepthMS < afterStall.TargetMS+20 || afterPause.DepthMS > afterPause.TargetMS || afterPause.Underruns != 0 {
		t.Fatalf("after the stall %+v, after the pause %+v", afterStall, afterPause)
	}
}

func TestMicFrameSizes(t *testing.T) {
	x := audiotest.Tone(440, 0.5, 0, 2*audio.SampleRate)
	for _, ms := range []int{10, 20, 40, 60} {
		t.Run(fmt.Sprintf("%dms", ms), func(t *testing.T) {
			e := micBrowser
			e.frame = ms * audio.SampleRate / 1000
			pk := e.encode(t, x)
			m, clk := micNew(t)
			period := time.Duration(ms) * time.Millisecond
			out, played := micRun(t, m, clk, micStream(pk, e.frame, 9, 1, 0, period), 0, nil)
			start := micFirstPlayed(played)
			frames := 0
			for _, ok := range played {
				if ok {
					frames++
				}
			}
			st := m.Stats()
			c := micAlignedCorr(x, out, start)
			t.Logf("%d ms packets: %d frames of 20 ms from %d packets, started at tick %d, correlation %.3f", ms, frames, len(pk), start, c)
			// Every packet's audio comes out, in whole 20 ms frames, and
			// nothing else (the last partial frame stays in the FIFO).
			if frames != len(pk)*e.frame/audio.FrameSamples || st.Concealed+st.Lost+st.Skipped != 0 {
				t.Fatalf("%d frames from %d packets; stats %+v", frames, len(pk), st)
			}
			if c < 0.95 {
				t.Fatalf("correlation %.3f", c)
			}
		})
	}
}

func TestMicDrift(t *testing.T) {
	x := audiotest.Tone(440, 0.5, 0, 60*audio.SampleRate)
	pk := micBrowser.encode(t, x)
	for _, tc := range []struct {
		name  string
		ratio float64 // sender clock / program clock
	}{{"fast", 1.01}, {"slow", 0.99}} {
		t.Run(tc.name, func(t *testing.T) {
			period := time.Duration(float64(audio.FrameDuration) / tc.ratio)
			m, clk := micNew(t)
			ticks := int(time.Duration(len(pk))*period/audio.FrameDuration) - 5
			var maxDepth, sumDepth float64
			_, played := micRun(t, m, clk, micStream(pk, audio.FrameSamples, 9, 1, 0, period), ticks, func(k int) {
				if k > 250 {
					d := m.Stats().DepthMS
					maxDepth = max(maxDepth, d)
					sumDepth += d
				}
			})
			st := m.Stats()
			for k := micFirstPlayed(played); k < ticks; k++ {
				if !played[k] {
					t.Fatalf("tick %d did not play", k)
				}
			}
			t.Logf("sender clock ×%.2f for 60 s: %d skipped, %d concealed, %d underruns, depth mean %.0f max %.0f ms (target %.0f)",
				tc.ratio, st.Skipped, st.Concealed, st.Underruns, sumDepth/float64(ticks-251), maxDepth, st.TargetMS)
			if st.Underruns != 0 {
				t.Fatalf("underruns: %+v", st)
			}
			if tc.ratio > 1 {
				// 1 % of 60 s is 600 ms that must go, in whole packets.
				if st.Skipped < 20 || maxDepth > st.TargetMS+60+2*20 {
					t.Fatalf("skipped %d, depth up to %.0f ms over a target of %.0f", st.Skipped, maxDepth, st.TargetMS)
				}
			} else if st.Concealed < 20 || st.Skipped != 0 {
				t.Fatalf("a slow sender should be stretched by concealment: %+v", st)
			}
		})
	}
}

func TestMicReset(t *testing.T) {
	a := micBrowser.encode(t, audiotest.Tone(440, 0.5, 0, audio.SampleRate))
	b := micBrowser.encode(t, audiotest.Tone(1000, 0.5, 0, audio.SampleRate))
	for _, tc := range []struct {
		name   string
		reset  bool
		ssrc   uint32
		seq    uint16
		ts     uint32
		resets uint64
	}{
		{"explicit", true, 1, 300, 0, 1},
		{"new ssrc", false, 2, 60, 48000, 1},
		{"timestamp jump", false, 1, 50, 10 * 48000, 1},
		{"sequence jump", false, 1, 9000, 48000, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, clk := micNew(t)
			micRun(t, m, clk, micStream(a, audio.FrameSamples, 1, 0, 0, audio.FrameDuration), 30, nil)
			if tc.reset {
				m.Reset()
			}
			// The first stream still has packets buffered when the second begins.
			out, played := micRun(t, m, clk, micStream(b, audio.FrameSamples, tc.ssrc, tc.seq, tc.ts, audio.FrameDuration), 40, nil)
			st := m.Stats()
			if st.Resets != tc.resets || st.Late != 0 || st.Lost != 0 {
				t.Fatalf("stats %+v", st)
			}
			start := micFirstPlayed(played)
			f, amp := audiotest.DominantFrequency(out[(start+2)*audio.FrameSamples:], audio.SampleRate, 200, 2000, 10)
			if start < 0 || start > 2 || f != 1000 || amp < 0.3 {
				t.Fatalf("after the new stream began: start tick %d, %.0f Hz at %.2f", start, f, amp)
			}
			if a440 := audiotest.Goertzel(out[start*audio.FrameSamples:], 440, audio.SampleRate); a440 > 0.02 {
				t.Fatalf("the old stream still plays: 440 Hz at %.3f", a440)
			}
		})
	}
}

func TestMicEdgeCases(t *testing.T) {
	pk := micBrowser.encode(t, audiotest.Tone(440, 0.5, 0, audio.SampleRate))
	arr := micStream(pk, audio.FrameSamples, 1, 0, 0, audio.FrameDuration)
	m, clk := micNew(t)
	if _, ok := m.ReadFrame(0); ok {
		t.Fatal("an empty mic played")
	}
	if l := m.Level(); l != -120 {
		t.Fatalf("level %v before any audio", l)
	}
	m.Push(arr[0].p)
	m.Push(arr[0].p) // duplicate
	m.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1, Timestamp: 960, SSRC: 1, Padding: true}})
	m.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1, Timestamp: 960, SSRC: 1}, Payload: []byte{0x0b, 0x00}}) // code 3, no frames
	m.Push(nil)
	_, played := micRun(t, m, clk, arr[1:20], 0, nil)
	m.Push(arr[2].p) // long played: late
	st := m.Stats()
	if st.Packets != 3+19+1 || st.Duplicates != 1 || st.Invalid != 1 || st.Late != 1 || !played[2] {
		t.Fatalf("stats %+v", st)
	}
	if !st.LastPacket.Equal(clk.Now()) {
		t.Fatalf("last packet %v, now %v", st.LastPacket, clk.Now())
	}
	if l := m.Level(); l < -10 || l > -8 { // a 0.5 sine is −9 dBFS RMS
		t.Fatalf("level %.1f dBFS", l)
	}

	// Nobody reads: the buffer keeps the newest 64 packets, then catches up
	// to the target at once when reading begins.
	m, _ = micNew(t)
	long := micBrowser.encode(t, audiotest.Tone(440, 0.5, 0, 4*audio.SampleRate))
	for _, a := range micStream(long, audio.FrameSamples, 1, 0, 0, audio.FrameDuration) {
		m.Push(a.p)
	}
	if st := m.Stats(); st.Overflow != uint64(len(long)-micSlots) || st.DepthMS != micSlots*20 {
		t.Fatalf("after %d unread packets: %+v", len(long), st)
	}
	if _, ok := m.ReadFrame(0); !ok {
		t.Fatal("a full buffer did not play")
	}
	if st := m.Stats(); st.DepthMS > st.TargetMS+20 || st.Skipped == 0 {
		t.Fatalf("after the first read of a full buffer: %+v", st)
	}
}

func TestMicConcurrent(t *testing.T) {
	defer goleak.VerifyNone(t)
	x := micSpeech(t)[:10*audio.SampleRate]
	pk := micBrowser.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 1, 0, 0, audio.FrameDuration)
	m, err := NewMic(audio.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { // the track reader
		defer wg.Done()
		for i := range arr {
			j := i ^ 1 // reordered pairs
			if j < len(arr) {
				m.Push(arr[j].p)
			}
			runtime.Gosched()
		}
	}()
	bad := make(chan int, 1)
	go func() { // the program clock
		defer wg.Done()
		for k := range len(arr) + 50 {
			if f, ok := m.ReadFrame(int64(k * audio.FrameSamples)); ok && len(f.Samples) != audio.FrameSamples {
				select {
				case bad <- len(f.Samples):
				default:
				}
			}
			runtime.Gosched()
		}
	}()
	go func() { // meters and signalling
		defer wg.Done()
		for i := range 200 {
			_ = m.Stats()
			_ = m.Level()
			if i == 100 {
				m.Reset()
			}
			runtime.Gosched()
		}
	}()
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("push and read did not finish")
	}
	select {
	case n := <-bad:
		t.Fatalf("a frame of %d samples", n)
	default:
	}
	if st := m.Stats(); st.Packets != uint64(len(arr)) {
		t.Fatalf("stats %+v", st)
	}
}

// micBandEnergy averages the power spectrum of x (Hann-windowed blocks of
// 4096) between lo and hi Hz.
func micBandEnergy(x []float32, lo, hi float64) float64 {
	const n = 4096
	var e float64
	buf := make([]complex128, n)
	for off := 0; off+n <= len(x); off += n / 2 {
		for i := range buf {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n)
			buf[i] = complex(float64(x[off+i])*w, 0)
		}
		micFFT(buf)
		for k := 1; k < n/2; k++ {
			if f := float64(k) * audio.SampleRate / n; f >= lo && f < hi {
				e += real(buf[k] * cmplx.Conj(buf[k]))
			}
		}
	}
	return e
}

// micFFT is an in-place radix-2 FFT (len(a) a power of two).
func micFFT(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j ^= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
}

func TestMicFullband(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	x := make([]float32, 3*audio.SampleRate)
	for i := range x {
		x[i] = float32(0.3 * (2*rng.Float64() - 1))
	}
	e := micEncoder{app: opus.AppAudio, bitrate: 64000, frame: audio.FrameSamples, fec: true}
	pk := e.encode(t, x)
	m, clk := micNew(t)
	out, played := micRun(t, m, clk, micStream(pk, audio.FrameSamples, 1, 0, 0, audio.FrameDuration), 0, nil)
	start := micFirstPlayed(played)
	y := out[start*audio.FrameSamples+micCodecDelay:][:len(x)-audio.FrameSamples]
	in := x[:len(y)]
	db := func(a, b float64) float64 { return 10 * math.Log10(a/b) }
	hf := db(micBandEnergy(y, 15000, 20000), micBandEnergy(in, 15000, 20000))
	mid := db(micBandEnergy(y, 1000, 5000), micBandEnergy(in, 1000, 5000))
	top := db(micBandEnergy(y, 19000, 20000), micBandEnergy(in, 19000, 20000))
	t.Logf("white noise at 64 kb/s through the mic: 15-20 kHz %+.1f dB, 19-20 kHz %+.1f dB, 1-5 kHz %+.1f dB (output/input energy)", hf, top, mid)
	if hf < -3 || hf > 3 || top < -6 {
		t.Fatalf("the top octave is lost: 15-20 kHz %+.1f dB, 19-20 kHz %+.1f dB", hf, top)
	}
}

func TestParseOpusPacket(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		dur  int
		fec  bool
		ok   bool
	}{
		{"SILK 20 ms", []byte{1 << 3, 0x40}, 960, true, true},
		{"SILK 20 ms no LBRR", []byte{1 << 3, 0x80}, 960, false, true},
		{"SILK 60 ms LBRR", []byte{3 << 3, 0x10}, 2880, true, true},
		{"SILK 40 ms VAD only", []byte{2 << 3, 0xc0}, 1920, false, true},
		{"SILK stereo side LBRR", []byte{1<<3 | 4, 0x10}, 960, true, true},
		{"hybrid 10 ms", []byte{12 << 3, 0x40}, 480, true, true},
		{"CELT never has LBRR", []byte{31 << 3, 0xff}, 960, false, true},
		{"CELT 2.5 ms", []byte{16 << 3, 0}, 120, false, true},
		{"code 1", []byte{1<<3 | 1, 0x40, 0}, 1920, true, true},
		{"code 1 odd", []byte{1<<3 | 1, 0x40}, 0, false, false},
		{"code 2", []byte{1<<3 | 2, 1, 0x40, 0, 0}, 1920, true, true},
		{"code 2 short", []byte{1<<3 | 2, 5, 0x40}, 0, false, false},
		{"code 3 CBR x3", []byte{1<<3 | 3, 3, 0x40, 0, 0}, 2880, true, true},
		{"code 3 CBR uneven", []byte{1<<3 | 3, 3, 0x40, 0}, 0, false, false},
		{"code 3 VBR padded", []byte{1<<3 | 3, 0xc2, 2, 1, 0x40, 0, 0, 0}, 1920, true, true},
		{"code 3 padding past end", []byte{1<<3 | 3, 0x41, 9, 0}, 0, false, false},
		{"code 3 no frames", []byte{1<<3 | 3, 0}, 0, false, false},
		{"code 3 over 120 ms", []byte{1<<3 | 3, 7}, 0, false, false},
		{"empty", nil, 0, false, false},
	} {
		info, ok := audio.ParseOpus(tc.b)
		if ok != tc.ok || info.Samples != tc.dur || info.FEC != tc.fec {
			t.Errorf("%s: %+v %v, want %d %v %v", tc.name, info, ok, tc.dur, tc.fec, tc.ok)
		}
	}
	// Real packets: the encoder's FEC setting shows in the LBRR flag.
	x := micSpeech(t)[:5*audio.SampleRate]
	for _, fec := range []bool{true, false} {
		e := micBrowser
		e.fec = fec
		flagged := 0
		pk := e.encode(t, x)
		for _, p := range pk {
			info, ok := audio.ParseOpus(p)
			if !ok || info.Samples != audio.FrameSamples {
				t.Fatalf("packet %x: %+v %v", p[:2], info, ok)
			}
			if info.FEC {
				flagged++
			}
		}
		t.Logf("FEC %v: %d of %d packets carry LBRR", fec, flagged, len(pk))
		if fec != (flagged > len(pk)/2) || (!fec && flagged != 0) {
			t.Fatalf("FEC %v but %d of %d packets flagged", fec, flagged, len(pk))
		}
	}
}

// FuzzParseOpusPacket checks the parser against libopus: whatever libopus
// decodes, the parser must accept with the same duration.
func FuzzParseOpusPacket(f *testing.F) {
	for _, b := range [][]byte{{0x08, 0x40}, {0x0b, 0xc2, 2, 1, 0x40, 0, 0, 0}, {0xfc, 0xff, 0xfe}, {0x0a, 0xff, 0x01}} {
		f.Add(b)
	}
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		f.Fatal(err)
	}
	pcm := make([]float32, micMaxPacket)
	f.Fuzz(func(t *testing.T, b []byte) {
		info, ok := audio.ParseOpus(b)
		if ok && (info.Samples < micMinFrame || info.Samples > micMaxPacket || info.Samples%micMinFrame != 0) {
			t.Fatalf("duration %d", info.Samples)
		}
		if len(b) == 0 {
			return
		}
		if n, err := dec.DecodeFloat32(b, pcm); err == nil && (!ok || n != info.Samples) {
			t.Fatalf("libopus decodes %d samples, parser says %d %v", n, info.Samples, ok)
		}
	})
}

// FuzzMicPush feeds arbitrary packets between reads: no panic, and every
// frame is 20 ms.
func FuzzMicPush(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 3, 2, 0x08, 0x40, 0, 2, 0x10, 0, 1, 0xfc})
	f.Add([]byte{0xff, 0xff, 0x7f, 0xff, 0xff, 1, 0x0b, 0xff, 0xff, 0x7f, 0, 0, 2, 0x41, 0x09})
	pk := micBrowser.encode(f, audiotest.Tone(440, 0.5, 0, audio.SampleRate/5))
	seed := []byte{}
	for i, p := range pk {
		seed = append(seed, 0, byte(i), 0x80, byte(len(p)))
		seed = append(seed, p...)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, clk := micNew(t)
		var seq uint16
		var ts uint32
		tick := 0
		for len(data) >= 4 {
			// op, seq step, ts step (×120), payload length, payload
			op, dseq, dts, n := data[0], data[1], data[2], int(data[3])
			data = data[4:]
			n = min(n, len(data))
			seq += uint16(dseq) - 2
			ts += uint32(int8(dts)) * 120
			clk.Advance(time.Duration(op&0x0f) * time.Millisecond * 5)
			m.Push(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Timestamp: ts, SSRC: uint32(op >> 7)}, Payload: data[:n]})
			data = data[n:]
			if op&0x40 != 0 {
				m.Reset()
			}
			for range op >> 4 & 3 {
				fr, ok := m.ReadFrame(int64(tick * audio.FrameSamples))
				tick++
				if ok && len(fr.Samples) != audio.FrameSamples {
					t.Fatalf("frame of %d samples", len(fr.Samples))
				}
				if ok && math.IsNaN(audio.RMS(fr.Samples)) {
					t.Fatal("NaN samples")
				}
			}
		}
		st := m.Stats()
		if st.DepthMS < 0 || st.DepthMS > micSlots*120 {
			t.Fatalf("depth %.0f ms", st.DepthMS)
		}
	})
}

// TestMicStarvedTellsCutFromLoss: a lost packet with later ones behind it is
// concealed without starving; when the stream stops, the concealment that
// follows is starved until concealment runs out and playout stops.
func TestMicStarvedTellsCutFromLoss(t *testing.T) {
	x := audiotest.Tone(440, 0.5, 0, 2*audio.SampleRate)
	pk := micBrowser.encode(t, x)
	arr := micStream(pk, audio.FrameSamples, 7, 100, 0, audio.FrameDuration)
	arr = append(arr[:40:40], arr[41:60]...) // packet 40 lost, the stream stops after 59
	m, clk := micNew(t)
	var starved []bool
	_, played := micRun(t, m, clk, arr, 80, func(int) { starved = append(starved, m.Starved()) })
	st := m.Stats()
	var lossStarved, cutStarved, cutPlayed int
	lastPacket := -1
	for k := range played {
		if played[k] && !starved[k] {
			lastPacket = k
		}
		if k < 50 && starved[k] {
			lossStarved++
		}
	}
	for k := lastPacket + 1; k < len(played); k++ {
		if played[k] {
			cutPlayed++
			if starved[k] {
				cutStarved++
			}
		}
	}
	t.Logf("lost %d (FEC %d), concealed %d; starved ticks around the loss %d; after the last packet played (tick %d): %d concealed ticks, %d of them starved, then %d silent",
		st.Lost, st.FECRecovered, st.Concealed, lossStarved, lastPacket, cutPlayed, cutStarved, len(played)-lastPacket-1-cutPlayed)
	if st.Lost != 1 || lossStarved != 0 {
		t.Fatalf("loss: %+v, %d starved ticks", st, lossStarved)
	}
	if cutPlayed != micMaxConceal/audio.FrameSamples || cutStarved != cutPlayed || st.Underruns != 1 {
		t.Fatalf("cut: %d concealed ticks, %d starved, stats %+v", cutPlayed, cutStarved, st)
	}
}
