package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/store"
)

// The caption editor's API (docs/http.md, "Caption editor API"): the cues
// of one language with their versions, and every change to them, for an
// editor or producer token. Changes name the version they were made against
// and are refused with 409 and the cue as it is now when someone else
// changed it first.
//
// Routes: GET /api/events/{event}/captions/{lang}/{list} (cues, ops,
// limits) shares its shape with the live WebSocket
// /api/events/{event}/captions/live/{lang}, which ServeMux takes as the more
// specific pattern, so "live" is never read as a language here (it is no
// BCP 47 tag anyway).

// CueEditor reads and changes an event's cues; *store.Store is one.
type CueEditor interface {
	EditorCues(ctx context.Context, event, lang string, q store.CueQuery) ([]store.EditedCue, int64, error)
	Cue(ctx context.Context, event, lang string, id int64) (store.EditedCue, error)
	CueSeq(ctx context.Context, event, lang string) (int64, error)
	CueVersions(ctx context.Context, event, lang string, id int64) ([]store.CueVersion, error)
	CueOps(ctx context.Context, event, lang string, limit int, before int64) ([]store.CueOp, error)
	CuesChanged() <-chan struct{}
	Languages(ctx context.Context, event string) ([]string, error)
	EditCue(ctx context.Context, event, lang string, id int64, version int, p store.CuePatch, by store.Author) (store.EditedCue, error)
	AddCue(ctx context.Context, event, lang string, start, end int64, text string, by store.Author) (store.EditedCue, error)
	DeleteCue(ctx context.Context, event, lang string, id int64, version int, by store.Author) (store.EditedCue, error)
	SplitCue(ctx context.Context, event, lang string, id int64, version int, at int64, before, after *string, by store.Author) (store.OpResult, error)
	MergeCue(ctx context.Context, event, lang string, id int64, version, nextVersion int, text *string, by store.Author) (store.OpResult, error)
	ShiftCues(ctx context.Context, event, lang string, from, offset int64, by store.Author) (store.OpResult, error)
	ReplaceText(ctx context.Context, event, lang string, r store.Replace, by store.Author) (store.OpResult, error)
	RestoreCue(ctx context.Context, event, lang string, id int64, version, to int, by store.Author) (store.EditedCue, error)
	UndoOp(ctx context.Context, event, lang string, op int64, by store.Author) (store.OpResult, error)
	UndoCue(ctx context.Context, event, lang string, id int64, version int, by store.Author) (store.OpResult, error)
}

// The store is the editor's: keep it so.
var _ CueEditor = (*store.Store)(nil)

const (
	// maxEditBody bounds an editor request's body.
	maxEditBody = 64 << 10
	// maxEditMS bounds times in requests: about 31 years of milliseconds.
	maxEditMS = int64(1e12)
	// maxWait bounds how long a change list waits for a change.
	maxWait = 30 * time.Second
	// pollEvery is how often a waiting change list looks for changes made
	// by another process on the same data directory, which are not
	// signalled.
	pollEvery    = time.Second
	samplesPerMS = 48
)

// editCtx is one authorised editor request.
type editCtx struct {
	ed     CueEditor
	event  string
	lang   string
	by     store.Author
	limits captions.ReadingLimits
}

