package export

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"

	"tolk/captions"
)

const (
	nsTT     = "http://www.w3.org/ns/ttml"
	nsTTP    = "http://www.w3.org/ns/ttml#parameter"
	nsTTS    = "http://www.w3.org/ns/ttml#styling"
	nsTTM    = "http://www.w3.org/ns/ttml#metadata"
	nsEBUTTM = "urn:ebu:tt:metadata"
	nsEBUTTS = "urn:ebu:tt:style"
	nsXML    = "http://www.w3.org/XML/1998/namespace"
)

// ttDoc is an EBU-TT-D document as encoding/xml reads it, names checked
// with their namespaces.
type ttDoc struct {
	XMLName xml.Name   `xml:"http://www.w3.org/ns/ttml tt"`
	Attrs   []xml.Attr `xml:",any,attr"`
	Head    struct {
		Metadata struct {
			Title    string `xml:"http://www.w3.org/ns/ttml#metadata title"`
			Document struct {
				Conforms []string `xml:"urn:ebu:tt:metadata conformsToStandard"`
			} `xml:"urn:ebu:tt:metadata documentMetadata"`
		} `xml:"http://www.w3.org/ns/ttml metadata"`
		Styles []struct {
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"http://www.w3.org/ns/ttml styling>style"`
		Regions []struct {
			Attrs []xml.Attr `xml:",any,attr"`
		} `xml:"http://www.w3.org/ns/ttml layout>region"`
	} `xml:"http://www.w3.org/ns/ttml head"`
	Body *struct {
		Divs []struct {
			Region string `xml:"region,attr"`
			Ps     []ttP  `xml:"http://www.w3.org/ns/ttml p"`
		} `xml:"http://www.w3.org/ns/ttml div"`
	} `xml:"http://www.w3.org/ns/ttml body"`
}

type ttP struct {
	ID    string `xml:"http://www.w3.org/XML/1998/namespace id,attr"`
	Begin string `xml:"begin,attr"`
	End   string `xml:"end,attr"`
	Style string `xml:"style,attr"`
	Inner []byte `xml:",innerxml"`
}

func attr(as []xml.Attr, space, local string) (string, bool) {
	for _, a := range as {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// pText reads a tt:p's lines: the text of its tt:spans, a tt:br between.
func pText(t testing.TB, p ttP) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(append(append([]byte(`<x xmlns:tt="`+nsTT+`">`), p.Inner...), "</x>"...)))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("p %s: %v", p.ID, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			switch {
			case tok.Name.Space == nsTT && tok.Name.Local == "br":
				b.WriteByte('\n')
			case tok.Name.Space == nsTT && tok.Name.Local == "span":
				if v, _ := attr(tok.Attr, "", "style"); v != "text" {
					t.Errorf("p %s: span without the text style", p.ID)
				}
			case tok.Name.Local != "x":
				t.Errorf("p %s: unexpected element %v", p.ID, tok.Name)
			}
		case xml.CharData:
			b.Write(tok)
		}
	}
	return b.String()
}

var (
	mediaTimeRE = regexp.MustCompile(`^[0-9]{2,}:[0-5][0-9]:[0-5][0-9]\.[0-9]{3}$`)
	percentRE   = regexp.MustCompile(`^\d+(\.\d+)?% \d+(\.\d+)?%$`)
)

func parseEBUTTD(t testing.TB, b []byte) ttDoc {
	t.Helper()
	var doc ttDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("EBU-TT-D does not parse: %v\n%s", err, b)
	}
	return doc
}

func TestEBUTTD(t *testing.T) {
	cues := []captions.Cue{
		{Lang: "fr", Start: at(1.0135), End: at(3.5), Text: "Bonjour à tous,\net bienvenue à Zürich.", Final: true},
		{Lang: "fr", Start: at(4), End: at(6.25), Text: "Q&A <après> \"la pause\"", Final: true},
		// Past 99 hours: the hours take three digits.
		{Lang: "fr", Start: at(100*3600 + 1.5), End: at(100*3600 + 3), Text: "Très tard.", Final: true},
	}
	b := write(t, "ebu-tt-d", cues, Options{Title: "Journée <partenaires>", Lang: "fr"})
	doc := parseEBUTTD(t, b)

	if v, _ := attr(doc.Attrs, nsTTP, "timeBase"); v != "media" {
		t.Errorf("ttp:timeBase = %q, want media", v)
	}
	if v, _ := attr(doc.Attrs, nsXML, "lang"); v != "fr" {
		t.Errorf("xml:lang = %q", v)
	}
	if v, ok := attr(doc.Attrs, nsTTP, "cellResolution"); !ok || !regexp.MustCompile(`^[1-9]\d* [1-9]\d*$`).MatchString(v) {
		t.Errorf("ttp:cellResolution = %q", v)
	}
	if doc.Head.Metadata.Title != "Journée <partenaires>" {
		t.Errorf("title %q", doc.Head.Metadata.Title)
	}
	if c := doc.Head.Metadata.Document.Conforms; len(c) != 1 || !strings.HasPrefix(c[0], "urn:ebu:tt:distribution:") {
		t.Errorf("conformsToStandard %q", c)
	}
	// Every style has an id; line padding and row alignment are on a style.
	styles := map[string][]xml.Attr{}
	for _, s := range doc.Head.Styles {
		id, ok := attr(s.Attrs, nsXML, "id")
		if !ok {
			t.Errorf("style without xml:id: %v", s.Attrs)
		}
		styles[id] = s.Attrs
		for _, a := range s.Attrs {
			switch {
			case a.Name.Space == nsTTS && (a.Name.Local == "fontSize" || a.Name.Local == "lineHeight"):
				if !regexp.MustCompile(`^\d+(\.\d+)?%$`).MatchString(a.Value) {
					t.Errorf("tts:%s = %q, want a percentage", a.Name.Local, a.Value)
				}
			case a.Name.Space == nsTTS && (a.Name.Local == "color" || a.Name.Local == "backgroundColor"):
				if !regexp.MustCompile(`^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$`).MatchString(a.Value) {
					t.Errorf("tts:%s = %q, want #RRGGBB[AA]", a.Name.Local, a.Value)
				}
			}
		}
	}
	if v, _ := attr(styles["paragraph"], nsEBUTTS, "linePadding"); !regexp.MustCompile(`^\d+(\.\d+)?c$`).MatchString(v) {
		t.Errorf("ebutts:linePadding = %q", v)
	}
	if v, _ := attr(styles["paragraph"], nsEBUTTS, "multiRowAlign"); v != "center" {
		t.Errorf("ebutts:multiRowAlign = %q", v)
	}
	if len(doc.Head.Regions) != 1 {
		t.Fatalf("%d regions", len(doc.Head.Regions))
	}
	region := doc.Head.Regions[0].Attrs
	rid, _ := attr(region, nsXML, "id")
	for _, name := range []string{"origin", "extent"} {
		if v, _ := attr(region, nsTTS, name); !percentRE.MatchString(v) {
			t.Errorf("region tts:%s = %q, want two percentages", name, v)
		}
	}
	if doc.Body == nil || len(doc.Body.Divs) != 1 || doc.Body.Divs[0].Region != rid {
		t.Fatalf("body %+v: want one div in region %q", doc.Body, rid)
	}
	ps := doc.Body.Divs[0].Ps
	wantTimes := [][2]string{{"00:00:01.014", "00:00:03.500"}, {"00:00:04.000", "00:00:06.250"}, {"100:00:01.500", "100:00:03.000"}}
	ids := map[string]bool{}
	if len(ps) != len(cues) {
		t.Fatalf("%d paragraphs, want %d", len(ps), len(cues))
	}
	for i, p := range ps {
		if p.ID == "" || ids[p.ID] || p.Style != "paragraph" {
			t.Errorf("p %d: id %q, style %q", i, p.ID, p.Style)
		}
		ids[p.ID] = true
		if !mediaTimeRE.MatchString(p.Begin) || !mediaTimeRE.MatchString(p.End) || p.Begin != wantTimes[i][0] || p.End != wantTimes[i][1] {
			t.Errorf("p %d: %s..%s, want %s..%s", i, p.Begin, p.End, wantTimes[i][0], wantTimes[i][1])
		}
		if got := pText(t, p); got != cues[i].Text {
			t.Errorf("p %d: text %q, want %q", i, got, cues[i].Text)
		}
	}

	// No cues: a valid document without a body.
	empty := parseEBUTTD(t, write(t, "ebu-tt-d", nil, Options{}))
	if empty.Body != nil {
		t.Errorf("empty export has a body")
	}
	if v, _ := attr(empty.Attrs, nsXML, "lang"); v != "und" {
		t.Errorf("empty export xml:lang = %q", v)
	}
}

func TestFormatOf(t *testing.T) {
	for file, want := range map[string][2]string{
		"fr.srt":          {"fr", "srt"},
		"pt-BR.VTT":       {"pt-BR", "vtt"},
		"en.ebu-tt-d.xml": {"en", "ebu-tt-d"},
		"en.EBU-TT-D.XML": {"en", "ebu-tt-d"},
		"de.ttml":         {"de", "ttml"},
		"x.stl":           {"x", "stl"},
	} {
		if stem, f, ok := FormatOf(file); !ok || stem != want[0] || f != want[1] {
			t.Errorf("FormatOf(%q) = %q, %q, %v", file, stem, f, ok)
		}
	}
	for _, file := range []string{"en.xml", "en", ".srt", "en.ebu-tt-d", "en.doc"} {
		if _, _, ok := FormatOf(file); ok {
			t.Errorf("FormatOf(%q) took it", file)
		}
	}
	for _, f := range Formats {
		if _, ok := ContentType(f); !ok {
			t.Errorf("%s has no content type", f)
		}
		if _, got, ok := FormatOf("a." + Extension(f)); !ok || got != f {
			t.Errorf("a.%s is not %s", Extension(f), f)
		}
	}
}

// FuzzEBUTTD writes arbitrary text: the document always parses, and each
// cue's text reads back as the export cleaned it.
func FuzzEBUTTD(f *testing.F) {
	f.Add("Bonjour\nà tous", "fr", "Titre")
	f.Add("<tt:br/>&amp;]]>", "", "\x00")
	f.Add("\xff\xfe bad", "en-GB", "a\"b'c")
	f.Fuzz(func(t *testing.T, text, lang, title string) {
		if len(text) > 2000 {
			return
		}
		var b bytes.Buffer
		cues := []captions.Cue{{Lang: "en", Start: 48000, End: 96000, Text: text, Final: true}}
		if err := Write(&b, "ebu-tt-d", cues, Options{Lang: cleanAttr(lang), Title: cleanAttr(title)}); err != nil {
			t.Fatal(err)
		}
		doc := parseEBUTTD(t, b.Bytes())
		lines := cleanLines(text)
		if len(lines) == 0 {
			if doc.Body != nil {
				t.Fatalf("a cue without text was written")
			}
			return
		}
		p := doc.Body.Divs[0].Ps[0]
		if got := pText(t, p); got != strings.Join(lines, "\n") {
			t.Fatalf("text %q read back as %q", strings.Join(lines, "\n"), got)
		}
		if p.Begin != "00:00:01.000" || p.End != "00:00:02.000" {
			t.Fatalf("times %s..%s", p.Begin, p.End)
		}
	})
}

// cleanAttr stands for what callers pass as titles and languages: text.
func cleanAttr(s string) string { return strings.Join(cleanLines(s), " ") }
