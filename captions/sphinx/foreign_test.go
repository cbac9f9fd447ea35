package sphinx

import (
	"context"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/text/language"

	"tolk/captions/captionstest"
	"tolk/captions/glossary"
	"tolk/internal/audio"
)

func TestFoldLatin(t *testing.T) {
	for in, want := range map[string]string{
		"Zürich": "zurich", "Łódź": "lodz", "Dvořák": "dvorak", "Straße": "strasse", "Ørsted": "orsted",
		"São": "sao", "François": "francois", "Þór": "thor", "r2d2": "r2d2", "Ğüneş": "gunes",
	} {
		if got, ok := foldLatin(in); !ok || got != want {
			t.Errorf("foldLatin(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{"Москва", "東京", "Αθήνα", ""} {
		if got, ok := foldLatin(in); ok {
			t.Errorf("foldLatin(%q) = %q: folded a word of another script", in, got)
		}
	}
}

func TestSpellingLanguage(t *testing.T) {
	for w, want := range map[string]string{
		"müller": "de", "straße": "de", "dvořák": "cs", "łódź": "pl",
		"são": "pt", "françois": "fr", "peña": "es", "ørsted": "no", "şahin": "tr", "erdős": "hu",
		"garcía": "es", "smith": "",
	} {
		if got := spellingLanguage(w); got != want {
			t.Errorf("spellingLanguage(%q) = %q, want %q", w, got, want)
		}
	}
}

func TestForeignLTS(t *testing.T) {
	for _, c := range []struct{ w, lang, want string }{
		{"müller", "de", "M UW L ER"},
		{"zürich", "de", "T S UW R IH K"},
		{"schneider", "de", "SH N AY D ER"},
		{"dvořák", "cs", "D V OW R ZH AA K"},
		{"łódź", "pl", "W UW JH"},
		{"françois", "fr", "F R AA N S W AA"}, // as CMUdict has it
		{"peña", "es", "P EY N Y AA"},
		{"são", "pt", "S AW N"},
		{"şahin", "tr", "SH AA HH IH N"},
	} {
		if got := foreignLTS(c.w, c.lang); got != c.want {
			t.Errorf("foreignLTS(%q, %s) = %q, want %q", c.w, c.lang, got, c.want)
		}
	}
	if got := foreignLTS("müller", "xx"); got != "" {
		t.Errorf("a language without rules read %q", got)
	}
}

// Every word in another Latin spelling gets the folded form's pronunciation
// (the dictionary's where it has it) and, where its letters name a language,
// that language's reading as the alternative; another script gets none.
func TestPronunciations(t *testing.T) {
	dict := map[string]string{"zurich": "Z UH R IH K", "muller": "M AH L ER"}
	lookup := func(w string) (string, bool) { p, ok := dict[w]; return p, ok }
	got := pronunciations([]string{"zürich", "müller", "dvořák", "zyphrex", "москва", "ørsted"}, lookup)
	want := map[string][]string{
		"zürich":  {"Z UH R IH K", "T S UW R IH K"},
		"müller":  {"M AH L ER", "M UW L ER"},
		"zyphrex": {"Z AY F R EH K S"},
	}
	for w, p := range want {
		if strings.Join(got[w], "|") != strings.Join(p, "|") {
			t.Errorf("%s: %q, want %q", w, got[w], p)
		}
	}
	if len(got["dvořák"]) != 2 || got["dvořák"][1] != "D V OW R ZH AA K" {
		t.Errorf("dvořák: %q: want letter-to-sound of dvorak, then the Czech reading", got["dvořák"])
	}
	if len(got["ørsted"]) != 2 {
		t.Errorf("ørsted: %q", got["ørsted"])
	}
	if _, ok := got["москва"]; ok {
		t.Errorf("a Cyrillic word got %q", got["москва"])
	}
	for w, ps := range got {
		for _, p := range ps {
			for _, ph := range strings.Fields(p) {
				if !sphinxPhone[ph] {
					t.Errorf("%s: phone %q not in the model", w, ph)
				}
			}
		}
	}
}

// FuzzForeignLTS: any word, in any language's rules, reads as phones of the
// model, without a panic.
func FuzzForeignLTS(f *testing.F) {
	for _, s := range []string{"müller", "łódź", "ñ", "eaux", "ille", "dž", "", "x2", "ǆ", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, w string) {
		if !utf8.ValidString(w) || len(w) > 64 {
			return
		}
		w = strings.ToLower(w)
		for lang := range foreignRules {
			for _, ph := range strings.Fields(foreignLTS(w, lang)) {
				if !sphinxPhone[ph] {
					t.Fatalf("foreignLTS(%q, %s): phone %q", w, lang, ph)
				}
			}
		}
		spellingLanguage(w)
		foldLatin(w)
	})
}

// Names in their own spelling, said as an English speaker reads them
// without their marks (Zurich, Muller, Dvorak) and one nearer its language
// (Wootch for Łódź, which only the Polish reading finds): with the names in
// the glossary the captions write them as the glossary does, marks and all;
// the generic model cannot.
func TestGlossaryForeignNames(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	said := []string{
		"Our guest from Zurich is Doctor Anna Muller.",
		"Professor Jan Dvorak will speak about the city of Wootch.",
		"Thank you, Anna Muller, and welcome to Zurich.",
	}
	g := glossary.Glossary{Speakers: []string{"Anna Müller", "Jan Dvořák"}, Terms: []string{"Zürich", "Łódź"}}
	want := []string{"Zürich", "Müller", "Dvořák", "Łódź", "Müller", "Zürich"}
	samples, _ := speech(t, said)
	decode := func(live *glossary.Live) string {
		r, err := New(Config{Queue: 1 << 14, ResultBuffer: 1 << 12, Glossary: live})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		st, err := r.NewStream(ctx, language.AmericanEnglish)
		if err != nil {
			t.Fatal(err)
		}
		s := st.(*Stream)
		_, all := finals(s)
		feed(t, s, samples, 0, len(samples), 0)
		feed(t, s, make([]float32, audio.SampleRate), 0, audio.SampleRate, int64(len(samples)))
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, r := range <-all {
			text = append(text, r.Text)
		}
		return strings.Join(text, " ")
	}
	count := func(hyp string) int {
		n, rest := 0, hyp
		for _, w := range want {
			if i := strings.Index(rest, w); i >= 0 {
				n++
				rest = rest[i+len(w):]
			}
		}
		return n
	}
	gen := decode(nil)
	adapted := decode(glossary.NewLive(g))
	foreignAlternatives = false
	folded := decode(glossary.NewLive(g))
	foreignAlternatives = true
	ref := strings.Join(said, " ")
	t.Logf("generic:  %d/%d names, %q", count(gen), len(want), gen)
	t.Logf("glossary, folded pronunciations only: %d/%d names, %q", count(folded), len(want), folded)
	t.Logf("glossary with the languages' readings: %d/%d names, %q (WER against what was said, names folded: %.1f %%)",
		count(adapted), len(want), adapted, 100*captionstest.WER(ref, foldText(adapted)))
	if n := count(gen); n != 0 {
		t.Errorf("the generic model wrote %d names in their own spelling", n)
	}
	if n := count(adapted); n < len(want)-1 {
		t.Errorf("with the glossary %d of %d names written as the glossary does", n, len(want))
	}
	if count(adapted) < count(folded) {
		t.Errorf("the languages' readings lost names: %d against %d", count(adapted), count(folded))
	}
	if !strings.Contains(adapted, "Łódź") {
		t.Error("Łódź said as Poles say it was not found with the Polish reading")
	}
}

// foldText folds each word of s (foldLatin), leaving words of other scripts.
func foldText(s string) string {
	f := strings.Fields(s)
	for i, w := range f {
		if x, ok := foldLatin(w); ok {
			f[i] = x
		}
	}
	return strings.Join(f, " ")
}
