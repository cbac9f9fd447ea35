package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"tolk/captions"
	"tolk/captions/export"
	"tolk/internal/store"
)

// CueReader reads an event's stored final cues of one language that overlap
// [from, to) in recording time (samples), ordered by start; *store.Store is one.
type CueReader interface {
	Cues(ctx context.Context, event, lang string, from, to int64) ([]captions.Cue, error)
}

// exportAccess checks an editor or producer token of the event, given as
// "Authorization: Bearer <token>" or, for a plain download link, ?token=.
func (s *Server) exportAccess(w http.ResponseWriter, r *http.Request, event string) bool {
	secret := bearer(r)
	if secret == "" {
		secret = r.URL.Query().Get("token")
	}
	_, ok := s.checkToken(w, r, secret, event, "an editor or producer token is needed: Authorization: Bearer <token> or ?token=",
		store.RoleEditor, store.RoleProducer)
	return ok
}

// handleExport serves GET
// /api/events/{event}/captions/{lang}.{srt,vtt,ttml,stl,ebu-tt-d.xml} as an
// attachment, from the edited cues. Optional query parameters offset, from and to (Go
// durations such as 2s or 1m30s) shift and cut it as `tolk export` does.
func (s *Server) handleExport(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ev := st.ev.ID()
	if !s.exportAccess(w, r, ev) {
		return
	}
	file := r.PathValue("file")
	lang, format, ok := export.FormatOf(file)
	if !ok {
		exts := make([]string, len(export.Formats))
		for i, f := range export.Formats {
			exts[i] = export.Extension(f)
		}
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%q: want LANG.FORMAT, FORMAT one of %s", file, strings.Join(exts, ", ")))
		return
	}
	ctype, _ := export.ContentType(format)
	opts := export.Options{Title: st.ev.Title()}
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"offset", &opts.Offset}, {"from", &opts.From}, {"to", &opts.To}} {
		if v := q.Get(p.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q: want a duration such as 2s or 1m30s", p.name, v))
				return
			}
			*p.dst = d
		}
	}
	if opts.From < 0 || (opts.To != 0 && opts.To <= opts.From) {
		writeError(w, http.StatusBadRequest, "want 0 <= from < to")
		return
	}
	if s.cues == nil {
		writeError(w, http.StatusServiceUnavailable, "this server keeps no captions")
		return
	}
	// A language of the event exports even before its first cue (an
	// empty file); any other language only if the store has cues in it.
	known := false
	if rd, ok := captionLanguage(st.ev, lang); ok {
		lang, known = rd.Tag, true
	}
	cues, err := s.cues.Cues(r.Context(), ev, lang, 0, store.All)
	switch {
	case errors.Is(err, store.ErrInvalid) || (err == nil && !known && len(cues) == 0):
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no captions in %q", ev, lang))
		return
	case err != nil:
		s.log.Error("export: reading cues", "event", ev, "lang", lang, "err", err)
		writeError(w, http.StatusInternalServerError, "could not read the captions")
		return
	}
	opts.Lang = lang
	var buf bytes.Buffer
	if err := export.Write(&buf, format, cues, opts); errors.Is(err, export.ErrRange) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	} else if err != nil {
		s.log.Error("export", "event", ev, "lang", lang, "format", format, "err", err)
		writeError(w, http.StatusInternalServerError, "could not write the subtitle file")
		return
	}
	name := ev + "-" + lang + "." + export.Extension(format)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"; filename*=UTF-8''%s`, name, url.PathEscape(name)))
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", fmt.Sprint(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
