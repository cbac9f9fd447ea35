package captionstest

import (
	"strconv"
	"strings"
	"unicode"
)

// WER returns the word error rate of hypothesis against reference:
// (substitutions + deletions + insertions) / reference words, by word-level
// Levenshtein distance after Normalize on both. An empty reference gives 0
// for an empty hypothesis and 1 otherwise, so the result is always finite.
func WER(reference, hypothesis string) float64 {
	ref := strings.Fields(Normalize(reference))
	hyp := strings.Fields(Normalize(hypothesis))
	if len(ref) == 0 {
		if len(hyp) == 0 {
			return 0
		}
		return 1
	}
	return float64(wordDistance(ref, hyp)) / float64(len(ref))
}

// wordDistance is the Levenshtein distance between two word sequences, with
// one row kept at a time.
func wordDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Normalize prepares text for word comparison: lower case, punctuation
// removed (an apostrophe inside a word stays, as in "o'clock"; hyphens split
// words), and whole numbers written out in English words ("42" → "forty
// two"), the way a recognizer writes what it hears.
func Normalize(s string) string {
	var words []string
	for _, f := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '\'' || r == '’')
	}) {
		f = strings.Trim(strings.ReplaceAll(f, "’", "'"), "'")
		if f == "" {
			continue
		}
		words = append(words, splitNumbers(f)...)
	}
	return strings.Join(words, " ")
}

// splitNumbers writes the digit runs of one token out as words.
func splitNumbers(tok string) []string {
	if !strings.ContainsFunc(tok, unicode.IsDigit) {
		return []string{tok}
	}
	var out []string
	var run strings.Builder
	digits := false
	flush := func() {
		if run.Len() == 0 {
			return
		}
		if digits {
			out = append(out, numberWords(run.String())...)
		} else {
			out = append(out, run.String())
		}
		run.Reset()
	}
	for _, r := range tok {
		d := r >= '0' && r <= '9'
		if d != digits {
			flush()
			digits = d
		}
		run.WriteRune(r)
	}
	flush()
	return out
}

var (
	ones = []string{"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
		"eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"}
	tens   = []string{"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
	scales = []string{"", "thousand", "million", "billion"}
)

// numberWords spells a run of ASCII digits in English; runs too long for a
// cardinal (or with leading zeros) are read digit by digit.
func numberWords(d string) []string {
	n, err := strconv.ParseUint(d, 10, 64)
	if err != nil || len(d) > 12 || (len(d) > 1 && d[0] == '0') {
		out := make([]string, 0, len(d))
		for _, c := range d {
			out = append(out, ones[c-'0'])
		}
		return out
	}
	if n == 0 {
		return []string{"zero"}
	}
	var groups [][]string
	for i := 0; n > 0; i++ {
		g := n % 1000
		n /= 1000
		if g == 0 {
			continue
		}
		w := below1000(int(g))
		if scales[i] != "" {
			w = append(w, scales[i])
		}
		groups = append([][]string{w}, groups...)
	}
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func below1000(n int) []string {
	var out []string
	if n >= 100 {
		out = append(out, ones[n/100], "hundred")
		n %= 100
	}
	switch {
	case n == 0:
	case n < 20:
		out = append(out, ones[n])
	default:
		out = append(out, tens[n/10])
		if n%10 != 0 {
			out = append(out, ones[n%10])
		}
	}
	return out
}
