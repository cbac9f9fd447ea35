//go:build browser

package web_test

import (
	"testing"

	"tolk/internal/media"
)

// Chromium publishing its (fake) camera and microphone over WHIP, H.264 as
// OBS and Safari send it and VP8 as Chrome and Firefox default to: the
// pictures reach the program's video track, from a key frame, in the codec
// negotiated; the floor's audio keeps coming.
func TestWHIPChromiumPublisherVideo(t *testing.T) {
	leakCheck(t)
	for _, c := range []struct {
		mime  string
		codec media.Codec
	}{{"video/H264", media.H264}, {"video/VP8", media.VP8}} {
		t.Run(c.mime, func(t *testing.T) {
			h := start(t, whipConfig(t))
			video := h.ev.Video().Read("test", 4000)
			var rep struct {
				OK             bool   `json:"ok"`
				Error          string `json:"error"`
				FramesEncoded  int    `json:"framesEncoded"`
				KeyFrames      int    `json:"keyFramesEncoded"`
				PLIs           int    `json:"pliCount"`
				Encoder, Codec string
			}
			runBrowser(t, "whip_video.mjs", &rep, h.http.URL, "--key", streamKey, "--codec", c.mime, "--seconds", "6")
			if !rep.OK {
				t.Fatalf("publisher: %s", rep.Error)
			}
			var pics []media.Unit
			for len(video.C) > 0 {
				pics = append(pics, <-video.C)
			}
			keys := 0
			for i, u := range pics {
				if u.Codec != c.codec {
					t.Fatalf("picture %d: codec %v, want %v", i, u.Codec, c.codec)
				}
				if u.Key {
					keys++
				}
				if i > 0 && u.DTS <= pics[i-1].DTS {
					t.Fatalf("picture %d: DTS %d after %d", i, u.DTS, pics[i-1].DTS)
				}
			}
			t.Logf("%s: Chromium encoded %d frames (%d key, %s, %d PLIs received); %d pictures on the program (%d key); floor frames %d; program video %d written, %d dropped",
				c.mime, rep.FramesEncoded, rep.KeyFrames, rep.Encoder, rep.PLIs, len(pics), keys, h.ev.Stats().FloorFrames,
				h.ev.Stats().VideoFrames, h.ev.Stats().VideoDropped)
			if len(pics) < 30 || keys < 1 || !pics[0].Key { // Chromium encodes 12-20 frames a second on a loaded machine
				t.Fatalf("%d pictures, %d key frames, first key %v", len(pics), keys, len(pics) > 0 && pics[0].Key)
			}
			if h.ev.Stats().FloorFrames < 100 {
				t.Fatalf("floor frames %d: the audio did not come", h.ev.Stats().FloorFrames)
			}
		})
	}
}
