package pages

import (
	"net/http"
	"net/url"
	"strings"
)

// BoothData is what the interpreter booth page needs: the event, the booth's
// language, the token that admits this interpreter, and the languages the
// interpreter can listen to.
type BoothData struct {
	EventID, Title string
	Lang, LangName string // the booth's language: BCP 47 tag and the name shown
	Token          string // admits the interpreter; passed through to the WebSocket URL
	// WSURL is the booth's WebSocket, relative ("/booth/demo/fr/ws?token=…")
	// or absolute (ws:// or wss://). Empty builds the default
	// /booth/{event}/{lang}/ws?token={token}.
	WSURL  string
	Floor  Rendition   // the floor language
	Relays []Rendition // other booths that can be an input
	Locale string      // UI locale, e.g. from locales.Match
}

// boothConfig is handed to the booth script as JSON.
type boothConfig struct {
	Event  string          `json:"event"`
	Title  string          `json:"title"`
	Lang   renditionJSON   `json:"lang"`
	WS     string          `json:"ws"`
	Floor  renditionJSON   `json:"floor"`
	Relays []renditionJSON `json:"relays"`
	Locale string          `json:"locale"`
}

type boothView struct {
	BoothData
	Config boothConfig
}

var boothTmpl = pageTemplate("booth")

// Booth renders the interpreter booth page of one language of an event in the
// UI locale d.Locale (an unknown locale falls back to English). The page
// speaks the booth protocol (docs/booth-protocol.md) over d.WSURL.
func Booth(w http.ResponseWriter, r *http.Request, d BoothData) {
	d.LangName = nameOr(d.LangName, d.Lang)
	d.Floor.Name = nameOr(d.Floor.Name, d.Floor.Tag)
	cfg := boothConfig{
		Event:  d.EventID,
		Title:  d.Title,
		Lang:   renditionJSON{Tag: d.Lang, Name: d.LangName},
		WS:     boothWSURL(d),
		Floor:  renditionJSON{Tag: d.Floor.Tag, Name: d.Floor.Name, Floor: true},
		Relays: []renditionJSON{},
	}
	relays := make([]Rendition, 0, len(d.Relays))
	for _, rd := range d.Relays {
		rd.Name = nameOr(rd.Name, rd.Tag)
		relays = append(relays, rd)
		cfg.Relays = append(cfg.Relays, renditionJSON{Tag: rd.Tag, Name: rd.Name})
	}
	d.Relays = relays
	p := newPage(r, "booth", d.Locale)
	cfg.Locale = p.Locale
	p.Data = boothView{BoothData: d, Config: cfg}
	render(w, boothTmpl, p, policy(wsOrigins(r, cfg.WS)...))
}

func nameOr(name, tag string) string {
	if s := strings.TrimSpace(name); s != "" {
		return s
	}
	return tag
}

// boothWSURL is d.WSURL, or the default path, with the token added when the
// URL does not carry one.
func boothWSURL(d BoothData) string {
	raw := d.WSURL
	if raw == "" {
		raw = "/booth/" + url.PathEscape(d.EventID) + "/" + url.PathEscape(d.Lang) + "/ws"
	}
	if d.Token == "" {
		return raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if q.Get("token") != "" {
		return raw
	}
	q.Set("token", d.Token)
	u.RawQuery = q.Encode()
	return u.String()
}

// wsOrigins lists what connect-src needs for the booth's WebSocket beyond
// 'self': the origin of an absolute ws(s) URL, or for a relative one the
// page's own host under ws: and wss: (older browsers do not count a
// WebSocket to the same host as 'self').
func wsOrigins(r *http.Request, ws string) []string {
	u, err := url.Parse(ws)
	if err != nil {
		return nil
	}
	if u.Scheme == "ws" || u.Scheme == "wss" || u.Scheme == "http" || u.Scheme == "https" {
		if !safeHost(u.Host) {
			return nil
		}
		scheme := map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		if scheme == "" {
			scheme = u.Scheme
		}
		return []string{scheme + "://" + u.Host}
	}
	if u.Host != "" || r == nil || !safeHost(r.Host) {
		return nil
	}
	return []string{"ws://" + r.Host, "wss://" + r.Host}
}

// safeHost accepts a host[:port] that can stand in a CSP source list as is.
func safeHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	for _, c := range h {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune(".-:[]", c):
		default:
			return false
		}
	}
	return true
}
