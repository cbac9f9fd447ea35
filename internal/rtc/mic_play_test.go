package rtc

import (
	"bytes"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// TestMicReadPacketPassesWholePacketsThrough: a frame played from exactly one
// 20 ms packet comes with that packet (so the floor rendition forwards the
// publisher's Opus without re-encoding); a concealed or recovered frame comes
// without one.
func TestMicReadPacketPassesWholePacketsThrough(t *testing.T) {
	m, clk := micNew(t)
	pk := micBrowser.encode(t, audiotest.Tone(440, 0.3, 0, 60*audio.FrameSamples))
	arr := micStream(pk, audio.FrameSamples, 7, 100, 5000, audio.FrameDuration)
	arr = append(arr[:30], arr[31:]...) // packet 30 is lost
	var whole, none int
	for k, next := 0, 0; k < 80; k++ {
		tick := time.Duration(k)*audio.FrameDuration + audio.FrameDuration/2
		for ; next < len(arr) && arr[next].at <= tick; next++ {
			m.Push(arr[next].p)
		}
		clk.Advance(audio.FrameDuration)
		f, packet, ok := m.ReadPacket(int64(k * audio.FrameSamples))
		if !ok {
			continue
		}
		if len(f.Samples) != audio.FrameSamples {
			t.Fatalf("tick %d: %d samples", k, len(f.Samples))
		}
		if packet == nil {
			none++
			continue
		}
		whole++
		found := false
		for _, p := range pk {
			found = found || bytes.Equal(p, packet)
		}
		if !found {
			t.Fatalf("tick %d: a packet that was never sent: %x", k, packet[:4])
		}
	}
	st := m.Stats()
	if whole < 50 || none < 1 || st.Lost != 1 {
		t.Errorf("%d frames with their packet, %d without, %d lost: want the lost one (and only a few) without", whole, none, st.Lost)
	}
}

// TestMicPlayPacesOnTheClock: Play emits one frame per 20 ms of clock, and a
// late wake-up is caught up frame by frame, not lost.
func TestMicPlayPacesOnTheClock(t *testing.T) {
	m, clk := micNew(t)
	pk := micBrowser.encode(t, audiotest.Tone(440, 0.3, 0, 60*audio.FrameSamples))
	arr := micStream(pk, audio.FrameSamples, 7, 1, 0, 0)
	sent := 0
	push := func(n int) {
		for range n {
			m.Push(arr[sent].p)
			sent++
		}
	}
	var mu sync.Mutex
	emitted := 0
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Play(clk, quit, func(s []float32, _ []byte) {
			if len(s) != audio.FrameSamples {
				t.Errorf("frame of %d samples", len(s))
			}
			mu.Lock()
			emitted++
			mu.Unlock()
		})
	}()
	count := func() int { mu.Lock(); defer mu.Unlock(); return emitted }
	wait := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s (%d frames played)", what, count())
			}
			time.Sleep(time.Millisecond)
		}
	}
	// Let playout start: a packet per tick until frames come out.
	push(2)
	for count() == 0 {
		wait("the timer", func() bool { return clk.Pending() > 0 })
		push(1)
		clk.Advance(audio.FrameDuration)
		if sent > 20 {
			t.Fatal("playout never started")
		}
		time.Sleep(time.Millisecond)
	}
	// Steady: one frame per tick.
	for range 10 {
		wait("the timer", func() bool { return clk.Pending() > 0 })
		n := count()
		push(1)
		clk.Advance(audio.FrameDuration)
		wait("a frame", func() bool { return count() == n+1 })
	}
	// A late wake-up: five frames due at once, all played.
	wait("the timer", func() bool { return clk.Pending() > 0 })
	n := count()
	push(5)
	clk.Advance(5 * audio.FrameDuration)
	wait("the catch-up", func() bool { return count() == n+5 })
	close(quit)
	<-done
}

// FuzzMic pushes arbitrary packets: the jitter buffer never panics, and every
// frame it plays is 20 ms of finite samples.
func FuzzMic(f *testing.F) {
	f.Add([]byte{0x08, 0x40, 0x01}, uint16(1), uint32(0), uint32(7))
	f.Add([]byte{0xfc, 0xff, 0xfe}, uint16(65535), uint32(4294966336), uint32(1))
	f.Add([]byte{0x0b, 0xc2, 2, 1, 0x40, 0, 0, 0}, uint16(9), uint32(960), uint32(2))
	f.Fuzz(func(t *testing.T, payload []byte, seq uint16, ts, ssrc uint32) {
		m, clk := micNew(t)
		for k := range 12 {
			p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: seq + uint16(k%5),
				Timestamp: ts + uint32(k*audio.FrameSamples), SSRC: ssrc ^ uint32(k/8)}, Payload: payload}
			m.Push(p)
			clk.Advance(audio.FrameDuration)
			fr, _, ok := m.ReadPacket(int64(k * audio.FrameSamples))
			if !ok {
				continue
			}
			if len(fr.Samples) != audio.FrameSamples {
				t.Fatalf("frame of %d samples", len(fr.Samples))
			}
			for _, v := range fr.Samples {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("a sample that is not finite")
				}
			}
		}
	})
}
