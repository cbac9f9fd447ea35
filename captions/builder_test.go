package captions

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"tolk/internal/audio"
)

// spoken lays text out as a final result whose words last wordMS each with
// gapMS between them, from startMS.
// ms is program time in samples.
func ms(n int64) int64 { return n * audio.SampleRate / 1000 }

func spoken(text string, startMS, wordMS, gapMS int64) Result {
	var r Result
	t := ms(startMS)
	for _, w := range strings.Fields(text) {
		r.Words = append(r.Words, Word{Text: w, Start: t, End: t + ms(wordMS)})
		t += ms(wordMS + gapMS)
	}
	r.Final, r.Text = true, text
	r.Start, r.End = r.Words[0].Start, r.Words[len(r.Words)-1].End
	return r
}

func TestBuilderLineBreaks(t *testing.T) {
	for _, tc := range []struct {
		name string
		text string
		want []string // cue texts, lines joined by "|"
	}{
		{"one line", "Thank you very much for the invitation.", []string{"Thank you very much for the invitation."}},
		{"break at the comma", "Today we will talk about public transport, clean energy and housing.",
			[]string{"Today we will talk about public transport,|clean energy and housing."}},
		{"break before the conjunction", "We now have more buses and fewer cars in the city centre.",
			[]string{"We now have more buses|and fewer cars in the city centre."}},
		{"two cues at the sentence end",
			"Good morning, and welcome to the annual meeting of the city network. Today we will talk about public transport.",
			[]string{"Good morning, and welcome|to the annual meeting of the city network.", "Today we will talk about public transport."}},
		// The only two-line layouts of this sentence end a line on "the":
		// a cue split keeps the article with its noun.
		{"no article at a line end", "I would like to thank all of the volunteers who made this event possible.",
			[]string{"I would like to thank all|of the volunteers", "who made this event possible."}},
		{"no preposition at a line end", "She has worked on live captions for a very long time in Geneva.",
			[]string{"She has worked on live captions|for a very long time in Geneva."}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, cues := NewBuilder("en").Add(spoken(tc.text, 1000, 250, 50))
			var got []string
			for _, c := range cues {
				got = append(got, strings.ReplaceAll(c.Text, "\n", "|"))
			}
			if strings.Join(got, " / ") != strings.Join(tc.want, " / ") {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
			checkCues(t, cues)
		})
	}
}

