// Package export writes an event's caption cues as subtitle files (SubRip,
// WebVTT, TTML and EBU STL through go-astisub, EBU-TT-D by its own writer)
// for the replay.
//
// Cue times are program time (48 kHz samples since the event started), and
// program time 0 is the start of the recording, so a cue at sample n is
// written at n/48000 s.
package export

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/asticode/go-astisub"

	"tolk/captions"
	"tolk/internal/audio"
)

// ErrFormat is returned for a format Write does not know.
var ErrFormat = errors.New("unknown subtitle format")

// ErrRange is returned when the cues' times do not fit the format's time
// codes (EBU STL stops at 24 h); a cut with From fixes it.
var ErrRange = errors.New("cue times out of the format's range")

// Formats lists the formats Write knows by name; a file of each ends in
// its Extension.
var Formats = []string{"srt", "vtt", "ttml", "stl", "ebu-tt-d"}

var contentTypes = map[string]string{
	"srt":      "application/x-subrip; charset=utf-8",
	"vtt":      "text/vtt; charset=utf-8",
	"ttml":     "application/ttml+xml; charset=utf-8",
	"stl":      "application/octet-stream",
	"ebu-tt-d": "application/ttml+xml; charset=utf-8",
}

// Extension is what the name of a file in format ends in, without the dot:
// the format's name, except "ebu-tt-d.xml" for EBU-TT-D.
func Extension(format string) string {
	if format == "ebu-tt-d" {
		return "ebu-tt-d.xml"
	}
	return format
}

// FormatOf splits a file name such as "fr.srt" or "fr.ebu-tt-d.xml" into
// its stem and the format its ending names (ignoring case), and whether it
// names one.
func FormatOf(file string) (stem, format string, ok bool) {
	lower := strings.ToLower(file)
	for _, f := range Formats {
		ext := "." + Extension(f)
		if len(lower) > len(ext) && strings.HasSuffix(lower, ext) {
			return file[:len(file)-len(ext)], f, true
		}
	}
	return "", "", false
}

// ContentType is the media type of a format, and whether the format is known.
func ContentType(format string) (string, bool) {
	ct, ok := contentTypes[format]
	return ct, ok
}

// Options shape an export.
type Options struct {
	// Offset is added to every time after cutting (negative to pull the
	// captions earlier). Cues that end up before 0 are clipped or dropped.
	Offset time.Duration
	// From and To cut the export to a range of program time; To == 0 means
	// to the end. Cues crossing an edge are clipped to it, and times are
	// counted from From, so the file fits a clip cut at the same points.
	From, To time.Duration
	// Title and Lang (BCP 47) go into the file's metadata where the format
	// has a place for them (TTML, EBU-TT-D, EBU STL).
	Title, Lang string
}

// item is one cue ready to write: times on the file's clock, clean lines.
type item struct {
	start, end time.Duration
	lines      []string
}

// Write writes cues in a format ("srt", "vtt", "ttml", "stl" or "ebu-tt-d"). Partial
// cues and cues without text are left out; an empty list gives a valid file
// with no cues.
func Write(w io.Writer, format string, cues []captions.Cue, opts Options) error {
	if _, ok := contentTypes[format]; !ok {
		return fmt.Errorf("%w %q (want one of %s)", ErrFormat, format, strings.Join(Formats, ", "))
	}
	if opts.From < 0 || (opts.To != 0 && opts.To <= opts.From) {
		return fmt.Errorf("export range %v..%v: want 0 <= from < to", opts.From, opts.To)
	}
	prec := time.Millisecond
	if format == "stl" {
		prec = time.Second / stlFrameRate
	}
	items := prepare(cues, opts, prec)
	if format == "stl" {
		var last time.Duration
		for _, it := range items {
			last = max(last, it.end)
		}
		if last >= stlMaxTime {
			return fmt.Errorf("%w: EBU STL time codes stop at 23:59:59:24 and the captions run to %v: export a part with from/to",
				ErrRange, last.Round(time.Second))
		}
	}
	var buf bytes.Buffer
	var err error
	switch format {
	case "srt":
		err = writeSRT(&buf, items)
	case "vtt":
		err = writeVTT(&buf, items)
	case "ttml":
		err = writeTTML(&buf, items, opts)
	case "stl":
		err = writeSTL(&buf, items, opts)
	case "ebu-tt-d":
		err = writeEBUTTD(&buf, items, opts)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", format, err)
	}
	return nil
}

