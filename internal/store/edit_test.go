package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/internal/media"
)

var (
	anne = Author{Token: "a1a1a1a1", Name: "Anne", Role: RoleEditor}
	ben  = Author{Token: "b2b2b2b2", Name: "Ben", Role: RoleProducer}
)

const sec = 48000

// editStore is a store with a fixed clock and three recognizer cues in en:
// 1–3 s, 4–6 s, 7–9 s.
func editStore(t *testing.T) (*Store, []EditedCue) {
	t.Helper()
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	clock := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }
	for i, text := range []string{"Good morning everyone.", "Welcome to the conference.", "Let us begin."} {
		if err := s.SaveCue(ctx, "demo", cue("en", float64(3*i+1), float64(3*i+3), text)); err != nil {
			t.Fatal(err)
		}
	}
	cs, _, err := s.EditorCues(ctx, "demo", "en", CueQuery{})
	if err != nil || len(cs) != 3 {
		t.Fatalf("EditorCues = %v, %v", cs, err)
	}
	return s, cs
}

func ptr[T any](v T) *T { return &v }

func TestEditVersionsAndOriginal(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	c := cs[1]
	if c.Version != 1 || c.Edited || c.By != Recognizer || c.Original == nil || c.Original.Text != c.Text {
		t.Fatalf("recognizer cue = %+v", c)
	}
	e, err := s.EditCue(ctx, "demo", "en", c.ID, 1, CuePatch{Text: ptr("  Welcome to\r\nthe  conference!\t\n\n")}, anne)
	if err != nil {
		t.Fatal(err)
	}
	if e.ID != c.ID || e.Version != 2 || e.Text != "Welcome to\nthe  conference!" || e.By != anne || !e.Edited || e.Seq <= c.Seq {
		t.Fatalf("edited = %+v", e)
	}
	if e.Original == nil || e.Original.Text != "Welcome to the conference." || e.Original.Start != 4*sec {
		t.Fatalf("original lost: %+v", e.Original)
	}
	e, err = s.EditCue(ctx, "demo", "en", c.ID, 2, CuePatch{Start: ptr(int64(3.5 * sec)), Reviewed: ptr(true)}, ben)
	if err != nil || e.Version != 3 || e.Start != 3.5*sec || !e.Reviewed || e.By != ben {
		t.Fatalf("second edit = %+v, %v", e, err)
	}
	// A patch that changes nothing makes no version.
	if same, err := s.EditCue(ctx, "demo", "en", c.ID, 3, CuePatch{Reviewed: ptr(true)}, anne); err != nil || same.Version != 3 {
		t.Fatalf("empty change = %+v, %v", same, err)
	}
	vs, err := s.CueVersions(ctx, "demo", "en", c.ID)
	if err != nil || len(vs) != 3 {
		t.Fatalf("versions = %+v, %v", vs, err)
	}
	if vs[0].Kind != OpRecognizer || vs[0].Text != "Welcome to the conference." || vs[1].By != anne || vs[2].By != ben ||
		!vs[1].At.Before(vs[2].At) || vs[2].Start != 3.5*sec {
		t.Errorf("versions = %+v", vs)
	}
	// Exports read the edited cue.
	all, err := s.Cues(ctx, "demo", "en", 0, All)
	if err != nil || len(all) != 3 || all[1].Text != "Welcome to\nthe  conference!" || all[1].Start != 3.5*sec {
		t.Fatalf("Cues = %+v, %v", all, err)
	}
	// Restore the recognizer's original: text and times, reviewed stays.
	r, err := s.RestoreCue(ctx, "demo", "en", c.ID, 3, 0, anne)
	if err != nil || r.Text != "Welcome to the conference." || r.Start != 4*sec || r.Version != 4 || !r.Reviewed {
		t.Fatalf("restore = %+v, %v", r, err)
	}
	r, err = s.RestoreCue(ctx, "demo", "en", c.ID, 4, 2, anne)
	if err != nil || r.Text != "Welcome to\nthe  conference!" || r.Start != 4*sec || r.Version != 5 {
		t.Fatalf("restore version 2 = %+v, %v", r, err)
	}
}

