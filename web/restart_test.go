package web_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"github.com/gorilla/websocket"

	"tolk/captions/captionstest"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/store"
	"tolk/web"
	"tolk/web/hls"
)

// storedRun is one run of `tolk serve` in-process: an event whose cues and
// tokens live in the store of a data directory, served on loopback.
type storedRun struct {
	*harness
	store *store.Store
}

// startStoredRun opens the store in dir and serves the event "test" (floor
// over WHIP, none sent: the clock runs on silence) with a scripted
// recognizer for the floor language.
func startStoredRun(t *testing.T, dir string, words []captionstest.ScriptedWord) *storedRun {
	t.Helper()
	cfg := eventConfig(t, `
id: test
title: Restart test
floor: {language: en, source: whip, stream_key: %s}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {fr: none}}
`, streamKey)
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() }) // after the harness's own cleanup
	h := serve(t, cfg, event.Options{Cues: st, Recognizer: captionstest.NewScripted(words)}, web.Options{Tokens: st, Cues: st})
	return &storedRun{harness: h, store: st}
}

// close stops the run as serve does on SIGTERM: the event first, then the
// server, then the store. It is safe to call twice.
func (r *storedRun) close() {
	r.harness.close()
	r.store.Close()
}

// liveCues starts the event and reads its live en captions until want
// settled cues have come, returning them as sent (program seconds).
func (r *storedRun) liveCues(ctx context.Context, t *testing.T, want int) []map[string]any {
	t.Helper()
	u := strings.Replace(r.http.URL, "http", "ws", 1) + "/api/events/test/captions/live/en"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := r.ev.Start(); err != nil {
		t.Fatal(err)
	}
	var cues []map[string]any
	for len(cues) < want {
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("live captions after %d cues: %v", len(cues), err)
		}
		if m["type"] == "cue" {
			cues = append(cues, m)
		}
	}
	return cues
}

// epoch is the wall-clock time of the run's program time zero.
func (r *storedRun) epoch(t *testing.T) time.Time {
	t.Helper()
	m, ok := r.ev.HLS().(*hls.Muxer)
	if !ok {
		t.Fatalf("the event's HLS handler is a %T", r.ev.HLS())
	}
	e, ok := m.Epoch()
	if !ok {
		t.Fatal("program time zero not fixed")
	}
	return e
}

// TestCuesSurviveRestart: an event is served, stopped, and served again on
// the same data directory; the second run's words come at the same program
// times as the first's. The export holds every cue of both runs once: the
// first run's at their program times, the second's shifted by the time
// between the two runs' program time zeros. Live captions keep each run's
// own program time.
func TestCuesSurviveRestart(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	sec := int64(audio.SampleRate)
	// Two cues a run, the second after a pause that settles the first.
	script := func(a, b string) []captionstest.ScriptedWord {
		return []captionstest.ScriptedWord{{Text: a, Start: sec / 2, End: sec}, {Text: b, Start: 2 * sec, End: 2*sec + sec/2}}
	}

	run1 := startStoredRun(t, dir, script("alpha", "bravo"))
	live1 := run1.liveCues(ctx, t, 2)
	epoch1 := run1.epoch(t)
	run1.close()

	run2 := startStoredRun(t, dir, script("charlie", "delta"))
	live2 := run2.liveCues(ctx, t, 2)
	epoch2 := run2.epoch(t)
	gap := epoch2.Sub(epoch1)
	t.Logf("second run's program time zero %v after the first's", gap)
	if gap <= 2500*time.Millisecond {
		t.Fatalf("runs %v apart: the first run's cues end at 2.5 s, so the test proves nothing", gap)
	}
	// Live captions are on each run's own clock: the same times twice.
	for i, live := range [][]map[string]any{live1, live2} {
		if live[0]["start"] != 0.5 || live[1]["start"] != 2.0 {
			t.Errorf("run %d live cues %v, want them at 0.5 s and 2 s", i+1, live)
		}
	}

	editor, _, err := run2.store.CreateToken(ctx, "test", store.RoleEditor, "", "Ed")
	if err != nil {
		t.Fatal(err)
	}
	// Expected: every cue as it was sent live, the second run's shifted by
	// the gap between the runs.
	type cue struct {
		text       string
		start, end time.Duration
	}
	var want []cue
	for i, live := range [][]map[string]any{live1, live2} {
		shift := time.Duration(i) * gap
		for _, m := range live {
			want = append(want, cue{m["text"].(string),
				shift + time.Duration(m["start"].(float64)*float64(time.Second)),
				shift + time.Duration(m["end"].(float64)*float64(time.Second))})
		}
	}
	if texts := fmt.Sprint(want[0].text, want[1].text, want[2].text, want[3].text); texts != "alphabravocharliedelta" {
		t.Fatalf("live cues %v %v", live1, live2)
	}
	for _, format := range []string{"srt", "vtt"} {
		resp, body := exportGet(t, run2.http.URL+"/api/events/test/captions/en."+format, editor)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", format, resp.StatusCode, body)
		}
		var s *astisub.Subtitles
		if format == "srt" {
			s, err = astisub.ReadFromSRT(bytes.NewReader(body))
		} else {
			s, err = astisub.ReadFromWebVTT(bytes.NewReader(body))
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, body)
		}
		if len(s.Items) != len(want) {
			t.Fatalf("%s: %d cues, want %d:\n%s", format, len(s.Items), len(want), body)
		}
		var worst time.Duration
		for i, w := range want {
			it := s.Items[i]
			if it.String() != w.text {
				t.Errorf("%s cue %d: %q, want %q", format, i, it.String(), w.text)
			}
			for _, d := range []time.Duration{it.StartAt - w.start, it.EndAt - w.end} {
				worst = max(worst, d.Abs())
			}
		}
		if worst > audio.FrameDuration {
			t.Errorf("%s: a time is %v off (at most one frame allowed):\n%s", format, worst, body)
		}
		t.Logf("%s: 4 cues, times at most %v off", format, worst)
	}

	// The store says when the recording began: the first run's zero.
	if got, err := run2.store.RecordingStart(ctx, "test", time.Now()); err != nil || !got.Equal(epoch1) {
		t.Errorf("recording start %v, %v; want the first run's epoch %v", got, err, epoch1)
	}
}
