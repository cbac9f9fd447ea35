//go:build browser

package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"testing"
	"time"

	"tolk/internal/audio/audiotest"
)

// videoFile makes a floor file with a picture: testsrc2 at 1280x720, 30 fps,
// a key frame every 2 s (libx264), and a sine of freq Hz (AAC).
// The picture starts after delay seconds of sound (MPEG-TS keeps the
// streams' own timestamps: -copyts and setpts put the first picture there).
// It is made once per run for each set of arguments.
func videoFile(t testing.TB, freq, seconds, delay int) string {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	return sharedFixture(t, fmt.Sprintf("video-%dhz-%ds-after%ds", freq, seconds, delay), "floor.ts", func(path string) error {
		out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-copyts",
			"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=1280x720:rate=30:duration=%d,setpts=PTS+%d/TB", seconds-delay, delay),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000:duration=%d", freq, seconds),
			"-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
			"-fps_mode", "passthrough", "-c:a", "aac", "-ac", "1", "-af", "volume=0.5", path).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%w: %s", err, out)
		}
		return nil
	})
}

// TestBrowserWatchShowsFloorVideo: a file floor with H.264 video, end to
// end: the event API says video once the LL-HLS master lists it; the watch
// page in Chromium shows the picture (1280x720, frames decoded) over HLS,
// switches to the French mix and the picture goes on; the captions go over
// the picture by keyboard.
func TestBrowserWatchShowsFloorVideo(t *testing.T) {
	leakCheck(t)
	floor := videoFile(t, 440, 20, 0)
	cfg := eventConfig(t, `
id: test
title: Browser test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 2000}
captions: {backend: none}
`, floor)
	h := start(t, cfg)
	if err := h.ev.SetVoice("fr", toneVoice{660}); err != nil {
		t.Fatal(err)
	}
	var info struct {
		Video *struct {
			Codecs        string
			Width, Height int
			FrameRate     float64 `json:"frame_rate"`
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for info.Video == nil {
		if time.Now().After(deadline) {
			t.Fatal("the event API names no video 30 s after the start")
		}
		time.Sleep(200 * time.Millisecond)
		resp, err := http.Get(h.http.URL + "/api/events/test")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(resp.Body).Decode(&info)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("event API: video %+v", *info.Video)
	if info.Video.Width != 1280 || info.Video.Height != 720 || info.Video.FrameRate != 30 {
		t.Errorf("video %+v", *info.Video)
	}
	var rep struct {
		Picture struct {
			Video         bool
			Width, Height int
			Frames        int
			Shown         bool
		}
		Tracks   []struct{ Name, Lang string }
		Switches []struct {
			Lang         string
			Track        string
			FramesBefore int     `json:"frames_before"`
			FramesAfter  int     `json:"frames_after"`
			PeakHz       float64 `json:"peak_hz"`
			State        string
		}
		CaptionsOver bool `json:"captions_over"`
		VideoAtLoad  bool `json:"video_at_load"`
	}
	runBrowser(t, "watch_video.mjs", &rep, h.http.URL, "--event", "test", "--langs", "fr")
	if !rep.Picture.Video || !rep.Picture.Shown || rep.Picture.Width != 1280 || rep.Picture.Height != 720 || rep.Picture.Frames <= 10 {
		t.Errorf("picture %+v", rep.Picture)
	}
	if len(rep.Tracks) != 2 {
		t.Errorf("audio tracks %+v", rep.Tracks)
	}
	if len(rep.Switches) != 1 {
		t.Fatalf("switches %+v", rep.Switches)
	}
	s := rep.Switches[0]
	if s.Track != "fr" || s.FramesAfter <= s.FramesBefore+30 || s.State != "live" {
		t.Errorf("after the switch to fr: %+v", s)
	}
	if !near(s.PeakHz, 660, 30) {
		t.Errorf("after switching to fr the page plays %.0f Hz, want 660", s.PeakHz)
	}
	if !rep.CaptionsOver {
		t.Error("the captions did not go over the picture")
	}
}

// TestBrowserWatchPictureComesLater: the floor's picture starts 8 s after
// its sound; the watch page opened before plays the sound alone, with no
// stage, then finds the video in the event API, reads the master again and
// shows the picture.
func TestBrowserWatchPictureComesLater(t *testing.T) {
	leakCheck(t)
	floor := videoFile(t, 440, 30, 8)
	cfg := eventConfig(t, `
id: test
title: Browser test
floor: {language: en, source: "file:%s", loop: false}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 2000}
captions: {backend: none}
`, floor)
	h := start(t, cfg)
	var rep struct {
		VideoAtLoad    bool `json:"video_at_load"`
		PictureAtStart struct {
			Shown bool
		} `json:"picture_at_start"`
		Picture struct {
			Video         bool
			Width, Height int
			Frames        int
			Shown         bool
		}
	}
	runBrowser(t, "watch_video.mjs", &rep, h.http.URL, "--event", "test")
	if rep.VideoAtLoad {
		t.Error("the page was told of video before the floor sent any")
	}
	if rep.PictureAtStart.Shown {
		t.Error("the stage showed before the floor sent a picture")
	}
	if !rep.Picture.Shown || rep.Picture.Width != 1280 || rep.Picture.Frames <= 10 {
		t.Errorf("picture %+v", rep.Picture)
	}
}