func TestEditStale(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	id := cs[0].ID
	// Two editors read version 1; the first change wins, the second is
	// refused with the cue as it is now.
	if _, err := s.EditCue(ctx, "demo", "en", id, 1, CuePatch{Text: ptr("Anne's text")}, anne); err != nil {
		t.Fatal(err)
	}
	_, err := s.EditCue(ctx, "demo", "en", id, 1, CuePatch{Text: ptr("Ben's text")}, ben)
	var se *StaleError
	if !errors.As(err, &se) || !errors.Is(err, ErrStale) || len(se.Current) != 1 || se.Current[0].Text != "Anne's text" || se.Current[0].Version != 2 {
		t.Fatalf("stale edit = %v (%+v)", err, se)
	}
	if c, _ := s.Cue(ctx, "demo", "en", id); c.Text != "Anne's text" {
		t.Fatalf("after the refused edit: %+v", c)
	}
	// The same against every kind of change.
	if _, err := s.SplitCue(ctx, "demo", "en", id, 1, 2*sec, nil, nil, ben); !errors.Is(err, ErrStale) {
		t.Errorf("stale split = %v", err)
	}
	if _, err := s.MergeCue(ctx, "demo", "en", id, 2, 7, nil, ben); !errors.Is(err, ErrStale) {
		t.Errorf("merge against a stale next version = %v", err)
	}
	if _, err := s.DeleteCue(ctx, "demo", "en", id, 1, ben); !errors.Is(err, ErrStale) {
		t.Errorf("stale delete = %v", err)
	}
	if _, err := s.UndoCue(ctx, "demo", "en", id, 1, ben); !errors.Is(err, ErrStale) {
		t.Errorf("stale undo = %v", err)
	}
	if _, err := s.EditCue(ctx, "demo", "en", 9999, 1, CuePatch{Text: ptr("x")}, ben); !errors.Is(err, ErrNoCue) {
		t.Errorf("unknown cue = %v", err)
	}
	if _, err := s.EditCue(ctx, "demo", "fr", id, 2, CuePatch{Text: ptr("x")}, ben); !errors.Is(err, ErrNoCue) {
		t.Errorf("cue of another language = %v", err)
	}
}

// TestEditConcurrent has many editors change one cue at once from the same
// version: exactly one wins, every other is told it is stale.
func TestEditConcurrent(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	id := cs[2].ID
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, stales := 0, 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.EditCue(ctx, "demo", "en", id, 1, CuePatch{Text: ptr(fmt.Sprint("editor ", i))}, anne)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrStale):
				stales++
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || stales != 7 {
		t.Fatalf("%d changes won, %d were stale; want 1 and 7", wins, stales)
	}
	if c, _ := s.Cue(ctx, "demo", "en", id); c.Version != 2 {
		t.Fatalf("cue at version %d after one change", c.Version)
	}
}

