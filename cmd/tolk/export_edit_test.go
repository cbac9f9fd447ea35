package main

import (
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"go.uber.org/goleak"

	"tolk/internal/store"
)

// TestExportEdited exports after an editor's changes: SRT and EBU-TT-D
// carry the edited text and times, and a deleted cue is gone.
func TestExportEdited(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := cueStore(t)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, _, err := s.EditorCues(ctx, "demo", "en", store.CueQuery{})
	if err != nil || len(cs) != 10 {
		t.Fatalf("cues %d, %v", len(cs), err)
	}
	ed := store.Author{Token: "0000000e", Name: "Ed", Role: store.RoleEditor}
	text, end := "Sentence B, as edited", cs[1].End+48000
	if _, err := s.EditCue(ctx, "demo", "en", cs[1].ID, cs[1].Version, store.CuePatch{Text: &text, End: &end}, ed); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCue(ctx, "demo", "en", cs[2].ID, cs[2].Version, ed); err != nil {
		t.Fatal(err)
	}
	s.Close()

	out := t.TempDir()
	srt := filepath.Join(out, "en.srt")
	if code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--out", srt); code != 0 {
		t.Fatalf("srt: exit %d: %s", code, errs)
	}
	sub, err := astisub.OpenFile(srt)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Items) != 9 || sub.Items[1].String() != text || sub.Items[1].EndAt != 33*time.Second || sub.Items[2].String() != "Sentence D" {
		t.Fatalf("edited srt: %d cues: %v", len(sub.Items), sub.Items)
	}

	// EBU-TT-D, the format named by the file's ending.
	ebu := filepath.Join(out, "en.ebu-tt-d.xml")
	if code, _, errs := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--out", ebu); code != 0 {
		t.Fatalf("ebu-tt-d: exit %d: %s", code, errs)
	}
	b, _ := os.ReadFile(ebu)
	var doc struct {
		XMLName xml.Name `xml:"http://www.w3.org/ns/ttml tt"`
		Ps      []struct {
			Begin string `xml:"begin,attr"`
			End   string `xml:"end,attr"`
			Span  string `xml:"http://www.w3.org/ns/ttml span"`
		} `xml:"http://www.w3.org/ns/ttml body>div>p"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	if len(doc.Ps) != 9 || doc.Ps[1].Span != text || doc.Ps[1].Begin != "00:00:30.000" || doc.Ps[1].End != "00:00:33.000" {
		t.Fatalf("ebu-tt-d: %+v", doc.Ps)
	}
	if code, stdout, _ := runT("export", "--data", dir, "--event", "demo", "--lang", "en", "--format", "ebu-tt-d"); code != 0 || !strings.Contains(stdout, "urn:ebu:tt:metadata") {
		t.Fatalf("ebu-tt-d on stdout: exit %d", code)
	}
}
