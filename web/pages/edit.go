package pages

import (
	"net/http"
	"net/url"
)

// EditorData is what the caption editor needs: the event, the languages
// whose cues can be edited and the token that admits the editor.
type EditorData struct {
	EventID, Title string
	// Token admits the editor (or producer); the page sends it to the
	// editor API, the recordings list, the levels and the exports.
	Token string
	// You is the token's name, shown beside the editor's own changes.
	You    string
	Locale string // UI locale, e.g. from locales.Match
	// Languages are the caption languages: the event's captioned
	// languages, the floor first, and any other language with stored cues.
	Languages []Rendition
	// Recorded is false when the server keeps no recordings: the page
	// edits cues without a player.
	Recorded bool
	// Editable is false when the server keeps no cues to edit.
	Editable bool
}

// editorConfig is handed to the editor's script as JSON.
type editorConfig struct {
	Event     string          `json:"event"`
	Title     string          `json:"title"`
	Token     string          `json:"token"`
	You       string          `json:"you"`
	API       string          `json:"api"` // /api/events/{event}
	VOD       string          `json:"vod"` // /vod/{event}/: {run}/master.m3u8 below it
	Languages []renditionJSON `json:"languages"`
	Recorded  bool            `json:"recorded"`
	Editable  bool            `json:"editable"`
	Locale    string          `json:"locale"`
	Shortcuts []Shortcut      `json:"shortcuts"`
}

type editorView struct {
	EditorData
	Config    editorConfig
	Shortcuts []Shortcut
}

var editTmpl = pageTemplate("edit")

// Editor renders the caption editor of an event in the UI locale d.Locale
// (an unknown locale falls back to English). The page works through the
// caption editor API (docs/http.md) with the token it was opened with, and
// plays the event's recorded runs from their HLS VOD.
func Editor(w http.ResponseWriter, r *http.Request, d EditorData) {
	ev := url.PathEscape(d.EventID)
	cfg := editorConfig{
		Event:     d.EventID,
		Title:     d.Title,
		Token:     d.Token,
		You:       d.You,
		API:       "/api/events/" + ev,
		VOD:       "/vod/" + ev + "/",
		Languages: []renditionJSON{},
		Recorded:  d.Recorded,
		Editable:  d.Editable,
		Shortcuts: Shortcuts,
	}
	for _, rd := range d.Languages {
		cfg.Languages = append(cfg.Languages, renditionJSON{Tag: rd.Tag, Name: nameOr(rd.Name, rd.Tag), Floor: rd.Floor})
	}
	p := newPage(r, "edit", d.Locale)
	cfg.Locale = p.Locale
	p.Data = editorView{EditorData: d, Config: cfg, Shortcuts: Shortcuts}
	render(w, editTmpl, p, policy())
}

// Shortcut is one of the editor's keyboard shortcuts: the key
// (KeyboardEvent.code) with its modifiers, how it is written for people
// (Label) and for assistive technology (Aria, as aria-keyshortcuts wants
// it), and the action it runs. Field shortcuts work in the cue's text and
// time fields only; the others work anywhere on the page.
type Shortcut struct {
	Action string `json:"action"`
	Code   string `json:"code"`
	Alt    bool   `json:"alt"`
	Shift  bool   `json:"shift"`
	Ctrl   bool   `json:"ctrl"`
	Label  string `json:"label"`
	Aria   string `json:"aria"`
	Field  bool   `json:"field"`
}

// Shortcuts are the editor's keyboard shortcuts, in the order the help
// dialog lists them (its descriptions are the messages edit.key.ACTION).
// Alt with a letter, because plain letters are text in the fields, and the
// browsers leave Alt with these letters to the page.
var Shortcuts = []Shortcut{
	{Action: "play", Code: "KeyK", Alt: true, Label: "Alt+K", Aria: "Alt+K"},
	{Action: "back", Code: "KeyJ", Alt: true, Label: "Alt+J", Aria: "Alt+J"},
	{Action: "forward", Code: "KeyL", Alt: true, Label: "Alt+L", Aria: "Alt+L"},
	{Action: "play_cue", Code: "KeyP", Alt: true, Label: "Alt+P", Aria: "Alt+P"},
	{Action: "prev", Code: "ArrowUp", Alt: true, Label: "Alt+↑", Aria: "Alt+ArrowUp"},
	{Action: "next", Code: "ArrowDown", Alt: true, Label: "Alt+↓", Aria: "Alt+ArrowDown"},
	// Alt+D would be the browsers' address bar; Q for "questionable".
	{Action: "next_doubtful", Code: "KeyQ", Alt: true, Label: "Alt+Q", Aria: "Alt+Q"},
	{Action: "prev_doubtful", Code: "KeyQ", Alt: true, Shift: true, Label: "Alt+Shift+Q", Aria: "Alt+Shift+Q"},
	{Action: "save_next", Code: "Enter", Ctrl: true, Label: "Ctrl+Enter", Aria: "Control+Enter", Field: true},
	{Action: "revert", Code: "Escape", Label: "Esc", Aria: "Escape", Field: true},
	{Action: "nudge", Code: "ArrowUp", Label: "↑ ↓", Aria: "ArrowUp ArrowDown", Field: true},
	{Action: "start_here", Code: "BracketLeft", Alt: true, Label: "Alt+[", Aria: "Alt+["},
	{Action: "end_here", Code: "BracketRight", Alt: true, Label: "Alt+]", Aria: "Alt+]"},
	{Action: "start_earlier", Code: "Comma", Alt: true, Label: "Alt+,", Aria: "Alt+,"},
	{Action: "start_later", Code: "Period", Alt: true, Label: "Alt+.", Aria: "Alt+."},
	{Action: "end_earlier", Code: "Comma", Alt: true, Shift: true, Label: "Alt+Shift+,", Aria: "Alt+Shift+,"},
	{Action: "end_later", Code: "Period", Alt: true, Shift: true, Label: "Alt+Shift+.", Aria: "Alt+Shift+."},
	{Action: "split", Code: "KeyS", Alt: true, Label: "Alt+S", Aria: "Alt+S"},
	{Action: "merge", Code: "KeyM", Alt: true, Label: "Alt+M", Aria: "Alt+M"},
	{Action: "reviewed", Code: "KeyR", Alt: true, Label: "Alt+R", Aria: "Alt+R"},
	{Action: "add", Code: "KeyN", Alt: true, Label: "Alt+N", Aria: "Alt+N"},
	{Action: "undo", Code: "KeyZ", Alt: true, Label: "Alt+Z", Aria: "Alt+Z"},
	{Action: "find", Code: "KeyF", Alt: true, Label: "Alt+F", Aria: "Alt+F"},
	{Action: "help", Code: "KeyH", Alt: true, Label: "Alt+H", Aria: "Alt+H"},
}

// Key is the aria-keyshortcuts value of an action ("" for none).
func (v editorView) Key(action string) string {
	for _, s := range Shortcuts {
		if s.Action == action {
			return s.Aria
		}
	}
	return ""
}