func TestEditBadInput(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	id := cs[1].ID // 4–6 s between 1–3 s and 7–9 s
	for _, c := range []struct {
		name string
		p    CuePatch
	}{
		{"negative", CuePatch{Start: ptr(int64(-1))}},
		{"end before start", CuePatch{Start: ptr(int64(5 * sec)), End: ptr(int64(4.5 * sec))}},
		{"empty", CuePatch{End: ptr(int64(4 * sec))}},
		{"overlaps the previous", CuePatch{Start: ptr(int64(2.5 * sec))}},
		{"overlaps the next", CuePatch{End: ptr(int64(7.01 * sec))}},
		{"over the next", CuePatch{Start: ptr(int64(10 * sec)), End: ptr(int64(6 * sec))}},
		{"too long", CuePatch{Text: ptr(strings.Repeat("ä", MaxCueText+1))}},
		{"nothing", CuePatch{}},
	} {
		_, err := s.EditCue(ctx, "demo", "en", id, 1, c.p, anne)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", c.name, err)
		}
	}
	var ov *OverlapError
	if _, err := s.EditCue(ctx, "demo", "en", id, 1, CuePatch{Start: ptr(int64(2.5 * sec))}, anne); !errors.As(err, &ov) || ov.With.ID != cs[0].ID {
		t.Errorf("overlap names %+v, want cue %d", ov, cs[0].ID)
	}
	// Touching the neighbours is fine; so is a cue moved into a free gap.
	if _, err := s.EditCue(ctx, "demo", "en", id, 1, CuePatch{Start: ptr(int64(3 * sec)), End: ptr(int64(7 * sec))}, anne); err != nil {
		t.Errorf("touching both neighbours: %v", err)
	}
	if c, _ := s.Cue(ctx, "demo", "en", id); c.Version != 2 {
		t.Fatalf("refused changes made versions: %+v", c)
	}
	if _, err := s.EditCue(ctx, "demo", "en", id, 2, CuePatch{Start: ptr(int64(20 * sec)), End: ptr(int64(21 * sec))}, anne); err != nil {
		t.Errorf("into a free gap: %v", err)
	}
}

func TestSplitMerge(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	a := cs[0] // "Good morning everyone." 1–3 s
	res, err := s.SplitCue(ctx, "demo", "en", a.ID, 1, 2*sec, nil, nil, anne)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Cues) != 2 || res.Op.Kind != OpSplit || res.Changed != 2 {
		t.Fatalf("split = %+v", res)
	}
	first, second := res.Cues[0], res.Cues[1]
	if first.ID != a.ID || first.End != 2*sec || first.Text != "Good morning" || first.Version != 2 {
		t.Errorf("first part = %+v", first)
	}
	if second.Start != 2*sec || second.End != 3*sec || second.Text != "everyone." || second.Version != 1 || second.Original != nil || second.By != anne {
		t.Errorf("second part = %+v", second)
	}
	if _, err := s.SplitCue(ctx, "demo", "en", second.ID, 1, 3*sec, nil, nil, anne); !errors.Is(err, ErrInvalid) {
		t.Errorf("split at the end = %v", err)
	}
	// Explicit texts.
	res, err = s.SplitCue(ctx, "demo", "en", cs[2].ID, 1, 8*sec, ptr("Let us"), ptr("begin!"), anne)
	if err != nil || res.Cues[0].Text != "Let us" || res.Cues[1].Text != "begin!" {
		t.Fatalf("split with texts = %+v, %v", res, err)
	}
	// Merge the two halves back: two short lines become two lines.
	res, err = s.MergeCue(ctx, "demo", "en", a.ID, 2, 1, nil, ben)
	if err != nil {
		t.Fatal(err)
	}
	m, gone := res.Cues[0], res.Cues[1]
	if m.ID != a.ID || m.Start != 1*sec || m.End != 3*sec || m.Text != "Good morning\neveryone." || m.Version != 3 {
		t.Errorf("merged = %+v", m)
	}
	if gone.ID != second.ID || !gone.Deleted {
		t.Errorf("merged-away cue = %+v", gone)
	}
	all, _ := s.Cues(ctx, "demo", "en", 0, All)
	if len(all) != 4 {
		t.Errorf("after split, split, merge: %d cues, want 4: %+v", len(all), all)
	}
	// Merging the last cue has nothing to merge with.
	last := all[3]
	lc, _, _ := s.EditorCues(ctx, "demo", "en", CueQuery{From: last.Start})
	if _, err := s.MergeCue(ctx, "demo", "en", lc[0].ID, lc[0].Version, 1, nil, ben); !errors.Is(err, ErrInvalid) {
		t.Errorf("merge of the last cue = %v", err)
	}
	// The deleted cue cannot be edited.
	if _, err := s.EditCue(ctx, "demo", "en", gone.ID, gone.Version, CuePatch{Text: ptr("x")}, anne); !errors.Is(err, ErrNoCue) {
		t.Errorf("edit of a merged-away cue = %v", err)
	}
}