// editorAccess resolves the event, checks an editor or producer token
// (Authorization: Bearer, or ?token=), the cue store and the language: a
// language of the event, or one with stored cues.
func (s *Server) editorAccess(w http.ResponseWriter, r *http.Request) (*editCtx, bool) {
	st, ok := s.lookup(w, r)
	if !ok {
		return nil, false
	}
	ev := st.ev.ID()
	secret := bearer(r)
	if secret == "" {
		secret = r.URL.Query().Get("token")
	}
	tok, ok := s.checkToken(w, r, secret, ev, "an editor or producer token is needed: Authorization: Bearer <token> or ?token=",
		store.RoleEditor, store.RoleProducer)
	if !ok {
		return nil, false
	}
	ed, ok := s.cues.(CueEditor)
	if !ok {
		writeError(w, http.StatusServiceUnavailable, "this server keeps no captions to edit")
		return nil, false
	}
	lang := r.PathValue("lang")
	known := ""
	if rd, ok := captionLanguage(st.ev, lang); ok {
		known = rd.Tag
	}
	if known == "" {
		langs, err := ed.Languages(r.Context(), ev)
		if err != nil {
			s.log.Error("editor: cue languages", "event", ev, "err", err)
			writeError(w, http.StatusInternalServerError, "could not read the captions")
			return nil, false
		}
		for _, l := range langs {
			if strings.EqualFold(l, lang) {
				known = l
			}
		}
	}
	if known == "" {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no captions in %q", ev, lang))
		return nil, false
	}
	limits, err := readingLimits(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return &editCtx{ed: ed, event: ev, lang: known, by: store.AuthorOf(tok), limits: limits}, true
}

// readingLimits are the defaults, overridden by the query parameters
// max_cps, max_line, max_lines, min_ms and max_ms.
func readingLimits(r *http.Request) (captions.ReadingLimits, error) {
	l := captions.DefaultReadingLimits()
	q := r.URL.Query()
	if v := q.Get("max_cps"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > 100 {
			return l, fmt.Errorf("max_cps=%q: want a number of characters per second, 0 < max_cps <= 100", v)
		}
		l.MaxCPS = f
	}
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"max_line", &l.MaxLineChars, 1000}, {"max_lines", &l.MaxLines, 100}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > p.max {
				return l, fmt.Errorf("%s=%q: want a whole number from 1 to %d", p.name, v, p.max)
			}
			*p.dst = n
		}
	}
	for _, p := range []struct {
		name string
		dst  *time.Duration
	}{{"min_ms", &l.MinDuration}, {"max_ms", &l.MaxDuration}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > 3600_000 {
				return l, fmt.Errorf("%s=%q: want milliseconds from 0 to 3600000", p.name, v)
			}
			*p.dst = time.Duration(n) * time.Millisecond
		}
	}
	return l, nil
}

// CueJSON is a cue in the editor API. Times are milliseconds of recording
// time.
type CueJSON struct {
	ID         int64        `json:"id"`
	StartMS    int64        `json:"start_ms"`
	EndMS      int64        `json:"end_ms"`
	Text       string       `json:"text"`
	Version    int          `json:"version"`
	Reviewed   bool         `json:"reviewed"`
	Deleted    bool         `json:"deleted,omitempty"`
	Original   *CueTextJSON `json:"original,omitempty"`
	EditedBy   string       `json:"edited_by"`
	EditedRole string       `json:"edited_role"`
	EditedAt   string       `json:"edited_at"`
	Seq        int64        `json:"seq"`
	Checks     CheckJSON    `json:"checks"`
	// Confidence is how sure the text is; nil for a cue of the recognizer
	// that gave no confidence.
	Confidence *ConfidenceJSON `json:"confidence,omitempty"`
	// MachineTranslated says the text the recognizer side last wrote is
	// the floor's, machine-translated (no confidence comes with it).
	MachineTranslated bool `json:"machine_translated,omitempty"`
}

// ConfidenceJSON is how sure a cue's text is, each figure 0..1. A cue a
// person has edited, reviewed or made is theirs: By "editor", Mean and Min
// 1, never doubtful. Otherwise By is "recognizer" with its confidence: the
// mean of the words' and the lowest word's, and each word's (one per
// whitespace-separated word of the text) while the text is the
// recognizer's.
type ConfidenceJSON struct {
	By    string    `json:"by"`
	Mean  float64   `json:"mean"`
	Min   float64   `json:"min"`
	Words []float64 `json:"words,omitempty"`
	// LowWords are the indexes in Words of the words likelier wrong than
	// right, which the page marks.
	LowWords []int `json:"low_words,omitempty"`
	Doubtful bool  `json:"doubtful"`
}

// A recognizer's cue is doubtful when a word is likelier wrong than right
// (one misheard word makes the cue wrong), or when its words are middling
// on the whole. Editors go to these first.
const (
	doubtfulWord = 0.5
	doubtfulMean = 0.7
)

