package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/captions/captionstest"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/store"
)

// TestBoothVoiceCaptions: an interpreter speaks English into the en booth
// over WebRTC while the floor (German by configuration, without captions)
// plays other English sentences. PocketSphinx on the booth's clean voice
// transcribes the interpreter within a word error rate, and never a word of
// the floor, not even in the seconds after the interpreter stops, when the en
// mix is the floor at full level.
func TestBoothVoiceCaptions(t *testing.T) {
	leakCheck(t)
	audiotest.NeedTool(t, "ffmpeg")
	needPath(t, "/usr/share/pocketsphinx/model/en-us/en-us", "PocketSphinx's en-US model")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	floor, _ := filepath.Abs("../testdata/floor.wav")
	cfg := eventConfig(t, `
id: test
floor: {language: de, source: "file:%s", loop: true}
languages: [{tag: en}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: sphinx, languages: {de: none}}
`, floor)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := &boothHarness{harness: startWith(t, cfg, st), store: st}

	ws, _, err := websocket.DefaultDialer.DialContext(ctx, strings.Replace(b.http.URL, "http", "ws", 1)+"/api/events/test/captions/live/en", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	type cue struct {
		Type, Text string
		End        float64 // program seconds
	}
	cues := make(chan cue, 64)
	go func() { // ends when the socket closes
		defer close(cues)
		for {
			var m cue
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			if m.Type == "cue" {
				m.Text = strings.ReplaceAll(m.Text, "\n", " ")
				cues <- m
			}
		}
	}()
	vfr := tapVoice(b.harness, "en")

	anne := dialBooth(t, ctx, b.http.URL, "en", b.token(t, "en", "Anne"))
	defer anne.close()
	anne.send(map[string]any{"type": "mic", "on": true})
	anne.waitState(ctx, "Anne on air", func(s map[string]any) bool { on, _ := s["on_air"].(string); return on != "" })
	voice, err := audiotest.Decode(ctx, "../testdata/voice-a.wav")
	if err != nil {
		t.Fatal(err)
	}
	ref, err := os.ReadFile("../testdata/voice-a.txt")
	if err != nil {
		t.Fatal(err)
	}
	// The whole clip, then 6 s of an open, silent mic: the en mix is the
	// floor at full level meanwhile.
	anne.speak(ctx, append(voice, make([]float32, 6*audio.SampleRate)...))
	// The words end where the clean voice last has sound on the program
	// timeline; the recognizer settles its last cue after that, however far
	// behind a loaded machine puts it. Wait for that cue (up to 30 s), not
	// for a stretch of wall-clock time.
	from := vfr.Start()
	_, last := activeSpan(span(ctx, t, vfr, from, b.ev.ProgramTime()))
	words := float64(from+int64(last)) / audio.SampleRate
	var heard []string
	wait := time.NewTimer(30 * time.Second)
	defer wait.Stop()
collect:
	for {
		select {
		case c, ok := <-cues:
			if !ok {
				break collect
			}
			heard = append(heard, c.Text)
			if c.End >= words-1 {
				break collect
			}
		case <-wait.C:
			t.Logf("no cue ends near the last words (%.1f s)", words)
			break collect
		}
	}
	ws.Close()
	for c := range cues {
		heard = append(heard, c.Text)
	}
	got := strings.Join(heard, " ")
	wer := captionstest.WER(string(ref), got)
	t.Logf("en captions of the booth: %q, WER %.1f %%", got, 100*wer)
	// slt through Opus over WebRTC; the floor's rms voice reaches 7.6 %.
	if wer > 0.25 {
		t.Errorf("WER %.1f %% against the interpreter's words, want ≤ 25 %%", 100*wer)
	}
	said := strings.Fields(captionstest.Normalize(got))
	for _, w := range strings.Fields("morning annual meeting network transport energy housing mayor pilot session coffee break eleven hall") {
		for _, h := range said {
			if h == w {
				t.Errorf("the floor's word %q is in the booth's captions: they were not made from the clean voice", w)
			}
		}
	}
}
