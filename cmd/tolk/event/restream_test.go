package event

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/restream"
	"tolk/internal/restream/restreamtest"
)

// toneVoice is an interpreter who holds one tone.
type toneVoice struct{ hz float64 }

func (v toneVoice) ReadFrame(pts int64) (audio.Frame, bool) {
	return audio.Frame{PTS: pts, Samples: audiotest.Tone(v.hz, 0.3, int(pts), audio.FrameSamples)}, true
}

// TestPushFrench: an event whose floor is a file with H.264 and a 440 Hz
// tone, French interpreted (a 660 Hz voice over the ducked floor), pushes
// French to a real RTMP server (nginx's RTMP module) with hls.aac off: the
// server records the floor's picture and the French mix as AAC; stopped
// and started again, it gets the push back, counted as a reconnect.
func TestPushFrench(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	floor := filepath.Join(dir, "floor.mp4")
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
		"-f", "lavfi", "-i", "sine=f=440:sample_rate=48000", "-t", "6", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25",
		"-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", floor).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v: %s", err, out)
	}
	port := restreamtest.FreePort(t)
	srv := restreamtest.NewServer(t, port)
	srv.Start(t)
	defer srv.Stop()
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
id: t
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
record: false
hls: {aac: false}
captions: {backend: none} # tones: nothing to caption
outputs:
  - {lang: fr, url: "rtmp://127.0.0.1:%d/live/frkey-secret", name: Test FR}
  - {lang: en, url: "rtmp://127.0.0.1:%d/live/enkey", enabled: false}
`, floor, port, port)), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := ev.SetVoice("fr", toneVoice{660}); err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	push := func() restream.Status { return ev.Pushes()[0] }
	waitLong := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("timed out waiting for %s: %+v", what, ev.Pushes())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	// 2 s per connection: the recording's middle half second, where the mix
	// is checked, is well clear of its start and end.
	waitLong("2 s of French pushed", func() bool { s := push(); return s.State == restream.StateConnected && s.SentSeconds >= 2 })
	st := ev.Pushes()
	t.Logf("pushes: %+v", st)
	if !st[0].Video || st[0].ID != "fr-1" || st[0].Name != "Test FR" || st[1].State != restream.StateStopped || st[1].ID != "en-1" {
		t.Fatalf("pushes %+v", st)
	}
	for _, s := range st {
		if strings.Contains(s.URL, "key") {
			t.Fatalf("status shows a key: %q", s.URL)
		}
	}
	srv.Stop()
	waitLong("the push to notice", func() bool { return push().State != restream.StateConnected })
	srv.Start(t)
	waitLong("the push back", func() bool {
		s := push()
		return s.State == restream.StateConnected && s.Reconnects == 1 && s.SentSeconds >= 2
	})
	t.Logf("after the restart: %+v", push())
	if err := ev.StopPush("fr-1"); err != nil {
		t.Fatal(err)
	}
	if s := push(); s.State != restream.StateStopped {
		t.Fatalf("stopped push: %+v", s)
	}
	if err := ev.StartPush("xx-1"); err == nil {
		t.Fatal("an unknown push started")
	}
	ev.Close()
	srv.Stop()
	files := srv.Recordings(t)
	if len(files) != 2 {
		t.Fatalf("recorded %v, want one file per connection", files)
	}
	for _, f := range files {
		streams := restreamtest.Probe(t, f)
		if !strings.Contains(streams, "h264,640,360") || !strings.Contains(streams, "aac,48000,1") {
			t.Fatalf("%s: streams %q, want the floor's h264 640x360 and mono 48 kHz AAC", f, streams)
		}
		pcm, err := audiotest.Decode(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		mid := pcm[len(pcm)/2-12000 : len(pcm)/2+12000]
		fr, frAmp := audiotest.Goertzel(mid, 660, 48000), audiotest.Goertzel(mid, 440, 48000)
		t.Logf("%s: %.1f s, 660 Hz (the French voice) %.3f, 440 Hz (the floor) %.3f", filepath.Base(f), float64(len(pcm))/48000, fr, frAmp)
		if fr < 0.1 || fr < 3*frAmp {
			t.Fatalf("%s is not the French mix: 660 Hz %.3f, 440 Hz %.3f", f, fr, frAmp)
		}
	}
}
