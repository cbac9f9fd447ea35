package sphinx

import (
	"bytes"
	"context"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/captions/captionstest"
	"tolk/captions/glossary"
	"tolk/internal/audio"
)

// The event of the glossary tests: names and product names, all but
// "nakamura" missing from the CMU dictionary (whose pronunciation is taken
// from there; the others' come from letter-to-sound).
var (
	eventGlossary = glossary.Glossary{
		Terms:    []string{"Zyphrex", "Quorvex", "Lumenta"},
		Speakers: []string{"Ada Oyelaran", "Kenji Brennholt", "Adeyemi Okonkwo", "Yuki Nakamura"},
		Text: "Keynote: Ada Oyelaran, Zyphrex.\nPlatform talk by Kenji Brennholt on Quorvex.\n" +
			"Demo of Lumenta with Adeyemi Okonkwo. Coffee break in the main hall. Closing: Yuki Nakamura.",
	}
	eventNames  = []string{"oyelaran", "zyphrex", "brennholt", "quorvex", "okonkwo", "lumenta", "yuki", "nakamura"}
	eventSpeech = []string{
		"Our first speaker is Ada Oyelaran from Zyphrex.",
		"Next, Kenji Brennholt will present the Quorvex platform.",
		"Thank you, Adeyemi Okonkwo, for the Lumenta demo.",
		"Closing words by Yuki Nakamura.",
	}
)

// speech speaks each sentence with flite's rms voice and joins them with a
// second of silence; it returns 48 kHz samples and each sentence's start.
func speech(t testing.TB, sentences []string) ([]float32, []int) {
	t.Helper()
	var out []float32
	var starts []int
	for i, s := range sentences {
		dir := filepath.Join(t.TempDir(), string(rune('a'+i)))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		starts = append(starts, len(out))
		out = append(out, readWAV48(t, flite(t, dir, "rms", s))...)
		out = append(out, make([]float32, audio.SampleRate)...)
	}
	return out, starts
}

// namesRight counts the names of want found, in order of appearance, among
// the hypothesis' words.
// inDict reports whether the Debian en-US dictionary has word.
func inDict(t testing.TB, word string) bool {
	t.Helper()
	b, err := os.ReadFile(DebianEnUS.Dict)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.HasPrefix(b, []byte(word+" ")) || bytes.Contains(b, []byte("\n"+word+" "))
}

func namesRight(hyp string, want []string) int {
	words := map[string]bool{}
	for _, w := range strings.Fields(captionstest.Normalize(hyp)) {
		words[w] = true
	}
	n := 0
	for _, w := range want {
		if words[w] {
			n++
		}
	}
	return n
}

// feed writes samples[from:to] as 20 ms frames at program time pts0+from.
func feed(t testing.TB, s *Stream, samples []float32, from, to int, pts0 int64) {
	t.Helper()
	for i := from; i+audio.FrameSamples <= to; i += audio.FrameSamples {
		if err := s.Write(audio.Frame{PTS: pts0 + int64(i), Samples: samples[i : i+audio.FrameSamples]}); err != nil {
			t.Fatal(err)
		}
	}
}

// finals collects a stream's final results until it closes.
func finals(s *Stream) (<-chan captions.Result, <-chan []captions.Result) {
	each := make(chan captions.Result, 16)
	all := make(chan []captions.Result, 1)
	go func() {
		var got []captions.Result
		for r := range s.Results() {
			if r.Final && r.Text != "" {
				got = append(got, r)
				each <- r
			}
		}
		close(each)
		all <- got
	}()
	return each, all
}