func TestBuilderTiming(t *testing.T) {
	t.Run("from word times", func(t *testing.T) {
		_, cues := NewBuilder("en").Add(spoken("the project started three years ago", 2000, 300, 100))
		if len(cues) != 1 || cues[0].Start != ms(2000) || cues[0].End < ms(2000+6*400-100) {
			t.Fatalf("cues %+v", cues)
		}
	})
	t.Run("short word shown one second", func(t *testing.T) {
		_, cues := NewBuilder("en").Add(spoken("yes", 500, 200, 0))
		if len(cues) != 1 || cues[0].End-cues[0].Start != MinCueDuration {
			t.Fatalf("cues %+v", cues)
		}
	})
	t.Run("long speech split under seven seconds", func(t *testing.T) {
		// 12 short words over 12 s: few characters, but too long for one cue.
		_, cues := NewBuilder("en").Add(spoken("one two three four five six seven eight nine ten eleven twelve", 0, 500, 500))
		if len(cues) < 2 {
			t.Fatalf("cues %+v", cues)
		}
		checkCues(t, cues)
	})
	t.Run("reading speed extends into the gap", func(t *testing.T) {
		// 40 characters spoken in about 1.2 s, then the next sentence 3 s later.
		r := spoken("Interpretation infrastructure matters.", 0, 390, 10)
		r2 := spoken("Questions later.", 4200, 300, 100)
		r.Words = append(r.Words, r2.Words...)
		_, cues := NewBuilder("en").Add(r)
		if len(cues) != 2 {
			t.Fatalf("cues %+v", cues)
		}
		if d, want := cues[0].End-cues[0].Start, readTime(utf8.RuneCountInString(cues[0].Text)); d < want {
			t.Fatalf("first cue shows %v, reading needs %v", audio.Duration(d), audio.Duration(want))
		}
		// The editor's reading check (17 characters a second) agrees.
		if r := CheckReading(cues[0].Text, audio.Duration(cues[0].End-cues[0].Start), DefaultReadingLimits()); len(r.Warnings) > 0 {
			t.Fatalf("first cue reads at %.1f cps: %v", r.CPS, r.Warnings)
		}
		checkCues(t, cues)
	})
	t.Run("reading speed stops at the next speech", func(t *testing.T) {
		r := spoken("Interpretation infrastructure matters.", 0, 390, 10)
		r2 := spoken("Questions later.", 1900, 300, 100)
		r.Words = append(r.Words, r2.Words...)
		_, cues := NewBuilder("en").Add(r)
		if len(cues) != 2 || cues[0].End > ms(1900) || cues[1].Start != ms(1900) {
			t.Fatalf("cues %+v", cues)
		}
	})
	t.Run("next result pushed after an extended cue", func(t *testing.T) {
		b := NewBuilder("en")
		_, c1 := b.Add(spoken("yes", 0, 200, 0))
		_, c2 := b.Add(spoken("no", 600, 200, 0))
		if c2[0].Start != c1[0].End || c2[0].End-c2[0].Start < MinCueDuration {
			t.Fatalf("c1 %+v c2 %+v", c1, c2)
		}
	})
	t.Run("no word times: time spread over the result", func(t *testing.T) {
		text := "Please keep your questions until the end of each session. The coffee break will start at eleven."
		_, cues := NewBuilder("en").Add(Result{Final: true, Text: text, Start: ms(10000), End: ms(16000)})
		if len(cues) != 2 || cues[0].Start != ms(10000) || cues[1].Start <= cues[0].Start || cues[1].End > ms(17000) {
			t.Fatalf("cues %+v", cues)
		}
		checkCues(t, cues)
	})
	t.Run("no word times and no span", func(t *testing.T) {
		_, cues := NewBuilder("en").Add(Result{Final: true, Text: "hello there", Start: ms(5000)})
		if len(cues) != 1 || cues[0].Start != ms(5000) || cues[0].End-cues[0].Start < MinCueDuration {
			t.Fatalf("cues %+v", cues)
		}
	})
}

