package event

import (
	"tolk/captions/glossary"
	"tolk/internal/config"
)

// LoadGlossary is the event's vocabulary as configured: its words, with the
// background text read, checked by the glossary's rules.
func LoadGlossary(c config.Glossary) (glossary.Glossary, error) {
	text, err := c.ReadText()
	if err != nil {
		return glossary.Glossary{}, err
	}
	g := glossary.Glossary{Terms: c.Terms, Speakers: c.Speakers, Text: text}
	return g, g.Validate()
}

// CheckGlossary is the config.Check that lists what the glossary's rules
// find wrong with its words, one problem each, beside the configuration's
// own problems (a text file that cannot be read is one of those).
func CheckGlossary(ev *config.Event) []string {
	c := ev.Captions.Glossary
	// A text that cannot be read is the configuration's problem; the words
	// are checked all the same.
	text, _ := c.ReadText()
	g := glossary.Glossary{Terms: c.Terms, Speakers: c.Speakers, Text: text}
	var out []string
	for _, line := range splitJoined(g.Validate()) {
		out = append(out, "captions.glossary: "+line)
	}
	return out
}

// splitJoined lists the errors of an errors.Join, none for nil.
func splitJoined(err error) []string {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	return []string{err.Error()}
}
