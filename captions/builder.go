package captions

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// Reading limits for cues, from common subtitling practice.
const (
	// MaxLineChars is the longest line; only a single longer word exceeds it.
	MaxLineChars = 42
	// MaxLines is the number of lines in a cue.
	MaxLines = 2
	// MinCueDuration and MaxCueDuration bound how long a final cue shows (samples).
	MinCueDuration = 1 * audio.SampleRate
	MaxCueDuration = 7 * audio.SampleRate
	// TargetCPS is the reading speed a cue's display time aims not to exceed.
	TargetCPS = 17
)

// finalTail is how far the last cue of a final result may be extended for
// reading speed past its speech: the next speech is not known yet, but a
// recognizer settles a result only after a pause about this long.
const finalTail = audio.SampleRate / 2

// maxTime keeps program times far from int64 overflow whatever a backend says.
const maxTime = int64(1) << 60

// Builder turns one language's recognition results into cues: interim
// results into the live partial line, final results into timed, line-broken
// final cues that never overlap. It is not safe for concurrent use.
type Builder struct {
	lang    string
	lastEnd int64 // end of the last final cue
}

// NewBuilder returns a Builder whose cues carry lang.
func NewBuilder(lang string) *Builder { return &Builder{lang: lang} }

// Add takes one result. An interim result gives the partial line (the latest
// two lines' worth of text, Final false; empty text clears the line). A final
// result gives its final cues in time order and a nil partial: the settled
// cues replace the live line. A final result without words (its interims
// were noise) gives no cue and an empty partial, which clears the line.
func (b *Builder) Add(r Result) (partial *Cue, finals []Cue) {
	toks := tokens(r)
	if !r.Final {
		return b.partial(r, toks), nil
	}
	if len(toks) == 0 {
		return b.partial(r, nil), nil
	}
	chunks := chunk(toks)
	for k, c := range chunks {
		natStart, natEnd := toks[c.from].start, spanEnd(toks[c.from:c.to])
		start := max(natStart, b.lastEnd)
		// Reading speed may take display time up to the next speech.
		limit := natEnd + finalTail
		if k+1 < len(chunks) {
			limit = max(natEnd, toks[chunks[k+1].from].start)
		}
		end := max(natEnd, min(start+readTime(c.chars), limit))
		end = max(end, start+MinCueDuration)
		end = min(end, start+MaxCueDuration)
		finals = append(finals, Cue{Lang: b.lang, Start: start, End: end, Text: strings.Join(c.lines, "\n"), Final: true,
			Confidence: confidence(toks[c.from:c.to])})
		b.lastEnd = end
	}
	return nil, finals
}

func (b *Builder) partial(r Result, toks []token) *Cue {
	c := &Cue{Lang: b.lang, Start: clampTime(r.Start), End: clampTime(r.End)}
	if len(toks) > 0 {
		// The longest tail that still fits two lines, or one up to
		// partialDrop words shorter that keeps an article with its noun.
		from, longest := len(toks)-1, -1
		for i := max(0, len(toks)-MaxLines*MaxLineChars/2-1); i < len(toks)-1; i++ {
			_, cost, ok := breakLines(toks[i:])
			if !ok {
				continue
			}
			if longest < 0 {
				longest, from = i, i
			}
			if cost < costLineArticle {
				from = i
				break
			}
			if i-longest >= partialDrop {
				from = longest
				break
			}
		}
		lines, _, ok := breakLines(toks[from:])
		if !ok {
			lines = []string{toks[from].text}
		}
		c.Text = strings.Join(lines, "\n")
		c.Start = toks[from].start
		c.End = max(c.End, spanEnd(toks[from:]))
	}
	c.End = max(c.End, c.Start)
	return c
}

// partialDrop is how many words of the partial line's head may give way so
// that no line of it ends on an article.
const partialDrop = 3

// readTime is the display time for n characters at TargetCPS, rounded up so
// that the cue reads at TargetCPS or slower.
func readTime(n int) int64 { return (int64(n)*audio.SampleRate + TargetCPS - 1) / TargetCPS }

// token is one word with sane program times.
type token struct {
	text       string
	chars      int
	start, end int64
	conf       float32 // the recognizer's word confidence, 0 when none
}