// prepare cuts, shifts, rounds to the format's precision and cleans the
// text. The result is ordered by start.
func prepare(cues []captions.Cue, opts Options, prec time.Duration) []item {
	out := make([]item, 0, len(cues))
	for _, c := range cues {
		if !c.Final {
			continue
		}
		lines := cleanLines(c.Text)
		if len(lines) == 0 {
			continue
		}
		start, end := audio.Duration(c.Start), audio.Duration(c.End)
		if end < start {
			continue
		}
		if opts.To != 0 {
			if start >= opts.To {
				continue
			}
			end = min(end, opts.To)
		}
		if end <= opts.From && !(end == start && start == opts.From) {
			continue
		}
		start = max(start, opts.From)
		start += opts.Offset - opts.From
		end += opts.Offset - opts.From
		if end < 0 {
			continue
		}
		start = max(start, 0)
		start, end = start.Round(prec), end.Round(prec)
		if end <= start {
			// Rounding must not make a cue vanish: keep one unit.
			end = start + prec
		}
		out = append(out, item{start: start, end: end, lines: lines})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}

var arrowRE = regexp.MustCompile(`--+>`)

// cleanLines splits a cue's text into trimmed, non-empty lines free of
// what would break a subtitle file: "-->", control characters (a stray
// newline would end an SRT cue), invalid UTF-8, byte-order marks, Unicode
// line separators and noncharacters (which XML forbids).
func cleanLines(text string) []string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		var b strings.Builder
		for i, r := range l {
			switch {
			case r == utf8.RuneError:
				if _, n := utf8.DecodeRuneInString(l[i:]); n == 1 {
					b.WriteRune('\uFFFD')
				} else {
					b.WriteRune(r)
				}
			case r == '\t', r == '\u2028', r == '\u2029':
				b.WriteByte(' ')
			case unicode.IsControl(r), r == '\uFEFF', r&0xFFFE == 0xFFFE, r >= 0xFDD0 && r <= 0xFDEF:
			default:
				b.WriteRune(r)
			}
		}
		s := strings.Join(strings.Fields(b.String()), " ")
		// "-->" would make the line a timing line to SRT and WebVTT
		// readers.
		s = arrowRE.ReplaceAllString(s, "->")
		if s != "" {
			lines = append(lines, s)
		}
	}
	return lines
}

func subtitles(items []item) *astisub.Subtitles {
	s := astisub.NewSubtitles()
	for _, it := range items {
		ai := &astisub.Item{StartAt: it.start, EndAt: it.end}
		for _, l := range it.lines {
			ai.Lines = append(ai.Lines, astisub.Line{Items: []astisub.LineItem{{Text: l}}})
		}
		s.Items = append(s.Items, ai)
	}
	return s
}

// writeSRT writes SubRip; with no cues the file is empty, which is SubRip's
// empty file.
func writeSRT(w *bytes.Buffer, items []item) error {
	if len(items) == 0 {
		return nil
	}
	return subtitles(items).WriteToSRT(w)
}

func writeVTT(w *bytes.Buffer, items []item) error {
	if len(items) == 0 {
		w.WriteString("WEBVTT\n")
		return nil
	}
	return subtitles(items).WriteToWebVTT(w)
}

func writeTTML(w *bytes.Buffer, items []item, opts Options) error {
	lang := opts.Lang
	if lang == "" {
		lang = "und"
	}
	if len(items) == 0 {
		// A document with an empty body; astisub writes none without cues.
		w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
		w.WriteString(`<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttm="http://www.w3.org/ns/ttml#metadata" xml:lang="`)
		xmlEscape(w, lang)
		w.WriteString(`">` + "\n" + `    <head><metadata><ttm:title>`)
		xmlEscape(w, opts.Title)
		w.WriteString("</ttm:title></metadata></head>\n    <body><div></div></body>\n</tt>\n")
		return nil
	}
	s := subtitles(items)
	s.Metadata = &astisub.Metadata{Title: opts.Title}
	var body bytes.Buffer
	if err := s.WriteToTTML(&body); err != nil {
		return err
	}
	// astisub names only a few languages; give every document its xml:lang.
	out := body.Bytes()
	if head, rest, ok := bytes.Cut(out, []byte("<tt ")); ok && !bytes.Contains(rest[:bytes.IndexByte(rest, '>')+1], []byte("xml:lang=")) {
		var l bytes.Buffer
		xmlEscape(&l, lang)
		out = append(append(append(head, `<tt xml:lang="`...), l.Bytes()...), append([]byte(`" `), rest...)...)
	}
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.Write(out)
	w.WriteByte('\n')
	return nil
}

func xmlEscape(w *bytes.Buffer, s string) {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	w.WriteString(r.Replace(s))
}
