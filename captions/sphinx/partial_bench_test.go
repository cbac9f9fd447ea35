package sphinx

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/internal/audio"
)

// refWord is one word of synthesized speech with its place in the audio
// (48 kHz samples from the clip's start), as the synthesizer made it.
type refWord struct {
	text       string
	start, end int64
}

// fliteSegments speaks text with voice and returns the synthesizer's
// segments (phones and pauses) with their end times in seconds, and the WAV.
func fliteSegments(b testing.TB, dir, voice, text string, n int) (segs []string, ends []float64, wav string) {
	b.Helper()
	wav = filepath.Join(dir, fmt.Sprintf("%s-%d.wav", voice, n))
	out, err := exec.Command("flite", "-voice", voice, "-psdur", "-t", text, "-o", wav).Output()
	if err != nil {
		b.Fatalf("flite: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Split(bufio.ScanWords)
	for sc.Scan() {
		name, end, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		e, err := strconv.ParseFloat(end, 64)
		if err != nil {
			b.Fatalf("flite segment %q: %v", sc.Text(), err)
		}
		segs, ends = append(segs, name), append(ends, e)
	}
	return segs, ends, wav
}

func bareWord(w string) string {
	return strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && r != '\'' }))
}

// timedSpeech speaks sentences with flite, gap seconds apart, and returns the
// 48 kHz clip with every word's start and end. Word times come from flite's
// own segment times: a word's phones are counted by speaking it alone, and
// the sentence's phones are given out to its words in order.
func timedSpeech(b testing.TB, voice string, gap float64, sentences ...string) ([]float32, []refWord) {
	b.Helper()
	dir := b.TempDir()
	phones := map[string]int{}
	var clip []float32
	var words []refWord
	n := 0
	for _, s := range sentences {
		segs, ends, wav := fliteSegments(b, dir, voice, s, n)
		n++
		at := int64(len(clip))
		clip = append(clip, readWAV48(b, wav)...)
		clip = append(clip, make([]float32, int(gap*audio.SampleRate))...)
		i := 0 // next segment
		for _, w := range strings.Fields(s) {
			bw := bareWord(w)
			k, ok := phones[bw]
			if !ok {
				ws, _, _ := fliteSegments(b, dir, voice, bw, n)
				n++
				for _, p := range ws {
					if p != "pau" {
						k++
					}
				}
				phones[bw] = k
			}
			for i < len(segs) && segs[i] == "pau" {
				i++
			}
			if i+k > len(segs) {
				b.Fatalf("%q: flite's phones do not split into words at %q", s, w)
			}
			start := 0.0
			if i > 0 {
				start = ends[i-1]
			}
			i += k
			words = append(words, refWord{text: bw,
				start: at + int64(start*audio.SampleRate), end: at + int64(ends[i-1]*audio.SampleRate)})
		}
		for ; i < len(segs); i++ {
			if segs[i] != "pau" {
				b.Fatalf("%q: %d phones left over after the last word", s, len(segs)-i)
			}
		}
	}
	return clip, words
}

// tapRecognizer records every result of its streams as it leaves them.
type tapRecognizer struct {
	r  *Recognizer
	mu sync.Mutex
	// results in order, with the wall time each left the stream and the
	// decoder's progress (program time consumed) at that moment.
	results []tapped
}

type tapped struct {
	r        captions.Result
	at       time.Time
	progress int64
}

type tapStream struct {
	*Stream
	out chan captions.Result
}

func (s *tapStream) Results() <-chan captions.Result { return s.out }

func (t *tapRecognizer) NewStream(ctx context.Context, lang language.Tag) (captions.Stream, error) {
	st, err := t.r.NewStream(ctx, lang)
	if err != nil {
		return nil, err
	}
	inner := st.(*Stream)
	ts := &tapStream{Stream: inner, out: make(chan captions.Result, 1<<12)}
	go func() {
		defer close(ts.out)
		for r := range inner.Results() {
			t.mu.Lock()
			t.results = append(t.results, tapped{r: r, at: time.Now(), progress: inner.Progress()})
			t.mu.Unlock()
			ts.out <- r
		}
	}()
	return ts, nil
}