// confidence is a final cue's confidence from its words': the mean, which
// says how well the cue as a whole was heard, and the lowest word, since one
// misheard word makes the cue wrong however sure the rest are (a long cue's
// mean hides it). Editors are steered by the lowest. A cue whose words all
// have confidence 0 has none: that is what a backend that gives no
// confidence (or a result without word times) reports.
func confidence(toks []token) *media.Confidence {
	c := &media.Confidence{Min: 1, Words: make([]float32, len(toks))}
	var sum float32
	known := false
	for i, t := range toks {
		v := min(t.conf, 1)
		if !(v > 0) { // negative or NaN
			v = 0
		}
		known = known || v > 0
		c.Words[i] = v
		sum += v
		c.Min = min(c.Min, v)
	}
	if !known {
		return nil
	}
	c.Mean = sum / float32(len(toks))
	return c
}

func clampTime(t int64) int64 { return min(max(t, 0), maxTime) }

// tokens splits a result into words with times that never go backwards:
// word times when the backend gave them, otherwise the result's span shared
// out by length.
func tokens(r Result) []token {
	var out []token
	var prev int64
	add := func(text string, start, end int64, conf float32) {
		fields := strings.Fields(text)
		if len(fields) == 0 {
			return
		}
		start = max(clampTime(start), prev)
		end = max(clampTime(end), start)
		total := len(fields) - 1
		for _, f := range fields {
			total += utf8.RuneCountInString(f)
		}
		at := 0
		for _, f := range fields {
			n := utf8.RuneCountInString(f)
			s := start + (end-start)*int64(at)/int64(total)
			e := start + (end-start)*int64(at+n)/int64(total)
			at += n + 1
			out = append(out, token{text: f, chars: n, start: s, end: max(e, s), conf: conf})
		}
		prev = start
	}
	if len(r.Words) > 0 {
		for _, w := range r.Words {
			add(w.Text, w.Start, w.End, w.Confidence)
		}
		return out
	}
	start, end := clampTime(r.Start), clampTime(r.End)
	if end <= start {
		end = min(start+max(MinCueDuration, readTime(utf8.RuneCountInString(r.Text))), maxTime)
	}
	add(r.Text, start, end, 0)
	return out
}

func spanEnd(toks []token) int64 {
	var e int64
	for _, t := range toks {
		e = max(e, t.end)
	}
	return e
}

// textLen is the length of the words joined by single spaces.
func textLen(toks []token) int {
	n := len(toks) - 1
	for _, t := range toks {
		n += t.chars
	}
	return n
}

type span struct {
	from, to int
	lines    []string
	chars    int
}

// Costs steer the choice of cue and line breaks; only their order matters.
const (
	costCue         = 1000
	costBreakAny    = 400
	costBreakPause  = 150 // after a comma, colon or semicolon
	costBreakBefore = 250 // before a conjunction or preposition
	costBreakDangle = 300 // after an article, conjunction or preposition
	costTwoLines    = 40
	// costLineArticle is an article left at a line's end: subtitling
	// guides never part an article from its noun, so a cue split elsewhere
	// is always preferred to it, and it happens only when nothing else fits.
	costLineArticle = 2 * costCue
	// costShortPerChar is the cost per character a cue is shorter than
	// shortCue: a cue of a few words flashes by, so between two otherwise
	// equal splits the one with balanced cues wins.
	costShortPerChar = 5
	shortCue         = 20
	// costPausePerMS is the cost per millisecond of a pause longer than
	// pauseFree kept inside one cue: a long pause is where a cue should end.
	costPausePerMS   = 3
	pauseFree        = 300 * audio.SampleRate / 1000
	bonusLineClause  = 30
	bonusLineSentece = 45
	bonusLineBefore  = 20
)

