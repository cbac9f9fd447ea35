package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("id: Bad Id\nfloor: {language: en, source: ftp://x}\nlanguages: [{tag: fr}, {tag: fr}]\ncolour: red\n"), 0o600)
	bad2 := filepath.Join(dir, "bad2.yaml")
	os.WriteFile(bad2, []byte("id: Bad Id\nfloor: {language: en, source: ftp://x}\nlanguages: [{tag: fr}, {tag: fr}]\n"), 0o600)
	badGlossary := filepath.Join(dir, "glossary.yaml")
	os.WriteFile(badGlossary, []byte("id: g\nfloor: {language: en, source: whip}\ncaptions: {glossary: {terms: [\"--\"], text_file: /nonexistent}}\n"), 0o600)
	cases := []struct {
		args []string
		code int
		want []string
	}{
		{[]string{"check", "../../testdata/event.yaml"}, 0, []string{"ok", "partner-2026"}},
		{[]string{"check", bad}, 2, []string{"colour"}},
		{[]string{"check", bad2}, 2, []string{"id:", "floor.source", "languages[1].tag"}},
		{[]string{"check", badGlossary}, 2, []string{"captions.glossary: terms[0]", "captions.glossary: text_file"}},
		{[]string{"check", filepath.Join(dir, "missing.yaml")}, 2, []string{"no such file"}},
		{[]string{"check"}, 2, []string{"accepts 1 arg"}},
		{[]string{"frobnicate"}, 2, []string{"unknown command"}},
		{[]string{"serve", "--bogus"}, 2, []string{"unknown flag"}},
		{[]string{"serve"}, 2, []string{"--config FILE", "--demo"}},
		{[]string{"serve", "--demo", "--config", "x.yaml"}, 2, []string{"exclude"}},
		{[]string{"serve", "--config", bad2}, 2, []string{"floor.source"}},
		{[]string{"serve", "--demo", "--log-level", "loud"}, 2, []string{"--log-level"}},
		{[]string{"version"}, 0, []string{"tolk"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(c.args, &out, &errb)
			if code != c.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, c.code, errb.String())
			}
			all := out.String() + errb.String()
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("output lacks %q: %s", w, all)
				}
			}
		})
	}
}

// TestServeDemo runs the real binary as an operator would: the demo starts,
// serves playlists, and SIGTERM ends it cleanly with exit code 0.
func TestServeDemo(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { // after the run's own cleanup
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "ffmpeg")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r := startServe(ctx, t, bin, "--demo", "--data", t.TempDir())
	// The fr playlist fills up as the floor plays.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.base + "/hls/demo/fr/index.m3u8")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), "#EXTINF") {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no segment in the fr playlist; stderr: %s", r.stderr.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The demo prints the producer's console and the caption editor with a
	// token that opens them.
	for _, page := range []string{"console:", "editor:"} {
		var link string
		for _, line := range strings.Split(r.stdout.String(), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == page {
				link = f[1]
			}
		}
		if link == "" {
			t.Errorf("no %s link printed: %s", page, r.stdout.String())
			continue
		}
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: %s", page, link, resp.Status)
		}
	}
	r.stop(t)
	if !strings.Contains(r.stderr.String(), "stopped") {
		t.Errorf("no clean stop logged: %s", r.stderr.String())
	}
}
