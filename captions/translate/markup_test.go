package translate_test

import (
	"html"
	"testing"

	"tolk/captions/translate"
)

func TestProtect(t *testing.T) {
	terms := []string{"Tolk", "Tolk Live", "AI"}
	for _, c := range []struct{ in, want string }{
		{"nothing here", ""},
		{"tolk live is here", `<span translate="no">tolk live</span> is here`},
		{"Tolkien and TOLK", `Tolkien and <span translate="no">TOLK</span>`},
		{"a <b> & AI!", `a &lt;b&gt; &amp; <span translate="no">AI</span>!`},
		{"AI's", ""}, // not the whole word
		{"AI, then ai.", `<span translate="no">AI</span>, then <span translate="no">ai</span>.`},
	} {
		got, ok := translate.Protect(c.in, terms)
		if (c.want == "") != !ok || ok && got != c.want {
			t.Errorf("Protect(%q) = %q, %v; want %q", c.in, got, ok, c.want)
		}
	}
}

func TestUnprotect(t *testing.T) {
	for in, want := range map[string]string{
		`<span translate="no">Tolk</span> est l&#39;outil &amp; &lt;b&gt;`: "Tolk est l'outil & <b>",
		"a < b":     "a < b",
		"<unclosed": "<unclosed",
		"":          "",
	} {
		if got := translate.Unprotect(in); got != want {
			t.Errorf("Unprotect(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzProtect checks that what Protect marks up comes back as it was: a
// service that translates nothing must give the text back unchanged.
func FuzzProtect(f *testing.F) {
	f.Add("Hello Tolk & <friends>", "tolk")
	f.Add("ÄI äi", "äi")
	f.Add("", "")
	f.Add("a\xffb", "\xff")
	f.Fuzz(func(t *testing.T, s, term string) {
		p, ok := translate.Protect(s, []string{term, "x"})
		if !ok {
			p = html.EscapeString(s)
		}
		if got := translate.Unprotect(p); got != s {
			t.Fatalf("round trip of %q (terms %q): %q via %q", s, term, got, p)
		}
		_ = translate.Unprotect(s) // any text: no panic
	})
}