// chunk splits tokens into cues of at most two lines and at most
// MaxCueDuration of speech, choosing breaks by least total cost (fewer
// cues, breaks at sentence ends and clauses, balanced lines). A single
// token always forms a valid cue, so there is always a solution.
func chunk(toks []token) []span {
	n := len(toks)
	// pause[m] sums the cost of the pauses before tokens 1..m.
	pause := make([]int, n)
	for m := 1; m < n; m++ {
		pause[m] = pause[m-1]
		if g := toks[m].start - toks[m-1].end; g > pauseFree {
			pause[m] += int(min(g-pauseFree, MaxCueDuration) * 1000 / audio.SampleRate * costPausePerMS)
		}
	}
	best := make([]int, n+1)
	next := make([]span, n+1)
	for i := n - 1; i >= 0; i-- {
		best[i] = -1
		for j := i + 1; j <= n; j++ {
			if j > i+1 && (textLen(toks[i:j]) > MaxLines*MaxLineChars ||
				spanEnd(toks[i:j])-toks[i].start > MaxCueDuration) {
				break
			}
			lines, lc, ok := breakLines(toks[i:j])
			if !ok {
				if j > i+1 {
					continue
				}
				lines, lc = []string{toks[i].text}, 0 // a word longer than a line
			}
			c := best[j] + costCue + lc + pause[j-1] - pause[i]
			c += costShortPerChar * max(0, shortCue-textLen(toks[i:j]))
			if j < n {
				c += breakCost(toks[j-1].text, toks[j].text)
			}
			if best[i] < 0 || c < best[i] {
				best[i] = c
				next[i] = span{from: i, to: j, lines: lines, chars: textLen(toks[i:j])}
			}
		}
	}
	var out []span
	for i := 0; i < n; i = next[i].to {
		out = append(out, next[i])
	}
	return out
}

// breakCost is the cost of ending a cue between words a and b.
func breakCost(a, b string) int {
	switch {
	case endsSentence(a):
		return 0
	case endsClause(a):
		return costBreakPause
	case isFunctionWord(a):
		return costBreakDangle + costBreakAny
	case breaksBefore(b):
		return costBreakBefore
	}
	return costBreakAny
}

// breakLines lays words out on at most two lines of MaxLineChars, preferring
// one line, then balanced lines broken after punctuation or before a
// conjunction or preposition, never leaving an article at a line end when
// it can be helped.
func breakLines(toks []token) (lines []string, cost int, ok bool) {
	if len(toks) == 0 {
		return nil, 0, false
	}
	if textLen(toks) <= MaxLineChars {
		return []string{joinTokens(toks)}, 0, true
	}
	bestK, bestCost := -1, 0
	for k := 1; k < len(toks); k++ {
		l1, l2 := textLen(toks[:k]), textLen(toks[k:])
		if l1 > MaxLineChars || l2 > MaxLineChars {
			continue
		}
		c := costTwoLines + abs(l1-l2) + 60 // the offset keeps the bonuses from going negative
		a, b := toks[k-1].text, toks[k].text
		switch {
		case endsSentence(a):
			c -= bonusLineSentece
		case endsClause(a):
			c -= bonusLineClause
		case isArticle(a):
			c += costLineArticle
		case isFunctionWord(a):
			c += costBreakDangle / 5
		case breaksBefore(b):
			c -= bonusLineBefore
		}
		if bestK < 0 || c < bestCost {
			bestK, bestCost = k, c
		}
	}
	if bestK < 0 {
		return nil, 0, false
	}
	return []string{joinTokens(toks[:bestK]), joinTokens(toks[bestK:])}, bestCost, true
}

func joinTokens(toks []token) string {
	var sb strings.Builder
	for i, t := range toks {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(t.text)
	}
	return sb.String()
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(strings.TrimRight(s, "\"'”’»)]"))
	return r
}

func endsSentence(w string) bool {
	switch lastRune(w) {
	case '.', '!', '?', '…', '。', '！', '？':
		return true
	}
	return false
}

func endsClause(w string) bool {
	switch lastRune(w) {
	case ',', ';', ':', '–', '—', '、', '，':
		return true
	}
	return false
}

func bare(w string) string {
	return strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) }))
}

// Function words of the languages the demo carries (en, fr, es, de, it, nl):
// a break goes before them, and a line should not end on them.
var conjPrep = set(`and or but nor so yet because although while if when that which who
of to in on at for with from by about into over after before under between through during without
et ou mais donc car que qui quand si de du des à au aux en dans pour par avec sans sur sous chez vers
y o pero porque aunque cuando si que de del a al en con sin por para sobre entre hasta desde
und oder aber denn weil wenn dass ob als von zu im in an auf für mit aus bei nach über unter durch ohne
e o ma perché quando se che di da in con su per tra fra
en of maar omdat want als dat van naar op voor met uit bij door zonder`)

var articles = set(`a an the le la les l un une el los las lo una unos unas der die das den dem des ein eine einen einem einer il lo gli i uno het een`)

func set(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

func breaksBefore(w string) bool { return conjPrep[bare(w)] }

func isArticle(w string) bool { return articles[bare(w)] }

func isFunctionWord(w string) bool {
	b := bare(w)
	return articles[b] || conjPrep[b]
}