func TestShift(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	res, err := s.ShiftCues(ctx, "demo", "en", 4*sec, sec/2, anne)
	if err != nil || res.Changed != 2 || res.Op.Kind != OpShift {
		t.Fatalf("shift = %+v, %v", res, err)
	}
	all, _ := s.Cues(ctx, "demo", "en", 0, All)
	if all[0].Start != 1*sec || all[1].Start != 4.5*sec || all[1].End != 6.5*sec || all[2].Start != 7.5*sec {
		t.Fatalf("after +0.5 s from 4 s: %+v", all)
	}
	// Back by 2 s would run onto the cue before (ends at 3 s).
	var ov *OverlapError
	if _, err := s.ShiftCues(ctx, "demo", "en", 4*sec, -2*sec, anne); !errors.As(err, &ov) || ov.With.ID != cs[0].ID {
		t.Errorf("shift onto the cue before = %v", err)
	}
	if _, err := s.ShiftCues(ctx, "demo", "en", 0, -2*sec, anne); !errors.Is(err, ErrInvalid) {
		t.Errorf("shift before 0 = %v", err)
	}
	if res, err := s.ShiftCues(ctx, "demo", "en", 100*sec, sec, anne); err != nil || res.Changed != 0 {
		t.Errorf("shift of nothing = %+v, %v", res, err)
	}
	if after, _ := s.Cues(ctx, "demo", "en", 0, All); fmt.Sprint(after) != fmt.Sprint(all) {
		t.Errorf("refused shifts changed cues: %+v", after)
	}
	// One undo takes the whole shift back.
	u, err := s.UndoOp(ctx, "demo", "en", 0, anne)
	if err != nil || u.Changed != 2 || u.Op.Undoes != res.Op.ID && u.Op.Undoes == 0 {
		t.Fatalf("undo shift = %+v, %v", u, err)
	}
	all, _ = s.Cues(ctx, "demo", "en", 0, All)
	if all[1].Start != 4*sec || all[2].Start != 7*sec {
		t.Fatalf("after undoing the shift: %+v", all)
	}
}