func confidenceJSON(c store.EditedCue) *ConfidenceJSON {
	if c.Edited {
		return &ConfidenceJSON{By: "editor", Mean: 1, Min: 1}
	}
	rc := c.Confidence
	if rc == nil {
		return nil
	}
	round := func(v float32) float64 { return math.Round(float64(v)*100) / 100 }
	j := &ConfidenceJSON{By: "recognizer", Mean: round(rc.Mean), Min: round(rc.Min),
		Doubtful: rc.Min < doubtfulWord || rc.Mean < doubtfulMean}
	if len(rc.Words) == len(strings.Fields(c.Text)) {
		j.Words = make([]float64, len(rc.Words))
		for i, w := range rc.Words {
			j.Words[i] = round(w)
			if w < doubtfulWord {
				j.LowWords = append(j.LowWords, i)
			}
		}
	}
	return j
}

// CueTextJSON is the recognizer's original of a cue.
type CueTextJSON struct {
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Text    string `json:"text"`
}

// CheckJSON is how a cue reads (captions.CheckReading).
type CheckJSON struct {
	CPS      float64  `json:"cps"`
	Chars    int      `json:"chars"`
	Lines    int      `json:"lines"`
	MaxLine  int      `json:"max_line"`
	Warnings []string `json:"warnings"`
}

func ms(samples int64) int64 { return (samples + samplesPerMS/2) / samplesPerMS }

func (e *editCtx) cueJSON(c store.EditedCue) CueJSON {
	j := CueJSON{
		ID: c.ID, StartMS: ms(c.Start), EndMS: ms(c.End), Text: c.Text, Version: c.Version, Reviewed: c.Reviewed,
		Deleted: c.Deleted, EditedBy: c.By.Name, EditedRole: string(c.By.Role),
		EditedAt: c.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Seq: c.Seq,
	}
	if j.EditedBy == "" {
		j.EditedBy = string(c.By.Role)
	}
	if o := c.Original; o != nil && (o.Text != c.Text || o.Start != c.Start || o.End != c.End) {
		j.Original = &CueTextJSON{StartMS: ms(o.Start), EndMS: ms(o.End), Text: o.Text}
	}
	j.Confidence = confidenceJSON(c)
	j.MachineTranslated = c.MachineTranslated
	rd := captions.CheckReading(c.Text, audio.Duration(c.End-c.Start), e.limits)
	j.Checks = CheckJSON{CPS: rd.CPS, Chars: rd.Chars, Lines: rd.Lines, MaxLine: rd.MaxLine, Warnings: rd.Warnings}
	return j
}

func (e *editCtx) cuesJSON(cs []store.EditedCue) []CueJSON {
	out := make([]CueJSON, len(cs))
	for i, c := range cs {
		out[i] = e.cueJSON(c)
	}
	return out
}

// OpJSON describes an operation.
type OpJSON struct {
	ID       int64  `json:"id"`
	Kind     string `json:"kind"`
	By       string `json:"by"`
	Role     string `json:"role"`
	At       string `json:"at"`
	Undoes   int64  `json:"undoes,omitempty"`
	UndoneBy int64  `json:"undone_by,omitempty"`
	Cues     int    `json:"cues"`
}

func opJSON(op store.CueOp) *OpJSON {
	j := &OpJSON{ID: op.ID, Kind: string(op.Kind), By: op.By.Name, Role: string(op.By.Role),
		At: op.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Undoes: op.Undoes, UndoneBy: op.UndoneBy, Cues: op.Cues}
	if j.By == "" {
		j.By = j.Role
	}
	return j
}

// OpResultJSON is the answer to an operation on several cues.
type OpResultJSON struct {
	Op       *OpJSON   `json:"op"` // null when nothing changed
	Changed  int       `json:"changed"`
	Replaced int       `json:"replaced,omitempty"`
	Seq      int64     `json:"seq"`
	Cues     []CueJSON `json:"cues,omitempty"`
}

