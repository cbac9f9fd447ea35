package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hraban/opus"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/recording"
)

// recordToneRun records d of an English floor (440 Hz) and its French
// interpretation (660 Hz), encoded by libopus, as a run of event under the
// data directory, and returns the run's id.
func recordToneRun(t *testing.T, data, event string, d time.Duration) string {
	t.Helper()
	lib := recording.NewLibrary(filepath.Join(data, recording.Dir))
	langs := []recording.Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}}
	freqs := []float64{440, 660}
	epoch := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	rec, err := recording.New(recording.Options{Library: lib, Event: event, Title: "Partner conference", Audio: langs,
		Epoch: func() (time.Time, bool) { return epoch, true }, SyncEvery: -1, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var encs []*opus.Encoder
	for range langs {
		enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
		if err != nil {
			t.Fatal(err)
		}
		encs = append(encs, enc)
	}
	buf := make([]byte, 1500)
	for pts := int64(0); pts < audio.Samples(d); pts += audio.FrameSamples {
		for i, l := range langs {
			n, err := encs[i].EncodeFloat32(audiotest.Tone(freqs[i], 0.4, int(pts), audio.FrameSamples), buf)
			if err != nil {
				t.Fatal(err)
			}
			rec.WritePacket(l.Tag, media.Unit{PTS: pts, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)})
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return rec.Status().Run
}

// TestServeRebroadcastBadInput: a run that does not exist, a malformed
// --at, --at without --rebroadcast: exit code 2 and a message that says
// what is wrong.
func TestServeRebroadcastBadInput(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	data := t.TempDir()
	id := recordToneRun(t, data, "conf", time.Second)
	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"--rebroadcast", "conf/20261103T090000Z"}, []string{"no recorded run conf/20261103T090000Z", id}},
		{[]string{"--rebroadcast", "other/20261103T090000Z"}, []string{`event "other" has no recorded runs`}},
		{[]string{"--rebroadcast", "conf/yesterday"}, []string{"floor.source", "not a recorded run's id"}},
		{[]string{"--rebroadcast", id}, []string{"give EVENT/RUN"}},
		{[]string{"--rebroadcast", "conf/" + id, "--at", "5pm"}, []string{"--at 5pm", "RFC 3339"}},
		{[]string{"--config", "../../testdata/event.yaml", "--at", "2026-11-03T17:00:00Z"}, []string{"--at and --loop go with --rebroadcast"}},
		{[]string{"--demo", "--rebroadcast", "conf/" + id}, []string{"exclude"}},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			args := append([]string{"serve", "--data", data, "--http", "127.0.0.1:0"}, c.args...)
			if code := run(args, &out, &errb); code != 2 {
				t.Fatalf("exit %d, want 2; stderr: %s", code, errb.String())
			}
			for _, w := range c.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr lacks %q: %s", w, errb.String())
				}
			}
		})
	}
}

// TestServeRebroadcast runs the real binary as an operator would for the
// repeat: `tolk serve --data DIR --rebroadcast EVENT/RUN` serves the run
// under the event's id with its languages and title, says so, and at the
// run's end the floor is ended and the playlists end.
func TestServeRebroadcast(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	data := t.TempDir()
	run := recordToneRun(t, data, "conf", 2*time.Second)
	r := startServe(ctx, t, bin, "--data", data, "--rebroadcast", "conf/"+run)
	var info struct {
		Title      string
		Floor      string
		Renditions []struct{ Tag string }
	}
	r.getJSON(ctx, t, "/api/events/conf", "", &info)
	if info.Title != "Partner conference" || len(info.Renditions) != 2 || info.Renditions[1].Tag != "fr" {
		t.Errorf("event info %+v", info)
	}
	for {
		var h struct {
			Events []struct{ ID, Floor string }
		}
		r.getJSON(ctx, t, "/healthz", "", &h)
		if len(h.Events) == 1 && h.Events[0].Floor == "ended" {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the rebroadcast never ended: %+v; stderr: %s", h, r.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	resp, err := http.Get(r.base + "/hls/conf/fr/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "#EXT-X-ENDLIST") || strings.Count(string(b), "#EXTINF") != 1 {
		t.Errorf("fr playlist after the end:\n%s", b)
	}
	r.stop(t)
	for _, w := range []string{"rebroadcast playing", "rebroadcast over"} {
		if !strings.Contains(r.stderr.String(), w) {
			t.Errorf("log lacks %q: %s", w, r.stderr.String())
		}
	}
}

// TestCheckRebroadcast: tolk check names a rebroadcast's run (whose
// existence only the server, with its data directory, can check).
func TestCheckRebroadcast(t *testing.T) {
	path := filepath.Join(t.TempDir(), "apac.yaml")
	if err := os.WriteFile(path, []byte("id: apac\nfloor: {source: \"replay:conf/20261103T080000Z\", start: \"2026-11-03T17:00:00+01:00\", loop: true}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"check", path}, &out, &errb); code != 0 || !strings.Contains(out.String(), "a rebroadcast of the recorded run conf/20261103T080000Z") {
		t.Errorf("exit %d: %s%s", code, out.String(), errb.String())
	}
}
