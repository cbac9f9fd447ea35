package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/audio/audiotest"
	"tolk/internal/rtc"
)

// tsFloor makes a floor file: testsrc2 1280x720 at 30 fps in H.264 High
// profile as OBS sends it (browsers decode it under the constrained
// baseline the SDP names), a key frame every gop frames, no B-frames, as
// WebRTC wants; and a sine (AAC).
// It is made once per run for each length and key frame interval.
func tsFloor(t testing.TB, seconds, gop int) string {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	return sharedFixture(t, fmt.Sprintf("floor-%ds-gop%d", seconds, gop), "floor.ts", func(path string) error {
		out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error",
			"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1280x720:rate=30:duration=%d", seconds),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:sample_rate=48000:duration=%d", seconds),
			"-c:v", "libx264", "-preset", "superfast", "-profile:v", "high", "-pix_fmt", "yuv420p", "-bf", "0",
			"-g", fmt.Sprint(gop), "-keyint_min", fmt.Sprint(gop), "-sc_threshold", "0",
			"-c:a", "aac", "-ac", "1", path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}

// h264Key says whether an RTP payload starts a key frame: the parameter
// sets (alone or aggregated in a STAP-A) or an IDR slice.
func h264Key(p []byte) bool {
	if len(p) < 2 {
		return false
	}
	switch t := p[0] & 0x1f; t {
	case 5, 7:
		return true
	case 24: // STAP-A: the first aggregated unit's type
		return len(p) > 3 && (p[3]&0x1f == 7 || p[3]&0x1f == 5)
	case 28: // FU-A: the fragmented unit's type, on its start
		return p[1]&0x80 != 0 && p[1]&0x1f == 5
	}
	return false
}

// TestWHEPVideo: a file floor with H.264 video; a WHEP viewer offering
// audio and video (pion) receives the language's Opus and the picture as
// H.264 RTP, starting at a key frame, frames marked; the sender reports of
// both streams map their RTP clocks to one wall clock, within a frame of
// each other for the same program time (what a browser lip-syncs by); an
// audio-only offer gets audio alone.
func TestWHEPVideo(t *testing.T) {
	leakCheck(t)
	floor := tsFloor(t, 30, 30)
	cfg := eventConfig(t, `
id: test
title: Test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, floor)
	h := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	vo, ok := h.ev.VideoOutput()
	if !ok {
		t.Fatal("no video output")
	}
	// Wait for the picture on the program before joining.
	for vo.Stats().Reader.Received == 0 {
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no picture on the program")
		}
	}

	joined := time.Now()
	v, err := rtc.DialWHEPVideo(ctx, api, h.http.URL+"/whep/test/fr", 4096)
	if err != nil {
		t.Fatal(err)
	}
	connected := time.Now()
	var (
		frames, packets int
		first           *rtp.Packet
		firstAt         time.Time
		lastTS          uint32
		audioTS         []uint32
	)
	deadline := time.After(8 * time.Second)
	for frames < 120 {
		select {
		case p := <-v.Video():
			if first == nil {
				first, firstAt = p, time.Now()
			}
			packets++
			if p.Marker {
				frames++
				lastTS = p.Timestamp
			}
		case p := <-v.Audio():
			audioTS = append(audioTS, p.Timestamp)
		case <-deadline:
			t.Fatalf("%d video frames (%d packets) and %d audio packets in 8 s", frames, packets, len(audioTS))
		}
	}
	if v.Codec() != "video/H264" {
		t.Errorf("codec %q", v.Codec())
	}
	if !h264Key(first.Payload) {
		t.Errorf("the first packet (%x) does not start a key frame", first.Payload[:min(4, len(first.Payload))])
	}
	t.Logf("join: offer to connected %v, connected to first picture %v; %d frames in %d packets, %d audio packets",
		connected.Sub(joined).Round(time.Millisecond), firstAt.Sub(connected).Round(time.Millisecond), frames, packets, len(audioTS))
	if len(audioTS) < 100 {
		t.Errorf("%d audio packets beside the picture", len(audioTS))
	}
	// Lip sync as the receiver computes it: the wall-clock time each
	// stream's sender report gives program time p (audio p at 48 kHz,
	// video p at 90 kHz).
	var a, vr rtc.SenderReport
	for ok := false; !ok; {
		if a, vr, ok = v.Reports(); !ok {
			select {
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				t.Fatal("no sender reports for both streams")
			}
		}
	}
	p := int64(lastTS) * 48000 / 90000 // a program time near now (mod 2^32 of the audio clock)
	wallA := a.NTP.Add(time.Duration(int32(uint32(p)-a.RTP)) * time.Second / 48000)
	wallV := vr.NTP.Add(time.Duration(int32(uint32(p*90000/48000)-vr.RTP)) * time.Second / 90000)
	skew := wallV.Sub(wallA)
	t.Logf("sender reports: program time %d is at %v by the video's, %v by the audio's: video %+v against audio",
		p, wallV.Format("15:04:05.000"), wallA.Format("15:04:05.000"), skew.Round(time.Millisecond))
	if skew < -200*time.Millisecond || skew > 200*time.Millisecond {
		t.Errorf("video and audio sender reports %v apart for the same program time", skew)
	}
	if err := v.Close(ctx); err != nil {
		t.Error(err)
	}
	st := vo.Stats()
	t.Logf("video output: %+v", st)
	resp, err := http.Get(h.http.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`tolk_whep_video_peers{event="test"} 0`, `tolk_whep_video_key_requests_total{event="test"}`,
		`tolk_whep_video_waiting_frames_total{event="test"}`} {
		if !strings.Contains(string(metrics), m) {
			t.Errorf("/metrics has no %s", m)
		}
	}
	if st.Track.Sent == 0 || st.Reader.Dropped != 0 {
		t.Errorf("stats %+v", st)
	}

	// An audio-only offer: no video m-line in the answer's senders.
	l, err := rtc.DialWHEP(ctx, api, h.http.URL+"/whep/test/en", 256)
	if err != nil {
		t.Fatal(err)
	}
	got := 0
	for got < 50 {
		select {
		case p := <-l.Packets():
			if p.PayloadType != 111 {
				t.Fatalf("audio-only offer got payload type %d", p.PayloadType)
			}
			got++
		case <-ctx.Done():
			t.Fatal("audio-only offer: no audio")
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Error(err)
	}
	if n := vo.Stats().Track.Peers; n != 0 {
		t.Errorf("%d video peers after every viewer left", n)
	}
}

// BenchmarkWHEPVideoViewers measures what a WHEP viewer costs with the
// picture and without it: n pion viewers in this process (their receiving,
// SRTP and RTCP included, so the figure is an upper bound of the server's
// share) on a file floor with 720p30 H.264, the process's CPU over 10 s
// with them, less the CPU of 10 s with none, per viewer and second.
// Run with -bench WHEPVideoViewers -benchtime 1x.
func BenchmarkWHEPVideoViewers(b *testing.B) {
	floor := tsFloor(b, 60, 60)
	cfg := eventConfig(b, `
id: test
title: Test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, floor)
	h := start(b, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		b.Fatal(err)
	}
	const n, window = 10, 10 * time.Second
	measure := func() time.Duration {
		c0 := cpuNow()
		time.Sleep(window)
		return cpuNow() - c0
	}
	time.Sleep(3 * time.Second)
	idle := measure()
	for _, video := range []bool{false, true} {
		var closers []func()
		packets := 0
		stop := make(chan struct{})
		done := make(chan struct{})
		var chans []<-chan *rtp.Packet
		for range n {
			if video {
				v, err := rtc.DialWHEPVideo(ctx, api, h.http.URL+"/whep/test/fr", 1024)
				if err != nil {
					b.Fatal(err)
				}
				chans = append(chans, v.Audio(), v.Video())
				closers = append(closers, func() { _ = v.Close(ctx) })
			} else {
				l, err := rtc.DialWHEP(ctx, api, h.http.URL+"/whep/test/fr", 1024)
				if err != nil {
					b.Fatal(err)
				}
				chans = append(chans, l.Packets())
				closers = append(closers, func() { _ = l.Close(ctx) })
			}
		}
		go func() {
			defer close(done)
			for {
				for _, c := range chans {
					for more := true; more; {
						select {
						case <-c:
							packets++
						default:
							more = false
						}
					}
				}
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
			}
		}()
		time.Sleep(2 * time.Second)
		used := measure()
		close(stop)
		<-done
		for _, c := range closers {
			c()
		}
		per := (used - idle).Seconds() / window.Seconds() / n * 1000
		name := "audio"
		if video {
			name = "audio+video"
		}
		b.Logf("%s: %d viewers, %.1f ms CPU per viewer per second (idle %.0f ms/s), %d packets received in all",
			name, n, per, idle.Seconds()/window.Seconds()*1000, packets)
		b.ReportMetric(per, "ms-cpu/s-per-"+strings.ReplaceAll(name, "+", "-")+"-viewer")
	}
}

func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
