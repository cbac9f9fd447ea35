package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// vrecorder is a VideoWriter that keeps what it receives.
type vrecorder struct {
	mu     sync.Mutex
	audio  []float32 // the samples, in order
	srcs   []int64   // each frame's source time
	clks   map[uint64]bool
	video  []media.Unit
	vclks  map[uint64]bool
	frames int
}

func newVRecorder() *vrecorder {
	return &vrecorder{clks: map[uint64]bool{}, vclks: map[uint64]bool{}}
}

func (r *vrecorder) WriteFloor([]float32) { panic("a VideoWriter's source must stamp its audio") }

func (r *vrecorder) WriteFloorAt(clk uint64, src int64, s []float32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames++
	r.audio = append(r.audio, s...)
	r.srcs = append(r.srcs, src)
	r.clks[clk] = true
}

func (r *vrecorder) WriteVideo(clk uint64, u media.Unit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.video = append(r.video, u)
	r.vclks[clk] = true
}

func (r *vrecorder) snapshot() (frames int, video []media.Unit) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames, append([]media.Unit(nil), r.video...)
}

// beepOnsets finds where each beep of a FlashBeep clip starts in s: the
// first sample above -26 dBFS after at least half a second below it.
func beepOnsets(s []float32) []int64 {
	var on []int64
	last := int64(math.MinInt32)
	for i, x := range s {
		if math.Abs(float64(x)) > 0.05 {
			if int64(i)-last > audio.SampleRate/2 {
				on = append(on, int64(i))
			}
			last = int64(i)
		}
	}
	return on
}

// checkKeyFrames checks that video has key frames and that each carries SPS
// and PPS.
func checkKeyFrames(t *testing.T, video []media.Unit) int {
	t.Helper()
	keys := 0
	for i, u := range video {
		if u.Codec != media.H264 || u.DTS > u.PTS {
			t.Fatalf("frame %d: codec %v, DTS %d > PTS %d", i, u.Codec, u.DTS, u.PTS)
		}
		if i > 0 && u.DTS <= video[i-1].DTS {
			t.Fatalf("frame %d: DTS %d after %d", i, u.DTS, video[i-1].DTS)
		}
		if !u.Key {
			continue
		}
		keys++
		var au h264.AVCC
		if err := au.Unmarshal(u.Payload); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		types := map[h264.NALUType]bool{}
		for _, n := range au {
			types[h264.NALUType(n[0]&0x1f)] = true
		}
		if !types[h264.NALUTypeSPS] || !types[h264.NALUTypePPS] || !types[h264.NALUTypeIDR] {
			t.Fatalf("key frame %d without SPS, PPS or IDR: %v", i, types)
		}
	}
	return keys
}