func TestUndo(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	id := cs[0].ID
	if _, err := s.UndoCue(ctx, "demo", "en", id, 1, anne); !errors.Is(err, ErrNothingToUndo) {
		t.Fatalf("undo of a recognizer cue = %v", err)
	}
	e1, _ := s.EditCue(ctx, "demo", "en", id, 1, CuePatch{Text: ptr("one")}, anne)
	e2, _ := s.EditCue(ctx, "demo", "en", id, e1.Version, CuePatch{Text: ptr("two")}, anne)
	// Undo walks back: two → one → the recognizer's text.
	u, err := s.UndoCue(ctx, "demo", "en", id, e2.Version, anne)
	if err != nil || u.Cues[0].Text != "one" || u.Cues[0].Version != 4 {
		t.Fatalf("first undo = %+v, %v", u, err)
	}
	u, err = s.UndoCue(ctx, "demo", "en", id, 4, anne)
	if err != nil || u.Cues[0].Text != "Good morning everyone." {
		t.Fatalf("second undo = %+v, %v", u, err)
	}
	if _, err := s.UndoCue(ctx, "demo", "en", id, 5, anne); !errors.Is(err, ErrNothingToUndo) {
		t.Fatalf("third undo = %v", err)
	}

	// Undo of a split deletes the new part and gives the text back.
	sp, err := s.SplitCue(ctx, "demo", "en", cs[1].ID, 1, 5*sec, nil, nil, ben)
	if err != nil {
		t.Fatal(err)
	}
	u, err = s.UndoCue(ctx, "demo", "en", sp.Cues[1].ID, 1, ben)
	if err != nil || u.Changed != 2 {
		t.Fatalf("undo split = %+v, %v", u, err)
	}
	all, _ := s.Cues(ctx, "demo", "en", 0, All)
	if len(all) != 3 || all[1].Text != "Welcome to the conference." || all[1].End != 6*sec {
		t.Fatalf("after undoing the split: %+v", all)
	}

	// The event-level undo takes back the caller's own latest operation;
	// another editor's later change of the same cue blocks it (409).
	m, err := s.MergeCue(ctx, "demo", "en", cs[1].ID, 3, 1, nil, anne)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EditCue(ctx, "demo", "en", cs[1].ID, m.Cues[0].Version, CuePatch{Reviewed: ptr(true)}, ben); err != nil {
		t.Fatal(err)
	}
	var se *StaleError
	if _, err := s.UndoOp(ctx, "demo", "en", 0, anne); !errors.As(err, &se) || se.Current[0].ID != cs[1].ID {
		t.Fatalf("undo under another's change = %v", err)
	}
	// Ben undoes his mark; then Anne's merge can go.
	if _, err := s.UndoOp(ctx, "demo", "en", 0, ben); err != nil {
		t.Fatal(err)
	}
	u, err = s.UndoOp(ctx, "demo", "en", 0, anne)
	if err != nil || u.Changed != 2 || u.Op.Undoes != m.Op.ID {
		t.Fatalf("undo merge = %+v, %v", u, err)
	}
	all, _ = s.Cues(ctx, "demo", "en", 0, All)
	if len(all) != 3 || all[2].Text != "Let us begin." {
		t.Fatalf("after undoing the merge: %+v", all)
	}
	if _, err := s.UndoOp(ctx, "demo", "en", m.Op.ID, anne); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("undoing an undone operation = %v", err)
	}
	// Delete, and bring back by undoing on the deleted cue.
	d, err := s.DeleteCue(ctx, "demo", "en", cs[2].ID, 3, anne)
	if err != nil || !d.Deleted {
		t.Fatalf("delete = %+v, %v", d, err)
	}
	if all, _ := s.Cues(ctx, "demo", "en", 0, All); len(all) != 2 {
		t.Fatalf("after delete: %d cues", len(all))
	}
	if u, err := s.UndoCue(ctx, "demo", "en", cs[2].ID, d.Version, anne); err != nil || u.Cues[0].Deleted {
		t.Fatalf("undo delete = %+v, %v", u, err)
	}
	ops, err := s.CueOps(ctx, "demo", "en", 100, 0)
	if err != nil || len(ops) < 8 || ops[0].Kind != OpUndo || ops[1].Kind != OpDelete {
		t.Fatalf("ops = %+v, %v", ops, err)
	}
	for _, op := range ops {
		if op.Kind == OpRecognizer {
			t.Errorf("recognizer operation listed: %+v", op)
		}
	}
}

