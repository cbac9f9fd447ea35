package web_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/captions/captionstest"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/web"
)

// BenchmarkInterimOnScreen: a scripted recognizer says five sentences on the
// floor; for every partial line, the delay from the moment the recognizer's
// result leaves the caption pipeline (a subscriber in this process) to the
// frame that paints it on the watch page in Chromium (same machine, same
// wall clock). Run with -bench InterimOnScreen -benchtime 1x; reports p50/p99
// in ms. The goal is 300 ms.
func BenchmarkInterimOnScreen(b *testing.B) {
	floor := toneFile(b, 440, 0.5, 40)
	cfg := eventConfig(b, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {fr: none}}
`, floor)
	sentences := []string{
		"good morning and welcome to the partner conference",
		"today we will talk about interpretation at scale",
		"our first speaker comes from the university of geneva",
		"she has worked on live captions for many years",
		"please give her a warm welcome on stage",
	}
	sec := int64(audio.SampleRate)
	var script []captionstest.ScriptedWord
	at := 6 * sec // after the page has opened its caption feed
	for _, s := range sentences {
		for _, w := range strings.Fields(s) {
			script = append(script, captionstest.ScriptedWord{Text: w, Start: at, End: at + sec*3/10})
			at += sec * 3 / 10
		}
		at += sec // a pause settles the sentence
	}
	h := serve(b, cfg, event.Options{Recognizer: captionstest.NewScripted(script)}, web.Options{})
	feed, ok := h.ev.CaptionFeed("en")
	if !ok {
		b.Fatal("no captions for en")
	}
	sub := feed.Cues().Read("test", 1024)
	var mu sync.Mutex
	emitted := map[string]time.Time{}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // ends when the event closes the pipeline
		defer wg.Done()
		for c := range sub.C {
			if !c.Final {
				mu.Lock()
				if _, seen := emitted[c.Text]; !seen {
					emitted[c.Text] = time.Now()
				}
				mu.Unlock()
			}
		}
	}()
	if err := h.ev.Start(); err != nil {
		b.Fatal(err)
	}
	var rep struct {
		Partials []struct {
			Text  string
			Shown float64
		}
	}
	runBrowser(b, "watch_captions.mjs", &rep, h.http.URL, "--event", "test", "--lang", "en", "--cues", "5", "--partials")
	h.close()
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	var d []float64
	for _, p := range rep.Partials {
		if t, ok := emitted[p.Text]; ok {
			d = append(d, p.Shown-float64(t.UnixNano())/1e6)
		}
	}
	if len(d) == 0 {
		b.Fatalf("no partial line matched: %d shown, %d emitted", len(rep.Partials), len(emitted))
	}
	b.Logf("%d partial lines painted, delays (ms): %v", len(d), d)
	d = sorted(d)
	b.ReportMetric(pct(d, 0.5), "p50-ms")
	b.ReportMetric(pct(d, 0.99), "p99-ms")
	b.ReportMetric(d[len(d)-1], "max-ms")
	b.ReportMetric(float64(len(d)), "partials")
}
