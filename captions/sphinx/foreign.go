package sphinx

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Names of an international event come in their own spelling: Müller,
// Zürich, Dvořák, Łódź, São Paulo. An English speaker says them either as
// English reads the letters without their marks (Muller, Zurich: CMUdict
// often has that form) or closer to the language they come from ("Mueller",
// "Dvorzhak"). A word spelled with letters outside a-z gets both: the
// folded form's pronunciation first, and one by the spelling rules of the
// language its letters point to as an alternative, so the decoder takes
// whichever the speaker said. The caption keeps the glossary's spelling.

// foldLatin writes a word of a Latin alphabet in a-z: marks dropped (é e,
// ů u) and letters that are not a letter with a mark spelled out (ß ss, æ
// ae, ø o, ł l); digits stay. ok is false when a letter stays outside a-z
// (Cyrillic, Greek, CJK): no English reading can be made of it.
func foldLatin(w string) (string, bool) {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(w)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '\'':
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
		default:
			s, ok := latinFold[r]
			if !ok {
				return "", false
			}
			b.WriteString(s)
		}
	}
	return b.String(), b.Len() > 0
}

// latinFold spells out the Latin letters that do not decompose into a base
// letter and marks.
var latinFold = map[rune]string{
	'ß': "ss", 'æ': "ae", 'ø': "o", 'œ': "oe", 'ł': "l", 'đ': "d", 'ð': "d",
	'þ': "th", 'ı': "i", 'ħ': "h", 'ŋ': "ng", 'ĸ': "k", 'ſ': "s",
}

// ltsRule is one spelling-to-sound rule: the letters s (lower case, in the
// word's own spelling) said as phones p ("" for a silent letter), where
// the context allows.
type ltsRule struct {
	s, p string
	at   ruleContext
}

type ruleContext int

const (
	anywhere     ruleContext = iota
	wordStart                // s begins the word
	wordEnd                  // s ends the word
	beforeFront              // a front vowel (e, i, y, with or without marks) follows
	beforeConsOr             // a consonant follows, or the word ends (French nasals)
)

// spellingLanguage guesses, from the letters that only some languages use,
// whose spelling rules read the word; "" when its letters say nothing.
func spellingLanguage(w string) string {
	has := func(set string) bool { return strings.ContainsAny(w, set) }
	switch {
	case has("ąęłśćńźż"):
		return "pl"
	case has("řěůťďň"), has("čšž") && !has("ąęł"):
		return "cs"
	case has("őű"):
		return "hu"
	case has("şğı"):
		return "tr"
	case has("åæø"):
		return "no"
	case has("ãõ"):
		return "pt"
	case has("ñ"):
		return "es"
	case has("äöüß"):
		return "de"
	case has("çéèêëàâîïôûùœ"):
		return "fr"
	case has("áíóú"):
		return "es"
	}
	return ""
}

