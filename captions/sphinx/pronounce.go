package sphinx

import (
	"context"
	"os/exec"
	"strings"
	"time"
)

// t2pPath is flite's text-to-phones tool (Debian package flite): its lexicon
// is CMUdict and its letter-to-sound rules are CMU's, trained on CMUdict, so
// the phones it gives for an unknown name are close to the dictionary's own.
var t2pPath = "/usr/bin/t2p"

// flitePhone maps flite's phone names (lower case, vowels with a stress
// digit) to the CMU/Sphinx phone set of the en-US acoustic model.
var flitePhone = map[string]string{
	"aa": "AA", "ae": "AE", "ah": "AH", "ao": "AO", "aw": "AW", "ax": "AH", "axr": "ER",
	"ay": "AY", "b": "B", "ch": "CH", "d": "D", "dh": "DH", "eh": "EH", "er": "ER",
	"ey": "EY", "f": "F", "g": "G", "hh": "HH", "ih": "IH", "iy": "IY", "jh": "JH",
	"k": "K", "l": "L", "m": "M", "n": "N", "ng": "NG", "ow": "OW", "oy": "OY",
	"p": "P", "r": "R", "s": "S", "sh": "SH", "t": "T", "th": "TH", "uh": "UH",
	"uw": "UW", "v": "V", "w": "W", "y": "Y", "z": "Z", "zh": "ZH",
}

// fliteToSphinx turns one word's flite phones into Sphinx phones; unknown
// phones make it fail.
func fliteToSphinx(phones []string) (string, bool) {
	out := make([]string, 0, len(phones))
	for _, p := range phones {
		p = strings.TrimRight(p, "012")
		s, ok := flitePhone[p]
		if !ok {
			return "", false
		}
		out = append(out, s)
	}
	return strings.Join(out, " "), len(out) > 0
}

// letterToSound gives pronunciations for words the dictionary lacks: flite's
// t2p for all of them in one run (words separated by full stops, which t2p
// answers with a pause between them), and the rules of ruleLTS for any it
// cannot do.
func letterToSound(words []string) map[string]string {
	out := make(map[string]string, len(words))
	var asked []string
	for _, w := range words {
		if lettersOnly(w) {
			asked = append(asked, w)
		}
	}
	if len(asked) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		b, err := exec.CommandContext(ctx, t2pPath, strings.Join(asked, ". ")+".").Output()
		cancel()
		if err == nil {
			groups := splitPau(string(b))
			if len(groups) == len(asked) {
				for i, w := range asked {
					if p, ok := fliteToSphinx(groups[i]); ok {
						out[w] = p
					}
				}
			}
		}
	}
	for _, w := range words {
		if _, ok := out[w]; !ok {
			if p := ruleLTS(w); p != "" {
				out[w] = p
			}
		}
	}
	return out
}

// splitPau splits t2p's output at its pauses into one phone list a word.
func splitPau(s string) [][]string {
	var out [][]string
	var cur []string
	for _, p := range strings.Fields(s) {
		if p == "pau" {
			if len(cur) > 0 {
				out = append(out, cur)
				cur = nil
			}
			continue
		}
		cur = append(cur, p)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func lettersOnly(w string) bool {
	for _, r := range w {
		if (r < 'a' || r > 'z') && r != '\'' {
			return false
		}
	}
	return w != ""
}

// ruleLTS is the last resort when t2p is missing or fails: English spelling
// rules, digraphs first, then one phone a letter. Crude, but it lets a word
// be recognized at all, which a word without a pronunciation cannot.
func ruleLTS(w string) string {
	digraphs := []struct{ s, p string }{
		{"tch", "CH"}, {"sch", "S K"}, {"ch", "CH"}, {"sh", "SH"}, {"th", "TH"}, {"ph", "F"},
		{"ck", "K"}, {"ng", "NG"}, {"qu", "K W"}, {"wh", "W"}, {"kn", "N"}, {"gh", "G"},
		{"ee", "IY"}, {"ea", "IY"}, {"oo", "UW"}, {"ou", "AW"}, {"ow", "OW"}, {"ai", "EY"},
		{"ay", "EY"}, {"oi", "OY"}, {"oy", "OY"}, {"au", "AO"}, {"ie", "IY"}, {"ei", "EY"},
	}
	single := map[byte]string{
		'a': "AE", 'b': "B", 'c': "K", 'd': "D", 'e': "EH", 'f': "F", 'g': "G", 'h': "HH",
		'i': "IH", 'j': "JH", 'k': "K", 'l': "L", 'm': "M", 'n': "N", 'o': "OW", 'p': "P",
		'q': "K", 'r': "R", 's': "S", 't': "T", 'u': "UW", 'v': "V", 'w': "W", 'x': "K S",
		'y': "Y", 'z': "Z",
	}
	var out []string
	prev := ""
	for i := 0; i < len(w); {
		matched := false
		for _, d := range digraphs {
			if strings.HasPrefix(w[i:], d.s) {
				out = append(out, d.p)
				prev = d.p
				i += len(d.s)
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		c := w[i]
		i++
		if c == 'y' && i > 1 { // a vowel after the first letter: "zyphrex"
			out = append(out, "IY")
			continue
		}
		if c == 'e' && i == len(w) && len(out) > 1 { // silent final e
			continue
		}
		p, ok := single[c]
		if !ok || p == prev { // digits, doubled letters
			continue
		}
		out = append(out, p)
		prev = p
	}
	return strings.Join(out, " ")
}
