package pages

import (
	"net/http"
	"strings"

	"tolk/locales"
)

// ReplayData is what the replay page needs to know about an event.
type ReplayData struct {
	EventID string
	Title   string
	Locale  string
	// Replays is the list of runs the page plays
	// (GET /api/events/{event}/replays).
	Replays string
	// Watch links to the live page; empty leaves the link out.
	Watch string
	// Recorded is false when the server keeps no recordings: the page
	// says so rather than wait for runs.
	Recorded bool
	// Access, when set, makes the page the closed event's passcode form
	// (the watch page's, posting to the replay page).
	Access *AccessForm
}

// replayConfig is handed to the page's script as JSON. The watch page's
// modules the replay page shares read it too (watch/page.js): locked and
// locale are theirs.
type replayConfig struct {
	Event      string          `json:"event"`
	Locale     string          `json:"locale"`
	Replays    string          `json:"replays"`
	Recorded   bool            `json:"recorded"`
	Renditions []renditionJSON `json:"renditions"`
}

type replayView struct {
	ReplayData
	Config replayConfig
}

var replayTmpl = pageTemplate("replay")

// Replay renders the replay page of one event in the UI locale d.Locale.
func Replay(w http.ResponseWriter, r *http.Request, d ReplayData) {
	if d.Access != nil {
		// The same form as the watch page's, posting to this page.
		Watch(w, r, WatchData{EventID: d.EventID, Title: d.Title, Locale: d.Locale, Access: d.Access})
		return
	}
	p := newPage(r, "replay", d.Locale)
	// The watch page's modules and strings the replay page reuses: the
	// language and caption pickers, volume, meter and errors.
	for k, v := range locales.Catalog(p.Locale) {
		if strings.HasPrefix(k, "watch.") {
			p.Messages[k] = v
		}
	}
	cfg := replayConfig{Event: d.EventID, Locale: p.Locale, Replays: d.Replays, Recorded: d.Recorded,
		Renditions: []renditionJSON{}}
	p.Data = replayView{ReplayData: d, Config: cfg}
	render(w, replayTmpl, p, policy(originOf(d.Replays)))
}