// One generic stream and one whose glossary is given by the producer after
// the first utterance, on the same four sentences: the first utterance is
// recognized alike, the next three get the names right only with the glossary,
// and no audio is lost across the change.
func TestGlossaryNamesAndLiveChange(t *testing.T) {
	samples, starts := speech(t, eventSpeech)
	samples = append(samples, make([]float32, audio.SampleRate)...)
	const pts0 = 5000 * audio.SampleRate
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	open := func(live *glossary.Live) *Stream {
		r, err := New(Config{Queue: 1 << 14, ResultBuffer: 1 << 12, Glossary: live})
		if err != nil {
			t.Fatal(err)
		}
		st, err := r.NewStream(ctx, language.AmericanEnglish)
		if err != nil {
			t.Fatal(err)
		}
		return st.(*Stream)
	}

	// The generic model: the whole clip, decoded beside the live stream.
	gen := open(nil)
	_, genAll := finals(gen)
	feed(t, gen, samples, 0, len(samples), pts0)
	genClosed := make(chan error, 1)
	go func() { genClosed <- gen.Close() }() // Close waits for the decode

	// The live glossary: empty for the first sentence.
	live := glossary.NewLive(glossary.Glossary{})
	ad := open(live)
	each, adAll := finals(ad)
	feed(t, ad, samples, 0, starts[1], pts0)
	var first captions.Result
	select {
	case first = <-each:
	case <-ctx.Done():
		t.Fatal("no final for the first sentence")
	}
	if err := live.Set(eventGlossary); err != nil {
		t.Fatal(err)
	}
	feed(t, ad, samples, starts[1], len(samples), pts0)
	if err := ad.Close(); err != nil {
		t.Fatal(err)
	}
	for range each {
	}
	adRes := <-adAll
	st := ad.Stats()
	if err := <-genClosed; err != nil {
		t.Fatal(err)
	}
	genRes := <-genAll

	// Split both transcripts at the second sentence's start.
	split := func(rs []captions.Result) (before, after string) {
		var b, a []string
		for _, r := range rs {
			if r.Start < pts0+int64(starts[1]) {
				b = append(b, r.Text)
			} else {
				a = append(a, r.Text)
			}
		}
		return strings.Join(b, " "), strings.Join(a, " ")
	}
	genBefore, genAfter := split(genRes)
	adBefore, adAfter := split(adRes)
	ref := strings.Join(eventSpeech[1:], " ")
	genWER, adWER := captionstest.WER(ref, genAfter), captionstest.WER(ref, adAfter)
	later := eventNames[2:] // the names of sentences 2 to 4
	genNames, adNames := namesRight(genAfter, later), namesRight(adAfter, later)
	t.Logf("first sentence: generic %q, live stream %q (final at %.2f s)", genBefore, adBefore, float64(first.End-pts0)/audio.SampleRate)
	t.Logf("generic:  WER %.1f %%, names %d/%d: %q", 100*genWER, genNames, len(later), genAfter)
	t.Logf("glossary: WER %.1f %%, names %d/%d: %q", 100*adWER, adNames, len(later), adAfter)
	t.Logf("live stream: %+v; the change took %v of decoder time (audio queued meanwhile)", st, ad.adaptTime)

	if adBefore != genBefore {
		t.Errorf("before the change the streams differ: %q vs %q", adBefore, genBefore)
	}
	// Only the names CMUdict lacks are out of the generic model's reach
	// ("nakamura" is in it).
	var unknown []string
	for _, n := range later {
		if !inDict(t, n) {
			unknown = append(unknown, n)
		}
	}
	if n := namesRight(genAfter, unknown); n != 0 {
		t.Errorf("the generic model got %d names it has no pronunciation for", n)
	}
	if adNames < len(later)-1 {
		t.Errorf("after the change %d of %d names right", adNames, len(later))
	}
	// Names are written as the glossary writes them.
	for _, name := range []string{"Kenji Brennholt", "Quorvex", "Adeyemi Okonkwo", "Lumenta", "Yuki Nakamura"} {
		if !strings.Contains(adAfter, name) {
			t.Errorf("%q not written as in the glossary in %q", name, adAfter)
		}
	}
	if adWER >= genWER {
		t.Errorf("WER with the glossary %.1f %% not below the generic %.1f %%", 100*adWER, 100*genWER)
	}
	if st.DroppedFrames != 0 || st.DroppedFinals != 0 || st.Adaptations != 1 || st.AdaptErrors != 0 {
		t.Errorf("live stream stats %+v: want one adaptation and no loss", st)
	}
	// No audio was lost or shifted by the change: the last word of the clip
	// ends at the same program time in both streams.
	if len(genRes) == 0 || len(adRes) == 0 {
		t.Fatal("no results")
	}
	ge, ae := genRes[len(genRes)-1].End, adRes[len(adRes)-1].End
	if d := abs(ge - ae); d > audio.Samples(50*time.Millisecond) {
		t.Errorf("last word ends at %.3f s generic, %.3f s live", float64(ge-pts0)/audio.SampleRate, float64(ae-pts0)/audio.SampleRate)
	}
}

