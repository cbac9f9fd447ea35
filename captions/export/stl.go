package export

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/asticode/go-astisub"
	"golang.org/x/text/language"
	"golang.org/x/text/unicode/norm"
)

const (
	// stlMaxTime is where EBU STL time codes (HH:MM:SS:FF) end.
	stlMaxTime   = 24 * time.Hour
	stlFrameRate = 25
	// stlTextBytes is the text field of one TTI block; astisub cuts
	// anything longer, so longer cues are split.
	stlTextBytes = 112
	stlGSIBytes  = 1024
)

// stlLatin are the characters, besides printable ASCII, that astisub's
// writer encodes in the Latin table (ISO 6937) and its reader decodes back.
// '$' is not among them: the writer stores it where the reader finds '¤'.
const stlLatin = "¡¢£¥§°±²³µ¶·¤‘“«←↑→↓×÷’”¼½¾¿―¹®©™♪¬¦⅛⅜⅝⅞ΩÆĐªĦĲĿŁØŒºÞŦŊŉĸæđðħıĳŀłøœßþŧŋ"

// stlMarks are the combining accents the Latin table can put on a letter.
const stlMarks = "\u0300\u0301\u0302\u0303\u0304\u0306\u0307\u0308\u030a\u0327\u030b\u0328\u030c"

// stlLanguages are the EBU Tech 3264 language codes of the GSI block.
var stlLanguages = map[string]string{
	"sq": "01", "br": "02", "ca": "03", "hr": "04", "cy": "05", "cs": "06", "da": "07", "de": "08",
	"en": "09", "es": "0A", "eo": "0B", "et": "0C", "eu": "0D", "fo": "0E", "fr": "0F", "fy": "10",
	"ga": "11", "gd": "12", "gl": "13", "is": "14", "it": "15", "se": "16", "la": "17", "lv": "18",
	"lb": "19", "lt": "1A", "hu": "1B", "mt": "1C", "nl": "1D", "no": "1E", "nb": "1E", "nn": "1E",
	"oc": "1F", "pl": "20", "pt": "21", "ro": "22", "rm": "23", "sr": "24", "sk": "25", "sl": "26",
	"fi": "27", "sv": "28", "tr": "29",
}

// stlLine maps a line to what the Latin table can carry: accented letters
// stay (one accent each), other characters become '?'. It returns the text
// as a reader will see it and its size in the text field.
func stlLine(line string) (string, int) {
	var b strings.Builder
	n := 0
	marked := true // whether the last character can take no (more) accent
	for _, r := range norm.NFD.String(line) {
		switch {
		case strings.ContainsRune(stlMarks, r):
			if marked {
				continue
			}
			b.WriteRune(r)
			n++
			marked = true
		case r >= 0x20 && r < 0x7f && r != '$', strings.ContainsRune(stlLatin, r):
			b.WriteRune(r)
			n++
			marked = !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
		case r == '$':
			b.WriteString("USD")
			n += 3
			marked = true
		case r >= 0x0300 && r <= 0x036f:
			// Another accent: dropped.
		default:
			b.WriteByte('?')
			n++
			marked = true
		}
	}
	return norm.NFC.String(b.String()), n
}

// stlItems maps the text of every item and splits those too long for one
// TTI block, sharing the time by text length.
func stlItems(items []item) []item {
	frame := time.Second / stlFrameRate
	var out []item
	for _, it := range items {
		var pieces [][]string
		var sizes []int
		var cur []string
		size := 0
		flush := func() {
			if len(cur) > 0 {
				pieces, sizes = append(pieces, cur), append(sizes, size)
				cur, size = nil, 0
			}
		}
		for _, l := range it.lines {
			text, n := stlLine(l)
			if size > 0 && size+1+n > stlTextBytes {
				flush()
			}
			if n <= stlTextBytes {
				if size > 0 {
					size++
				}
				cur, size = append(cur, text), size+n
				continue
			}
			// One line longer than a block: split it at spaces (or
			// anywhere, for a word that long).
			flush()
			for _, p := range splitLine(text) {
				t, tn := stlLine(p)
				pieces, sizes = append(pieces, []string{t}), append(sizes, tn)
			}
		}
		flush()
		total := 0
		for _, n := range sizes {
			total += max(n, 1)
		}
		start, span := it.start, it.end-it.start
		acc := 0
		for i, p := range pieces {
			acc += max(sizes[i], 1)
			end := it.start + time.Duration(float64(span)*float64(acc)/float64(total)).Round(frame)
			if i == len(pieces)-1 {
				end = it.end
			}
			if end <= start {
				end = start + frame
			}
			out = append(out, item{start: start, end: end, lines: p})
			start = end
		}
	}
	return out
}

