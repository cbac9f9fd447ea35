//go:build browser

package web_test

import (
	"strings"
	"testing"
)

// TestBrowserWHEPVideo: a file floor with H.264 (High profile, 1280x720,
// 30 fps, a key frame a second); the watch page in Chromium, in low-latency mode, gets
// the picture over WHEP beside the English floor: frames decoded at
// 1280x720 on the stage, 440 Hz heard; switching to French (a new WHEP
// session) keeps a picture on the stage throughout, the new session
// decodes its own and 660 Hz is heard.
func TestBrowserWHEPVideo(t *testing.T) {
	leakCheck(t)
	floor := tsFloor(t, 30, 30)
	cfg := eventConfig(t, `
id: test
title: Browser test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
`, floor)
	h := start(t, cfg)
	if err := h.ev.SetVoice("fr", toneVoice{660}); err != nil {
		t.Fatal(err)
	}
	type video struct {
		FramesDecoded, FrameWidth, FrameHeight, KeyFramesDecoded, PliCount, ElementWidth int
		Codec                                                                            string
	}
	var rep struct {
		State          string
		FirstPictureMS int `json:"first_picture_ms"`
		Video          *video
		Shown          bool
		Width, Height  int
		PeakHz         float64 `json:"peak_hz"`
		LevelRMS       float64 `json:"level_rms_dbfs"`
		Switch         *struct {
			Lang          string
			State         string
			PeakHz        float64 `json:"peak_hz"`
			PictureMS     int     `json:"picture_ms"`
			Samples       int
			HiddenSamples int `json:"hidden_samples"`
			MinWidth      int `json:"min_width"`
			Video         *video
		}
	}
	runBrowser(t, "watch_webrtc_video.mjs", &rep, h.http.URL, "--event", "test", "--lang", "en", "--switch", "fr")
	if rep.State != "live" || rep.Video == nil {
		t.Fatalf("state %q, video %+v", rep.State, rep.Video)
	}
	t.Logf("first picture %d ms after Play; video %+v", rep.FirstPictureMS, *rep.Video)
	if rep.Video.FramesDecoded <= 0 || rep.Video.FrameWidth != 1280 || !strings.Contains(strings.ToLower(rep.Video.Codec), "h264") {
		t.Errorf("video %+v", *rep.Video)
	}
	if !rep.Shown || rep.Width != 1280 || rep.Height != 720 {
		t.Errorf("stage shown %v, %dx%d", rep.Shown, rep.Width, rep.Height)
	}
	if !near(rep.PeakHz, 440, 30) || rep.LevelRMS < -40 {
		t.Errorf("plays %.0f Hz at %.1f dBFS, want 440 Hz", rep.PeakHz, rep.LevelRMS)
	}
	s := rep.Switch
	if s == nil || s.Video == nil {
		t.Fatalf("switch %+v", s)
	}
	t.Logf("switch to fr: its picture %d ms after the switch; %d of %d stage samples without a picture, narrowest %d; video %+v",
		s.PictureMS, s.HiddenSamples, s.Samples, s.MinWidth, *s.Video)
	if s.State != "live" || !near(s.PeakHz, 660, 30) {
		t.Errorf("after the switch: %q, %.0f Hz", s.State, s.PeakHz)
	}
	if s.Video.FramesDecoded <= 0 || s.HiddenSamples != 0 || s.MinWidth != 1280 {
		t.Errorf("the picture did not stay through the switch: %+v", *s)
	}
}