func (s *Server) writeOp(w http.ResponseWriter, r *http.Request, e *editCtx, res store.OpResult) {
	out := OpResultJSON{Changed: res.Changed, Replaced: res.Replaced, Seq: res.Seq, Cues: e.cuesJSON(res.Cues)}
	if res.Changed > 0 {
		out.Op = opJSON(res.Op)
	} else {
		seq, err := e.ed.CueSeq(r.Context(), e.event, e.lang)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		out.Seq = seq
	}
	writeJSON(w, http.StatusOK, out)
}

// editError answers a store error: 409 with the cues as they are now for a
// stale change, 409 for nothing to undo, 404 for an unknown cue, 400 for a
// bad change (with the cue it would overlap).
func (s *Server) editError(w http.ResponseWriter, e *editCtx, err error) {
	var stale *store.StaleError
	var overlap *store.OverlapError
	switch {
	case errors.As(err, &stale):
		body := map[string]any{"error": stale.Error(), "cues": e.cuesJSON(stale.Current)}
		if len(stale.Current) > 0 {
			body["cue"] = e.cueJSON(stale.Current[0])
		}
		writeJSON(w, http.StatusConflict, body)
	case errors.Is(err, store.ErrNothingToUndo):
		writeError(w, http.StatusConflict, err.Error())
	case errors.Is(err, store.ErrNoCue):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.As(err, &overlap):
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": err.Error(), "overlaps": e.cueJSON(overlap.With)})
	case errors.Is(err, store.ErrInvalid):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.Canceled):
		// The client went away.
	default:
		s.log.Error("editor", "event", e.event, "lang", e.lang, "err", err)
		writeError(w, http.StatusInternalServerError, "could not change the captions")
	}
}

// decodeEditBody reads one JSON object into dst: unknown fields, trailing
// data and more than maxEditBody bytes are refused. An empty body is {}
// when emptyOK.
func decodeEditBody(w http.ResponseWriter, r *http.Request, dst any, emptyOK bool) bool {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxEditBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", maxEditBody))
		} else {
			writeError(w, http.StatusBadRequest, "could not read the request body")
		}
		return false
	}
	if err := parseEditBody(b, dst, emptyOK); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func parseEditBody(b []byte, dst any, emptyOK bool) error {
	if len(bytes.TrimSpace(b)) == 0 {
		if emptyOK {
			return nil
		}
		return errors.New("the request needs a JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("bad JSON body: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("bad JSON body: one object expected")
	}
	return nil
}

// sampleTime converts a request's milliseconds, refusing negative and huge
// values. keep is the cue's time now: a value equal to it in milliseconds
// keeps its exact sample.
func sampleTime(name string, v, keep int64) (int64, error) {
	if v < 0 {
		return 0, fmt.Errorf("%s %d: times must not be negative", name, v)
	}
	if v > maxEditMS {
		return 0, fmt.Errorf("%s %d: too far", name, v)
	}
	if keep >= 0 && ms(keep) == v {
		return keep, nil
	}
	return v * samplesPerMS, nil
}

func cueID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no cue %q", r.PathValue("id")))
		return 0, false
	}
	return id, true
}

func needVersion(w http.ResponseWriter, v *int, name string) bool {
	if v == nil {
		writeError(w, http.StatusBadRequest, name+" is required: the version of the cue the change was made against")
		return false
	}
	return true
}

// handleCaptionList serves GET /api/events/{event}/captions/{lang}/cues,
// .../ops and .../limits.
func (s *Server) handleCaptionList(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	switch r.PathValue("list") {
	case "cues":
		s.listCues(w, r, e)
	case "ops":
		s.listOps(w, r, e)
	case "limits":
		l := e.limits
		writeJSON(w, http.StatusOK, map[string]any{"max_cps": l.MaxCPS, "max_line": l.MaxLineChars, "max_lines": l.MaxLines,
			"min_ms": l.MinDuration.Milliseconds(), "max_ms": l.MaxDuration.Milliseconds()})
	default:
		writeError(w, http.StatusNotFound, "no such list: "+r.PathValue("list")+" (cues, ops or limits)")
	}
}