// The ARPA writer's output is a model sphinxbase reads, with the
// probabilities the writer meant.
func TestARPAReadBySphinxbase(t *testing.T) {
	var b bytes.Buffer
	if err := glossary.WriteARPA(&b, eventGlossary.Sentences()); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "event.arpa")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// "zyphrex" is followed by </s> twice (the text and the term) and by
	// nothing else (c=2, T=1): P(</s>|zyphrex) = 2/(2+1).
	got, err := arpaProb(p, "</s>", "zyphrex")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-2.0/3) > 1e-3 {
		t.Errorf("P(</s>|zyphrex) = %v, want 2/3", got)
	}
	// A backed-off bigram: P(hall|zyphrex) = α(zyphrex)·P(hall).
	uni, err := arpaProb(p, "hall", "")
	if err != nil {
		t.Fatal(err)
	}
	bo, err := arpaProb(p, "hall", "zyphrex")
	if err != nil {
		t.Fatal(err)
	}
	if uni <= 0 || bo <= 0 || bo >= uni {
		t.Errorf("P(hall) = %v, P(hall|zyphrex) = %v", uni, bo)
	}
	if _, err := arpaProb(filepath.Join(t.TempDir(), "missing.arpa"), "a", ""); err == nil {
		t.Error("a missing file loaded")
	}
}

func TestLetterToSound(t *testing.T) {
	got := letterToSound([]string{"oyelaran", "zyphrex", "brennholt", "x2"})
	for _, w := range []string{"oyelaran", "zyphrex", "brennholt", "x2"} {
		if got[w] == "" {
			t.Errorf("%s: no pronunciation", w)
		}
	}
	if got["zyphrex"] != "Z AY F R EH K S" {
		t.Errorf("zyphrex: %q from t2p", got["zyphrex"])
	}
	// Without t2p, the rules still give every word phones of the model.
	saved := t2pPath
	t2pPath = "/nonexistent/t2p"
	defer func() { t2pPath = saved }()
	for w, p := range letterToSound([]string{"oyelaran", "quorvex", "okonkwo"}) {
		for _, ph := range strings.Fields(p) {
			if !sphinxPhone[ph] {
				t.Errorf("%s: phone %q not in the model", w, ph)
			}
		}
		t.Logf("rules: %s = %s", w, p)
	}
}

var sphinxPhone = func() map[string]bool {
	m := map[string]bool{}
	for _, p := range flitePhone {
		m[p] = true
	}
	return m
}()