// BenchmarkPartialLatency: flite speaks six sentences with known word times;
// the clip goes through the caption pipeline (captions.Pipeline, PocketSphinx
// with its production settings) in 20 ms frames at the pace of real audio.
// For every spoken word, the delay from its end in the audio (the wall time
// the frame holding it was written, less the part of the frame after the
// word) to:
//
//   - rec: the first interim result whose words hold it (same text, times
//     overlapping) leaving the recognizer stream;
//   - track: the partial line of that result written to the pipeline's cue
//     track, which the watch page's WebSocket reads (the page's share is
//     BenchmarkInterimOnScreen in ./web/);
//   - audio-lag: how much audio past the word end the decoder had consumed
//     then (its look-ahead, whatever the machine's speed).
//
// Run with -bench PartialLatency -benchtime 1x (half a minute of audio).
// Also reported: the CPU time per second of audio (cpu-rtf), the share of
// words ever shown, and how far the final word ends lie from flite's.
func BenchmarkPartialLatency(b *testing.B) {
	r, err := New(Config{})
	if err != nil {
		b.Fatal(err)
	}
	sentences := []string{
		"Good morning, and welcome to the annual meeting of the city network.",
		"Today we will talk about public transport, clean energy and housing.",
		"Our first speaker is the mayor, who will present the results of the pilot project.",
		"Please keep your questions until the end of each session.",
		"The coffee break will start at eleven o'clock in the main hall.",
		"Thank you, and enjoy the conference.",
	}
	clip, words := timedSpeech(b, "rms", 1.0, sentences...)
	clip = append(clip, make([]float32, audio.SampleRate)...)
	sec := float64(len(clip)) / audio.SampleRate
	var all []wordLatency
	var cpu time.Duration
	for b.Loop() {
		tap := &tapRecognizer{r: r}
		p := captions.NewPipeline("bench", "en", tap, language.AmericanEnglish, nil, nil, nil)
		sub := p.Cues().Read("bench", 1<<12)
		var cues []tappedCue
		got := make(chan struct{})
		go func() {
			defer close(got)
			for c := range sub.C {
				cues = append(cues, tappedCue{c, time.Now()})
			}
		}()
		// The decoder loads when the pipeline opens its stream: wait for it
		// so the clip is not queued behind the load.
		time.Sleep(2 * time.Second)
		nFrames := len(clip) / audio.FrameSamples
		written := make([]time.Time, nFrames)
		cpu0 := mustCPUTime(b)
		t0 := time.Now()
		for i := range nFrames {
			pts := int64(i * audio.FrameSamples)
			time.Sleep(time.Until(t0.Add(time.Duration(pts+audio.FrameSamples) * time.Second / audio.SampleRate)))
			written[i] = time.Now()
			p.Write(audio.Frame{PTS: pts, Samples: clip[pts : pts+audio.FrameSamples]})
		}
		time.Sleep(time.Second)
		cpu += mustCPUTime(b) - cpu0
		p.Close()
		<-got
		tap.mu.Lock()
		all = append(all, matchWords(b, words, written, tap.results, cues)...)
		tap.mu.Unlock()
	}
	var rec, track, lag, pipe, finalOff []float64
	shown := 0
	for _, w := range all {
		if w.shown {
			shown++
			rec = append(rec, w.rec)
			track = append(track, w.track)
			lag = append(lag, w.lag)
			pipe = append(pipe, w.track-w.rec)
		}
		if w.final {
			finalOff = append(finalOff, w.finalOff)
		}
	}
	if shown == 0 {
		b.Fatal("no word was ever shown")
	}
	for _, w := range all[:len(words)] {
		b.Logf("%-12s rec %6.0f ms  track %6.0f ms  audio %4.0f ms  final end %+5.0f ms", w.text, w.rec, w.track, w.lag, w.finalOff)
	}
	b.ReportMetric(pctl(rec, 0.5), "rec-p50-ms")
	b.ReportMetric(pctl(rec, 0.99), "rec-p99-ms")
	b.ReportMetric(pctl(track, 0.5), "track-p50-ms")
	b.ReportMetric(pctl(track, 0.99), "track-p99-ms")
	b.ReportMetric(pctl(pipe, 0.99), "pipeline-p99-ms")
	b.ReportMetric(pctl(lag, 0.5), "audio-lag-p50-ms")
	b.ReportMetric(pctl(lag, 0.99), "audio-lag-p99-ms")
	b.ReportMetric(float64(shown)/float64(len(all)), "shown")
	b.ReportMetric(pctl(finalOff, 0.5), "final-end-off-p50-ms")
	b.ReportMetric(cpu.Seconds()/float64(b.N)/sec, "cpu-rtf")
}

type tappedCue struct {
	c  captions.Cue
	at time.Time
}

type wordLatency struct {
	text  string
	shown bool
	// rec, track: ms from the word's end to its first interim leaving the
	// stream and to its partial line on the track; lag: audio (ms) past the
	// word end the decoder had consumed then.
	rec, track, lag float64
	// final: a final result holds the word; finalOff: its end there less
	// flite's (ms).
	final    bool
	finalOff float64
}

// matchWords finds, for every spoken word, the first interim result that
// holds it and the partial line that result made. The pipeline turns each
// interim with text into one partial line with text, in order.
func matchWords(b testing.TB, words []refWord, written []time.Time, results []tapped, cues []tappedCue) []wordLatency {
	b.Helper()
	var partials []tappedCue
	for _, c := range cues {
		if !c.c.Final && c.c.Text != "" {
			partials = append(partials, c)
		}
	}
	var interims []tapped
	for _, t := range results {
		if !t.r.Final && t.r.Text != "" {
			interims = append(interims, t)
		}
	}
	if len(partials) != len(interims) {
		b.Fatalf("%d interim results but %d partial lines", len(interims), len(partials))
	}
	slack := int64(150 * audio.SampleRate / 1000)
	holds := func(r captions.Result, w refWord) (captions.Word, bool) {
		for _, x := range r.Words {
			if bareWord(x.Text) == w.text && x.Start < w.end+slack && x.End > w.start-slack {
				return x, true
			}
		}
		return captions.Word{}, false
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	out := make([]wordLatency, len(words))
	for i, w := range words {
		out[i].text = w.text
		f := min(int(w.end/audio.FrameSamples), len(written)-1)
		frameEnd := int64(f+1) * audio.FrameSamples
		endAt := written[f].Add(-time.Duration(frameEnd-w.end) * time.Second / audio.SampleRate)
		for k, t := range interims {
			if _, ok := holds(t.r, w); ok {
				out[i].shown = true
				out[i].rec = ms(t.at.Sub(endAt))
				out[i].track = ms(partials[k].at.Sub(endAt))
				out[i].lag = float64(t.progress-w.end) * 1000 / audio.SampleRate
				break
			}
		}
		for _, t := range results {
			if x, ok := holds(t.r, w); ok && t.r.Final {
				out[i].final = true
				out[i].finalOff = float64(x.End-w.end) * 1000 / audio.SampleRate
				break
			}
		}
	}
	return out
}

func pctl(v []float64, p float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[min(len(s)-1, int(p*float64(len(s))))]
}