// foreignRules are each language's rules, longest and most specific first;
// a letter no rule reads falls to latinPhone.
var foreignRules = map[string][]ltsRule{
	"de": {
		{"tsch", "CH", anywhere}, {"sch", "SH", anywhere}, {"sp", "SH P", wordStart}, {"st", "SH T", wordStart},
		{"chs", "K S", anywhere}, {"ch", "K", anywhere}, {"ck", "K", anywhere}, {"tz", "T S", anywhere},
		{"ph", "F", anywhere}, {"qu", "K V", anywhere}, {"ei", "AY", anywhere}, {"ey", "AY", anywhere},
		{"ai", "AY", anywhere}, {"ie", "IY", anywhere}, {"äu", "OY", anywhere}, {"eu", "OY", anywhere},
		{"au", "AW", anywhere}, {"er", "ER", wordEnd}, {"ä", "EH", anywhere}, {"ö", "ER", anywhere},
		{"ü", "UW", anywhere}, {"ß", "S", anywhere}, {"ah", "AA", anywhere}, {"eh", "EY", anywhere},
		{"ih", "IY", anywhere}, {"oh", "OW", anywhere}, {"uh", "UW", anywhere}, {"w", "V", anywhere},
		{"v", "F", anywhere}, {"j", "Y", anywhere}, {"z", "T S", anywhere}, {"s", "Z", wordStart},
		{"d", "T", wordEnd}, {"b", "P", wordEnd}, {"g", "K", wordEnd}, {"e", "AH", wordEnd},
		{"a", "AA", anywhere}, {"e", "EH", anywhere}, {"i", "IH", anywhere}, {"o", "OW", anywhere},
		{"u", "UH", anywhere}, {"y", "IY", anywhere},
	},
	"fr": {
		{"eaux", "OW", wordEnd}, {"eau", "OW", anywhere}, {"aux", "OW", wordEnd}, {"ain", "AE N", beforeConsOr},
		{"ein", "AE N", beforeConsOr}, {"oin", "W AE N", beforeConsOr}, {"ille", "IY Y", anywhere},
		{"au", "OW", anywhere}, {"ou", "UW", anywhere}, {"où", "UW", anywhere}, {"oi", "W AA", anywhere},
		{"ai", "EH", anywhere}, {"ei", "EH", anywhere}, {"œu", "ER", anywhere}, {"eu", "ER", anywhere},
		{"an", "AA N", beforeConsOr}, {"am", "AA M", beforeConsOr}, {"en", "AA N", beforeConsOr},
		{"em", "AA M", beforeConsOr}, {"on", "AO N", beforeConsOr}, {"om", "AO M", beforeConsOr},
		{"in", "AE N", beforeConsOr}, {"im", "AE M", beforeConsOr}, {"un", "ER N", beforeConsOr},
		{"ch", "SH", anywhere}, {"qu", "K", anywhere}, {"gu", "G", beforeFront}, {"gn", "N Y", anywhere},
		{"ph", "F", anywhere}, {"th", "T", anywhere}, {"er", "EY", wordEnd}, {"ez", "EY", wordEnd},
		{"et", "EH", wordEnd}, {"es", "", wordEnd}, {"ç", "S", anywhere}, {"c", "S", beforeFront},
		{"g", "ZH", beforeFront}, {"j", "ZH", anywhere}, {"h", "", anywhere}, {"é", "EY", anywhere},
		{"è", "EH", anywhere}, {"ê", "EH", anywhere}, {"ë", "EH", anywhere}, {"à", "AA", anywhere},
		{"â", "AA", anywhere}, {"î", "IY", anywhere}, {"ï", "IY", anywhere}, {"ô", "OW", anywhere},
		{"û", "UW", anywhere}, {"ù", "UW", anywhere}, {"e", "", wordEnd}, {"s", "", wordEnd},
		{"t", "", wordEnd}, {"d", "", wordEnd}, {"x", "", wordEnd}, {"z", "", wordEnd}, {"p", "", wordEnd},
		{"a", "AA", anywhere}, {"e", "AH", anywhere}, {"i", "IY", anywhere}, {"o", "AO", anywhere},
		{"u", "UW", anywhere}, {"y", "IY", anywhere}, {"w", "V", anywhere},
	},
	"es": {
		{"ch", "CH", anywhere}, {"ll", "Y", anywhere}, {"rr", "R", anywhere}, {"qu", "K", anywhere},
		{"gu", "G", beforeFront}, {"ñ", "N Y", anywhere}, {"j", "HH", anywhere}, {"g", "HH", beforeFront},
		{"c", "S", beforeFront}, {"z", "S", anywhere}, {"h", "", anywhere}, {"v", "B", anywhere},
		{"ü", "W", anywhere}, {"y", "IY", wordEnd}, {"á", "AA", anywhere}, {"é", "EY", anywhere},
		{"í", "IY", anywhere}, {"ó", "OW", anywhere}, {"ú", "UW", anywhere}, {"a", "AA", anywhere},
		{"e", "EY", anywhere}, {"i", "IY", anywhere}, {"o", "OW", anywhere}, {"u", "UW", anywhere},
	},
	"pt": {
		{"ões", "OY N S", anywhere}, {"ão", "AW N", anywhere}, {"ãe", "AY N", anywhere}, {"lh", "L Y", anywhere},
		{"nh", "N Y", anywhere}, {"ch", "SH", anywhere}, {"qu", "K", anywhere}, {"gu", "G", beforeFront},
		{"ã", "AA N", anywhere}, {"õ", "OW N", anywhere}, {"ç", "S", anywhere}, {"c", "S", beforeFront},
		{"g", "ZH", beforeFront}, {"j", "ZH", anywhere}, {"x", "SH", anywhere}, {"h", "", anywhere},
		{"o", "UW", wordEnd}, {"e", "IY", wordEnd}, {"á", "AA", anywhere}, {"â", "AH", anywhere},
		{"é", "EH", anywhere}, {"ê", "EY", anywhere}, {"í", "IY", anywhere}, {"ó", "AO", anywhere},
		{"ô", "OW", anywhere}, {"ú", "UW", anywhere}, {"a", "AA", anywhere}, {"e", "EH", anywhere},
		{"i", "IY", anywhere}, {"o", "OW", anywhere}, {"u", "UW", anywhere},
	},
	"pl": {
		{"szcz", "SH CH", anywhere}, {"sz", "SH", anywhere}, {"cz", "CH", anywhere}, {"rz", "ZH", anywhere},
		{"ch", "HH", anywhere}, {"dź", "JH", anywhere}, {"dż", "JH", anywhere}, {"dz", "D Z", anywhere},
		{"ie", "Y EH", anywhere}, {"ł", "W", anywhere},
		{"ś", "SH", anywhere}, {"ć", "CH", anywhere}, {"ń", "N Y", anywhere}, {"ź", "ZH", anywhere},
		{"ż", "ZH", anywhere}, {"ą", "AO N", anywhere}, {"ę", "EH N", anywhere}, {"ó", "UW", anywhere},
		{"w", "V", anywhere}, {"c", "T S", anywhere}, {"j", "Y", anywhere}, {"y", "IH", anywhere},
		{"a", "AA", anywhere}, {"e", "EH", anywhere}, {"i", "IY", anywhere}, {"o", "AO", anywhere},
		{"u", "UW", anywhere},
	},
	"cs": {
		{"ch", "HH", anywhere}, {"dž", "JH", anywhere}, {"č", "CH", anywhere}, {"ř", "R ZH", anywhere},
		{"š", "SH", anywhere}, {"ž", "ZH", anywhere}, {"ě", "Y EH", anywhere}, {"ů", "UW", anywhere},
		{"ý", "IY", anywhere}, {"ť", "T Y", anywhere}, {"ď", "D Y", anywhere}, {"ň", "N Y", anywhere},
		{"á", "AA", anywhere}, {"é", "EH", anywhere}, {"í", "IY", anywhere}, {"ó", "OW", anywhere},
		{"ú", "UW", anywhere}, {"c", "T S", anywhere}, {"j", "Y", anywhere}, {"w", "V", anywhere},
		{"a", "AA", anywhere}, {"e", "EH", anywhere}, {"i", "IH", anywhere}, {"o", "OW", anywhere},
		{"u", "UH", anywhere}, {"y", "IH", anywhere},
	},
	"hu": {
		{"dzs", "JH", anywhere}, {"sz", "S", anywhere}, {"cs", "CH", anywhere}, {"zs", "ZH", anywhere},
		{"gy", "JH", anywhere}, {"ny", "N Y", anywhere}, {"ty", "CH", anywhere}, {"ly", "Y", anywhere},
		{"s", "SH", anywhere}, {"c", "T S", anywhere}, {"j", "Y", anywhere}, {"ő", "ER", anywhere},
		{"ö", "ER", anywhere}, {"ű", "UW", anywhere}, {"ü", "UW", anywhere}, {"á", "AA", anywhere},
		{"é", "EY", anywhere}, {"í", "IY", anywhere}, {"ó", "OW", anywhere}, {"ú", "UW", anywhere},
		{"a", "AO", anywhere}, {"e", "EH", anywhere}, {"i", "IH", anywhere}, {"o", "OW", anywhere},
		{"u", "UH", anywhere},
	},
	"tr": {
		{"ş", "SH", anywhere}, {"ç", "CH", anywhere}, {"ğ", "", anywhere}, {"ı", "AH", anywhere},
		{"c", "JH", anywhere}, {"j", "ZH", anywhere}, {"ö", "ER", anywhere}, {"ü", "UW", anywhere},
		{"a", "AA", anywhere}, {"e", "EH", anywhere}, {"i", "IH", anywhere}, {"o", "OW", anywhere},
		{"u", "UW", anywhere},
	},
	"no": {
		{"skj", "SH", anywhere}, {"sj", "SH", anywhere}, {"kj", "CH", anywhere}, {"aa", "OW", anywhere},
		{"å", "OW", anywhere}, {"æ", "EH", anywhere}, {"ø", "ER", anywhere}, {"j", "Y", anywhere},
		{"w", "V", anywhere}, {"y", "UW", anywhere}, {"a", "AA", anywhere}, {"e", "EH", anywhere},
		{"i", "IY", anywhere}, {"o", "OW", anywhere}, {"u", "UW", anywhere},
	},
}

