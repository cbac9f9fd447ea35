package glossary

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
)

// Sentence boundary words of an ARPA model, as Sphinx names them.
const (
	SentenceStart = "<s>"
	SentenceEnd   = "</s>"
)

// WriteARPA writes a bigram language model of the sentences in ARPA text
// form, smoothed with Witten-Bell discounting.
//
// Unigrams: P(w) = (c(w)+1) / (N+V), which is Witten-Bell against a uniform
// distribution when every word of the vocabulary was seen (N tokens counting
// </s>, V words counting </s>; <s> is never predicted and gets -99).
// Bigrams: P(w|h) = c(h,w) / (c(h)+T(h)) for the T(h) word types seen after
// h; the mass T(h)/(c(h)+T(h)) left over goes to the unigrams of the words
// not seen after h, through the backoff weight
// α(h) = T(h)/(c(h)+T(h)) / (1 − Σ_{w seen after h} P(w)).
// Witten-Bell suits a few kilobytes of agenda text: it needs no count-of-
// counts statistics, which tiny corpora do not have.
func WriteARPA(w io.Writer, sentences [][]string) error {
	uni := map[string]int{}
	big := map[string]map[string]int{}
	n := 0
	for _, s := range sentences {
		if len(s) == 0 {
			continue
		}
		prev := SentenceStart
		for _, word := range append(append([]string(nil), s...), SentenceEnd) {
			uni[word]++
			n++
			if big[prev] == nil {
				big[prev] = map[string]int{}
			}
			big[prev][word]++
			prev = word
		}
	}
	if n == 0 {
		return fmt.Errorf("glossary: no words to build a language model from")
	}
	words := make([]string, 0, len(uni)+1)
	for k := range uni {
		words = append(words, k)
	}
	words = append(words, SentenceStart)
	sort.Strings(words)
	v := len(uni)
	pUni := func(word string) float64 { return float64(uni[word]+1) / float64(n+v) }

	type bg struct {
		h, w string
		p    float64
	}
	var bigrams []bg
	backoff := map[string]float64{}
	hists := make([]string, 0, len(big))
	for h := range big {
		hists = append(hists, h)
	}
	sort.Strings(hists)
	for _, h := range hists {
		next := big[h]
		c, t := 0, len(next)
		seenMass := 0.0
		for _, k := range sortedKeys(next) {
			c += next[k]
			seenMass += pUni(k)
		}
		for _, k := range sortedKeys(next) {
			bigrams = append(bigrams, bg{h, k, float64(next[k]) / float64(c+t)})
		}
		left := float64(t) / float64(c+t)
		if rest := 1 - seenMass; rest > 1e-12 {
			backoff[h] = left / rest
		} else {
			backoff[h] = 1 // every word follows h: nothing to back off to
		}
	}

	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "\\data\\\nngram 1=%d\nngram 2=%d\n\n\\1-grams:\n", len(words), len(bigrams))
	for _, word := range words {
		lp := -99.0
		if word != SentenceStart {
			lp = math.Log10(pUni(word))
		}
		if a, ok := backoff[word]; ok {
			fmt.Fprintf(bw, "%.6f\t%s\t%.6f\n", lp, word, math.Log10(a))
		} else {
			fmt.Fprintf(bw, "%.6f\t%s\n", lp, word)
		}
	}
	fmt.Fprintf(bw, "\n\\2-grams:\n")
	for _, b := range bigrams {
		fmt.Fprintf(bw, "%.6f\t%s %s\n", math.Log10(b.p), b.h, b.w)
	}
	fmt.Fprintf(bw, "\n\\end\\\n")
	return bw.Flush()
}

func sortedKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
