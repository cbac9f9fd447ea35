package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"tolk/internal/media"
)

func cue(lang string, startS, endS float64, text string) media.Cue {
	return media.Cue{Lang: lang, Start: int64(startS * 48000), End: int64(endS * 48000), Text: text, Final: true}
}

func TestCuesSurviveRestart(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openT(t, dir)
	want := []media.Cue{
		cue("en", 1, 3, "Good morning,\neveryone."),
		cue("en", 3.5, 6, "Welcome to tolk."),
		cue("fr", 1.2, 3.4, "Bonjour à tous."),
	}
	// Out of order, and the first one twice: a retried write.
	for _, c := range []media.Cue{want[1], want[0], want[2], want[0]} {
		if err := s.SaveCue(ctx, "demo", c); err != nil {
			t.Fatal(err)
		}
	}
	// A partial line is not kept.
	if err := s.SaveCue(ctx, "demo", media.Cue{Lang: "en", Start: 480000, End: 490000, Text: "live"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openT(t, dir)
	en, err := s.Cues(ctx, "demo", "EN", 0, All)
	if err != nil {
		t.Fatal(err)
	}
	if len(en) != 2 || en[0] != want[0] || en[1] != want[1] {
		t.Fatalf("en cues after reopening = %+v, want %+v", en, want[:2])
	}
	fr, err := s.Cues(ctx, "demo", "fr", 0, All)
	if err != nil || len(fr) != 1 || fr[0] != want[2] {
		t.Fatalf("fr cues = %+v, %v", fr, err)
	}
	langs, err := s.Languages(ctx, "demo")
	if err != nil || fmt.Sprint(langs) != "[en fr]" {
		t.Fatalf("Languages = %v, %v; want [en fr]", langs, err)
	}
	if langs, err := s.Languages(ctx, "other"); err != nil || len(langs) != 0 {
		t.Fatalf("Languages(other) = %v, %v", langs, err)
	}
	if none, err := s.Cues(ctx, "demo", "de", 0, All); err != nil || len(none) != 0 {
		t.Fatalf("Cues(de) = %v, %v", none, err)
	}
}

func TestCuesRangeAndUpdate(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	for i := 0; i < 10; i++ {
		if err := s.SaveCue(ctx, "ev", cue("de", float64(2*i), float64(2*i)+1.5, fmt.Sprint("Satz ", i))); err != nil {
			t.Fatal(err)
		}
	}
	// [5 s, 9 s) overlaps the cues at 4-5.5, 6-7.5 and 8-9.5.
	got, err := s.Cues(ctx, "ev", "de", 5*48000, 9*48000)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Start != 4*48000 || got[2].Start != 8*48000 {
		t.Fatalf("Cues(5 s, 9 s) = %+v", got)
	}
	// Same start: replaced, not duplicated.
	if err := s.SaveCue(ctx, "ev", cue("de", 4, 5, "Korrigiert")); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Cues(ctx, "ev", "de", 0, All)
	if len(all) != 10 || all[2].Text != "Korrigiert" || all[2].End != 5*48000 {
		t.Fatalf("after the update: %d cues, third %+v", len(all), all[2])
	}
}

func TestSaveCueInvalid(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	for _, c := range []struct {
		event string
		cue   media.Cue
	}{
		{"Bad Event", cue("en", 1, 2, "x")},
		{"demo", cue("", 1, 2, "x")},
		{"demo", cue("not a tag!", 1, 2, "x")},
		{"demo", cue("en", 2, 1, "backwards")},
		{"demo", cue("en", -1, 1, "negative")},
	} {
		if err := s.SaveCue(ctx, c.event, c.cue); !errors.Is(err, ErrInvalid) {
			t.Errorf("SaveCue(%q, %+v) = %v, want ErrInvalid", c.event, c.cue, err)
		}
	}
	if _, err := s.Cues(ctx, "demo", "", 0, All); !errors.Is(err, ErrInvalid) {
		t.Errorf("Cues without a language = %v", err)
	}
}

// TestSaveCueConcurrent is several recognizers writing at once.
func TestSaveCueConcurrent(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, lang := range []string{"en", "fr", "de", "es"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				if err := s.SaveCue(ctx, "demo", cue(lang, float64(i), float64(i)+0.9, "x")); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, lang := range []string{"en", "fr", "de", "es"} {
		if cs, _ := s.Cues(ctx, "demo", lang, 0, All); len(cs) != 100 {
			t.Errorf("%s: %d cues, want 100", lang, len(cs))
		}
	}
}

func BenchmarkSaveCue(b *testing.B) {
	ctx := ctxT(b)
	s := openT(b, b.TempDir())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.SaveCue(ctx, "demo", media.Cue{Lang: "en", Start: int64(i) * 96000, End: int64(i)*96000 + 90000, Text: "Good morning,\neveryone.", Final: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCueConfidence keeps the recognizer's confidence with its cue, updates
// it with a re-sent cue and keeps it, as how the recognizer heard it, once an
// editor changed the cue.
func TestCueConfidence(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	c := cue("en", 1, 3, "Good morning,\neveryone.")
	c.Confidence = &media.Confidence{Mean: 0.6, Min: 0.3, Words: []float32{0.9, 0.6, 0.3}}
	if err := s.SaveCue(ctx, "demo", c); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCue(ctx, "demo", cue("en", 4, 5, "No confidence.")); err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.EditorCues(ctx, "demo", "en", CueQuery{})
	if err != nil || len(cs) != 2 {
		t.Fatalf("%+v %v", cs, err)
	}
	if got := cs[0].Confidence; got == nil || got.Mean != 0.6 || got.Min != 0.3 || fmt.Sprint(got.Words) != "[0.9 0.6 0.3]" {
		t.Fatalf("confidence %+v", got)
	}
	if cs[1].Confidence != nil {
		t.Fatalf("a cue without confidence has %+v", cs[1].Confidence)
	}
	// The recognizer settles the cue again, surer.
	c.Text = "Good morning,\neveryone!"
	c.Confidence = &media.Confidence{Mean: 0.9, Min: 0.8, Words: []float32{0.9, 1, 0.8}}
	if err := s.SaveCue(ctx, "demo", c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cue(ctx, "demo", "en", cs[0].ID)
	if err != nil || got.Confidence == nil || got.Confidence.Min != 0.8 || got.Edited {
		t.Fatalf("after a re-sent cue: %+v %v", got, err)
	}
	text := "Good morning, everyone."
	ed, err := s.EditCue(ctx, "demo", "en", got.ID, got.Version, CuePatch{Text: &text}, Author{Token: "t1", Name: "Eve", Role: RoleEditor})
	if err != nil || !ed.Edited || ed.Confidence == nil || ed.Confidence.Min != 0.8 {
		t.Fatalf("after an edit: %+v %v", ed, err)
	}
}

// TestCueMachineTranslated keeps whether a cue's text is a machine
// translation of the floor's (a fallback language mixes both), through a
// re-sent cue that is recognized speech after all.
func TestCueMachineTranslated(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	mt := cue("fr", 1, 3, "Bonjour à tous.")
	mt.MachineTranslated = true
	if err := s.SaveCue(ctx, "demo", mt); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveCue(ctx, "demo", cue("fr", 4, 5, "Merci.")); err != nil {
		t.Fatal(err)
	}
	cs, _, err := s.EditorCues(ctx, "demo", "fr", CueQuery{})
	if err != nil || len(cs) != 2 || !cs[0].MachineTranslated || cs[1].MachineTranslated {
		t.Fatalf("%+v %v", cs, err)
	}
	re := cue("fr", 1, 3, "Bonjour tout le monde.")
	if err := s.SaveCue(ctx, "demo", re); err != nil {
		t.Fatal(err)
	}
	got, err := s.Cue(ctx, "demo", "fr", cs[0].ID)
	if err != nil || got.MachineTranslated || got.Text != "Bonjour tout le monde." {
		t.Fatalf("after a recognized cue in its place: %+v %v", got, err)
	}
}