// listCues answers with the cues: every cue, or with since= the cues
// changed after that seq (deleted ones too), waiting up to wait= seconds
// for one. X-Cue-Seq and the ETag carry the language's seq then.
func (s *Server) listCues(w http.ResponseWriter, r *http.Request, e *editCtx) {
	q := r.URL.Query()
	var cq store.CueQuery
	var wait time.Duration
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from_ms", &cq.From}, {"to_ms", &cq.To}, {"since", &cq.Since}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || (p.name != "since" && n > maxEditMS) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q: want a whole number, 0 or more", p.name, v))
			return
		}
		*p.dst = n
	}
	cq.From *= samplesPerMS
	cq.To *= samplesPerMS
	cq.Changes = q.Has("since")
	if v := q.Get("wait"); v != "" {
		n, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(n) || n < 0 || n > maxWait.Seconds() || !cq.Changes {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("wait=%q: want seconds from 0 to %v, with since=", v, maxWait.Seconds()))
			return
		}
		wait = time.Duration(n * float64(time.Second))
	}
	var deadline <-chan time.Time
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		deadline = t.C
	}
	var poll *time.Ticker
	for {
		changed := e.ed.CuesChanged()
		cues, seq, err := e.ed.EditorCues(r.Context(), e.event, e.lang, cq)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		if len(cues) > 0 || deadline == nil {
			w.Header().Set("X-Cue-Seq", strconv.FormatInt(seq, 10))
			if !cq.Changes {
				// The whole list is the same as long as the seq is.
				etag := fmt.Sprintf(`"%d"`, seq)
				w.Header().Set("ETag", etag)
				if etagMatch(r.Header.Get("If-None-Match"), etag) {
					w.WriteHeader(http.StatusNotModified)
					return
				}
			}
			writeJSON(w, http.StatusOK, e.cuesJSON(cues))
			return
		}
		if poll == nil {
			poll = time.NewTicker(pollEvery)
			defer poll.Stop()
		}
		select {
		case <-changed:
		case <-poll.C:
		case <-deadline:
			deadline = nil // answer with what there is
		case <-s.quit:
			deadline = nil
		case <-r.Context().Done():
			return
		}
	}
}

func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == etag || t == "W/"+etag || t == "*" {
			return true
		}
	}
	return false
}

func (s *Server) listOps(w http.ResponseWriter, r *http.Request, e *editCtx) {
	q := r.URL.Query()
	limit, before := 100, int64(0)
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit=%q: want 1 to 1000", v))
			return
		}
		limit = n
	}
	if v := q.Get("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("before=%q: want an operation id", v))
			return
		}
		before = n
	}
	ops, err := e.ed.CueOps(r.Context(), e.event, e.lang, limit, before)
	if err != nil {
		s.editError(w, e, err)
		return
	}
	out := make([]*OpJSON, len(ops))
	for i, op := range ops {
		out[i] = opJSON(op)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ops": out})
}

// cuePatchRequest is the body of PATCH .../cues/{id}.
type cuePatchRequest struct {
	Text     *string `json:"text"`
	StartMS  *int64  `json:"start_ms"`
	EndMS    *int64  `json:"end_ms"`
	Reviewed *bool   `json:"reviewed"`
	Version  *int    `json:"version"`
}

// handleCuePatch serves PATCH /api/events/{event}/captions/{lang}/cues/{id}.
func (s *Server) handleCuePatch(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	id, ok := cueID(w, r)
	if !ok {
		return
	}
	var req cuePatchRequest
	if !decodeEditBody(w, r, &req, false) || !needVersion(w, req.Version, "version") {
		return
	}
	p := store.CuePatch{Text: req.Text, Reviewed: req.Reviewed}
	if req.StartMS != nil || req.EndMS != nil {
		cur, err := e.ed.Cue(r.Context(), e.event, e.lang, id)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		keepStart, keepEnd := cur.Start, cur.End
		if cur.Version != *req.Version {
			keepStart, keepEnd = -1, -1 // refused below as stale anyway
		}
		if req.StartMS != nil {
			v, err := sampleTime("start_ms", *req.StartMS, keepStart)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			p.Start = &v
		}
		if req.EndMS != nil {
			v, err := sampleTime("end_ms", *req.EndMS, keepEnd)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			p.End = &v
		}
	}
	c, err := e.ed.EditCue(r.Context(), e.event, e.lang, id, *req.Version, p, e.by)
	if err != nil {
		s.editError(w, e, err)
		return
	}
	writeJSON(w, http.StatusOK, e.cueJSON(c))
}