// The partial line breaks as final cues do; a few words of its head give
// way rather than leave an article at a line end.
func TestBuilderPartialLineBreaks(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string // lines joined by "|"
	}{
		{"one line", "Thank you very much for the invitation.", "Thank you very much for the invitation."},
		{"break before the preposition", "She has worked on live captions for a very long time in Geneva.",
			"She has worked on live captions|for a very long time in Geneva."},
		{"head gives way to the article", "I would like to thank all of the volunteers who made this event possible.",
			"would like to thank all of the volunteers|who made this event possible."},
		{"longest tail that fits", "Good morning, and welcome to the annual meeting of the city network. Today we will talk",
			"morning, and welcome to the annual meeting|of the city network. Today we will talk"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := spoken(tc.text, 1000, 250, 50)
			r.Final = false
			p, _ := NewBuilder("en").Add(r)
			if got := strings.ReplaceAll(p.Text, "\n", "|"); got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestBuilderPartial(t *testing.T) {
	b := NewBuilder("fr")
	long := strings.Repeat("nous avons maintenant plus de bus ", 6)
	p, f := b.Add(Result{Text: long, Start: ms(1000), End: ms(9000)})
	if p == nil || f != nil || p.Final || p.Lang != "fr" {
		t.Fatalf("partial %+v finals %+v", p, f)
	}
	lines := strings.Split(p.Text, "\n")
	if len(lines) > MaxLines || !strings.HasSuffix(strings.TrimSpace(long), strings.ReplaceAll(p.Text, "\n", " ")) {
		t.Fatalf("partial text %q", p.Text)
	}
	for _, l := range lines {
		if utf8.RuneCountInString(l) > MaxLineChars {
			t.Fatalf("line %q too long", l)
		}
	}
	if n := utf8.RuneCountInString(p.Text); n < 70 {
		t.Fatalf("partial shows only %d characters", n)
	}
	if p.End < p.Start {
		t.Fatalf("partial %+v", p)
	}
	p, _ = b.Add(Result{})
	if p == nil || p.Text != "" {
		t.Fatalf("empty interim should clear the line: %+v", p)
	}
	// A final without words (the interims were noise) clears the line.
	b.Add(Result{Text: "euh", Start: ms(9000), End: ms(9300)})
	p, f = b.Add(Result{Final: true, Start: ms(9000), End: ms(9500)})
	if p == nil || p.Text != "" || p.Final || len(f) != 0 {
		t.Fatalf("empty final: partial %+v finals %+v", p, f)
	}
	p, f = b.Add(spoken("merci", 10000, 300, 0))
	if p != nil || len(f) != 1 || !f[0].Final {
		t.Fatalf("final: partial %+v finals %+v", p, f)
	}
}

// checkCues asserts the reading limits and the order of final cues.
func checkCues(t *testing.T, cues []Cue) {
	t.Helper()
	var prevEnd int64
	for i, c := range cues {
		if !c.Final || c.Text == "" {
			t.Fatalf("cue %d: %+v", i, c)
		}
		if c.Start < prevEnd {
			t.Fatalf("cue %d starts at %d before the previous end %d", i, c.Start, prevEnd)
		}
		if d := c.End - c.Start; d < MinCueDuration || d > MaxCueDuration {
			t.Fatalf("cue %d lasts %v: %+v", i, audio.Duration(d), c)
		}
		lines := strings.Split(c.Text, "\n")
		if len(lines) > MaxLines {
			t.Fatalf("cue %d has %d lines: %q", i, len(lines), c.Text)
		}
		for _, l := range lines {
			if l == "" || l != strings.TrimSpace(l) {
				t.Fatalf("cue %d has a blank or padded line: %q", i, c.Text)
			}
			if utf8.RuneCountInString(l) > MaxLineChars && (len(lines) > 1 || strings.Contains(l, " ")) {
				t.Fatalf("cue %d line %q is %d characters", i, l, utf8.RuneCountInString(l))
			}
		}
		prevEnd = c.End
	}
}

var fuzzWords = []string{"a", "the", "and", "of", "morning,", "welcome", "transport.", "interpretation",
	"infrastructure", "Supercalifragilisticexpialidociousnessfulness-indeed", "é", "über", "città?", "x\ny", ""}

// decodeResults turns fuzz bytes into a sequence of results: per result a
// kind byte and a word count, then per word a vocabulary index, a gap and a
// duration (in 10 ms units, possibly negative).
func decodeResults(data []byte) []Result {
	var out []Result
	var t int64
	next := func() int {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return int(b)
	}
	for len(data) > 0 {
		kind, n := next(), next()%60
		var r Result
		r.Final = kind&1 == 1
		var texts []string
		for range n {
			w := fuzzWords[next()%len(fuzzWords)]
			gap := int64(int8(next())) * ms(10)
			dur := int64(int8(next())) * ms(10)
			if kind&4 != 0 {
				dur *= 10 // very long words
			}
			t = max(0, t+gap)
			r.Words = append(r.Words, Word{Text: w, Start: t, End: t + dur})
			texts = append(texts, w)
			t += max(dur, 0)
		}
		r.Text = strings.Join(texts, " ")
		if len(r.Words) > 0 {
			r.Start, r.End = r.Words[0].Start, r.Words[len(r.Words)-1].End
		}
		if kind&2 != 0 { // no word times
			r.Words = nil
			if kind&8 != 0 {
				r.End = r.Start
			}
		}
		out = append(out, r)
	}
	return out
}

func FuzzBuilder(f *testing.F) {
	f.Add([]byte{1, 5, 0, 10, 20, 1, 0, 30, 2, 0, 30, 3, 0, 30, 4, 0, 30})
	f.Add([]byte{0, 3, 4, 0, 10, 5, 0, 10, 6, 0, 10, 1, 3, 9, 0, 10, 10, 0, 10, 11, 250, 10})
	f.Add([]byte{5, 2, 1, 0, 100, 2, 0, 120, 3, 1, 0, 0, 0, 11, 1, 1, 0, 10})
	f.Add([]byte{1, 59, 1, 1, 1, 2, 1, 1, 3, 1, 1, 4, 1, 1, 5, 1, 1, 6, 1, 1, 7, 1, 1, 8, 1, 1, 9, 1, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		b := NewBuilder("en")
		var all []Cue
		var said, shown []string
		for _, r := range decodeResults(data) {
			p, finals := b.Add(r)
			if r.Final {
				said = append(said, strings.Fields(r.Text)...)
				if p != nil && (p.Text != "" || len(strings.Fields(r.Text)) > 0) {
					t.Fatalf("final result gave a partial %+v", p)
				}
			} else {
				if p == nil || p.Final || p.End < p.Start || len(finals) > 0 {
					t.Fatalf("interim gave %+v %+v", p, finals)
				}
				if len(strings.Split(p.Text, "\n")) > MaxLines {
					t.Fatalf("partial %q", p.Text)
				}
			}
			all = append(all, finals...)
			for _, c := range finals {
				shown = append(shown, strings.Fields(c.Text)...)
			}
		}
		checkCues(t, all)
		if strings.Join(said, " ") != strings.Join(shown, " ") {
			t.Fatalf("words said %q, shown %q", said, shown)
		}
	})
}

func BenchmarkBuilderFinal(b *testing.B) {
	r := spoken("Good morning, and welcome to the annual meeting of the city network. Today we will talk about public transport, clean energy and housing. Our first speaker is the mayor, who will present the results of the pilot project.", 0, 250, 50)
	bl := NewBuilder("en")
	for b.Loop() {
		bl.Add(r)
	}
}

// TestBuilderConfidence gives each final cue its own words' confidences,
// one per word of its text, their mean and the lowest; a result without
// confidences gives cues without one.
func TestBuilderConfidence(t *testing.T) {
	r := spoken("Good morning, and welcome to the annual meeting of the city network. Today we will talk about public transport.", 1000, 250, 50)
	for i := range r.Words {
		r.Words[i].Confidence = 0.9
	}
	r.Words[len(r.Words)-2].Confidence = 0.2 // "public"
	r.Words[0].Confidence = float32(math.NaN())
	_, cues := NewBuilder("en").Add(r)
	if len(cues) != 2 {
		t.Fatalf("%d cues", len(cues))
	}
	for i, c := range cues {
		conf := c.Confidence
		if conf == nil || len(conf.Words) != len(strings.Fields(c.Text)) {
			t.Fatalf("cue %d %q: confidence %+v", i, c.Text, conf)
		}
	}
	first, second := cues[0].Confidence, cues[1].Confidence
	if first.Words[0] != 0 || first.Min != 0 || first.Mean <= 0.8 || first.Mean >= 0.9 {
		t.Errorf("a NaN word counts as 0: %+v", first)
	}
	if second.Min != 0.2 || second.Words[len(second.Words)-2] != 0.2 || second.Mean >= 0.9 || second.Mean <= 0.7 {
		t.Errorf("second cue %+v", second)
	}
	_, cues = NewBuilder("en").Add(spoken("no confidence given", 0, 250, 50))
	if len(cues) != 1 || cues[0].Confidence != nil {
		t.Fatalf("%+v", cues)
	}
}
