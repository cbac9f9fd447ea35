package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"tolk/locales"
	"tolk/web/pages"
)

// The watch page of a closed event. Without access it is a passcode form
// (or, for an event that opens only with a token, a note saying so), answered
// 401; a wrong passcode shows the form again with the error, too many guesses
// from one network 429. A link with ?token= puts the token in a session
// cookie and lands on the page without it, so the secret leaves the address
// bar and the history.

// viewerPage is a page viewers open (watch, replay): where it lives and how
// it draws a closed event's form.
type viewerPage struct {
	path   string // "/watch/" or "/replay/"
	render func(w http.ResponseWriter, r *http.Request, st *eventState, form *pages.AccessForm)
}

var (
	watchPage = viewerPage{path: "/watch/", render: func(w http.ResponseWriter, r *http.Request, st *eventState, form *pages.AccessForm) {
		pages.Watch(w, r, pages.WatchData{EventID: st.ev.ID(), Title: st.ev.Title(), Locale: pageLocale(r), Access: form})
	}}
	replayPage = viewerPage{path: "/replay/", render: func(w http.ResponseWriter, r *http.Request, st *eventState, form *pages.AccessForm) {
		pages.Replay(w, r, pages.ReplayData{EventID: st.ev.ID(), Title: st.ev.Title(), Locale: pageLocale(r), Access: form})
	}}
)

func pageLocale(r *http.Request) string {
	return locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang"))
}

// url is the page's path with the request's query but its token: where a
// ?token= link or a right passcode lands.
func (p viewerPage) url(r *http.Request, event string) string {
	q := r.URL.Query()
	q.Del("token")
	u := p.path + url.PathEscape(event)
	if e := q.Encode(); e != "" {
		u += "?" + e
	}
	return u
}

// gatePage lets a viewer page's GET through (true) or answers it.
func (s *Server) gatePage(w http.ResponseWriter, r *http.Request, st *eventState, p viewerPage) bool {
	if !st.access.protected {
		return true
	}
	if secret := r.URL.Query().Get("token"); secret != "" && bearer(r) == "" {
		g, err := s.tokenGrant(r, st.ev.ID(), secret)
		if err != nil {
			s.refusePage(w, r, st, p, err)
			return false
		}
		s.setSession(w, r, st, g)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, p.url(r, st.ev.ID()), http.StatusSeeOther)
		return false
	}
	g, err := s.viewerAccess(r, st)
	if err != nil {
		s.refusePage(w, r, st, p, err)
		return false
	}
	// A session past half its life is renewed by each visit.
	if !g.exp.IsZero() && g.exp.Sub(s.gate.now()) < accessTTL/2 {
		s.setSession(w, r, st, g)
	}
	return true
}

// refusePage shows a viewer page's form for a refused access: 429 after too
// many unknown tokens, else 401 with the reason.
func (s *Server) refusePage(w http.ResponseWriter, r *http.Request, st *eventState, p viewerPage, err error) {
	var gw *guessWait
	if errors.As(err, &gw) {
		s.locked(w, r, st, p, "limit", http.StatusTooManyRequests, gw.wait)
		return
	}
	s.locked(w, r, st, p, reasonOf(err), http.StatusUnauthorized, 0)
}

func reasonOf(err error) string {
	if e, ok := err.(*accessError); ok && e.reason != "needed" {
		return e.reason
	}
	return ""
}

// handleWatchPasscode takes the watch page's passcode form:
// POST /watch/{event} (application/x-www-form-urlencoded, field passcode).
func (s *Server) handleWatchPasscode(w http.ResponseWriter, r *http.Request) {
	s.takePasscode(w, r, watchPage)
}

// handleReplayPasscode takes the replay page's passcode form:
// POST /replay/{event}.
func (s *Server) handleReplayPasscode(w http.ResponseWriter, r *http.Request) {
	s.takePasscode(w, r, replayPage)
}

// takePasscode takes a viewer page's passcode form. Right: the session
// cookie and 303 to the page; wrong: the form again with the error (401);
// too many guesses: 429 with Retry-After.
func (s *Server) takePasscode(w http.ResponseWriter, r *http.Request, p viewerPage) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !st.access.protected {
		http.Redirect(w, r, p.url(r, st.ev.ID()), http.StatusSeeOther)
		return
	}
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin form refused")
		return
	}
	if !st.access.passcode {
		s.locked(w, r, st, p, "", http.StatusUnauthorized, 0)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "the form could not be read")
		return
	}
	passcode := r.PostForm.Get("passcode")
	if strings.TrimSpace(passcode) == "" {
		s.locked(w, r, st, p, "empty", http.StatusUnauthorized, 0)
		return
	}
	switch code, wait := s.guess(r, st, passcode); code {
	case http.StatusTooManyRequests:
		s.locked(w, r, st, p, "limit", code, wait)
		return
	case http.StatusUnauthorized:
		s.locked(w, r, st, p, "wrong", code, 0)
		return
	}
	s.setSession(w, r, st, viewerGrant{via: "passcode"})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, p.url(r, st.ev.ID()), http.StatusSeeOther)
}

// locked renders the closed event's form on a viewer page with the reason
// it is shown ("" on the first visit; "wrong", "empty", "limit", "link",
// "ended").
func (s *Server) locked(w http.ResponseWriter, r *http.Request, st *eventState, p viewerPage, reason string, code int, wait time.Duration) {
	form := &pages.AccessForm{
		Passcode: st.access.passcode,
		Error:    reason,
		Action:   p.url(r, st.ev.ID()),
		Status:   code,
	}
	if code == http.StatusTooManyRequests {
		form.RetryAfter = retryAfter(wait)
		w.Header().Set("Retry-After", strconv.Itoa(form.RetryAfter))
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
	}
	p.render(w, r, st, form)
}
