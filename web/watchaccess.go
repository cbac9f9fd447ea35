package web

import (
	"net/http"
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

// gateWatch lets the watch page's GET through (true) or answers it.
func (s *Server) gateWatch(w http.ResponseWriter, r *http.Request, st *eventState) bool {
	if !st.access.protected {
		return true
	}
	if secret := r.URL.Query().Get("token"); secret != "" && bearer(r) == "" {
		g, err := s.tokenGrant(r.Context(), st.ev.ID(), secret)
		if err != nil {
			s.watchLocked(w, r, st, reasonOf(err), http.StatusUnauthorized, 0)
			return false
		}
		s.setSession(w, r, st, g)
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, watchURL(r, st.ev.ID()), http.StatusSeeOther)
		return false
	}
	g, err := s.viewerAccess(r, st)
	if err != nil {
		s.watchLocked(w, r, st, reasonOf(err), http.StatusUnauthorized, 0)
		return false
	}
	// A session past half its life is renewed by each visit.
	if !g.exp.IsZero() && g.exp.Sub(s.gate.now()) < accessTTL/2 {
		s.setSession(w, r, st, g)
	}
	return true
}

func reasonOf(err error) string {
	if e, ok := err.(*accessError); ok && e.reason != "needed" {
		return e.reason
	}
	return ""
}

// handleWatchPasscode takes the watch page's passcode form:
// POST /watch/{event} (application/x-www-form-urlencoded, field passcode).
// Right: the session cookie and 303 to the page; wrong: the form again with
// the error (401); too many guesses: 429 with Retry-After.
func (s *Server) handleWatchPasscode(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !st.access.protected {
		http.Redirect(w, r, watchURL(r, st.ev.ID()), http.StatusSeeOther)
		return
	}
	if !sameOrigin(r) {
		writeError(w, http.StatusForbidden, "cross-origin form refused")
		return
	}
	if !st.access.passcode {
		s.watchLocked(w, r, st, "", http.StatusUnauthorized, 0)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "the form could not be read")
		return
	}
	passcode := r.PostForm.Get("passcode")
	if strings.TrimSpace(passcode) == "" {
		s.watchLocked(w, r, st, "empty", http.StatusUnauthorized, 0)
		return
	}
	switch code, wait := s.guess(r, st, passcode); code {
	case http.StatusTooManyRequests:
		s.watchLocked(w, r, st, "limit", code, wait)
		return
	case http.StatusUnauthorized:
		s.watchLocked(w, r, st, "wrong", code, 0)
		return
	}
	s.setSession(w, r, st, viewerGrant{via: "passcode"})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, watchURL(r, st.ev.ID()), http.StatusSeeOther)
}

// watchLocked renders the closed event's form with the reason it is shown
// ("" on the first visit; "wrong", "empty", "limit", "link", "ended").
func (s *Server) watchLocked(w http.ResponseWriter, r *http.Request, st *eventState, reason string, code int, wait time.Duration) {
	form := &pages.AccessForm{
		Passcode: st.access.passcode,
		Error:    reason,
		Action:   watchURL(r, st.ev.ID()),
		Status:   code,
	}
	if code == http.StatusTooManyRequests {
		form.RetryAfter = retryAfter(wait)
		w.Header().Set("Retry-After", strconv.Itoa(form.RetryAfter))
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tolk"`)
	}
	pages.Watch(w, r, pages.WatchData{
		EventID: st.ev.ID(),
		Title:   st.ev.Title(),
		Locale:  locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
		Access:  form,
	})
}
