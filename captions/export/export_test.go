package export

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"go.uber.org/goleak"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func at(s float64) int64 { return int64(s * 48000) }

// sample is a short English talk with what captions carry: two lines,
// punctuation, accents, markup-like text and times off any frame grid.
var sample = []captions.Cue{
	{Lang: "en", Start: at(1.013), End: at(3.507), Text: "Good morning, everyone,\nand welcome to Zürich.", Final: true},
	{Lang: "en", Start: at(3.9), End: at(6.25), Text: "Our first speaker is Renée Ødegård.", Final: true},
	{Lang: "en", Start: at(6.3), End: at(7.0), Text: "partial line", Final: false},
	{Lang: "en", Start: at(7.333), End: at(11.021), Text: "Fish & chips < 5 pounds -> a bargain.", Final: true},
	{Lang: "en", Start: at(61.5), End: at(64.0), Text: "One minute in.", Final: true},
	{Lang: "en", Start: at(3725.04), End: at(3727.96), Text: "Past the hour.", Final: true},
}

// finals is what a file of sample should hold.
func finals(cs []captions.Cue) []captions.Cue {
	var out []captions.Cue
	for _, c := range cs {
		if c.Final {
			out = append(out, c)
		}
	}
	return out
}

func read(t testing.TB, format string, b []byte) *astisub.Subtitles {
	t.Helper()
	var s *astisub.Subtitles
	var err error
	switch format {
	case "srt":
		s, err = astisub.ReadFromSRT(bytes.NewReader(b))
	case "vtt":
		s, err = astisub.ReadFromWebVTT(bytes.NewReader(b))
	case "ttml", "ebu-tt-d":
		s, err = astisub.ReadFromTTML(bytes.NewReader(b))
	case "stl":
		s, err = astisub.ReadFromSTL(bytes.NewReader(b), astisub.STLOptions{})
	}
	if err != nil {
		t.Fatalf("read back %s: %v\n%q", format, err, b)
	}
	return s
}

// text joins an item's lines with "\n".
func text(it *astisub.Item) string {
	var lines []string
	for _, l := range it.Lines {
		var parts []string
		for _, li := range l.Items {
			parts = append(parts, strings.TrimSpace(li.Text))
		}
		lines = append(lines, strings.Join(parts, " "))
	}
	return strings.Join(lines, "\n")
}

// precision is how far a format's times may be from the cue's: a
// millisecond for text formats, a frame (40 ms) at 25 fps for STL, half of
// it with rounding to the nearest.
func precision(format string) time.Duration {
	if format == "stl" {
		return 20 * time.Millisecond
	}
	return time.Millisecond / 2
}

func near(a, b, tol time.Duration) bool { return (a - b).Abs() <= tol }

func write(t testing.TB, format string, cues []captions.Cue, opts Options) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, format, cues, opts); err != nil {
		t.Fatalf("Write %s: %v", format, err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	want := finals(sample)
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			b := write(t, format, sample, Options{Title: "Partner day 2026", Lang: "en"})
			s := read(t, format, b)
			if len(s.Items) != len(want) {
				t.Fatalf("%d cues read back, want %d", len(s.Items), len(want))
			}
			tol := precision(format)
			for i, it := range s.Items {
				c := want[i]
				if !near(it.StartAt, audio.Duration(c.Start), tol) || !near(it.EndAt, audio.Duration(c.End), tol) {
					t.Errorf("cue %d: %v..%v, want %v..%v within %v", i, it.StartAt, it.EndAt, audio.Duration(c.Start), audio.Duration(c.End), tol)
				}
				if got := text(it); got != c.Text {
					t.Errorf("cue %d: text %q, want %q", i, got, c.Text)
				}
			}
			switch format {
			case "stl":
				if s.Metadata.Framerate != 25 || s.Metadata.Language != astisub.LanguageEnglish || s.Metadata.Title != "Partner day 2026" {
					t.Errorf("STL metadata %+v: want 25 fps, English, the title", s.Metadata)
				}
				if s.Metadata.STLCountryOfOrigin != "USA" {
					t.Errorf("STL country %q", s.Metadata.STLCountryOfOrigin)
				}
				if len(b) != 1024+128*len(want) {
					t.Errorf("STL file of %d bytes, want a GSI block and %d TTI blocks", len(b), len(want))
				}
			case "ttml":
				if !bytes.Contains(b, []byte(`xml:lang="en"`)) || !bytes.Contains(b, []byte("Partner day 2026")) {
					t.Errorf("TTML lacks the language or title:\n%s", b)
				}
			}
		})
	}
}

