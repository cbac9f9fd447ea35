//go:build browser

package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"tolk/internal/store"
	"tolk/locales"
)

// TestBrowserEditor uses the caption editor in Chromium on a run recorded
// with internal/recording from libopus-encoded tones, its English cues in
// the store: the page lists the cues and plays the run (hls.js on the VOD,
// the English audio), the strip has the run's level; the editor changes the
// first cue's text by keyboard, and the SRT export and the VOD's WebVTT
// carry it; a second editor's stale change through the API is refused with
// 409; a change the second editor makes while the page's editor types
// shows on the page beside the typed text, the page's save is refused with
// 409 and shows the newer text, and the typed text is then saved over it;
// Alt+M merges, Alt+S splits at the playhead, Alt+H opens the help. Each
// cue shows and says how sure the recognizer was, Alt+Q goes to the
// doubtful one, and an edited cue is shown as a person's.
func TestBrowserEditor(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tok := editorTokens(ctx, t, e.store)
	other, _, err := e.store.CreateToken(ctx, "test", store.RoleEditor, "", "Second editor")
	if err != nil {
		t.Fatal(err)
	}
	const edited, mine, theirs = "Welcome to the edited replay", "Halfway, as I wrote it", "Halfway, as they wrote it"
	var rep struct {
		FirstListMS float64 `json:"first_list_ms"`
		Cues        []struct {
			ID         int64
			Start, End int64
			Text       string
			Version    int
		}
		Player     struct{ State, Audio string }
		Confidence struct {
			Rows []struct {
				State, Shown string
				Marked       []string
			}
			Names []string
			Next  struct {
				Selected, Focus, Again int64
				Count                  string
			}
			Edited struct{ State, Shown string }
		}
		Play struct {
			ID       int64
			Position float64
			Playing  bool
		}
		Level float64
		Typed struct {
			Focus         []string
			Saved         string
			SaveMS        float64 `json:"save_ms"`
			SelectedAfter int64   `json:"selected_after"`
			FocusAfter    string  `json:"focus_after"`
		}
		Exports struct {
			SRT, VTT struct {
				Status int
				Body   string
			}
		}
		Stale struct {
			Status int
			Text   string
		}
		Conflict struct {
			SeenMS  float64 `json:"seen_ms"`
			Panel   string
			Theirs  string
			Field   string
			Refused int
			Saved   bool
			Final   string
		}
		Merge struct {
			Before, After int
			End           int64
			Text          string
		}
		Split struct {
			Before, After int
			At, Position  int64
			Texts         []string
		}
		Help struct {
			Opened, Closed bool
			Rows           int
		}
		Saves  []float64
		Errors []string
	}
	runBrowser(t, "edit.mjs", &rep, e.http.URL, "--event", "test", "--token", tok[store.RoleEditor], "--token2", other,
		"--new", edited, "--mine", mine, "--theirs", theirs)

	if len(rep.Cues) != 2 || rep.Cues[0].Text != "Welcome to the replay" || rep.Cues[0].Start != 1000 || rep.Cues[1].End != 14000 {
		t.Fatalf("cues listed %+v", rep.Cues)
	}
	// How sure each cue is: shown in words (not by colour alone), said in
	// the row's accessible name, the doubtful cue's least sure word
	// marked; Alt+Q and the button go to the doubtful cue; an edited cue
	// is a person's.
	cf := rep.Confidence
	if len(cf.Rows) != 2 || cf.Rows[0].State != "sure" || cf.Rows[0].Shown != "Heard: 95%" || len(cf.Rows[0].Marked) != 0 ||
		cf.Rows[1].State != "doubtful" || cf.Rows[1].Shown != "Doubtful: 30%" || strings.Join(cf.Rows[1].Marked, ",") != "through" {
		t.Errorf("confidence rows %+v", cf.Rows)
	}
	if len(cf.Names) != 2 || !strings.Contains(cf.Names[1], "Doubtful: the recognizer was 60% sure of this cue, 30% of its least sure word.") ||
		!strings.Contains(cf.Names[0], "The recognizer was 95% sure") {
		t.Errorf("the rows' accessible names %q", cf.Names)
	}
	if cf.Next.Selected != rep.Cues[1].ID || cf.Next.Focus != rep.Cues[1].ID || cf.Next.Again != rep.Cues[1].ID ||
		!strings.Contains(cf.Next.Count, "doubtful: 1") {
		t.Errorf("Alt+Q and the button: %+v", cf.Next)
	}
	if cf.Edited.State != "edited" || cf.Edited.Shown != "Edited" {
		t.Errorf("the first cue after the edit: %+v", cf.Edited)
	}
	if rep.Player.State != "ready" || rep.Player.Audio != "en" {
		t.Errorf("player %+v", rep.Player)
	}
	if rep.Play.ID != rep.Cues[0].ID || !rep.Play.Playing || rep.Play.Position < 1 || rep.Play.Position > 3 {
		t.Errorf("clicking the first cue: %+v", rep.Play)
	}
	if rep.Level != -11 {
		t.Errorf("the strip's level at 1.5 s is %v dBFS, want the tone's −11", rep.Level)
	}
	if strings.Join(rep.Typed.Focus, ",") != "cue-start,cue-end,cue-text" || rep.Typed.Saved != edited ||
		rep.Typed.SelectedAfter != rep.Cues[1].ID || rep.Typed.FocusAfter != "cue-text" {
		t.Errorf("typing: %+v", rep.Typed)
	}
	if rep.Stale.Status != http.StatusConflict || rep.Stale.Text != edited {
		t.Errorf("the second editor's stale change: %+v", rep.Stale)
	}
	c := rep.Conflict
	if !strings.Contains(c.Panel, "Second editor") || c.Theirs != theirs || c.Field != mine || c.Refused < 1 || !c.Saved || c.Final != mine {
		t.Errorf("conflict: %+v", c)
	}
	if rep.Merge.After != 1 || rep.Merge.End != 14000 || rep.Merge.Text != edited+"\n"+mine {
		t.Errorf("merge: %+v", rep.Merge)
	}
	// The split is at the playhead, to the millisecond the page asked.
	if rep.Split.After != 2 || rep.Split.At != rep.Split.Position || rep.Split.At < 1800 {
		t.Errorf("split: %+v", rep.Split)
	}
	if !rep.Help.Opened || !rep.Help.Closed || rep.Help.Rows < 20 {
		t.Errorf("help: %+v", rep.Help)
	}
	if len(rep.Errors) > 0 {
		t.Errorf("player errors %v", rep.Errors)
	}
	t.Logf("first list of cues %.0f ms after navigation; text saves %v ms; another editor's change on the page after %.0f ms",
		rep.FirstListMS, rep.Saves, c.SeenMS)

	// Right after the edit, the export and the replay's WebVTT carry it.
	if x := rep.Exports.SRT; x.Status != 200 || !strings.Contains(x.Body, "00:00:01,000 --> 00:00:03,000\n"+edited+"\n") {
		t.Errorf("SRT export after the edit: %d\n%s", x.Status, x.Body)
	}
	if x := rep.Exports.VTT; x.Status != 200 || !strings.Contains(x.Body, "00:00:01.000 --> 00:00:03.000\n"+edited+"\n") {
		t.Errorf("VOD WebVTT after the edit: %d\n%s", x.Status, x.Body)
	}
}

