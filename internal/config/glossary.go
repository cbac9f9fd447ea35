package config

import (
	"errors"
	"fmt"
	"io"
	"os"

	"tolk/captions/glossary"
)

// Glossary is the event's vocabulary under captions.glossary: the
// recognizers adapt to it (see captions/glossary and docs/captions.md).
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

// Load returns the glossary with its text read from TextFile if one is
// given, and every problem it has.
func (g Glossary) Load() (glossary.Glossary, error) {
	out := glossary.Glossary{Terms: g.Terms, Speakers: g.Speakers, Text: g.Text}
	var fileErr error
	if g.TextFile != "" {
		if g.Text != "" {
			fileErr = errors.New("text and text_file are both given: choose one")
		} else {
			out.Text, fileErr = readText(g.TextFile)
		}
	}
	return out, errors.Join(fileErr, out.Validate())
}

// readText reads a glossary's text file, bounded.
func readText(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("text_file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, glossary.MaxTextBytes+1))
	if err != nil {
		return "", fmt.Errorf("text_file: %w", err)
	}
	if len(b) > glossary.MaxTextBytes {
		return "", fmt.Errorf("text_file: %s is larger than %d bytes", path, glossary.MaxTextBytes)
	}
	return string(b), nil
}

// checkGlossary adds the glossary's problems, one line each.
func (ev *Event) checkGlossary(add func(string, ...any)) {
	if _, err := ev.Captions.Glossary.Load(); err != nil {
		for _, line := range splitJoined(err) {
			add("captions.glossary: %s", line)
		}
	}
}

// splitJoined lists the errors of an errors.Join.
func splitJoined(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
