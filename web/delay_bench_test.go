package web_test

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
)

// markerSender sends 20 ms Opus frames in real time: silence, and every
// period a loud frame whose send time is recorded.
type markerSender struct {
	mu    sync.Mutex
	sent  []time.Time
	every int
}

func (m *markerSender) run(ctx context.Context, write func([]byte) error, frames int) error {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		return err
	}
	buf := make([]byte, 1500)
	silence := make([]float32, audio.FrameSamples)
	loud := audiotest.Tone(1000, 0.7, 0, audio.FrameSamples)
	var failed error
	audiotest.Paced(ctx, frames, func(i int) bool {
		pcm := silence
		if i%m.every == m.every-1 {
			pcm = loud
		}
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			failed = err
			return false
		}
		if pcm[0] != 0 || pcm[10] != 0 {
			m.mu.Lock()
			m.sent = append(m.sent, time.Now())
			m.mu.Unlock()
		}
		if err := write(append([]byte(nil), buf[:n]...)); err != nil {
			failed = err
			return false
		}
		return true
	})
	if failed != nil {
		return failed
	}
	return ctx.Err()
}

// markerReceiver decodes packets and records when each marker arrives: the
// first packet that turns loud after quiet ones.
type markerReceiver struct {
	dec  *opus.Decoder
	pcm  []float32
	loud bool
	got  []time.Time
}

func newMarkerReceiver() *markerReceiver {
	dec, _ := opus.NewDecoder(audio.SampleRate, 1)
	return &markerReceiver{dec: dec, pcm: make([]float32, 5760)}
}

func (r *markerReceiver) packet(p *rtp.Packet, at time.Time) {
	n, err := r.dec.DecodeFloat32(p.Payload, r.pcm)
	if err != nil {
		return
	}
	l := audio.Peak(r.pcm[:n]) > 0.1
	if l && !r.loud {
		r.got = append(r.got, at)
	}
	r.loud = l
}

// delays pairs each marker with its arrival; the first two seconds are a
// warm-up (the floor switching from silence, jitter buffers settling).
func delays(sent, got []time.Time) []float64 {
	var d []float64
	j := 0
	for i, s := range sent {
		if i < 10 {
			continue
		}
		for j < len(got) && got[j].Before(s) {
			j++
		}
		if j < len(got) && got[j].Sub(s) < time.Second {
			d = append(d, float64(got[j].Sub(s).Microseconds())/1000)
			j++
		}
	}
	return d
}

func sorted(d []float64) []float64 {
	d = append([]float64(nil), d...)
	sort.Float64s(d)
	return d
}

func pct(d []float64, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	return d[min(len(d)-1, int(p*float64(len(d))))]
}

// benchBooth serves a French booth waiting for a WHIP floor, with Anne in it.
func benchBooth(b *testing.B, ctx context.Context) (*boothHarness, *boothClient) {
	h := startBoothsTB(b, "{tag: fr}", "whip")
	return h, dialBooth(b, ctx, h.http.URL, "fr", h.token(b, "fr", "Anne"))
}

// BenchmarkFloorToBoothDelay: WHIP floor packet sent → the booth receives the
// floor packet carrying it (server-added delay plus two loopback hops).
// Run with -bench FloorToBooth -benchtime 1x; reports p50/p99 in ms.
func BenchmarkFloorToBoothDelay(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, c := benchBooth(b, ctx)
	defer c.close()
	rx := newMarkerReceiver()
	c.onPacket = func(stream string, p *rtp.Packet, at time.Time) {
		if stream == "floor" {
			rx.packet(p, at)
		}
	}
	api, _ := rtc.NewAPI(rtc.Options{Loopback: true})
	pub, err := rtc.PublishWHIP(ctx, api, h.http.URL+"/whip/test", streamKey)
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close(context.Background())
	ms := &markerSender{every: 10}
	b.ResetTimer()
	if err := ms.run(ctx, func(p []byte) error { return pub.WriteOpus(p, audio.FrameDuration) }, 50*20*b.N); err != nil {
		b.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	c.mu.Lock()
	report(b, delays(ms.sent, rx.got))
	c.mu.Unlock()
}

// report logs the delays in time order and reports their p50 and p99.
func report(b *testing.B, d []float64) {
	b.Logf("delays in order (ms): %v", d)
	d = sorted(d)
	b.ReportMetric(pct(d, 0.5), "p50-ms")
	b.ReportMetric(pct(d, 0.99), "p99-ms")
	b.ReportMetric(float64(len(d)), "markers")
}

// BenchmarkMouthToListenerDelay: booth mic packet sent → a WHEP listener of
// that language receives the mixed packet carrying it (jitter buffer, tick,
// mix and encode included, plus two loopback hops).
func BenchmarkMouthToListenerDelay(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, c := benchBooth(b, ctx)
	defer c.close()
	c.send(map[string]any{"type": "mic", "on": true})
	api, _ := rtc.NewAPI(rtc.Options{Loopback: true})
	lis, err := rtc.DialWHEP(ctx, api, h.http.URL+"/whep/test/fr", 2000)
	if err != nil {
		b.Fatal(err)
	}
	rx := newMarkerReceiver()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case p := <-lis.Packets():
				rx.packet(p, time.Now())
			case <-ctx.Done():
				return
			}
		}
	}()
	ms := &markerSender{every: 10}
	b.ResetTimer()
	if err := ms.run(ctx, func(p []byte) error { return c.Speak(p, audio.FrameDuration) }, 50*20*b.N); err != nil {
		b.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	_ = lis.Close(context.Background())
	report(b, delays(ms.sent, rx.got))
}
