package config

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// Glossary is the event's vocabulary under captions.glossary: the
// recognizers adapt to it (see captions/glossary and docs/captions.md). The
// configuration reads it; its words are checked by the glossary's own rules
// (a Check the command passes to Load).
type Glossary struct {
	// Terms are words and phrases: product names, jargon, places.
	Terms []string `yaml:"terms"`
	// Speakers are the names of the people who speak.
	Speakers []string `yaml:"speakers"`
	// Text is background text such as the agenda or the slides, inline.
	Text string `yaml:"text"`
	// TextFile is the same read from a file (UTF-8 text), instead of Text.
	TextFile string `yaml:"text_file"`
}

// maxGlossaryFile bounds what is read of a glossary's text file; the
// glossary's own, smaller limit is checked on what was read.
const maxGlossaryFile = 1 << 20

// ReadText returns the glossary's background text: Text, or TextFile's
// content.
func (g Glossary) ReadText() (string, error) {
	if g.TextFile == "" {
		return g.Text, nil
	}
	if g.Text != "" {
		return "", errors.New("text and text_file are both given: choose one")
	}
	f, err := os.Open(g.TextFile)
	if err != nil {
		return "", fmt.Errorf("text_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGlossaryFile+1))
	if err != nil {
		return "", fmt.Errorf("text_file: %w", err)
	}
	if len(b) > maxGlossaryFile {
		return "", fmt.Errorf("text_file: %s is larger than %d bytes", g.TextFile, maxGlossaryFile)
	}
	return string(b), nil
}

// checkGlossary adds the problems of reading the glossary's text.
func (ev *Event) checkGlossary(add func(string, ...any)) {
	if _, err := ev.Captions.Glossary.ReadText(); err != nil {
		add("captions.glossary: %s", err)
	}
}
