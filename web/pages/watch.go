package pages

import (
	"net/http"
	"net/url"
	"time"
)

// Rendition is one audio language of an event as the viewer picks it.
type Rendition struct {
	Tag   string // BCP 47 tag, as in the HLS LANGUAGE attribute and the WHEP URL
	Name  string // shown in the picker, e.g. "Français"
	Floor bool   // the original language of the room
	// MachineTranslated marks captions that are the floor's, machine-translated.
	MachineTranslated bool
}

// WatchData is what the watch page needs to know about an event.
type WatchData struct {
	EventID    string
	Title      string
	Renditions []Rendition
	HLSURL     string // the LL-HLS master playlist; empty hides the HLS mode
	WHEPURL    string // WHEP endpoint with a {lang} placeholder, e.g. "/whep/demo/{lang}"; empty hides WebRTC
	Locale     string // UI locale, e.g. from locales.Match
	// Captions are the languages with live captions. Nil lets the page ask
	// GET /api/events/{event} itself; empty means none.
	Captions []Rendition
	// Access, when set, makes the page the passcode form of a closed event
	// instead of the player: nothing of the event but its title is shown.
	Access *AccessForm
	// Starts, when set, is when a scheduled event (a rebroadcast) begins:
	// the page says so until then.
	Starts time.Time
	// Video tells that the event's LL-HLS master lists the floor's
	// picture: the page shows it. Without it the page looks for video in
	// the event API while it plays, and starts the picture when it comes.
	Video bool
	// Janus, when set, makes the low-latency mode play from a Janus
	// streaming plugin instead of WHEP (config sfu.watch).
	Janus *JanusWatch
}

// JanusWatch is where the watch page finds each language on Janus.
type JanusWatch struct {
	// API is Janus's HTTP API as browsers reach it.
	API string
	// Mounts are the languages' mountpoint ids, by tag; a language
	// without one plays from WHEP.
	Mounts map[string]int
}

// AccessForm is the watch page of a closed event for a viewer without
// access: a passcode form (or, for an event that opens only with a token, a
// note saying so) with the reason it is shown again.
type AccessForm struct {
	Passcode bool // the event takes a passcode: show the field
	// Error is why the form is shown again: "" (first visit), "wrong",
	// "empty", "limit" (too many guesses; RetryAfter seconds), "link" (a
	// token that does not open the event) or "ended" (a session that no
	// longer holds: expired, its token revoked, the passcode changed).
	Error      string
	RetryAfter int
	Action     string // where the form posts: the page's own URL
	Status     int    // the HTTP status of the answer (401, 429)
}

// watchConfig is handed to the page's script as JSON.
type watchConfig struct {
	Event      string          `json:"event"`
	HLS        string          `json:"hls"`
	WHEP       string          `json:"whep"`
	Locale     string          `json:"locale"`
	Renditions []renditionJSON `json:"renditions"`
	Captions   *[]captionJSON  `json:"captions"`         // null: the page fetches the event's list
	Locked     bool            `json:"locked,omitempty"` // the page is a closed event's passcode form
	Starts     string          `json:"starts,omitempty"` // RFC 3339: the event has not begun yet
	Video      bool            `json:"video,omitempty"`  // the master lists the floor's picture
	Janus      *janusJSON      `json:"janus,omitempty"`  // low latency plays from Janus
}

type janusJSON struct {
	API    string         `json:"api"`
	Mounts map[string]int `json:"mounts"`
}

type captionJSON struct {
	Tag  string `json:"tag"`
	Name string `json:"name"`
	Live string `json:"live"` // WebSocket path of the live feed
	// MT marks machine-translated captions (the picker and the caption
	// area say so).
	MT bool `json:"machine_translation,omitempty"`
}

type renditionJSON struct {
	Tag   string `json:"tag"`
	Name  string `json:"name"`
	Floor bool   `json:"floor"`
}

type watchView struct {
	WatchData
	Config watchConfig
}

// NoCaptions tells whether the event is known to have no caption language at
// all: the page then says so instead of offering a picker.
func (v watchView) NoCaptions() bool { return v.Captions != nil && len(v.Captions) == 0 }

// Uncaptioned lists the audio languages without captions, which the picker
// shows disabled after those that have them. It is empty while the caption
// list is unknown (the page then builds it from the event API).
func (v watchView) Uncaptioned() []Rendition {
	if v.Captions == nil {
		return nil
	}
	has := make(map[string]bool, len(v.Captions))
	for _, c := range v.Captions {
		has[c.Tag] = true
	}
	var out []Rendition
	for _, r := range v.Renditions {
		if !has[r.Tag] {
			out = append(out, Rendition{Tag: r.Tag, Name: nameOr(r.Name, r.Tag), Floor: r.Floor})
		}
	}
	return out
}

var watchTmpl = pageTemplate("watch")

// Watch renders the viewer page of one event in the UI locale d.Locale (an
// unknown locale falls back to English).
func Watch(w http.ResponseWriter, r *http.Request, d WatchData) {
	if d.Access != nil {
		watchLocked(w, r, d)
		return
	}
	cfg := watchConfig{Event: d.EventID, HLS: d.HLSURL, WHEP: d.WHEPURL, Renditions: []renditionJSON{}, Video: d.Video}
	janusOrigin := ""
	if d.Janus != nil && d.Janus.API != "" {
		cfg.Janus = &janusJSON{API: d.Janus.API, Mounts: d.Janus.Mounts}
		janusOrigin = originOf(d.Janus.API)
	}
	if !d.Starts.IsZero() {
		cfg.Starts = d.Starts.UTC().Format(time.RFC3339)
	}
	for _, rd := range d.Renditions {
		cfg.Renditions = append(cfg.Renditions, renditionJSON{Tag: rd.Tag, Name: nameOr(rd.Name, rd.Tag), Floor: rd.Floor})
	}
	if d.Captions != nil {
		caps := []captionJSON{}
		for _, c := range d.Captions {
			caps = append(caps, captionJSON{Tag: c.Tag, Name: nameOr(c.Name, c.Tag), Live: captionsLive(d.EventID, c.Tag),
				MT: c.MachineTranslated})
		}
		cfg.Captions = &caps
	}
	p := newPage(r, "watch", d.Locale)
	cfg.Locale = p.Locale
	p.Data = watchView{WatchData: d, Config: cfg}
	render(w, watchTmpl, p, policy(originOf(d.HLSURL), originOf(d.WHEPURL), janusOrigin))
}

// watchLocked renders a closed event's passcode form with the status of
// d.Access; the page's script only helps with the form.
func watchLocked(w http.ResponseWriter, r *http.Request, d WatchData) {
	d = WatchData{EventID: d.EventID, Title: d.Title, Locale: d.Locale, Access: d.Access}
	cfg := watchConfig{Event: d.EventID, Renditions: []renditionJSON{}, Locked: true}
	p := newPage(r, "watch", d.Locale)
	cfg.Locale = p.Locale
	p.Data = watchView{WatchData: d, Config: cfg}
	code := d.Access.Status
	if code == 0 {
		code = http.StatusUnauthorized
	}
	renderStatus(w, watchTmpl, p, policy(), code)
}

// captionsLive is the path of a language's live caption WebSocket.
func captionsLive(event, lang string) string {
	return "/api/events/" + url.PathEscape(event) + "/captions/live/" + url.PathEscape(lang)
}
