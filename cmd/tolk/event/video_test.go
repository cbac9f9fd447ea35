package event

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// videoEvent runs an event whose floor is source, with French interpreted
// (nobody in the booth: the French mix carries the floor), and collects the
// program's pictures and the French mix's PCM.
type videoEvent struct {
	ev    *Event
	video *media.Reader[media.Unit]
	pcm   *media.Reader[media.Unit]
}

func startVideoEvent(t *testing.T, source string, logs *audiotest.LockedBuffer) *videoEvent {
	t.Helper()
	// No captions: the floor is beeps and tones, and a recognizer on it
	// would only spend CPU.
	cfg, err := config.Parse([]byte("id: t\nfloor: {language: en, source: \""+source+"\", loop: false}\nlanguages: [{tag: fr}]\nrecord: false\nhls: {aac: false}\ncaptions: {backend: none}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	fr, _ := ev.Mix("fr")
	ve := &videoEvent{ev: ev, video: ev.program.Video().Read("test", 2000), pcm: fr.PCM().Read("test", 2000)}
	if err := ev.Start(); err != nil {
		ev.Close()
		t.Fatal(err)
	}
	return ve
}

// drain takes what the readers hold now (all of it once the event closed
// them).
func (ve *videoEvent) drain(video, pcm []media.Unit) ([]media.Unit, []media.Unit) {
	vc, pc := ve.video.C, ve.pcm.C
	for vc != nil || pc != nil {
		select {
		case u, ok := <-vc:
			if !ok {
				vc = nil
				continue
			}
			video = append(video, u)
		case u, ok := <-pc:
			if !ok {
				pc = nil
				continue
			}
			pcm = append(pcm, u)
		default:
			return video, pcm
		}
	}
	return video, pcm
}

// beepsOnProgram returns the program time of each beep's first sample in a
// mix's PCM: the first sample above -26 dBFS after half a second below.
func beepsOnProgram(pcm []media.Unit) []int64 {
	sort.Slice(pcm, func(i, j int) bool { return pcm[i].PTS < pcm[j].PTS })
	var on []int64
	last := int64(math.MinInt32)
	for _, u := range pcm {
		for i, x := range u.PCM {
			at := u.PTS + int64(i)
			if math.Abs(float64(x)) > 0.05 {
				if at-last > audio.SampleRate/2 {
					on = append(on, at)
				}
				last = at
			}
		}
	}
	return on
}

// lipSync pairs every flash with the nearest beep and returns the offsets
// (picture minus sound, in samples), failing beyond 40 ms. On a loaded
// machine the floor may stall; the program then skips the backlog that
// follows (skipped samples of floor, from the event's FloorDropped), and a
// beep whose onset was in it is heard late by at most that, or not at all:
// such a flash is counted, not failed, while most flashes still pair.
func lipSync(t *testing.T, video, pcm []media.Unit, minFlashes int, skipped int64) []int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if len(video) == 0 || !video[0].Key {
		t.Fatalf("%d pictures on the program, the first not a key frame", len(video))
	}
	flashes, err := videotest.Flashes(ctx, video)
	if err != nil {
		t.Fatal(err)
	}
	beeps := beepsOnProgram(pcm)
	if len(flashes) < minFlashes {
		t.Fatalf("flashes at %v, beeps at %v: want %d flashes at least", flashes, beeps, minFlashes)
	}
	var offs []int64
	cut := 0
	for i, f := range flashes {
		best := int64(math.MaxInt64)
		for _, b := range beeps {
			if math.Abs(float64(f-b)) < math.Abs(float64(best)) {
				best = f - b
			}
		}
		ms := float64(best) * 1000 / audio.SampleRate
		t.Logf("flash %d: picture at program %.4f s, %+.2f ms from its beep", i, float64(f)/audio.SampleRate, ms)
		if math.Abs(ms) > 40 {
			tol := int64(audio.SampleRate * 40 / 1000)
			if skipped > 0 && (best < 0 && -best <= skipped+tol || best > audio.SampleRate/2 || best < -audio.SampleRate/2) {
				t.Logf("flash %d: its beep's onset was in the floor skipped after a stall (%d samples skipped)", i, skipped)
				cut++
				continue
			}
			t.Errorf("flash %d at %d: %+.2f ms from the nearest beep (beeps %v)", i, f, ms, beeps)
		}
		offs = append(offs, best)
	}
	if cut > len(flashes)/2 {
		t.Errorf("%d of %d flashes lost their beep to skipped floor", cut, len(flashes))
	}
	return offs
}

// The floor's pictures are lip-synced with every language: a flash and beep
// clip as the file floor of a real event, each flash's PTS on the program's
// video track against its beep's onset in the French mix.
func TestFileFloorLipSync(t *testing.T) {
	defer goleak.VerifyNone(t)
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "flash.mp4")
	// 4 s: four flashes, each paired with its beep.
	if err := videotest.FlashBeep(ctx, path, 4, 30, 2); err != nil {
		t.Fatal(err)
	}
	var logs audiotest.LockedBuffer
	ve := startVideoEvent(t, "file:"+path, &logs)
	defer ve.ev.Close()
	var video, pcm []media.Unit
	for ve.ev.FloorState() != "ended" {
		if ctx.Err() != nil {
			t.Fatalf("the file never ended: %+v\n%s", ve.ev.Stats(), logs.String())
		}
		video, pcm = ve.drain(video, pcm)
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the queued floor is mixed
	video, pcm = ve.drain(video, pcm)
	ve.ev.Close()
	s := ve.ev.Stats()
	offs := lipSync(t, video, pcm, 4, int64(s.FloorDropped)*audio.FrameSamples)
	t.Logf("%d pictures on the program (%d dropped), %d floor frames, %d silent ticks; offsets (samples) %v",
		s.VideoFrames, s.VideoDropped, s.FloorFrames, s.SilentTicks, offs)
	for i, u := range video {
		if u.Wall.IsZero() || !u.Wall.Equal(ve.ev.timeline.Wall(u.PTS)) {
			t.Fatalf("picture %d: wall %v, want the timeline's for PTS %d", i, u.Wall, u.PTS)
		}
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// publish pushes input args over RTMP in real time, as OBS would.
func publish(t *testing.T, url string, args ...string) *exec.Cmd {
	t.Helper()
	full := append([]string{"-nostdin", "-hide_banner", "-loglevel", "error", "-re"}, args...)
	full = append(full, "-f", "flv", url)
	cmd := exec.Command("ffmpeg", full...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	return cmd
}

// An RTMP publisher's pictures reach the program's video track with key
// frames, lip-synced (the flash and beep clip, pushed as OBS would); a
// second publisher after it (a new source clock) is placed again; an
// audio-only publisher gives the program no picture.
func TestRTMPFloorVideo(t *testing.T) {
	defer goleak.VerifyNone(t)
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	clip := filepath.Join(t.TempDir(), "flash.flv")
	if err := videotest.FlashBeep(ctx, clip, 5, 30, 0); err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/k3y", port)
	var logs audiotest.LockedBuffer
	ve := startVideoEvent(t, url, &logs)
	defer ve.ev.Close()
	var video, pcm []media.Unit
	wait := func(what string, cond func() bool) {
		t.Helper()
		for !cond() {
			if ctx.Err() != nil {
				t.Fatalf("waiting for %s: %+v\n%s", what, ve.ev.Stats(), logs.String())
			}
			video, pcm = ve.drain(video, pcm)
			time.Sleep(20 * time.Millisecond)
		}
	}
	// ffmpeg's listener needs a moment to bind: retry the publisher.
	for try := 0; ; try++ {
		cmd := publish(t, url, "-i", clip, "-c", "copy")
		err := cmd.Wait()
		if ve.ev.Stats().VideoFrames > 0 {
			break
		}
		if try == 10 {
			t.Fatalf("publisher: %v; no picture after %d tries\n%s", err, try+1, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	wait("the publisher to leave", func() bool { return !ve.ev.program.Inputs()[0].Live() })
	video, pcm = ve.drain(video, pcm)
	keys := 0
	for _, u := range video {
		if u.Key {
			keys++
		}
	}
	t.Logf("first publisher: %d pictures, %d key frames", len(video), keys)
	if keys < 3 || len(video) < 90 {
		t.Fatalf("%d pictures, %d key frames from a 5 s clip", len(video), keys)
	}
	lipSync(t, video, pcm, 3, int64(ve.ev.Stats().FloorDropped)*audio.FrameSamples)

	// A second publisher: a new source clock, placed where the program is.
	before := ve.ev.Stats().VideoFrames
	last := video[len(video)-1].DTS
	video, pcm = nil, nil
	// 640x360: the listener passes pictures through whatever their size.
	publish(t, url, "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac")
	wait("the second publisher's pictures", func() bool { return ve.ev.Stats().VideoFrames > before+60 })
	video, _ = ve.drain(video, pcm)
	if len(video) == 0 || !video[0].Key || video[0].DTS <= last {
		t.Fatalf("second publisher: first picture %+v after DTS %d", video[0], last)
	}
	now := ve.ev.ProgramTime()
	t.Logf("second publisher: first picture at program %.3f s, after the first's last at %.3f s; program at %.3f s",
		float64(video[0].PTS)/48000, float64(last)/48000, float64(now)/48000)
	if d := video[len(video)-1].PTS - now; math.Abs(float64(d)) > 2*audio.SampleRate {
		t.Fatalf("second publisher's pictures at %d, program at %d", video[len(video)-1].PTS, now)
	}
	ve.ev.Close()
	if s := ve.ev.Stats(); s.IngestRestarts < 1 {
		t.Errorf("restarts %d, want the listener restarted for the second publisher", s.IngestRestarts)
	}
}

// An audio-only RTMP publisher: its audio is the floor as before, and the
// program has no picture.
func TestRTMPFloorAudioOnly(t *testing.T) {
	defer goleak.VerifyNone(t)
	audiotest.NeedTool(t, "ffmpeg")
	port := freeTCPPort(t)
	url := "rtmp://127.0.0.1:" + strconv.Itoa(port) + "/live/k3y"
	var logs audiotest.LockedBuffer
	ve := startVideoEvent(t, url, &logs)
	defer ve.ev.Close()
	deadline := time.Now().Add(60 * time.Second)
	for try := 0; ve.ev.Stats().FloorFrames < 100; try++ {
		if time.Now().After(deadline) {
			t.Fatalf("no floor: %+v\n%s", ve.ev.Stats(), logs.String())
		}
		cmd := publish(t, url, "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=3", "-c:a", "aac")
		_ = cmd.Wait()
	}
	ve.ev.Close()
	var video, pcm []media.Unit
	video, pcm = ve.drain(video, pcm)
	if len(video) != 0 {
		t.Fatalf("%d pictures from an audio-only publisher", len(video))
	}
	if len(beepsOnProgram(pcm)) == 0 {
		t.Fatal("the French mix never carried the publisher's tone")
	}
	t.Logf("audio only: %d floor frames, no picture", ve.ev.Stats().FloorFrames)
}

// A switch of floor input switches the pictures at the new input's next
// key frame: two studios with video (black with white flashes, testsrc2),
// the program's pictures are the first's until the switch, then, from a key
// frame on, the second's; DTS never goes back.
func TestFloorSwitchSwitchesVideo(t *testing.T) {
	defer goleak.VerifyNone(t)
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dir := t.TempDir()
	a := filepath.Join(dir, "a.mp4")
	if err := videotest.FlashBeep(ctx, a, 4, 30, 0); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "b.mp4")
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4", "-c:v", "libx264", "-preset", "ultrafast",
		"-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", b).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v %s", err, out)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
id: t
floor:
  language: en
  inputs:
    - {id: a, source: "file:%s", loop: true}
    - {id: b, source: "file:%s", loop: true}
languages: [{tag: fr}]
record: false
hls: {aac: false}
captions: {backend: none} # beeps and tones: nothing to caption
`, a, b)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs audiotest.LockedBuffer
	ev, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	video := ev.Video().Read("test", 2000)
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	var pics []media.Unit
	collect := func(until func() bool) {
		for !until() {
			select {
			case u := <-video.C:
				pics = append(pics, u)
			case <-ctx.Done():
				t.Fatalf("timed out: %d pictures, %+v\n%s", len(pics), ev.Stats(), logs.String())
			}
		}
	}
	collect(func() bool { return len(pics) >= 30 }) // a second of input a
	if err := ev.SwitchFloor("b"); err != nil {
		t.Fatal(err)
	}
	at := len(pics)
	collect(func() bool { return len(pics) >= at+90 })
	ev.Close()
	// Input a's pictures are all tiny (black, or one white frame); b's are
	// not: the first large picture is where the switch took.
	first := -1
	for i, u := range pics {
		if i > 0 && u.DTS <= pics[i-1].DTS {
			t.Fatalf("picture %d: DTS %d after %d", i, u.DTS, pics[i-1].DTS)
		}
		big := len(u.Payload) > 5000
		if big && first < 0 {
			first = i
		}
		if first >= 0 && !big && i > first {
			t.Fatalf("picture %d (%d bytes) after the switch took at %d: input a's again?", i, len(u.Payload), first)
		}
	}
	if first < at || !pics[first].Key {
		t.Fatalf("the switch was asked at picture %d; the second input's first picture is %d (key %v)", at, first, first >= 0 && pics[first].Key)
	}
	t.Logf("switch asked after picture %d (program %.3f s), the second input's pictures from %d (program %.3f s), a key frame",
		at, float64(pics[at-1].PTS)/48000, first, float64(pics[first].PTS)/48000)
}
