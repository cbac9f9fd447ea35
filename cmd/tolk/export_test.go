package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"go.uber.org/goleak"

	"tolk/captions"
	"tolk/internal/store"
)

// cueStore makes a data directory with English and French cues of "demo".
func cueStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := 0; i < 10; i++ {
		// One cue every 30 s, 2 s long.
		start := int64(i) * 30 * 48000
		for _, c := range []captions.Cue{
			{Lang: "en", Start: start, End: start + 2*48000, Text: "Sentence " + string(rune('A'+i)), Final: true},
			{Lang: "fr", Start: start, End: start + 2*48000, Text: "Phrase " + string(rune('A'+i)), Final: true},
		} {
			if err := s.SaveCue(ctx, "demo", c); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestExport(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := cueStore(t)
	out := filepath.Join(t.TempDir(), "en.srt")

	code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--format", "srt", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	s, err := astisub.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Items) != 10 || s.Items[1].StartAt != 30*time.Second || s.Items[1].String() != "Sentence B" {
		t.Fatalf("en.srt: %d cues, second %v %q", len(s.Items), s.Items[1].StartAt, s.Items[1].String())
	}

	// Offset and cut, WebVTT on stdout: 1m..2m holds the cues at 60 and 90 s.
	code, stdout, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "FR", "--format", "vtt", "--out", "-",
		"--offset", "2s", "--from", "1m", "--to", "2m")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	v, err := astisub.ReadFromWebVTT(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("stdout is not WebVTT: %v\n%s", err, stdout)
	}
	if len(v.Items) != 2 || v.Items[0].StartAt != 2*time.Second || v.Items[1].StartAt != 32*time.Second || v.Items[0].String() != "Phrase C" {
		t.Fatalf("cut export: %d cues: %v", len(v.Items), v.Items)
	}

	// The format from the file name; STL is binary.
	stl := filepath.Join(t.TempDir(), "fr.stl")
	if code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "fr", "--out", stl); code != 0 {
		t.Fatalf("stl: exit %d: %s", code, errs)
	}
	b, _ := os.ReadFile(stl)
	if st, err := astisub.ReadFromSTL(bytes.NewReader(b), astisub.STLOptions{}); err != nil || len(st.Items) != 10 || string(b[14:16]) != "0F" {
		t.Fatalf("fr.stl: %v, language code %q", err, b[14:16])
	}
}

func TestExportErrors(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := cueStore(t)
	base := []string{"export", "--data", dir, "--event", "demo"}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--lang", "en", "--format", "ass"}, "--format"},
		{[]string{"--lang", "en", "--out", "x.txt"}, "--format"},
		{[]string{"--lang", "en"}, "--format is required"},
		{[]string{"--lang", "de", "--format", "srt"}, "en, fr"},
		{[]string{"--format", "srt"}, "--lang"},
		{[]string{"--lang", "en", "--format", "srt", "--offset", "soon"}, "--offset"},
		{[]string{"--lang", "en", "--format", "srt", "--from", "5m", "--to", "1m"}, "--from"},
		{[]string{"--lang", "en", "--format", "srt", "--bogus"}, "unknown flag"},
	}
	for _, c := range cases {
		args := append(append([]string{}, base...), c.args...)
		code, stdout, errs := runT(args...)
		if code != 2 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errs, c.want)
		}
		if stdout != "" {
			t.Errorf("%v: wrote %q to stdout", c.args, stdout)
		}
	}
	if code, _, errs := runT("export", "--data", dir, "--event", "other", "--lang", "en", "--format", "srt"); code != 2 || !strings.Contains(errs, "no captions") {
		t.Errorf("unknown event: exit %d, %q", code, errs)
	}
	if code, _, errs := runT("export", "--data", filepath.Join(dir, "missing"), "--event", "demo", "--lang", "en", "--format", "srt"); code != 2 || !strings.Contains(errs, "does not exist") {
		t.Errorf("missing data directory: exit %d, %q", code, errs)
	}
	// A failed export leaves no file.
	out := filepath.Join(t.TempDir(), "de.srt")
	runT(append(append([]string{}, base...), "--lang", "de", "--out", out)...)
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("failed export left %s: %v", out, err)
	}
}

// TestExportSTLBeyondADay: a recording continued the next day has cues past
// 24 h, where EBU STL time codes end: the export says so with exit code 2
// and writes nothing, and --from cuts the next day out.
func TestExportSTLBeyondADay(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := cueStore(t)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	day := int64(24 * 3600 * 48000)
	err = s.SaveCue(context.Background(), "demo", captions.Cue{Lang: "en", Start: day + 60*48000, End: day + 62*48000, Text: "Next day", Final: true})
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "en.stl")
	code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--out", out)
	if code != 2 || !strings.Contains(errs, "23:59:59:24") || !strings.Contains(errs, "from") {
		t.Errorf("stl past 24 h: exit %d, %q; want 2 and the limit with the way out", code, errs)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("refused export left %s: %v", out, err)
	}
	if code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--from", "24h", "--out", out); code != 0 {
		t.Fatalf("stl from 24 h: exit %d: %s", code, errs)
	}
	if code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--format", "srt", "--out", "-"); code != 0 {
		t.Errorf("srt past 24 h: exit %d: %s", code, errs)
	}
}
