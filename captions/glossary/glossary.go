// Package glossary is an event's vocabulary: the words and phrases, speaker
// names and background text (agenda, slides) that the speech recognizers are
// adapted to. It validates what a producer gives, turns it into the words a
// recognizer's dictionary needs, the phrase hints of a cloud service and a
// small bigram language model in ARPA form, and holds the live copy that a
// producer can change during the event.
package glossary

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Bounds of a glossary: they keep a producer's paste from making a decoder
// spend seconds between two utterances.
const (
	// MaxEntries is the most terms and speakers together.
	MaxEntries = 1000
	// MaxEntryBytes is the longest term or speaker name.
	MaxEntryBytes = 100
	// MaxTextBytes is the most background text.
	MaxTextBytes = 64 << 10
)

// Glossary is an event's vocabulary. The zero value is empty.
type Glossary struct {
	// Terms are words and phrases of the event: product names, jargon.
	Terms []string `json:"terms"`
	// Speakers are the names of the people who speak.
	Speakers []string `json:"speakers"`
	// Text is background text in the event's language, such as the agenda
	// or the slides: it teaches the recognizer which words follow which.
	Text string `json:"text"`
}

// Empty reports whether g has nothing to adapt to.
func (g Glossary) Empty() bool {
	return len(g.Terms) == 0 && len(g.Speakers) == 0 && strings.TrimSpace(g.Text) == ""
}

// Validate checks the bounds and that every entry is printable text with at
// least one word in it.
func (g Glossary) Validate() error {
	var errs []error
	if n := len(g.Terms) + len(g.Speakers); n > MaxEntries {
		errs = append(errs, fmt.Errorf("%d terms and speakers, at most %d", n, MaxEntries))
	}
	check := func(field string, list []string) {
		for i, e := range list {
			if len(errs) >= 10 {
				return
			}
			switch {
			case !utf8.ValidString(e) || strings.IndexFunc(e, unicode.IsControl) >= 0:
				errs = append(errs, fmt.Errorf("%s[%d]: must be printable text", field, i))
			case len(e) > MaxEntryBytes:
				errs = append(errs, fmt.Errorf("%s[%d]: %d bytes, at most %d", field, i, len(e), MaxEntryBytes))
			case len(Words(e)) == 0:
				errs = append(errs, fmt.Errorf("%s[%d]: %q has no word in it", field, i, e))
			}
		}
	}
	check("terms", g.Terms)
	check("speakers", g.Speakers)
	if len(g.Text) > MaxTextBytes {
		errs = append(errs, fmt.Errorf("text: %d bytes, at most %d", len(g.Text), MaxTextBytes))
	} else if !utf8.ValidString(g.Text) {
		errs = append(errs, errors.New("text: not UTF-8"))
	}
	return errors.Join(errs...)
}

// Words splits s into lower-case words: runs of letters and digits, with
// apostrophes and hyphens kept inside a word ("o'brien", "e-mail").
func Words(s string) []string {
	out := Spelled(s)
	for i, w := range out {
		out[i] = strings.ToLower(w)
	}
	return out
}

// Spellings maps the lower-case form of the speakers' words, and of those
// term words that want, to the way the glossary writes them ("oyelaran" →
// "Oyelaran"), where that has a capital: captions then write names as the
// producer does. The first spelling of a word wins.
func (g Glossary) Spellings(term func(lower string) bool) map[string]string {
	m := map[string]string{}
	add := func(list []string, keep func(string) bool) {
		for _, e := range list {
			for _, w := range Spelled(e) {
				lw := strings.ToLower(w)
				if _, ok := m[lw]; !ok && w != lw && keep(lw) {
					m[lw] = w
				}
			}
		}
	}
	add(g.Speakers, func(string) bool { return true })
	add(g.Terms, term)
	return m
}

// Spelled splits s into words as Words does, keeping their case.
func Spelled(s string) []string {
	var out []string
	var b strings.Builder
	flush := func() {
		w := strings.Trim(b.String(), "'-")
		if w != "" {
			out = append(out, w)
		}
		b.Reset()
	}
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r):
			b.WriteRune(r)
		case (r == '\'' || r == '’' || r == '-') && b.Len() > 0:
			if r == '’' {
				r = '\''
			}
			b.WriteRune(r)
		default:
			flush()
		}
	}
	flush()
	return out
}

// Sentences returns the word sequences a language model learns from: every
// sentence of the text (split at . ! ? ; and line ends), then every term and
// speaker name on its own.
func (g Glossary) Sentences() [][]string {
	var out [][]string
	for _, s := range strings.FieldsFunc(g.Text, func(r rune) bool {
		return r == '.' || r == '!' || r == '?' || r == ';' || r == '\n' || r == '\r'
	}) {
		if w := Words(s); len(w) > 0 {
			out = append(out, w)
		}
	}
	for _, list := range [][]string{g.Terms, g.Speakers} {
		for _, e := range list {
			if w := Words(e); len(w) > 0 {
				out = append(out, w)
			}
		}
	}
	return out
}

// Vocabulary lists the distinct words of the glossary, sorted.
func (g Glossary) Vocabulary() []string {
	seen := map[string]bool{}
	for _, s := range g.Sentences() {
		for _, w := range s {
			seen[w] = true
		}
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Phrases are the hints for a cloud recognizer: the terms and speaker names
// as written, without duplicates.
func (g Glossary) Phrases() []string {
	seen := map[string]bool{}
	var out []string
	for _, list := range [][]string{g.Terms, g.Speakers} {
		for _, e := range list {
			e = strings.Join(strings.Fields(e), " ")
			if e != "" && !seen[strings.ToLower(e)] {
				seen[strings.ToLower(e)] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// Live is the glossary of a running event: the recognizers read it at their
// utterance boundaries and the producer console replaces it. It is safe for
// concurrent use; the zero value holds an empty glossary at version 0.
type Live struct {
	mu      sync.Mutex
	g       Glossary
	version uint64
}

// NewLive returns a live glossary holding g (which must be valid).
func NewLive(g Glossary) *Live { return &Live{g: clone(g)} }

// Set validates g and makes it current; recognizers pick it up at their next
// utterance.
func (l *Live) Set(g Glossary) error {
	if err := g.Validate(); err != nil {
		return fmt.Errorf("glossary: %w", err)
	}
	l.mu.Lock()
	l.g = clone(g)
	l.version++
	l.mu.Unlock()
	return nil
}

// Get returns the current glossary and its version, which changes with
// every Set. A nil Live holds an empty glossary.
func (l *Live) Get() (Glossary, uint64) {
	if l == nil {
		return Glossary{}, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return clone(l.g), l.version
}

// Version is the version Get would return, without copying the glossary.
func (l *Live) Version() uint64 {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.version
}

func clone(g Glossary) Glossary {
	g.Terms = append([]string(nil), g.Terms...)
	g.Speakers = append([]string(nil), g.Speakers...)
	return g
}