// A file with H.264 and AAC: the pictures are remuxed, not re-encoded, and
// every flash's PTS is its beep's source time, B-frames or not, in MP4 or
// MPEG-TS.
func TestFileVideoOnTheAudioClock(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	mp4 := filepath.Join(dir, "clip.mp4") // the first case's clip
	for _, c := range []struct {
		name    string
		bframes int
	}{{"clip.mp4", 2}, {"clip.ts", 0}, {"clip.flv", 2}} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(dir, c.name)
			if c.name == "clip.flv" {
				// The MP4's streams, B-frames and all, copied into FLV: the
				// container is what this case tests, not another encode.
				runTool(t, "-loglevel", "error", "-i", mp4, "-c", "copy", path)
			} else if err := videotest.FlashBeep(ctx, path, 4, 30, c.bframes); err != nil {
				t.Fatal(err)
			}
			clock := audiotest.NewClock()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { defer close(done); drive(clock, stop) }()
			rec := newVRecorder()
			err := NewFile(path, false, clock).Run(ctx, rec)
			close(stop)
			<-done
			if err == nil || ctx.Err() != nil {
				t.Fatalf("run: %v", err)
			}
			for i, s := range rec.srcs {
				if s != int64(i*audio.FrameSamples) {
					t.Fatalf("audio frame %d at source time %d", i, s)
				}
			}
			if len(rec.clks) != 1 || len(rec.vclks) != 1 {
				t.Fatalf("clocks: audio %v video %v, want one and the same", rec.clks, rec.vclks)
			}
			for k := range rec.clks {
				if !rec.vclks[k] {
					t.Fatalf("video on clock %v, audio on %v", rec.vclks, rec.clks)
				}
			}
			if n := len(rec.video); n < 110 || n > 120 {
				t.Fatalf("%d pictures, want 4 s at 30/s", n)
			}
			if keys := checkKeyFrames(t, rec.video); keys < 4 {
				t.Fatalf("%d key frames, want one a second", keys)
			}
			beeps := beepOnsets(rec.audio)
			flashes, err := videotest.Flashes(ctx, rec.video)
			if err != nil {
				t.Fatal(err)
			}
			if len(beeps) != 4 || len(flashes) != 4 {
				t.Fatalf("beeps at %v, flashes at %v: want 4 of each", beeps, flashes)
			}
			for i := range beeps {
				off := flashes[i] - beeps[i]
				t.Logf("flash %d: picture at %d, beep at %d: %+.2f ms", i, flashes[i], beeps[i], float64(off)/48)
				if math.Abs(float64(off)) > 48*2 { // 2 ms: the source clock itself
					t.Errorf("flash %d: %+.2f ms from its beep", i, float64(off)/48)
				}
			}
		})
	}
}

// An audio-only file through a VideoWriter: no pictures, and the audio as
// the file holds it.
func TestFileAudioOnlyHasNoVideo(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, ext := range []string{"wav", "ogg"} {
		path := makeTone(t, "tone."+ext, 1000, 44100, 2*time.Second)
		clock := audiotest.NewClock()
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() { defer close(done); drive(clock, stop) }()
		rec := newVRecorder()
		err := NewFile(path, false, clock).Run(ctx, rec)
		close(stop)
		<-done
		if err == nil || ctx.Err() != nil {
			t.Fatalf("%s: run: %v", ext, err)
		}
		if len(rec.video) != 0 {
			t.Fatalf("%s: %d pictures from an audio-only file", ext, len(rec.video))
		}
		if rec.frames < 99 || rec.frames > 101 {
			t.Fatalf("%s: %d frames, want 2 s", ext, rec.frames)
		}
		mid := rec.audio[audio.SampleRate/2 : audio.SampleRate/2+audio.FrameSamples]
		if d := dominant(mid, probeFreqs...); d != 1000 {
			t.Fatalf("%s: dominant %v Hz", ext, d)
		}
	}
}

// startVideoPublisherTo pushes 720p testsrc2 and a sine in real time over
// RTMP (as OBS would) or SRT (MPEG-TS); audioOnly leaves the picture out.
func startVideoPublisherTo(t testing.TB, scheme string, port int, key string, audioOnly bool) *publisher {
	return startVideoPublisherSize(t, scheme, port, key, "1280x720", audioOnly)
}

// startVideoPublisherSize is startVideoPublisherTo with pictures of size.
func startVideoPublisherSize(t testing.TB, scheme string, port int, key, size string, audioOnly bool) *publisher {
	t.Helper()
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-re"}
	if !audioOnly {
		args = append(args, "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30")
	}
	args = append(args, "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000")
	if !audioOnly {
		args = append(args, "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "30", "-pix_fmt", "yuv420p")
	}
	args = append(args, "-c:a", "aac", "-b:a", "128k")
	if scheme == "srt" {
		args = append(args, "-f", "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?mode=caller", port))
	} else {
		args = append(args, "-f", "flv", fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key))
	}
	p := &publisher{cmd: exec.Command("ffmpeg", args...)}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start publisher: %v", err)
	}
	t.Cleanup(p.kill)
	return p
}