// TestLiveInsertWhileEditing has the recognizer keep adding and re-sending
// cues while an editor changes them: new cues arrive, a re-sent cue updates
// an untouched cue and never an edited one.
func TestLiveInsertWhileEditing(t *testing.T) {
	ctx := ctxT(t)
	s, cs := editStore(t)
	if _, err := s.EditCue(ctx, "demo", "en", cs[0].ID, 1, CuePatch{Text: ptr("Good morning, everyone!"), End: ptr(int64(3.5 * sec))}, anne); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteCue(ctx, "demo", "en", cs[2].ID, 1, anne); err != nil {
		t.Fatal(err)
	}
	seq, _ := s.CueSeq(ctx, "demo", "en")
	changed := s.CuesChanged()
	// Re-sent finals of all three (same starts), one updated text.
	for i, text := range []string{"Good morning everyone", "Welcome to the conference, friends.", "Let us begin."} {
		if err := s.SaveCue(ctx, "demo", cue("en", float64(3*i+1), float64(3*i+3), text)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-changed:
	default:
		t.Error("the recognizer's update was not signalled")
	}
	got, now, err := s.EditorCues(ctx, "demo", "en", CueQuery{Changes: true, Since: seq})
	if err != nil || len(got) != 1 || got[0].ID != cs[1].ID || got[0].Text != "Welcome to the conference, friends." ||
		got[0].Version != 2 || got[0].Edited || got[0].Original.Text != got[0].Text || now <= seq {
		t.Fatalf("changes after the re-sent cues = %+v (seq %d → %d), %v", got, seq, now, err)
	}
	if c, _ := s.Cue(ctx, "demo", "en", cs[0].ID); c.Text != "Good morning, everyone!" || c.Version != 2 || c.Original.Text != "Good morning everyone." {
		t.Errorf("edited cue after a re-sent final = %+v", c)
	}
	if c, _ := s.Cue(ctx, "demo", "en", cs[2].ID); !c.Deleted {
		t.Errorf("deleted cue came back: %+v", c)
	}

	// New cues keep arriving while an editor works on older ones.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 50; i++ {
			if err := s.SaveCue(ctx, "demo", cue("en", float64(20+2*i), float64(21+2*i), fmt.Sprint("live ", i))); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	v := 2
	for i := 0; i < 20; i++ {
		c, err := s.EditCue(ctx, "demo", "en", cs[1].ID, v, CuePatch{Text: ptr(fmt.Sprint("edit ", i))}, anne)
		if err != nil {
			t.Fatal(err)
		}
		v = c.Version
	}
	wg.Wait()
	all, _ := s.Cues(ctx, "demo", "en", 0, All)
	if len(all) != 52 || all[1].Text != "edit 19" || all[51].Text != "live 49" {
		t.Fatalf("%d cues, second %q, last %q", len(all), all[1].Text, all[len(all)-1].Text)
	}
	// The deleted cue appears in the change list, marked.
	got, _, _ = s.EditorCues(ctx, "demo", "en", CueQuery{Changes: true, Since: 0})
	deleted := 0
	for _, c := range got {
		if c.Deleted {
			deleted++
		}
	}
	if len(got) != 53 || deleted != 1 {
		t.Errorf("changes since 0: %d cues, %d deleted; want 53 and 1", len(got), deleted)
	}
}

func TestReplace(t *testing.T) {
	ctx := ctxT(t)
	s, _ := editStore(t)
	for i, text := range []string{"The Tolk team thanks tolkien fans.", "TOLK and tolk, and Tolk's booth."} {
		if _, err := s.AddCue(ctx, "demo", "en", int64(20+2*i)*sec, int64(21+2*i)*sec, text, anne); err != nil {
			t.Fatal(err)
		}
	}
	// The first cue's whole word is "Tolk" already: only the second changes.
	res, err := s.ReplaceText(ctx, "demo", "en", Replace{Find: "tolk", With: "Tolk", WholeWord: true}, anne)
	if err != nil || res.Changed != 1 || res.Replaced != 3 {
		t.Fatalf("replace = %+v, %v", res, err)
	}
	all, _ := s.Cues(ctx, "demo", "en", 0, All)
	texts := []string{all[3].Text, all[4].Text}
	if texts[0] != "The Tolk team thanks tolkien fans." || texts[1] != "Tolk and Tolk, and Tolk's booth." {
		t.Errorf("after whole-word replace: %q", texts)
	}
	res, err = s.ReplaceText(ctx, "demo", "en", Replace{Find: "Tolk", With: "tolk", MatchCase: true}, anne)
	if err != nil || res.Changed != 2 || res.Replaced != 4 {
		t.Fatalf("case-sensitive replace = %+v, %v", res, err)
	}
	all, _ = s.Cues(ctx, "demo", "en", 0, All)
	if all[3].Text != "The tolk team thanks tolkien fans." || all[4].Text != "tolk and tolk, and tolk's booth." {
		t.Errorf("after case-sensitive replace: %q, %q", all[3].Text, all[4].Text)
	}
	if res, err := s.ReplaceText(ctx, "demo", "en", Replace{Find: "absent"}, anne); err != nil || res.Changed != 0 {
		t.Errorf("replace of nothing = %+v, %v", res, err)
	}
	for _, r := range []Replace{{}, {Find: strings.Repeat("x", MaxFind+1)}, {Find: "e", With: strings.Repeat("e", MaxCueText)}} {
		if _, err := s.ReplaceText(ctx, "demo", "en", r, anne); !errors.Is(err, ErrInvalid) {
			t.Errorf("replace %.20q → %.20q: %v", r.Find, r.With, err)
		}
	}
	// Unicode case folding and word edges.
	if got, n := replaceAll("Straße STRASSE straße", regexp.MustCompile("(?i)straße"), "Weg", true); n != 2 || got != "Weg STRASSE Weg" {
		t.Errorf("unicode replace = %q, %d", got, n)
	}
	if got, n := replaceAll("aaa a", regexp.MustCompile("a"), "b", true); n != 1 || got != "aaa b" {
		t.Errorf("whole word in a run = %q, %d", got, n)
	}
	// One undo takes the whole replace back.
	if u, err := s.UndoOp(ctx, "demo", "en", 0, anne); err != nil || u.Changed != 2 {
		t.Fatalf("undo replace = %+v, %v", u, err)
	}
	all, _ = s.Cues(ctx, "demo", "en", 0, All)
	if all[3].Text != "The Tolk team thanks tolkien fans." || all[4].Text != "Tolk and Tolk, and Tolk's booth." {
		t.Errorf("after undoing the replace: %q, %q", all[3].Text, all[4].Text)
	}
}

func TestSplitText(t *testing.T) {
	for _, c := range []struct {
		text      string
		frac      float64
		want1, w2 string
	}{
		{"one two three four", 0.5, "one two", "three four"},
		{"one two three four", 0.1, "one", "two three four"},
		{"one two three four", 0.99, "one two three", "four"},
		{"single", 0.5, "single", ""},
		{"two\nlines", 0.5, "two", "lines"},
		{"", 0.5, "", ""},
	} {
		if a, b := splitText(c.text, c.frac); a != c.want1 || b != c.w2 {
			t.Errorf("splitText(%q, %v) = %q, %q", c.text, c.frac, a, b)
		}
	}
}

func TestCleanCueText(t *testing.T) {
	for in, want := range map[string]string{
		"a\r\nb":            "a\nb",
		"\n\n a \n\n b\n":   "a\nb",
		"tab\there":         "tab here",
		"bell\a, bom\uFEFF": "bell, bom",
		"bad \xff utf8":     "bad \uFFFD utf8",
		"ls\u2028ps\u2029x": "ls\nps\nx",
	} {
		if got, err := CleanCueText(in); err != nil || got != want {
			t.Errorf("CleanCueText(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

// TestMigrateCues opens a database of schema 4 with cues: they become
// version 1 of recognizer cues without a confidence, and the recognizer can
// update them, with one.
func TestMigrateCues(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	db, err := sql.Open("sqlite3", dsn(filepath.Join(dir, FileName)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE schema_version (one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL);
		INSERT INTO schema_version VALUES (1, 4)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:4] {
		if _, err := db.ExecContext(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO cues (event, lang, start, end, text) VALUES
		('demo', 'en', 48000, 96000, 'one'), ('demo', 'en', 144000, 192000, 'two'), ('demo', 'fr', 48000, 96000, 'un'),
		('other', 'en', 0, 48000, 'x')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s := openT(t, dir)
	en, seq, err := s.EditorCues(ctx, "demo", "en", CueQuery{})
	if err != nil || len(en) != 2 || en[0].Text != "one" || en[1].Start != 144000 || en[0].Version != 1 ||
		en[0].By != Recognizer || en[0].Original == nil || en[0].Confidence != nil || seq == 0 {
		t.Fatalf("migrated en = %+v (seq %d), %v", en, seq, err)
	}
	if fr, _ := s.Cues(ctx, "demo", "fr", 0, All); len(fr) != 1 || fr[0].Text != "un" {
		t.Fatalf("migrated fr = %+v", fr)
	}
	// The recognizer's key survived: a re-sent cue updates, not duplicates.
	// It brings a confidence, which the migrated table keeps.
	if err := s.SaveCue(ctx, "demo", media.Cue{Lang: "en", Start: 48000, End: 100000, Text: "one!", Final: true,
		Confidence: &media.Confidence{Mean: 0.4, Min: 0.4, Words: []float32{0.4}}}); err != nil {
		t.Fatal(err)
	}
	if en, _ := s.Cues(ctx, "demo", "en", 0, All); len(en) != 2 || en[0].Text != "one!" {
		t.Fatalf("after a re-sent cue: %+v", en)
	}
	if c, err := s.Cue(ctx, "demo", "en", en[0].ID); err != nil || c.Confidence == nil || c.Confidence.Mean != 0.4 {
		t.Fatalf("confidence after migrating: %+v %v", c, err)
	}
}

func BenchmarkEditorCues10k(b *testing.B) {
	ctx := ctxT(b)
	s := openT(b, b.TempDir())
	fill(b, ctx, s, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cs, _, err := s.EditorCues(ctx, "demo", "en", CueQuery{})
		if err != nil || len(cs) != 10000 {
			b.Fatal(len(cs), err)
		}
	}
}

func BenchmarkEditCue(b *testing.B) {
	ctx := ctxT(b)
	s := openT(b, b.TempDir())
	fill(b, ctx, s, 10000)
	cs, _, _ := s.EditorCues(ctx, "demo", "en", CueQuery{})
	c := cs[5000]
	v := c.Version
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e, err := s.EditCue(ctx, "demo", "en", c.ID, v, CuePatch{Text: ptr(fmt.Sprint("edit ", i))}, anne)
		if err != nil {
			b.Fatal(err)
		}
		v = e.Version
	}
}

func BenchmarkShift10k(b *testing.B) {
	ctx := ctxT(b)
	s := openT(b, b.TempDir())
	fill(b, ctx, s, 10000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if res, err := s.ShiftCues(ctx, "demo", "en", 0, sec/10, anne); err != nil || res.Changed != 10000 {
			b.Fatal(res.Changed, err)
		}
	}
}

func fill(b *testing.B, ctx context.Context, s *Store, n int) {
	b.Helper()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	// As SaveCue writes them, in one transaction to be quick.
	t := &editTx{ctx: ctx, tx: tx, event: "demo", lang: "en", kind: OpRecognizer, seen: map[int64]bool{}}
	res, err := tx.ExecContext(ctx, `INSERT INTO cue_ops (event, lang, kind, role, at) VALUES ('demo', 'en', 'recognizer', 'recognizer', 0)`)
	if err != nil {
		b.Fatal(err)
	}
	t.op, _ = res.LastInsertId()
	for i := 0; i < n; i++ {
		src := int64(i) * 2 * sec
		id, err := t.create(cueState{start: src, end: src + sec*3/2, text: "Good morning,\neveryone and welcome."}, &src)
		if err != nil {
			b.Fatal(err)
		}
		if err := t.setSource(id, &media.Confidence{Mean: 0.82, Min: 0.41, Words: []float32{0.93, 0.9, 0.41, 0.95, 0.91}}, false); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