// TestGlossaryWeights measures the WER of other interpolation weights on the
// event's sentences and on the floor clip (whose words the glossary does not
// have: the cost of the event model on ordinary speech). It takes a minute,
// so it runs only with TOLK_GLOSSARY_WEIGHTS=1; docs/benchmarks.md has the
// numbers.
func TestGlossaryWeights(t *testing.T) {
	if os.Getenv("TOLK_GLOSSARY_WEIGHTS") == "" {
		t.Skip("set TOLK_GLOSSARY_WEIGHTS=1 to measure")
	}
	ev, _ := speech(t, eventSpeech)
	floor := readWAV48(t, "../../testdata/floor.wav")
	floorRef, err := os.ReadFile("../../testdata/floor.txt")
	if err != nil {
		t.Fatal(err)
	}
	saved := eventWeight
	defer func() { eventWeight, genericWeight = saved, 1-saved }()
	for _, w := range []float64{0, 0.1, 0.3, 0.5} {
		g := eventGlossary
		if w == 0 {
			g = glossary.Glossary{}
		}
		eventWeight, genericWeight = w, 1-w
		r, err := New(Config{Queue: 1 << 14, ResultBuffer: 1 << 12, Glossary: glossary.NewLive(g)})
		if err != nil {
			t.Fatal(err)
		}
		res, _ := recognize(t, r, ev, 0)
		evHyp := finalText(res)
		res, _ = recognize(t, r, floor, 0)
		flHyp := finalText(res)
		t.Logf("event weight %.1f: event sentences WER %.1f %% (names %d/%d), floor clip WER %.1f %%", w,
			100*captionstest.WER(strings.Join(eventSpeech, " "), evHyp), namesRight(evHyp, eventNames), len(eventNames),
			100*captionstest.WER(string(floorRef), flHyp))
	}
	// A glossary about the floor clip: its first sentence as the text.
	eventWeight, genericWeight = saved, 1-saved
	first, _, _ := strings.Cut(string(floorRef), "\n")
	r, err := New(Config{Queue: 1 << 14, ResultBuffer: 1 << 12, Glossary: glossary.NewLive(glossary.Glossary{Text: first})})
	if err != nil {
		t.Fatal(err)
	}
	res, _ := recognize(t, r, floor, 0)
	t.Logf("event weight %.1f, the floor's first sentence as text: floor clip WER %.1f %%", saved,
		100*captionstest.WER(string(floorRef), finalText(res)))
}

// TestGlossaryAdaptTime measures the decoder's pause for a glossary change
// of made-up words (none in CMUdict), up to the bound of new words; with
// TOLK_GLOSSARY_WEIGHTS=1 only (docs/benchmarks.md).
func TestGlossaryAdaptTime(t *testing.T) {
	if os.Getenv("TOLK_GLOSSARY_WEIGHTS") == "" {
		t.Skip("set TOLK_GLOSSARY_WEIGHTS=1 to measure")
	}
	rng := rand.New(rand.NewSource(1))
	word := func() string {
		b := make([]byte, 4+rng.Intn(7))
		for i := range b {
			b[i] = byte('a' + rng.Intn(26))
		}
		return string(b)
	}
	d, err := newDecoder(DebianEnUS, 50, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.free()
	if err := d.endUtt(); err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{10, 300, 1000, 5000} {
		var g glossary.Glossary
		for range n {
			g.Terms = append(g.Terms, word())
		}
		if n > glossary.MaxEntries {
			g.Terms, g.Text = nil, strings.Join(g.Terms, " ")
		}
		start := time.Now()
		if err := d.adapt(g); err != nil {
			t.Fatal(err)
		}
		t.Logf("%d unknown words (%d added at most): decoder pause %v", n, maxNewWords, time.Since(start).Round(time.Millisecond))
	}
}

// A glossary change may restart the decoder's utterance only in a quiet run:
// silence, or a noisy room's floor, but not speech.
func TestQuietRun(t *testing.T) {
	s := &Stream{}
	frame := func(peak int16, n int) {
		s.pcm = s.pcm[:0]
		for i := range n * frameSamples16 {
			v := peak
			if i%2 == 1 {
				v = -peak / 2
			}
			s.pcm = append(s.pcm, v)
		}
		s.countQuiet()
	}
	frame(0, 40) // digital silence
	if s.quiet != 40 {
		t.Fatalf("silence: quiet run %d", s.quiet)
	}
	frame(6000, 1) // speech
	if s.quiet != 0 {
		t.Fatalf("speech: quiet run %d", s.quiet)
	}
	// A room at -40 dBFS (peak 250..410), above the absolute threshold: its
	// own floor is quiet. (After digital silence the floor rises to it at
	// 8.6 dB/s, in about 5 s.)
	s = &Stream{}
	rng := rand.New(rand.NewSource(2))
	for range 50 {
		frame(int16(250+rng.Intn(160)), 1)
	}
	if s.quiet < quietFrames {
		t.Fatalf("room noise: quiet run %d, want at least %d", s.quiet, quietFrames)
	}
	frame(4000, 1) // speech over the room, 20 dB above it
	if s.quiet != 0 {
		t.Fatalf("speech in the room: quiet run %d", s.quiet)
	}
}
