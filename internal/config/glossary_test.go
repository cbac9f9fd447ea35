package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGlossaryConfig(t *testing.T) {
	dir := t.TempDir()
	agenda := filepath.Join(dir, "agenda.txt")
	if err := os.WriteFile(agenda, []byte("Keynote: Ada Oyelaran.\nDemo of Zyphrex."), 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.txt")
	if err := os.WriteFile(big, []byte(strings.Repeat("word ", maxGlossaryFile/5+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := good + "captions:\n  glossary:\n    terms: [Zyphrex, clean energy]\n    speakers: [Ada Oyelaran]\n    text_file: " + agenda + "\n"
	ev, err := Parse([]byte(ok), nil)
	if err != nil {
		t.Fatal(err)
	}
	g := ev.Captions.Glossary
	text, err := g.ReadText()
	if err != nil || !strings.Contains(text, "Zyphrex") || len(g.Terms) != 2 || g.Speakers[0] != "Ada Oyelaran" {
		t.Fatalf("glossary %+v, %q, %v", g, text, err)
	}

	// The words themselves are checked by the glossary's rules, which the
	// command passes as a Check (cmd/tolk/event TestGlossaryCheck).
	for name, c := range map[string]struct{ yaml, want string }{
		"missing file": {"    text_file: " + filepath.Join(dir, "none.txt"), "no such file"},
		"big file":     {"    text_file: " + big, "larger than"},
		"both":         {"    text: hello\n    text_file: " + agenda, "choose one"},
		"unknown key":  {"    words: [a]", "words"},
	} {
		_, err := Parse([]byte(good+"captions:\n  glossary:\n"+c.yaml+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
		if err != nil && c.want != "words" && !strings.Contains(err.Error(), "captions.glossary") {
			t.Errorf("%s: %v does not name captions.glossary", name, err)
		}
	}
}
