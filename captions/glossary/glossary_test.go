package glossary

import (
	"bufio"
	"bytes"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestWords(t *testing.T) {
	got := Words("Dr. Oyelaran’s  talk: Zyphrex-2 & e-mail -- 'quoted'")
	want := []string{"dr", "oyelaran's", "talk", "zyphrex-2", "e-mail", "quoted"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Words = %q, want %q", got, want)
	}
}

func TestSpellings(t *testing.T) {
	g := Glossary{Terms: []string{"Zyphrex", "Clean Energy", "iPhone"}, Speakers: []string{"Ada Oyelaran", "ADA Lovelace", "kenji"}}
	got := g.Spellings(func(w string) bool { return w == "zyphrex" || w == "iphone" })
	want := map[string]string{"ada": "Ada", "oyelaran": "Oyelaran", "lovelace": "Lovelace", "zyphrex": "Zyphrex", "iphone": "iPhone"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Spellings = %v, want %v", got, want)
	}
}

func TestValidate(t *testing.T) {
	ok := Glossary{Terms: []string{"Zyphrex", "clean energy"}, Speakers: []string{"Ada Oyelaran"}, Text: "Agenda."}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	many := make([]string, MaxEntries+1)
	for i := range many {
		many[i] = "w" + strconv.Itoa(i)
	}
	for name, g := range map[string]Glossary{
		"too many":   {Terms: many},
		"long entry": {Terms: []string{strings.Repeat("a", MaxEntryBytes+1)}},
		"control":    {Speakers: []string{"a\x00b"}},
		"no word":    {Terms: []string{" -- "}},
		"long text":  {Text: strings.Repeat("a ", MaxTextBytes)},
		"bad utf8":   {Text: "\xff"},
	} {
		if err := g.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestPhrasesAndVocabulary(t *testing.T) {
	g := Glossary{Terms: []string{"Zyphrex", " zyphrex ", "clean  energy"}, Speakers: []string{"Ada Oyelaran"}, Text: "Ada opens. Zyphrex ships!"}
	if got, want := g.Phrases(), []string{"Zyphrex", "clean energy", "Ada Oyelaran"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Phrases = %q, want %q", got, want)
	}
	if got, want := g.Vocabulary(), []string{"ada", "clean", "energy", "opens", "oyelaran", "ships", "zyphrex"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Vocabulary = %q, want %q", got, want)
	}
}

func TestLiveVersions(t *testing.T) {
	var l Live
	if _, v := l.Get(); v != 0 {
		t.Fatalf("version %d", v)
	}
	if err := l.Set(Glossary{Terms: []string{"\x01"}}); err == nil {
		t.Fatal("invalid glossary accepted")
	}
	if err := l.Set(Glossary{Terms: []string{"Zyphrex"}}); err != nil {
		t.Fatal(err)
	}
	g, v := l.Get()
	if v != 1 || g.Terms[0] != "Zyphrex" {
		t.Fatalf("got %+v v%d", g, v)
	}
	g.Terms[0] = "changed" // a copy
	if g2, _ := l.Get(); g2.Terms[0] != "Zyphrex" {
		t.Fatal("Get shares its slice")
	}
}

// arpa is a parsed ARPA bigram model.
type arpa struct {
	uni     map[string]float64 // log10
	backoff map[string]float64 // log10
	big     map[string]map[string]float64
}

func parseARPA(t testing.TB, b []byte) arpa {
	t.Helper()
	m := arpa{uni: map[string]float64{}, backoff: map[string]float64{}, big: map[string]map[string]float64{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	section := ""
	counts := map[string]int{}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "\\"):
			section = line
		case section == "\\data\\":
			k, v, _ := strings.Cut(line, "=")
			counts[k], _ = strconv.Atoi(v)
		case section == "\\1-grams:":
			f := strings.Fields(line)
			p, _ := strconv.ParseFloat(f[0], 64)
			m.uni[f[1]] = p
			if len(f) == 3 {
				m.backoff[f[1]], _ = strconv.ParseFloat(f[2], 64)
			}
		case section == "\\2-grams:":
			f := strings.Fields(line)
			p, _ := strconv.ParseFloat(f[0], 64)
			if m.big[f[1]] == nil {
				m.big[f[1]] = map[string]float64{}
			}
			m.big[f[1]][f[2]] = p
		}
	}
	if section != "\\end\\" {
		t.Fatalf("no \\end\\: last section %q", section)
	}
	n2 := 0
	for _, x := range m.big {
		n2 += len(x)
	}
	if counts["ngram 1"] != len(m.uni) || counts["ngram 2"] != n2 {
		t.Fatalf("header %v, have %d unigrams %d bigrams", counts, len(m.uni), n2)
	}
	return m
}

// prob is P(w|h) with backoff.
func (m arpa) prob(h, w string) float64 {
	if p, ok := m.big[h][w]; ok {
		return math.Pow(10, p)
	}
	return math.Pow(10, m.backoff[h]+m.uni[w])
}

func TestARPAIsADistribution(t *testing.T) {
	g := Glossary{
		Text:     "Welcome to the Zyphrex launch. Ada Oyelaran presents Zyphrex. The launch starts at nine.",
		Terms:    []string{"Zyphrex", "clean energy"},
		Speakers: []string{"Ada Oyelaran", "Kenji Brennholt"},
	}
	var b bytes.Buffer
	if err := WriteARPA(&b, g.Sentences()); err != nil {
		t.Fatal(err)
	}
	m := parseARPA(t, b.Bytes())
	if m.uni[SentenceStart] != -99 {
		t.Errorf("<s> unigram %v", m.uni[SentenceStart])
	}
	// Every history's distribution over the words that can follow (all but
	// <s>) sums to 1, and the unigrams do too.
	var su float64
	for w, p := range m.uni {
		if w != SentenceStart {
			su += math.Pow(10, p)
		}
	}
	if math.Abs(su-1) > 1e-4 {
		t.Errorf("unigrams sum to %v", su)
	}
	for h := range m.uni {
		if h == SentenceEnd {
			continue
		}
		var s float64
		for w := range m.uni {
			if w != SentenceStart {
				s += m.prob(h, w)
			}
		}
		if math.Abs(s-1) > 1e-4 {
			t.Errorf("P(·|%s) sums to %v", h, s)
		}
	}
	// Witten-Bell by hand: "zyphrex" is followed by "launch" once, "</s>"
	// twice (the text's second sentence and the term), so c=3, T=2.
	if got, want := m.prob("zyphrex", "launch"), 1.0/5; math.Abs(got-want) > 1e-5 {
		t.Errorf("P(launch|zyphrex) = %v, want %v", got, want)
	}
	if got, want := m.prob("zyphrex", SentenceEnd), 2.0/5; math.Abs(got-want) > 1e-5 {
		t.Errorf("P(</s>|zyphrex) = %v, want %v", got, want)
	}
}

func TestARPAEmpty(t *testing.T) {
	if err := WriteARPA(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("no error for an empty corpus")
	}
}

// FuzzGlossary: any glossary either fails validation or gives words, phrases
// and a language model that is a distribution, without panicking.
func FuzzGlossary(f *testing.F) {
	f.Add("Zyphrex\nclean energy", "Ada Oyelaran", "Welcome. Ada presents Zyphrex!")
	f.Add("", "", "")
	f.Add("'--'", "O’Brien", "a.b.c;;\r\n")
	f.Add("\xff", "x\x00", strings.Repeat("word ", 50))
	f.Fuzz(func(t *testing.T, terms, speakers, text string) {
		g := Glossary{Terms: strings.Split(terms, "\n"), Speakers: strings.Split(speakers, "\n"), Text: text}
		if g.Validate() != nil {
			return
		}
		for _, w := range g.Vocabulary() {
			if w == "" || strings.ContainsAny(w, " \t\n<>") {
				t.Fatalf("bad word %q", w)
			}
		}
		_ = g.Phrases()
		var b bytes.Buffer
		if err := WriteARPA(&b, g.Sentences()); err != nil {
			if len(g.Vocabulary()) == 0 {
				return
			}
			t.Fatal(err)
		}
		m := parseARPA(t, b.Bytes())
		var su float64
		for w, p := range m.uni {
			if w != SentenceStart {
				su += math.Pow(10, p)
			}
		}
		if math.Abs(su-1) > 1e-3 {
			t.Fatalf("unigrams sum to %v", su)
		}
	})
}