// handleCueAdd serves POST /api/events/{event}/captions/{lang}/cues.
func (s *Server) handleCueAdd(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	var req struct {
		StartMS *int64 `json:"start_ms"`
		EndMS   *int64 `json:"end_ms"`
		Text    string `json:"text"`
	}
	if !decodeEditBody(w, r, &req, false) {
		return
	}
	if req.StartMS == nil || req.EndMS == nil {
		writeError(w, http.StatusBadRequest, "start_ms and end_ms are required")
		return
	}
	start, err := sampleTime("start_ms", *req.StartMS, -1)
	if err == nil {
		var end int64
		if end, err = sampleTime("end_ms", *req.EndMS, -1); err == nil {
			var c store.EditedCue
			if c, err = e.ed.AddCue(r.Context(), e.event, e.lang, start, end, req.Text, e.by); err == nil {
				writeJSON(w, http.StatusCreated, e.cueJSON(c))
				return
			}
			s.editError(w, e, err)
			return
		}
	}
	writeError(w, http.StatusBadRequest, err.Error())
}

// handleCueDelete serves DELETE /api/events/{event}/captions/{lang}/cues/{id}?version=.
func (s *Server) handleCueDelete(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	id, ok := cueID(w, r)
	if !ok {
		return
	}
	v, err := strconv.Atoi(r.URL.Query().Get("version"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "version= is required: the version of the cue the deletion was made against")
		return
	}
	c, err := e.ed.DeleteCue(r.Context(), e.event, e.lang, id, v, e.by)
	if err != nil {
		s.editError(w, e, err)
		return
	}
	writeJSON(w, http.StatusOK, e.cueJSON(c))
}

// VersionJSON is one version in a cue's history.
type VersionJSON struct {
	Version  int    `json:"version"`
	StartMS  int64  `json:"start_ms"`
	EndMS    int64  `json:"end_ms"`
	Text     string `json:"text"`
	Reviewed bool   `json:"reviewed"`
	Deleted  bool   `json:"deleted"`
	Op       int64  `json:"op"`
	Kind     string `json:"kind"`
	By       string `json:"by"`
	Role     string `json:"role"`
	At       string `json:"at"`
	Undone   bool   `json:"undone"`
}

