//go:build browser

package web_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"tolk/internal/audio/audiotest"
	"tolk/internal/restream/restreamtest"
	"tolk/internal/store"
)

// TestBrowserConsolePush: the producer console lists a push configured
// stopped; by keyboard alone the producer starts it, sees it connected with
// its bitrate, and stops it; a screen reader hears the changes. The real
// RTMP server (nginx's module) gets French: mono 48 kHz AAC.
func TestBrowserConsolePush(t *testing.T) {
	leakCheck(t)
	audiotest.NeedTool(t, "ffprobe")
	port := restreamtest.FreePort(t)
	srv := restreamtest.NewServer(t, port)
	srv.Start(t)
	defer srv.Stop()
	floor := toneFile(t, 440, 0.5, 20)
	cfg := eventConfig(t, `
id: test
title: Push test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
captions: {backend: none}
record: false
outputs:
  - {lang: fr, url: "rtmp://127.0.0.1:%d/live/secret-fr-key", name: Platform FR, enabled: false}
`, floor, port)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := startWith(t, cfg, st)
	if err := h.ev.SetVoice("fr", toneVoice{660}); err != nil {
		t.Fatal(err)
	}
	prod, _, err := st.CreateToken(context.Background(), "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		OK                         bool
		Error, Step                string
		Tabs                       int
		Name, URL                  string
		Described                  string
		ConnectedDescribed         string `json:"connectedDescribed"`
		Buttons, States, Announced []string
		Facts                      []string
		PageErrors                 []string `json:"page_errors"`
		ConsoleErrors              []string `json:"console_errors"`
	}
	runBrowser(t, "console_push.mjs", &rep, h.http.URL, "--event", "test", "--token", prod, "--timeout", "90")
	if !rep.OK || len(rep.PageErrors) > 0 || len(rep.ConsoleErrors) > 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Name != "Platform FR" || strings.Contains(rep.URL, "secret") || rep.URL != fmt.Sprintf("rtmp://127.0.0.1:%d/live/****", port) {
		t.Errorf("shown as %q at %q", rep.Name, rep.URL)
	}
	if strings.Join(rep.Buttons, ",") != "Start,Stop,Start" {
		t.Errorf("button texts %v", rep.Buttons)
	}
	if !strings.Contains(rep.Described, "Platform FR") || !strings.Contains(rep.Described, "Stopped") || !strings.Contains(rep.ConnectedDescribed, "Connected") {
		t.Errorf("button described by %q, then %q", rep.Described, rep.ConnectedDescribed)
	}
	if len(rep.States) < 3 || rep.States[0] != "stopped" || rep.States[len(rep.States)-1] != "stopped" || !strings.Contains(strings.Join(rep.States, ","), "connected") {
		t.Errorf("states %v", rep.States)
	}
	if !strings.Contains(strings.Join(rep.Announced, " | "), "Platform FR") {
		t.Errorf("announced %q", rep.Announced)
	}
	t.Logf("tabs %d, facts %q, announced %q", rep.Tabs, rep.Facts, rep.Announced)
	srv.Stop()
	files := srv.Recordings(t)
	if len(files) != 1 {
		t.Fatalf("recorded %v", files)
	}
	if streams := restreamtest.Probe(t, files[0]); streams != "aac,48000,1" {
		t.Errorf("the server got %q, want the French mix as mono 48 kHz AAC (the floor has no picture)", streams)
	}
}
