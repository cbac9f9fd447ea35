//go:build browser

package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"tolk/internal/store"
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
// Alt+M merges, Alt+S splits at the playhead, Alt+H opens the help.
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
		Player struct{ State, Audio string }
		Play   struct {
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