// TestSTLLanguages checks the GSI language code for languages astisub does
// not name itself.
func TestSTLLanguages(t *testing.T) {
	for lang, code := range map[string]string{"de": "08", "fr": "0F", "pt-BR": "21", "es": "0A", "ja": "00", "": "00"} {
		b := write(t, "stl", sample[:1], Options{Lang: lang})
		if got := string(b[14:16]); got != code {
			t.Errorf("%q: language code %q, want %q", lang, got, code)
		}
		read(t, "stl", b)
	}
	b := write(t, "stl", sample[:1], Options{Lang: "de-AT"})
	if s := read(t, "stl", b); s.Metadata.STLCountryOfOrigin != "AUT" {
		t.Errorf("de-AT: country %q", s.Metadata.STLCountryOfOrigin)
	}
}

// TestSTLText: characters outside the Latin table become '?', and a cue too
// long for one TTI block is split over several, sharing its time.
func TestSTLText(t *testing.T) {
	long := strings.Repeat("wörd ", 30) // 150 characters on one line
	cues := []captions.Cue{
		{Lang: "en", Start: at(1), End: at(2), Text: "Привет $5 ệ", Final: true},
		{Lang: "en", Start: at(10), End: at(16), Text: strings.TrimSpace(long), Final: true},
	}
	s := read(t, "stl", write(t, "stl", cues, Options{Lang: "en"}))
	if len(s.Items) < 3 {
		t.Fatalf("%d items, want the long cue split", len(s.Items))
	}
	if got := text(s.Items[0]); got != "?????? USD5 ê" {
		t.Errorf("first cue %q", got)
	}
	var joined []string
	for i, it := range s.Items[1:] {
		joined = append(joined, text(it))
		if i > 0 && it.StartAt != s.Items[i].EndAt {
			t.Errorf("piece %d starts at %v, the previous ends at %v", i+1, it.StartAt, s.Items[i].EndAt)
		}
	}
	if got := strings.Join(joined, " "); got != strings.TrimSpace(long) {
		t.Errorf("long cue read back as %q", got)
	}
	if s.Items[1].StartAt != 10*time.Second || s.Items[len(s.Items)-1].EndAt != 16*time.Second {
		t.Errorf("pieces span %v..%v, want 10s..16s", s.Items[1].StartAt, s.Items[len(s.Items)-1].EndAt)
	}
}

func TestEmpty(t *testing.T) {
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			b := write(t, format, nil, Options{Lang: "fr", Title: "Vide"})
			if s := read(t, format, b); len(s.Items) != 0 {
				t.Errorf("%d cues in an empty export", len(s.Items))
			}
			if format == "stl" && (len(b) != 1024 || string(b[238:248]) != "0000000000") {
				t.Errorf("empty STL: %d bytes, counts %q", len(b), b[238:248])
			}
		})
	}
}

func TestOffsetAndCut(t *testing.T) {
	cues := finals(sample)
	// 2 s later.
	s := read(t, "srt", write(t, "srt", cues, Options{Offset: 2 * time.Second}))
	if len(s.Items) != len(cues) || s.Items[0].StartAt != 3013*time.Millisecond || s.Items[0].EndAt != 5507*time.Millisecond {
		t.Fatalf("offset 2s: first cue %v..%v", s.Items[0].StartAt, s.Items[0].EndAt)
	}
	// 2 s earlier: the first cue is clipped at 0.
	s = read(t, "vtt", write(t, "vtt", cues, Options{Offset: -2 * time.Second}))
	if s.Items[0].StartAt != 0 || s.Items[0].EndAt != 1507*time.Millisecond || s.Items[1].StartAt != 1900*time.Millisecond {
		t.Fatalf("offset -2s: %v..%v, then %v", s.Items[0].StartAt, s.Items[0].EndAt, s.Items[1].StartAt)
	}
	// 5 s .. 62 s: the second cue (3.9-6.25) and the one at 61.5-64 are
	// clipped at the edges; times count from 5 s.
	s = read(t, "srt", write(t, "srt", cues, Options{From: 5 * time.Second, To: 62 * time.Second}))
	want := []struct{ start, end time.Duration }{{0, 1250 * time.Millisecond}, {2333 * time.Millisecond, 6021 * time.Millisecond}, {56500 * time.Millisecond, 57 * time.Second}}
	if len(s.Items) != len(want) {
		t.Fatalf("cut 5s..62s: %d cues, want %d", len(s.Items), len(want))
	}
	for i, w := range want {
		if s.Items[i].StartAt != w.start || s.Items[i].EndAt != w.end {
			t.Errorf("cut cue %d: %v..%v, want %v..%v", i, s.Items[i].StartAt, s.Items[i].EndAt, w.start, w.end)
		}
	}
	// Cut and offset together: the offset applies after the cut.
	s = read(t, "ttml", write(t, "ttml", cues, Options{From: time.Minute, Offset: 10 * time.Second}))
	if len(s.Items) != 2 || s.Items[0].StartAt != 11500*time.Millisecond || s.Items[1].StartAt != (3725040-60000+10000)*time.Millisecond {
		t.Fatalf("from 1m, offset 10s: %+v", s.Items)
	}
	var b bytes.Buffer
	for _, o := range []Options{{From: -time.Second}, {From: 5 * time.Second, To: 5 * time.Second}} {
		if err := Write(&b, "srt", cues, o); err == nil {
			t.Errorf("Write with %+v succeeded", o)
		}
	}
	if err := Write(&b, "ass", cues, Options{}); !errors.Is(err, ErrFormat) {
		t.Errorf("Write(ass) = %v, want ErrFormat", err)
	}
}