// An RTMP or SRT publisher's pictures reach the VideoWriter with key
// frames, on the clock of its audio; an audio-only publisher's audio
// arrives as before and no picture.
func TestListenerVideo(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	// The cases run at once, each on its own port: they wait for seconds of
	// live input, not for CPU. Not t.Parallel, which -parallel would hold to
	// two at a time on two cores.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, c := range []struct {
		scheme    string
		audioOnly bool
	}{{"rtmp", false}, {"rtmp", true}, {"srt", false}} {
		name := c.scheme
		if c.audioOnly {
			name += "-audio-only"
		}
		wg.Go(func() {
			t.Run(name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				audioOnly := c.audioOnly
				network, url := "tcp", "rtmp://127.0.0.1:%d/live/"+testKey
				if c.scheme == "srt" {
					network, url = "udp", "srt://127.0.0.1:%d"
				}
				port := freePort(t, network)
				src, err := NewListener(fmt.Sprintf(url, port), slog.New(slog.NewTextHandler(&logWriter{t: t}, nil)))
				if err != nil {
					t.Fatal(err)
				}
				rec := newVRecorder()
				runCtx, stop := context.WithCancel(ctx)
				done := make(chan error, 1)
				go func() { done <- src.Run(runCtx, rec) }()
				eventually(t, 10*time.Second, "the listener", func() bool { return portBound(t, network, port) })
				// 640x360: the listener passes pictures through whatever their
				// size, and a quarter of 720p's pixels costs the publisher a
				// quarter of the CPU.
				pub := startVideoPublisherSize(t, c.scheme, port, testKey, "640x360", audioOnly)
				eventually(t, 30*time.Second, "3 s of audio", func() bool { n, _ := rec.snapshot(); return n >= 150 })
				if !audioOnly {
					eventually(t, 30*time.Second, "90 pictures", func() bool { _, v := rec.snapshot(); return len(v) >= 90 })
				}
				stop()
				<-done
				pub.kill()
				frames, video := rec.snapshot()
				if audioOnly {
					if len(video) != 0 {
						t.Fatalf("audio-only publisher: %d pictures", len(video))
					}
					t.Logf("audio only: %d audio frames, no picture", frames)
					return
				}
				keys := checkKeyFrames(t, video)
				t.Logf("first picture at %.3f s", float64(video[0].PTS)/48000)
				if len(video) < 90 || keys < 2 {
					t.Fatalf("%d pictures, %d key frames after %d audio frames", len(video), keys, frames)
				}
				rec.mu.Lock()
				defer rec.mu.Unlock()
				for c := range rec.vclks {
					if !rec.clks[c] {
						t.Fatalf("video on clock %d, audio on %v", c, rec.clks)
					}
				}
				// Both on one clock: the latest picture is near the latest audio.
				last := video[len(video)-1].PTS
				end := int64(frames * audio.FrameSamples)
				t.Logf("%s: %d pictures (%d key) and %d audio frames; last picture at %.3f s, audio up to %.3f s",
					c.scheme, len(video), keys, frames, float64(last)/48000, float64(end)/48000)
				if d := math.Abs(float64(last - end)); d > 2*audio.SampleRate {
					t.Fatalf("last picture at %d, audio at %d: not one clock", last, end)
				}
			})
		})
	}
}

// A file whose video is not H.264 (MPEG-4 Part 2 here): its audio plays,
// no picture is passed, and the log says why, once.
func TestFileOtherVideoCodec(t *testing.T) {
	needFFmpeg(t)
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "mpeg4.ts")
	runTool(t, "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", "2", "-c:v", "mpeg4", "-c:a", "aac", path)
	var logs audiotest.LockedBuffer
	clock := audiotest.NewClock()
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { defer close(done); drive(clock, stop) }()
	rec := newVRecorder()
	err := NewFileLog(path, false, clock, slog.New(slog.NewTextHandler(&logs, nil))).Run(ctx, rec)
	close(stop)
	<-done
	if err == nil || ctx.Err() != nil {
		t.Fatalf("run: %v", err)
	}
	if len(rec.video) != 0 || rec.frames < 95 {
		t.Fatalf("%d pictures, %d audio frames", len(rec.video), rec.frames)
	}
	if n := strings.Count(logs.String(), "not H.264"); n != 1 {
		t.Fatalf("the log says %d times that the video is not H.264:\n%s", n, logs.String())
	}
}
