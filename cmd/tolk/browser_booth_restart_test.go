package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
	"tolk/locales"
)

// TestBrowserBoothBackOnAirAfterKill: a real booth page in headless
// Chromium, its fake microphone playing flite speech, goes on air with a
// click. The server is killed with SIGKILL and
// started again on the same address and data directory. Nobody clicks: the
// page shows and announces that it is reconnecting, reconnects by itself
// (WebSocket and WebRTC), its on-air light is lit again and current, it
// announces that it is on air again, and French listeners of the new run
// hear the interpreter's voice.
func TestBrowserBoothBackOnAirAfterKill(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "node")
	audiotest.NeedTool(t, "chromium-headless-shell")
	if _, err := os.Stat("../../web/node_modules/playwright-core"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("playwright-core is missing in CI (%v): run .ci/setup", err)
		}
		t.Skipf("web/node_modules not installed (run .ci/setup)")
	}
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	e := newBoothEvent(ctx, t)
	addr := freeAddr(t)
	t0 := time.Now()
	r1 := startServeOn(ctx, t, bin, addr, e.args...)
	r1.waitProgram(ctx, t, e)

	// The page, driven by a script that reports its progress on stderr and
	// waits for a line on stdin before it closes the page.
	script := exec.CommandContext(ctx, "node", "../../web/browsertest/booth_restart.mjs", r1.base,
		"--event", e.id, "--lang", "fr", "--token", e.anne, "--fake-mic", e.wavA)
	var stdout bytes.Buffer
	script.Stdout = &stdout
	stdin, err := script.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := script.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := script.Start(); err != nil {
		t.Fatal(err)
	}
	progress := make(chan string, 8)
	var errText strings.Builder
	go func() {
		defer close(progress)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if l := sc.Text(); l == "ON_AIR" || l == "BACK" {
				progress <- l
			} else {
				errText.WriteString(l + "\n")
			}
		}
	}()
	finish := func() {
		_, _ = stdin.Write([]byte("done\n"))
		stdin.Close()
		for range progress {
		}
		_ = script.Wait()
	}
	defer finish()
	await := func(want string) {
		t.Helper()
		select {
		case got, ok := <-progress:
			if ok && got == want {
				t.Logf("%v: the page says %s", time.Since(t0).Round(time.Millisecond), want)
				return
			}
		case <-ctx.Done():
		}
		finish()
		t.Fatalf("the page never said %s: %s\nstderr: %s", want, stdout.String(), errText.String())
	}

	// On air, as the server says too (TestServeBoothBackOnAirAfterKill
	// shows listeners hear an interpreter before the kill).
	await("ON_AIR")
	r1.waitStatus(ctx, t, e, "Anne on air", func(s frStatus) bool { return s.OnAir == "Anne" })

	r1.kill(t)
	r2 := startServeOn(ctx, t, bin, addr, e.args...)
	t.Logf("%v: killed and started again", time.Since(t0).Round(time.Millisecond))
	tap, stopTap := listen(ctx, t, r2.base, e.id, "fr")
	defer stopTap()
	await("BACK")
	st := r2.waitStatus(ctx, t, e, "Anne on air", func(s frStatus) bool { return s.OnAir == "Anne" })
	voiceAfter(ctx, t, tap, st.PTS, e.speech, e.other, "on air again")
	t.Logf("%v: heard again", time.Since(t0).Round(time.Millisecond))
	finish()
	t.Logf("%v: the page is closed", time.Since(t0).Round(time.Millisecond))

	var rep struct {
		OK                    bool
		Error                 string
		Before, During, After struct {
			OnAir struct{ State, Stale, Text, Who string }
			Conn  struct{ State, Text string }
			Hook  struct {
				State        string
				OnAir        string `json:"on_air"`
				Mic          bool
				AwaitingBack bool `json:"awaiting_back"`
			}
			MicPressed string `json:"mic_pressed"`
		}
		ReconnectMS int `json:"reconnect_ms"`
		Announced   []string
		States      []string
		Kinds       []struct {
			Kind  string
			OnAir *bool `json:"on_air"`
		}
		Sockets    int
		PageErrors any `json:"page_errors"`
	}
	t.Logf("booth_restart.mjs: %s", bytes.TrimSpace(stdout.Bytes()))
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || !rep.OK {
		t.Fatalf("the page's report: %v %s\nstderr: %s", err, rep.Error, errText.String())
	}
	if rep.PageErrors != nil {
		t.Errorf("the page threw: %v", rep.PageErrors)
	}
	en := locales.Catalog("en")
	if b := rep.Before; b.OnAir.State != "on" || b.OnAir.Stale != "false" || b.MicPressed != "true" {
		t.Errorf("on air before the kill, the page shows %+v", b)
	}
	// While the server is away: the light is stale and says the way back;
	// the connection says it is reconnecting.
	if d := rep.During; d.OnAir.Stale != "true" || d.OnAir.Who != en["booth.onair.reconnecting"] || d.Conn.State != "reconnecting" || !d.Hook.AwaitingBack {
		t.Errorf("while the server is away, the page shows %+v", d)
	}
	// Back: lit, current, the mic pressed, without a click.
	if a := rep.After; a.OnAir.State != "on" || a.OnAir.Stale != "false" || a.OnAir.Text != en["booth.onair.on"] ||
		a.OnAir.Who != "" || a.MicPressed != "true" || a.Conn.State != "connected" || a.Hook.AwaitingBack {
		t.Errorf("back, the page shows %+v", a)
	}
	// Each said once: the loss, the reconnecting, the return.
	for _, want := range []string{en["booth.conn.reconnecting"], en["booth.announce.lost_on_air"], en["booth.announce.back_on_air"]} {
		n := 0
		for _, s := range rep.Announced {
			n += strings.Count(s, want)
		}
		if n != 1 {
			t.Errorf("the page announced %q %d times, want once (it announced %q)", want, n, rep.Announced)
		}
	}
	if len(rep.Kinds) != 2 || rep.Kinds[0].Kind != "lost-on-air" || rep.Kinds[1].Kind != "back" || rep.Kinds[1].OnAir == nil || !*rep.Kinds[1].OnAir {
		t.Errorf("the page's history of the loss: %+v", rep.Kinds)
	}
	if rep.Sockets < 2 || !slices.Contains(rep.States, "reconnecting") {
		t.Errorf("%d WebSockets, states %v", rep.Sockets, rep.States)
	}
	t.Logf("the page was on air again %d ms after it saw the server go", rep.ReconnectMS)
	stopTap()
	r2.stop(t)
	t.Logf("%v: stopped", time.Since(t0).Round(time.Millisecond))
}