// latinPhone reads the consonants no rule of the language took.
var latinPhone = map[rune]string{
	'b': "B", 'c': "K", 'd': "D", 'f': "F", 'g': "G", 'h': "HH", 'k': "K", 'l': "L", 'm': "M",
	'n': "N", 'p': "P", 'q': "K", 'r': "R", 's': "S", 't': "T", 'v': "V", 'w': "W", 'x': "K S",
	'z': "Z", 'j': "JH", 'y': "Y", 'a': "AA", 'e': "EH", 'i': "IY", 'o': "OW", 'u': "UW",
}

// frontVowels are the letters before which c and g soften.
const frontVowels = "eiyéèêëíìîïýě"

// vowelLetters tell a consonant from a vowel for the French nasals.
const vowelLetters = "aeiouyàáâãäåæèéêëìíîïòóôõöøùúûüýœěůőűı"

// foreignLTS reads w (lower case) by the spelling rules of language lang;
// "" when lang has none or no phone came of it.
func foreignLTS(w, lang string) string {
	rules, ok := foreignRules[lang]
	if !ok {
		return ""
	}
	rs := []rune(norm.NFC.String(w))
	var out []string
	prev := ""
	for i := 0; i < len(rs); {
		n, p := matchRule(rules, rs, i)
		if n == 0 {
			p = latinPhone[rs[i]]
			if p == "" {
				if f, ok := foldLatin(string(rs[i])); ok {
					p = latinPhone[[]rune(f)[0]]
				}
			}
			n = 1
		}
		i += n
		if p == "" || p == prev { // silent, or a doubled letter
			continue
		}
		out = append(out, p)
		prev = p
	}
	return strings.Join(out, " ")
}

