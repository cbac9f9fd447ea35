package pages

import (
	"net/http"
	"net/url"
)

// ConsoleData is what the producer console needs: the event, its languages
// and the token that admits the producer.
type ConsoleData struct {
	EventID, Title string
	Token          string // admits the producer; passed to the WebSocket and the API
	Renditions     []Rendition
	Locale         string // UI locale, e.g. from locales.Match
}

// consoleConfig is handed to the console script as JSON.
type consoleConfig struct {
	Event      string          `json:"event"`
	Title      string          `json:"title"`
	WS         string          `json:"ws"`
	API        string          `json:"api"`
	Token      string          `json:"token"`
	Renditions []renditionJSON `json:"renditions"`
	Locale     string          `json:"locale"`
}

type consoleView struct {
	ConsoleData
	Config consoleConfig
}

var consoleTmpl = pageTemplate("console")

// Console renders the producer console of an event in the UI locale
// d.Locale (an unknown locale falls back to English). The page reads the
// event's status and booth signals over one WebSocket
// (/console/{event}/ws, docs/console-protocol.md) and acts through the
// producer's JSON API with the same token.
func Console(w http.ResponseWriter, r *http.Request, d ConsoleData) {
	ev := url.PathEscape(d.EventID)
	cfg := consoleConfig{
		Event:      d.EventID,
		Title:      d.Title,
		WS:         "/console/" + ev + "/ws?token=" + url.QueryEscape(d.Token),
		API:        "/api/events/" + ev,
		Token:      d.Token,
		Renditions: []renditionJSON{},
	}
	for _, rd := range d.Renditions {
		cfg.Renditions = append(cfg.Renditions, renditionJSON{Tag: rd.Tag, Name: nameOr(rd.Name, rd.Tag), Floor: rd.Floor})
	}
	p := newPage(r, "console", d.Locale)
	cfg.Locale = p.Locale
	p.Data = consoleView{ConsoleData: d, Config: cfg}
	render(w, consoleTmpl, p, policy(wsOrigins(r, cfg.WS)...))
}