// TestBrowserEditorTools works the editor's other tools in Chromium: times
// typed in milliseconds and nudged with the arrow keys, an overlap refused
// and said, Alt+R, the reading warnings of a long text, find (Alt+F, Enter)
// and replace, Alt+Z, shift, the history's restore of the original, a cue
// added at a playhead set on the strip (Alt+N), deleted and brought back,
// and a start dragged on the strip.
func TestBrowserEditorTools(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	tok := editorTokens(ctx, t, e.store)
	var rep struct {
		TypedStart int64 `json:"typed_start"`
		NudgedEnd  int64 `json:"nudged_end"`
		Overlap    struct {
			Status string
			End    int64
			Field  string
		}
		Reviewed struct {
			Cue bool
			Row string
			Box bool
		}
		Long struct {
			Measure  string
			Typing   []string
			Warnings []string
			Flags    string
		}
		Find struct {
			Focus, Count string
			Selected     int64
		}
		Replace struct{ Text, Status string }
		Undo    struct{ Text string }
		Shift   struct {
			Start, End int64
			Status     string
		}
		Restore struct {
			Text       string
			Start, End int64
			Reviewed   bool
			Versions   []string
			Dialog     bool
		}
		Add struct {
			Focus      string
			Count      int
			Text       string
			Start, End int64
		}
		Remove struct {
			Count  int
			Focus  string
			Undone string
		}
		Drag struct{ From, To, Want int64 }
	}
	runBrowser(t, "edit_tools.mjs", &rep, e.http.URL, "--event", "test", "--token", tok[store.RoleEditor])
	if rep.TypedStart != 1200 || rep.NudgedEnd != 3190 {
		t.Errorf("typed start %d, nudged end %d; want 1200 and 3190", rep.TypedStart, rep.NudgedEnd)
	}
	if !strings.Contains(rep.Overlap.Status, "overlap cue 2") || rep.Overlap.End != 3190 || rep.Overlap.Field != "0:03.190" {
		t.Errorf("overlap %+v", rep.Overlap)
	}
	if !rep.Reviewed.Cue || rep.Reviewed.Row != "true" || !rep.Reviewed.Box {
		t.Errorf("reviewed %+v", rep.Reviewed)
	}
	if strings.Join(rep.Long.Warnings, ",") != "reading_speed,line_length" || !strings.Contains(rep.Long.Flags, "Reading speed") ||
		len(rep.Long.Typing) != 2 || !strings.Contains(rep.Long.Measure, "Characters: 68 · lines: 1 · characters per second: 34.2") {
		t.Errorf("long text %+v", rep.Long)
	}
	if rep.Find.Focus != "find" || rep.Find.Count != "Matching cues: 1" || rep.Replace.Text != "Midway through" || rep.Undo.Text != "Halfway through" {
		t.Errorf("find %+v, replace %+v, undo %+v", rep.Find, rep.Replace, rep.Undo)
	}
	if rep.Shift.Start != 11500 || rep.Shift.End != 14500 || !strings.Contains(rep.Shift.Status, ": 1") {
		t.Errorf("shift %+v", rep.Shift)
	}
	if rep.Restore.Text != "Welcome to the replay" || rep.Restore.Start != 1000 || rep.Restore.End != 3000 || !rep.Restore.Reviewed ||
		rep.Restore.Dialog || len(rep.Restore.Versions) < 4 || !strings.Contains(rep.Restore.Versions[0], "speech recognition") {
		t.Errorf("restore %+v", rep.Restore)
	}
	if rep.Add.Focus != "cue-text" || rep.Add.Text != "A new cue" || rep.Add.Start < 5800 || rep.Add.Start > 6200 || rep.Add.End != rep.Add.Start+2000 {
		t.Errorf("add %+v", rep.Add)
	}
	if rep.Remove.Undone != "A new cue" || rep.Remove.Focus != "cue-row" {
		t.Errorf("remove %+v", rep.Remove)
	}
	// A pixel of the strip is 10 ms at this width.
	if d := rep.Drag.To - rep.Drag.Want; d < -30 || d > 30 {
		t.Errorf("drag %+v", rep.Drag)
	}
}

// TestBrowserEditorMarksMachineTranslation: in Chromium the editor says of
// a cue that is the floor's, machine-translated, that it is, on screen and
// in the row's accessible name, and the doubtful cue stays doubtful.
func TestBrowserEditorMarksMachineTranslation(t *testing.T) {
	leakCheck(t)
	h, _, editor, _ := editorFixture(t)
	var rep struct {
		Rows []struct{ State, Shown, Name string }
	}
	runBrowser(t, "edit_rows.mjs", &rep, h.url, "--event", "test", "--token", editor, "--lang", "fr")
	en := locales.Catalog("en")
	if len(rep.Rows) != 4 {
		t.Fatalf("rows %+v", rep.Rows)
	}
	// The snapshot is YAML: a quote inside single quotes is doubled.
	if r := rep.Rows[3]; r.State != "mt" || r.Shown != en["edit.conf.mt"] || !strings.Contains(strings.ReplaceAll(r.Name, "''", "'"), en["edit.conf.label_mt"]) {
		t.Errorf("machine-translated row %+v", r)
	}
	if rep.Rows[1].State != "doubtful" || rep.Rows[0].State != "none" {
		t.Errorf("other rows %+v", rep.Rows[:3])
	}
}