// matchRule returns the length in runes and the phones of the first rule
// that reads rs at i, or 0.
func matchRule(rules []ltsRule, rs []rune, i int) (int, string) {
	for _, r := range rules {
		s := []rune(r.s)
		if i+len(s) > len(rs) || string(rs[i:i+len(s)]) != r.s {
			continue
		}
		next := i + len(s)
		ok := true
		switch r.at {
		case wordStart:
			ok = i == 0
		case wordEnd:
			ok = next == len(rs)
		case beforeFront:
			ok = next < len(rs) && strings.ContainsRune(frontVowels, rs[next])
		case beforeConsOr:
			ok = next == len(rs) || !strings.ContainsRune(vowelLetters, rs[next]) && rs[next] != 'n' && rs[next] != 'm'
		}
		if ok {
			return len(s), r.p
		}
	}
	return 0, ""
}

// foreignAlternatives adds the languages' readings (a test measures
// without them).
var foreignAlternatives = true

// pronunciations gives each word the dictionary lacks its pronunciations,
// the first the one to add as the word and any second as its alternative:
// a word of a-z one by letterToSound; a word with other Latin letters the
// pronunciation of its folded form (the dictionary's, through lookup, or
// letter-to-sound's), then its reading by the rules of the language its
// letters point to. A word of another script gets none.
func pronunciations(words []string, lookup func(string) (string, bool)) map[string][]string {
	out := make(map[string][]string, len(words))
	var plain []string
	folded := map[string]string{} // word → its a-z form, where that needs letter-to-sound
	for _, w := range words {
		if lettersOnly(w) {
			plain = append(plain, w)
			continue
		}
		f, ok := foldLatin(w)
		if !ok {
			continue
		}
		if p, ok := lookup(f); ok {
			out[w] = []string{p}
		} else {
			folded[w] = f
			plain = append(plain, f)
		}
	}
	lts := letterToSound(plain)
	for _, w := range words {
		if lettersOnly(w) {
			if p, ok := lts[w]; ok {
				out[w] = []string{p}
			}
			continue
		}
		if f, ok := folded[w]; ok {
			if p, ok := lts[f]; ok {
				out[w] = []string{p}
			}
		}
		if _, ok := out[w]; !ok {
			continue
		}
		if !foreignAlternatives {
			continue
		}
		if p := foreignLTS(w, spellingLanguage(w)); p != "" && p != out[w][0] {
			out[w] = append(out[w], p)
		}
	}
	return out
}