// handleCueVersions serves GET /api/events/{event}/captions/{lang}/cues/{id}/versions.
func (s *Server) handleCueVersions(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	id, ok := cueID(w, r)
	if !ok {
		return
	}
	c, err := e.ed.Cue(r.Context(), e.event, e.lang, id)
	if err != nil {
		s.editError(w, e, err)
		return
	}
	vs, err := e.ed.CueVersions(r.Context(), e.event, e.lang, id)
	if err != nil {
		s.editError(w, e, err)
		return
	}
	out := make([]VersionJSON, len(vs))
	for i, v := range vs {
		out[i] = VersionJSON{Version: v.Version, StartMS: ms(v.Start), EndMS: ms(v.End), Text: v.Text, Reviewed: v.Reviewed,
			Deleted: v.Deleted, Op: v.Op, Kind: string(v.Kind), By: v.By.Name, Role: string(v.By.Role),
			At: v.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Undone: v.Undone}
		if out[i].By == "" {
			out[i].By = out[i].Role
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cue": e.cueJSON(c), "versions": out})
}

// handleCueAction serves POST /api/events/{event}/captions/{lang}/cues/{id}/{action}:
// split, merge, undo and restore.
func (s *Server) handleCueAction(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	id, ok := cueID(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.PathValue("action") {
	case "split":
		var req struct {
			AtMS       *int64  `json:"at_ms"`
			Version    *int    `json:"version"`
			TextBefore *string `json:"text_before"`
			TextAfter  *string `json:"text_after"`
		}
		if !decodeEditBody(w, r, &req, false) || !needVersion(w, req.Version, "version") {
			return
		}
		if req.AtMS == nil {
			writeError(w, http.StatusBadRequest, "at_ms is required: where to split")
			return
		}
		at, err := sampleTime("at_ms", *req.AtMS, -1)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		res, err := e.ed.SplitCue(ctx, e.event, e.lang, id, *req.Version, at, req.TextBefore, req.TextAfter, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		s.writeOp(w, r, e, res)
	case "merge":
		var req struct {
			Version     *int    `json:"version"`
			NextVersion *int    `json:"next_version"`
			Text        *string `json:"text"`
		}
		if !decodeEditBody(w, r, &req, false) || !needVersion(w, req.Version, "version") || !needVersion(w, req.NextVersion, "next_version") {
			return
		}
		res, err := e.ed.MergeCue(ctx, e.event, e.lang, id, *req.Version, *req.NextVersion, req.Text, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		s.writeOp(w, r, e, res)
	case "undo":
		var req struct {
			Version *int `json:"version"`
		}
		if !decodeEditBody(w, r, &req, false) || !needVersion(w, req.Version, "version") {
			return
		}
		res, err := e.ed.UndoCue(ctx, e.event, e.lang, id, *req.Version, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		s.writeOp(w, r, e, res)
	case "restore":
		var req struct {
			Version   *int `json:"version"`
			ToVersion int  `json:"to_version"`
		}
		if !decodeEditBody(w, r, &req, false) || !needVersion(w, req.Version, "version") {
			return
		}
		if req.ToVersion < 0 {
			writeError(w, http.StatusBadRequest, "to_version: a version of the cue, or 0 for the recognizer's original")
			return
		}
		c, err := e.ed.RestoreCue(ctx, e.event, e.lang, id, *req.Version, req.ToVersion, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		writeJSON(w, http.StatusOK, e.cueJSON(c))
	default:
		writeError(w, http.StatusNotFound, "no such action: "+r.PathValue("action")+" (split, merge, undo or restore)")
	}
}

// handleCaptionAction serves POST /api/events/{event}/captions/{lang}/{action}:
// shift, replace and undo.
func (s *Server) handleCaptionAction(w http.ResponseWriter, r *http.Request) {
	e, ok := s.editorAccess(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	switch r.PathValue("action") {
	case "shift":
		var req struct {
			FromMS   *int64 `json:"from_ms"`
			OffsetMS *int64 `json:"offset_ms"`
		}
		if !decodeEditBody(w, r, &req, false) {
			return
		}
		if req.FromMS == nil || req.OffsetMS == nil {
			writeError(w, http.StatusBadRequest, "from_ms and offset_ms are required")
			return
		}
		from, err := sampleTime("from_ms", *req.FromMS, -1)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if *req.OffsetMS < -maxEditMS || *req.OffsetMS > maxEditMS {
			writeError(w, http.StatusBadRequest, "offset_ms: too far")
			return
		}
		res, err := e.ed.ShiftCues(ctx, e.event, e.lang, from, *req.OffsetMS*samplesPerMS, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		s.writeOp(w, r, e, res)
	case "replace":
		var req struct {
			Find      string `json:"find"`
			Replace   string `json:"replace"`
			WholeWord bool   `json:"whole_word"`
			Case      bool   `json:"case"`
		}
		if !decodeEditBody(w, r, &req, false) {
			return
		}
		res, err := e.ed.ReplaceText(ctx, e.event, e.lang, store.Replace{Find: req.Find, With: req.Replace, WholeWord: req.WholeWord, MatchCase: req.Case}, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		s.writeOp(w, r, e, res)
	case "undo":
		var req struct {
			Op int64 `json:"op"`
		}
		if !decodeEditBody(w, r, &req, true) {
			return
		}
		if req.Op < 0 {
			writeError(w, http.StatusBadRequest, "op: an operation id, or none for your latest")
			return
		}
		res, err := e.ed.UndoOp(ctx, e.event, e.lang, req.Op, e.by)
		if err != nil {
			s.editError(w, e, err)
			return
		}
		s.writeOp(w, r, e, res)
	default:
		writeError(w, http.StatusNotFound, "no such action: "+r.PathValue("action")+" (shift, replace or undo)")
	}
}
