package web_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
	"tolk/internal/rtc"
)

// beepFrame is 20 ms of the flash and beep clip's sound from sample at: a
// 1 kHz beep for the first 100 ms of every second.
func beepFrame(at int) []float32 {
	s := make([]float32, audio.FrameSamples)
	for i := range s {
		n := at + i
		if n%audio.SampleRate < audio.SampleRate/10 {
			s[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(n)/audio.SampleRate))
		}
	}
	return s
}

// A WHIP publisher sending Opus and H.264 (as OBS does), the picture
// flashing white at each beep: its pictures reach the program's video track
// with key frames, placed by the publisher's sender reports within 40 ms
// of their sound in the French mix; the server asked for a key frame.
func TestWHIPFloorVideoLipSync(t *testing.T) {
	leakCheck(t)
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const seconds = 7
	clip := filepath.Join(t.TempDir(), "flash.ts")
	if err := videotest.FlashBeep(ctx, clip, seconds, 30, 0); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(clip)
	if err != nil {
		t.Fatal(err)
	}
	frames, err := videotest.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, whipConfig(t))
	video := h.ev.Video().Read("test", 4000)
	fr, _ := h.ev.Mix("fr")
	pcm := fr.PCM().Read("test", 4000)

	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := rtc.PublishWHIPVideo(ctx, api, h.http.URL+"/whip/test", streamKey)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1500)
	next := 0
	var failed error
	audiotest.Paced(ctx, seconds*50, func(i int) bool {
		n, err := enc.EncodeFloat32(beepFrame(i*audio.FrameSamples), buf)
		if err == nil {
			err = pub.WriteOpus(append([]byte(nil), buf[:n]...), audio.FrameDuration)
		}
		for ; err == nil && next < len(frames) && frames[next].PTS < int64((i+1)*audio.FrameSamples); next++ {
			var au h264.AVCC
			if err = au.Unmarshal(frames[next].Payload); err == nil {
				var annexB []byte
				if annexB, err = h264.AnnexB(au).Marshal(); err == nil {
					err = pub.WriteH264(annexB, time.Second/30)
				}
			}
		}
		failed = err
		return err == nil
	})
	if failed != nil {
		t.Fatal(failed)
	}
	time.Sleep(500 * time.Millisecond) // the jitter buffer plays out
	plis := pub.PLIs()
	if err := pub.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var pics, mixed []media.Unit
	for done := false; !done; {
		select {
		case u := <-video.C:
			pics = append(pics, u)
		case u := <-pcm.C:
			mixed = append(mixed, u)
		default:
			done = true
		}
	}
	keys := 0
	for i, u := range pics {
		if u.Key {
			keys++
		}
		if i > 0 && u.DTS <= pics[i-1].DTS {
			t.Fatalf("picture %d: DTS %d after %d", i, u.DTS, pics[i-1].DTS)
		}
	}
	t.Logf("%d pictures on the program (%d key frames) of %d sent; %d key frame requests", len(pics), keys, len(frames), plis)
	if len(pics) < 90 || keys < 3 || !pics[0].Key || plis < 1 {
		t.Fatalf("%d pictures, %d key frames, first key %v, %d PLIs", len(pics), keys, len(pics) > 0 && pics[0].Key, plis)
	}
	metrics := get(t, h.http.URL+"/metrics")
	if want := fmt.Sprintf("tolk_floor_video_frames_total{event=\"test\"} %d", h.ev.Stats().VideoFrames); !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %q", want)
	}
	flashes, err := videotest.Flashes(ctx, pics)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(mixed, func(i, j int) bool { return mixed[i].PTS < mixed[j].PTS })
	var beeps []int64
	last := int64(math.MinInt32)
	for _, u := range mixed {
		for i, x := range u.PCM {
			if at := u.PTS + int64(i); math.Abs(float64(x)) > 0.05 {
				if at-last > audio.SampleRate/2 {
					beeps = append(beeps, at)
				}
				last = at
			}
		}
	}
	if len(flashes) < 3 {
		t.Fatalf("flashes at %v, beeps at %v", flashes, beeps)
	}
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
			t.Errorf("flash %d: %+.2f ms from the nearest beep", i, ms)
		}
	}
}
