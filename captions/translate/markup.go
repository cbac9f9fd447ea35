package translate

import (
	"html"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// noTranslateOpen and noTranslateClose mark text the service must keep as it
// is (Cloud Translation honours translate="no" in HTML).
const (
	noTranslateOpen  = `<span translate="no">`
	noTranslateClose = `</span>`
)

// escape makes plain text HTML text.
func escape(s string) string { return html.EscapeString(s) }

// Protect returns s as HTML with every whole-word occurrence of a term
// (case-insensitive, the longest first) wrapped in a span marked
// translate="no"; ok is false, and s is returned as it is, when no term
// occurs.
func Protect(s string, terms []string) (out string, ok bool) {
	if len(terms) == 0 || s == "" {
		return s, false
	}
	ts := make([]string, 0, len(terms))
	for _, t := range terms {
		if t = strings.TrimSpace(t); t != "" && utf8.ValidString(t) {
			ts = append(ts, t)
		}
	}
	sort.SliceStable(ts, func(i, j int) bool { return len(ts[i]) > len(ts[j]) })
	var b strings.Builder
	last := 0 // s[:last] is written
	for i := 0; i < len(s); {
		if n := termAt(s, i, ts); n > 0 {
			b.WriteString(escape(s[last:i]))
			b.WriteString(noTranslateOpen)
			b.WriteString(escape(s[i : i+n]))
			b.WriteString(noTranslateClose)
			i += n
			last, ok = i, true
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	if !ok {
		return s, false
	}
	b.WriteString(escape(s[last:]))
	return b.String(), true
}

// termAt returns the length of the first term that stands as whole words
// at s[i:], 0 when none does.
func termAt(s string, i int, terms []string) int {
	if i > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:i]); wordRune(r) {
			return 0
		}
	}
	for _, t := range terms {
		end := i + len(t)
		if end > len(s) || !strings.EqualFold(s[i:end], t) {
			continue
		}
		if end < len(s) {
			if r, _ := utf8.DecodeRuneInString(s[end:]); wordRune(r) {
				continue
			}
		}
		return len(t)
	}
	return 0
}

func wordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' }

// Unprotect turns a translation of Protect's HTML back into plain text: it
// drops the tags (a '<' without its '>' is kept as text) and decodes the
// entities.
func Unprotect(s string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			break
		}
		j := strings.IndexByte(s[i:], '>')
		if j < 0 {
			break
		}
		b.WriteString(s[:i])
		s = s[i+j+1:]
	}
	b.WriteString(s)
	return html.UnescapeString(b.String())
}
