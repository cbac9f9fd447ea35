package export

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
	"time"
)

// EBU-TT-D (EBU Tech 3380, "EBU-TT-D Subtitling Distribution Format") is
// the TTML profile European broadcasters and HbbTV/DVB-DASH players take.
// What this writer follows, from Tech 3380 and the EBU's XML schema for it
// (github.com/ebu/ebu-tt-d-xsd, ebutt_d.xsd and ebutt_datatypes.xsd):
//
//   - tt:tt carries ttp:timeBase="media" (the only time base the profile
//     allows) and xml:lang (required); ttp:cellResolution sizes the cell
//     unit "c" used by ebutts:linePadding.
//   - tt:head holds, in this order, tt:metadata (here ttm:title and
//     ebuttm:documentMetadata with ebuttm:conformsToStandard naming the
//     profile), tt:styling with at least one tt:style, and tt:layout with at
//     least one tt:region. Styles are only referenced (no inline styling);
//     ebutts:linePadding and ebutts:multiRowAlign sit on tt:style.
//   - a tt:region needs xml:id, tts:origin and tts:extent, both as
//     percentages of the active picture (distributionOriginType,
//     distributionExtentType); fontSize and lineHeight are percentages, colours
//     #RRGGBB or #RRGGBBAA.
//   - tt:body may be left out (a document with no subtitles); when present it
//     holds one or more tt:div, each one or more tt:p. Every tt:p has an
//     xml:id, begin and end as media time expressions, hours:minutes:seconds
//     with a fraction (distributionMediaTimingType, at least two digits for
//     the hours, so times past 99 h still fit), and holds text, tt:span (no
//     nested spans) and tt:br.
//
// Captions go at the bottom of a region inside the 10 % title-safe area,
// centred, white on a black box padded half a cell on each side of a line.

// ebuttdStandard is the conformsToStandard URI of EBU-TT-D as Tech 3380
// version 1.0.1 names it (the W3C IMSC test suite marks its EBU-TT-D
// documents with the same URI); the documents use none of the later
// versions' additions.
const ebuttdStandard = "urn:ebu:tt:distribution:2014-01"

func writeEBUTTD(w *bytes.Buffer, items []item, opts Options) error {
	lang := opts.Lang
	if lang == "" {
		lang = "und"
	}
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.WriteString(`<tt:tt xmlns:tt="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"` +
		` xmlns:tts="http://www.w3.org/ns/ttml#styling" xmlns:ttm="http://www.w3.org/ns/ttml#metadata"` +
		` xmlns:ebuttm="urn:ebu:tt:metadata" xmlns:ebutts="urn:ebu:tt:style"` +
		` ttp:timeBase="media" ttp:cellResolution="50 30" xml:lang="`)
	xmlText(w, lang)
	w.WriteString(`">` + "\n")
	w.WriteString("  <tt:head>\n    <tt:metadata>\n")
	if opts.Title != "" {
		w.WriteString("      <ttm:title>")
		xmlText(w, opts.Title)
		w.WriteString("</ttm:title>\n")
	}
	w.WriteString("      <ebuttm:documentMetadata>\n        <ebuttm:conformsToStandard>" + ebuttdStandard +
		"</ebuttm:conformsToStandard>\n      </ebuttm:documentMetadata>\n    </tt:metadata>\n")
	w.WriteString(`    <tt:styling>
      <tt:style xml:id="paragraph" tts:textAlign="center" tts:fontFamily="proportionalSansSerif" tts:fontSize="160%" tts:lineHeight="125%" ebutts:linePadding="0.5c" ebutts:multiRowAlign="center"/>
      <tt:style xml:id="text" tts:color="#FFFFFF" tts:backgroundColor="#000000C2"/>
    </tt:styling>
    <tt:layout>
      <tt:region xml:id="bottom" tts:origin="10% 10%" tts:extent="80% 80%" tts:displayAlign="after" tts:writingMode="lrtb"/>
    </tt:layout>
  </tt:head>
`)
	if len(items) > 0 {
		w.WriteString(`  <tt:body>` + "\n" + `    <tt:div region="bottom">` + "\n")
		for i, it := range items {
			fmt.Fprintf(w, `      <tt:p xml:id="sub%d" style="paragraph" begin="%s" end="%s">`, i+1, mediaTime(it.start), mediaTime(it.end))
			for j, l := range it.lines {
				if j > 0 {
					w.WriteString("<tt:br/>")
				}
				w.WriteString(`<tt:span style="text">`)
				xmlText(w, l)
				w.WriteString("</tt:span>")
			}
			w.WriteString("</tt:p>\n")
		}
		w.WriteString("    </tt:div>\n  </tt:body>\n")
	}
	w.WriteString("</tt:tt>\n")
	return nil
}

// mediaTime writes d as HH:MM:SS.mmm; hours take more digits past 99.
func mediaTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// xmlText escapes s for character data and attribute values.
func xmlText(w *bytes.Buffer, s string) {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	w.WriteString(b.String())
}