// TestFFmpegReads: ffmpeg demuxes the SRT and WebVTT and finds every cue.
func TestFFmpegReads(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	ffprobe := audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	want := len(finals(sample))
	for _, format := range []string{"srt", "vtt"} {
		p := filepath.Join(dir, "en."+format)
		if err := os.WriteFile(p, write(t, format, sample, Options{Lang: "en"}), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-v", "error", "-xerror", "-i", p, "-map", "0", "-c", "copy", "-f", "null", "-").CombinedOutput(); err != nil {
			t.Fatalf("ffmpeg -i %s: %v\n%s", p, err, out)
		}
		out, err := exec.CommandContext(ctx, ffprobe, "-v", "error", "-count_packets", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", p).Output()
		if err != nil {
			t.Fatalf("ffprobe %s: %v", p, err)
		}
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err != nil || n != want {
			t.Errorf("%s: ffprobe counts %q cues, want %d", format, out, want)
		}
	}
}

// TestSTLBeyondADay: EBU STL time codes stop at 24 h. Cues beyond are
// refused with a message naming the cut, and the cut exports them.
func TestSTLBeyondADay(t *testing.T) {
	sec := int64(audio.SampleRate)
	day := 24 * 3600 * sec
	cues := []captions.Cue{
		{Lang: "en", Start: 10 * sec, End: 12 * sec, Text: "first run", Final: true},
		{Lang: "en", Start: day + 30*sec, End: day + 32*sec, Text: "next day", Final: true},
	}
	var b bytes.Buffer
	err := Write(&b, "stl", cues, Options{Lang: "en"})
	if !errors.Is(err, ErrRange) || !strings.Contains(err.Error(), "from") || b.Len() != 0 {
		t.Fatalf("Write = %v, %d bytes; want ErrRange naming from, nothing written", err, b.Len())
	}
	if err := Write(&b, "srt", cues, Options{}); err != nil {
		t.Fatalf("srt has no such limit: %v", err)
	}
	b.Reset()
	if err := Write(&b, "stl", cues, Options{Lang: "en", From: 24 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	s := read(t, "stl", b.Bytes())
	if len(s.Items) != 1 || s.Items[0].StartAt != 30*time.Second || s.Items[0].String() != "next day" {
		t.Fatalf("cut at 24 h: %d items %+v", len(s.Items), s.Items)
	}
}

func FuzzWrite(f *testing.F) {
	f.Add("Hello,\nworld", int64(48000), int64(96000), int64(0))
	f.Add("\u0301é<b>x</b> --> \n\n\r\n-->", int64(0), int64(1), int64(-48000))
	f.Add(strings.Repeat("ö ", 200), int64(1e12), int64(1e12+1), int64(1e9))
	f.Add("1\n00:00:01,000 --> 00:00:02,000\nWEBVTT", int64(5), int64(4), int64(7))
	f.Fuzz(func(t *testing.T, txt string, start, end, offset int64) {
		c := []captions.Cue{
			{Lang: "en", Start: start, End: end, Text: txt, Final: true},
			{Lang: "en", Start: 48000, End: 96000, Text: txt + " x", Final: true},
		}
		if start < 0 || start > 1<<40 || end > 1<<40 {
			return // program time is never negative or millennia long
		}
		opts := Options{Offset: time.Duration(offset), Lang: "en"}
		for _, format := range Formats {
			var b bytes.Buffer
			err := Write(&b, format, c, opts)
			if format == "stl" && errors.Is(err, ErrRange) {
				beyond := false
				for _, it := range prepare(c, opts, time.Second/stlFrameRate) {
					beyond = beyond || it.end >= stlMaxTime
				}
				if !beyond {
					t.Fatalf("stl refused cues within 24 h: %v", err)
				}
				continue
			}
			if err != nil {
				t.Fatalf("Write %s: %v", format, err)
			}
			s := read(t, format, b.Bytes())
			if len(s.Items) == 0 && len(prepare(c, opts, time.Millisecond)) > 0 {
				t.Fatalf("%s: no cue read back from %q", format, b.Bytes())
			}
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	var cues []captions.Cue
	for i := 0; i < 1000; i++ {
		cues = append(cues, captions.Cue{Lang: "en", Start: int64(i) * 150000, End: int64(i)*150000 + 140000, Text: "Good morning, everyone,\nand welcome to Zürich.", Final: true})
	}
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			var buf bytes.Buffer
			for i := 0; i < b.N; i++ {
				buf.Reset()
				if err := Write(&buf, format, cues, Options{Lang: "en"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