// splitLine cuts a mapped line into pieces of at most stlTextBytes,
// at the last space that fits where there is one.
func splitLine(text string) []string {
	var out []string
	rs := []rune(text)
	for len(rs) > 0 {
		n, cut, space := 0, len(rs), -1
		for i, r := range rs {
			w := utf8.RuneCountInString(norm.NFD.String(string(r)))
			if n+w > stlTextBytes {
				cut = i
				break
			}
			n += w
			if r == ' ' {
				space = i
			}
		}
		if cut < len(rs) && space > 0 {
			cut = space
		}
		if p := strings.TrimSpace(string(rs[:cut])); p != "" {
			out = append(out, p)
		}
		rs = rs[cut:]
		for len(rs) > 0 && rs[0] == ' ' {
			rs = rs[1:]
		}
	}
	return out
}

// writeSTL writes EBU STL (Tech 3264): open subtitles, Latin character
// table, 25 frames per second, the language and title in the GSI block.
func writeSTL(w *bytes.Buffer, items []item, opts Options) error {
	items = stlItems(items)
	empty := len(items) == 0
	if empty {
		// astisub writes no file without cues: write one and keep only
		// its GSI block, counts set to zero below.
		items = []item{{start: 0, end: time.Second / stlFrameRate, lines: []string{" "}}}
	}
	s := subtitles(items)
	centred := astisub.JustificationCentered
	for _, it := range s.Items {
		it.InlineStyle = &astisub.StyleAttributes{STLJustification: &centred}
	}
	rowChars, rows := 40, 2
	for _, it := range items {
		rows = max(rows, len(it.lines))
		for _, l := range it.lines {
			rowChars = max(rowChars, len([]rune(l)))
		}
	}
	s.Metadata = &astisub.Metadata{
		Framerate:              stlFrameRate,
		Title:                  opts.Title,
		STLCountryOfOrigin:     stlCountry(opts.Lang),
		STLDisplayStandardCode: "0", // open subtitling
		STLMaximumNumberOfDisplayableCharactersInAnyTextRow: &rowChars,
		STLMaximumNumberOfDisplayableRows:                   &rows,
		STLPublisher:                                        "tolk",
	}
	var body bytes.Buffer
	if err := s.WriteToSTL(&body); err != nil {
		return err
	}
	out := body.Bytes()
	if len(out) < stlGSIBytes {
		return fmt.Errorf("stl: short GSI block (%d bytes)", len(out))
	}
	// Language code (LC), which astisub knows for five languages only.
	copy(out[14:16], stlLanguageCode(opts.Lang))
	if empty {
		out = out[:stlGSIBytes]
		copy(out[238:248], "0000000000") // TNB, TNS: no TTI blocks, no subtitles
		copy(out[264:272], "00000000")   // TCF: time code of the first cue
	}
	w.Write(out)
	return nil
}

func stlLanguageCode(lang string) string {
	t, err := language.Parse(lang)
	if err != nil {
		return "00"
	}
	base, _ := t.Base()
	if c, ok := stlLanguages[base.String()]; ok {
		return c
	}
	return "00"
}

// stlCountry is the country of origin (ISO 3166 alpha-3) the language tag
// names or most likely means.
func stlCountry(lang string) string {
	t, err := language.Parse(lang)
	if err != nil {
		return "   "
	}
	r, conf := t.Region()
	if conf == language.No {
		return "   "
	}
	return r.ISO3()
}
