package web_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/web"
)

// BenchmarkCaptionLatency: the floor plays testdata/floor.wav (six sentences
// of flite speech) through the embedded PocketSphinx recognizer; for each
// settled cue on the live WebSocket, the delay from the end of the speech it
// transcribes (found by an energy detector on the floor as mixed) to its
// arrival. Run with -bench CaptionLatency -benchtime 1x; reports p50/p99 in ms.
func BenchmarkCaptionLatency(b *testing.B) {
	floor, _ := filepath.Abs("../testdata/floor.wav")
	cfg := eventConfig(b, `
id: test
floor: {language: en, source: "file:%s"}
languages: [{tag: fr}]
captions: {languages: {fr: none}}
`, floor)
	h := serve(b, cfg, event.Options{}, web.Options{})
	ev, hs := h.ev, h.http

	// Speech ends on the program timeline, with the wall time each frame was mixed.
	en, _ := ev.Mix("en")
	pcm := en.PCM().Read("test", 3000)
	var mu sync.Mutex
	var ends []int64
	mixedAt := map[int64]time.Time{}
	go func() {
		speaking, quiet := false, 0
		for f := range pcm.C {
			mu.Lock()
			mixedAt[f.PTS] = time.Now()
			loud := audio.RMS(f.PCM) > 0.01
			switch {
			case loud:
				speaking, quiet = true, 0
			case speaking:
				if quiet++; quiet == 15 { // 300 ms of quiet ends an utterance
					ends = append(ends, f.PTS-14*audio.FrameSamples)
					speaking = false
				}
			}
			mu.Unlock()
		}
	}()
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(hs.URL, "http", "ws", 1)+"/api/events/test/captions/live/en", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	if err := ev.Start(); err != nil {
		b.Fatal(err)
	}
	type arrival struct {
		end float64
		at  time.Time
	}
	var cues []arrival
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	go func() { <-ctx.Done(); ws.Close() }()
	for {
		var m struct {
			Type string
			End  float64
			Text string
		}
		if err := ws.ReadJSON(&m); err != nil {
			break
		}
		if m.Type == "cue" {
			cues = append(cues, arrival{m.End, time.Now()})
		}
	}
	mu.Lock()
	defer mu.Unlock()
	var d []float64
	for _, c := range cues {
		// The speech a cue transcribes ended at most 1.5 s before the cue's
		// end (which reading time may extend) and not after it.
		var end int64 = -1
		for _, e := range ends {
			if s := float64(e) / audio.SampleRate; s <= c.end+0.1 && s >= c.end-1.5 {
				end = e
			}
		}
		if at, ok := mixedAt[end]; ok {
			d = append(d, float64(c.at.Sub(at).Milliseconds()))
		}
	}
	b.Logf("%d cues, %d speech ends, delays in order (ms): %v", len(cues), len(ends), d)
	d = sorted(d)
	b.ReportMetric(pct(d, 0.5), "p50-ms")
	b.ReportMetric(pct(d, 0.99), "p99-ms")
	b.ReportMetric(float64(len(d)), "cues")
}
