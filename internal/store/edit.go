package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"tolk/internal/media"
)

// Editing cues. Every change of a cue is a new version of it, made by an
// operation (one edit, a split, a merge, a shift of many cues, a find and
// replace, an undo) that records who made it and when. A change names the
// version it was made against and is refused with ErrStale when the cue has
// moved on, so two editors never overwrite each other unknowingly. Writers
// take SQLite's write lock for the whole operation (the database is opened
// with immediate transactions), so the check and the change are one step
// also across processes.

// OpKind names what an operation did.
type OpKind string

// The operations.
const (
	OpRecognizer OpKind = "recognizer" // the recognizer added or updated a cue
	OpEdit       OpKind = "edit"       // text, times or the reviewed mark of one cue
	OpAdd        OpKind = "add"        // an editor added a cue
	OpDelete     OpKind = "delete"     // an editor deleted a cue
	OpSplit      OpKind = "split"      // one cue became two
	OpMerge      OpKind = "merge"      // a cue and the next became one
	OpShift      OpKind = "shift"      // every cue from a point moved in time
	OpReplace    OpKind = "replace"    // find and replace over a language
	OpRestore    OpKind = "restore"    // a cue went back to its original or an earlier version
	OpUndo       OpKind = "undo"       // an earlier operation was taken back
)

// RoleRecognizer is the author role of the recognizer's cues.
const RoleRecognizer Role = "recognizer"

// Recognizer is the author of the cues speech recognition writes.
var Recognizer = Author{Name: "recognizer", Role: RoleRecognizer}

// Author is who made a change: a token's id, name and role, or Recognizer.
type Author struct {
	Token string // the token's id; "" for the recognizer
	Name  string
	Role  Role
}

func author(token, name, role string) Author {
	if Role(role) == RoleRecognizer {
		return Recognizer
	}
	return Author{Token: token, Name: name, Role: Role(role)}
}

// AuthorOf is the author of changes made with a token.
func AuthorOf(t Token) Author { return Author{Token: t.ID, Name: t.Name, Role: t.Role} }

// MaxCueText bounds a cue's text in characters (runes), after cleaning.
const MaxCueText = 1000

// maxCueTime keeps cue times (samples) far from overflow: about 745 years.
const maxCueTime = int64(1) << 50

var (
	// ErrNoCue is wrapped by errors for a cue or operation that does not
	// exist in the language asked (or, for a change, was deleted).
	ErrNoCue = errors.New("no such cue")
	// ErrStale is matched by *StaleError: the change was made against a
	// version that is no longer the cue's latest, or later changes stand in
	// the way of an undo.
	ErrStale = errors.New("stale cue version")
	// ErrNothingToUndo is wrapped when there is no change to undo.
	ErrNothingToUndo = errors.New("nothing to undo")
)

// StaleError refuses a change made against an old version. Current holds
// the cues as they are now (the one asked about first), so an editor can show
// the newer text.
type StaleError struct {
	Reason  string
	Current []EditedCue
}

func (e *StaleError) Error() string { return e.Reason }

// Is makes a StaleError match ErrStale.
func (e *StaleError) Is(target error) bool { return target == ErrStale }

// OverlapError refuses times that would overlap a neighbouring cue. It
// matches ErrInvalid.
type OverlapError struct {
	With EditedCue
	msg  string
}

func (e *OverlapError) Error() string { return e.msg }

// Is makes an OverlapError match ErrInvalid.
func (e *OverlapError) Is(target error) bool { return target == ErrInvalid }

type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == ErrNoCue }

type nothing string

func (e nothing) Error() string        { return string(e) }
func (e nothing) Is(target error) bool { return target == ErrNothingToUndo }

// EditedCue is a cue as the editor sees it. Times are recording-time samples.
type EditedCue struct {
	ID         int64
	Lang       string
	Start, End int64
	Text       string
	Version    int  // 1 for a new cue, one more for every change
	Reviewed   bool // an editor marked it checked
	Deleted    bool // only in change lists (CueQuery.Changes)
	// Seq is the change counter of the cue's latest version; it grows
	// across all cues, so "what changed after seq N" is a cheap question.
	Seq int64
	// Edited is true once a person changed the cue: the recognizer leaves
	// it alone from then on.
	Edited bool
	// Original is what the recognizer wrote last; nil for cues an editor
	// made (split, add).
	Original *CueText
	// Confidence is the recognizer's in the words of Original; nil when it
	// gave none or an editor made the cue. Once Edited, the text is a
	// person's and Confidence says only how the recognizer heard it.
	Confidence *media.Confidence
	// MachineTranslated says Original is the floor's words,
	// machine-translated, not this language's speech recognized.
	MachineTranslated bool
	Op                int64     // the operation of the latest version
	By                Author    // who made the latest version
	At                time.Time // when
}

// CueText is a cue's times and text.
type CueText struct {
	Start, End int64
	Text       string
}

// CueVersion is one version in a cue's history.
type CueVersion struct {
	Version    int
	Start, End int64
	Text       string
	Reviewed   bool
	Deleted    bool
	Seq        int64
	Op         int64
	Kind       OpKind
	By         Author
	At         time.Time
	Undone     bool // the operation was undone since
}

// CueOp describes an operation.
type CueOp struct {
	ID       int64
	Kind     OpKind
	By       Author
	At       time.Time
	Undoes   int64 // for an undo: the operation it took back
	UndoneBy int64 // the undo that took this one back, 0 if none
	Cues     int   // how many cues it changed
}

// OpResult is what an operation did.
type OpResult struct {
	Op       CueOp
	Changed  int         // cues changed; 0 when there was nothing to do (no operation is kept)
	Replaced int         // for a find and replace: the occurrences replaced
	Cues     []EditedCue // the changed cues as they are now, for operations that return them
	Seq      int64       // the language's change counter after the operation
}

// CuePatch is a change to one cue; nil fields stay as they are.
type CuePatch struct {
	Text       *string
	Start, End *int64
	Reviewed   *bool
}

// cueState is what a version holds.
type cueState struct {
	start, end int64
	text       string
	reviewed   bool
	deleted    bool
}

func (c EditedCue) state() cueState {
	return cueState{start: c.Start, end: c.End, text: c.Text, reviewed: c.Reviewed, deleted: c.Deleted}
}

const cueColumns = `c.id, c.lang, c.start, c.end, c.text, c.version, c.reviewed, c.deleted, c.seq, c.edited,
	c.orig_start, c.orig_end, c.orig_text, c.op, o.token, o.name, o.role, o.at, c.conf, c.conf_min, c.conf_words, c.mt`

const cueFrom = ` FROM cues c JOIN cue_ops o ON o.id = c.op`

func scanCue(r scanner) (EditedCue, error) {
	var (
		c      EditedCue
		os, oe sql.NullInt64
		ot     sql.NullString
		role   string
		at     int64
		cm, cl sql.NullFloat64
		cw     sql.NullString
	)
	err := r.Scan(&c.ID, &c.Lang, &c.Start, &c.End, &c.Text, &c.Version, &c.Reviewed, &c.Deleted, &c.Seq, &c.Edited,
		&os, &oe, &ot, &c.Op, &c.By.Token, &c.By.Name, &role, &at, &cm, &cl, &cw, &c.MachineTranslated)
	if err != nil {
		return EditedCue{}, err
	}
	if cm.Valid && cl.Valid {
		c.Confidence = &media.Confidence{Mean: float32(cm.Float64), Min: float32(cl.Float64), Words: parseWordConf(cw.String)}
	}
	c.By = author(c.By.Token, c.By.Name, role)
	c.At = time.UnixMilli(at)
	if ot.Valid {
		c.Original = &CueText{Start: os.Int64, End: oe.Int64, Text: ot.String}
	}
	return c, nil
}

// CueQuery selects cues for the editor.
type CueQuery struct {
	// From and To bound the recording-time range the cues overlap, [From,
	// To); To 0 means no bound.
	From, To int64
	// Changes asks for the cues changed after Since only, deleted ones
	// included (Deleted set), for an editor keeping its copy up to date.
	Changes bool
	Since   int64
}

// EditorCues returns the cues of one language with their versions, ordered
// by start, and the language's change counter (see CueSeq), read before the
// cues: a change the list already shows may be listed again by the next
// Changes query, never missed.
func (s *Store) EditorCues(ctx context.Context, event, lang string, q CueQuery) ([]EditedCue, int64, error) {
	if err := checkEvent(event); err != nil {
		return nil, 0, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return nil, 0, err
	}
	seq, err := s.cueSeq(ctx, s.db, event, lang)
	if err != nil {
		return nil, 0, err
	}
	to := q.To
	if to <= 0 {
		to = All
	}
	where := ` WHERE c.event = ? AND c.lang = ? AND c.start < ? AND (c.end > ? OR c.start >= ?)`
	args := []any{event, lang, to, q.From, q.From}
	if q.Changes {
		where += ` AND c.seq > ?`
		args = append(args, q.Since)
	} else {
		where += ` AND c.deleted = 0`
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+cueColumns+cueFrom+where+` ORDER BY c.start, c.id`, args...)
	if err != nil {
		return nil, 0, fmt.Errorf("read cues: %w", err)
	}
	defer rows.Close()
	cs := []EditedCue{}
	for rows.Next() {
		c, err := scanCue(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("read cues: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read cues: %w", err)
	}
	return cs, seq, nil
}

// Cue returns one cue, also a deleted one.
func (s *Store) Cue(ctx context.Context, event, lang string, id int64) (EditedCue, error) {
	if err := checkEvent(event); err != nil {
		return EditedCue{}, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return EditedCue{}, err
	}
	return getCue(ctx, s.db, event, lang, id)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getCue(ctx context.Context, db querier, event, lang string, id int64) (EditedCue, error) {
	c, err := scanCue(db.QueryRowContext(ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.id = ? AND c.event = ? AND c.lang = ?`, id, event, lang))
	if errors.Is(err, sql.ErrNoRows) {
		return EditedCue{}, notFound(fmt.Sprintf("no cue %d in %s", id, lang))
	}
	if err != nil {
		return EditedCue{}, fmt.Errorf("read cue: %w", err)
	}
	return c, nil
}

// CueSeq is the change counter of a language: it grows with every change of
// one of its cues, so a reader (the VOD packager, an editor page) knows
// whether to read them again.
func (s *Store) CueSeq(ctx context.Context, event, lang string) (int64, error) {
	if err := checkEvent(event); err != nil {
		return 0, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return 0, err
	}
	return s.cueSeq(ctx, s.db, event, lang)
}

func (s *Store) cueSeq(ctx context.Context, db querier, event, lang string) (int64, error) {
	var seq int64
	if err := db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM cues WHERE event = ? AND lang = ?`, event, lang).Scan(&seq); err != nil {
		return 0, fmt.Errorf("cue seq: %w", err)
	}
	return seq, nil
}

// CuesChanged returns a channel closed at the next change of cues made
// through this Store (changes by other processes are not signalled: poll
// CueSeq for those). Take it before reading, then wait on it.
func (s *Store) CuesChanged() <-chan struct{} {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watch == nil {
		s.watch = make(chan struct{})
	}
	return s.watch
}

func (s *Store) cuesChanged() {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watch != nil {
		close(s.watch)
		s.watch = nil
	}
}

// CueVersions returns the history of a cue, oldest first.
func (s *Store) CueVersions(ctx context.Context, event, lang string, id int64) ([]CueVersion, error) {
	if err := checkEvent(event); err != nil {
		return nil, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return nil, err
	}
	if _, err := getCue(ctx, s.db, event, lang, id); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT v.version, v.start, v.end, v.text, v.reviewed, v.deleted, v.seq,
		o.id, o.kind, o.token, o.name, o.role, o.at, o.undone_by IS NOT NULL
		FROM cue_versions v JOIN cue_ops o ON o.id = v.op WHERE v.cue = ? ORDER BY v.version`, id)
	if err != nil {
		return nil, fmt.Errorf("cue versions: %w", err)
	}
	defer rows.Close()
	var vs []CueVersion
	for rows.Next() {
		var (
			v          CueVersion
			kind, role string
			at         int64
		)
		if err := rows.Scan(&v.Version, &v.Start, &v.End, &v.Text, &v.Reviewed, &v.Deleted, &v.Seq,
			&v.Op, &kind, &v.By.Token, &v.By.Name, &role, &at, &v.Undone); err != nil {
			return nil, fmt.Errorf("cue versions: %w", err)
		}
		v.Kind, v.By, v.At = OpKind(kind), author(v.By.Token, v.By.Name, role), time.UnixMilli(at)
		vs = append(vs, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cue versions: %w", err)
	}
	return vs, nil
}

// CueOps lists the editors' operations on a language, newest first, at most
// limit (the recognizer's are left out). before > 0 lists those older than
// that operation, to page back.
func (s *Store) CueOps(ctx context.Context, event, lang string, limit int, before int64) ([]CueOp, error) {
	if err := checkEvent(event); err != nil {
		return nil, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	if before <= 0 {
		before = All
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+opColumns+` FROM cue_ops o
		WHERE o.event = ? AND o.lang = ? AND o.kind != 'recognizer' AND o.id < ? ORDER BY o.id DESC LIMIT ?`,
		event, lang, before, limit)
	if err != nil {
		return nil, fmt.Errorf("cue operations: %w", err)
	}
	defer rows.Close()
	ops := []CueOp{}
	for rows.Next() {
		op, err := scanOp(rows)
		if err != nil {
			return nil, fmt.Errorf("cue operations: %w", err)
		}
		ops = append(ops, op)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cue operations: %w", err)
	}
	return ops, nil
}

const opColumns = `o.id, o.kind, o.token, o.name, o.role, o.at, COALESCE(o.undoes, 0), COALESCE(o.undone_by, 0),
	(SELECT COUNT(*) FROM cue_versions v WHERE v.op = o.id)`

func scanOp(r scanner) (CueOp, error) {
	var (
		op         CueOp
		kind, role string
		at         int64
	)
	err := r.Scan(&op.ID, &kind, &op.By.Token, &op.By.Name, &role, &at, &op.Undoes, &op.UndoneBy, &op.Cues)
	op.Kind, op.By, op.At = OpKind(kind), author(op.By.Token, op.By.Name, role), time.UnixMilli(at)
	return op, err
}

// editTx is one operation in its transaction.
type editTx struct {
	ctx         context.Context
	tx          *sql.Tx
	event, lang string
	kind        OpKind
	op          int64
	changed     []int64
	seen        map[int64]bool
	addVersion  *sql.Stmt
	setCue      *sql.Stmt
}

// edit runs fn as one operation of kind by by. Nothing is kept when fn
// fails or changes no cue. withCues reads the changed cues into the result.
func (s *Store) edit(ctx context.Context, event, lang string, kind OpKind, by Author, withCues bool, fn func(*editTx) error) (OpResult, error) {
	if err := checkEvent(event); err != nil {
		return OpResult{}, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return OpResult{}, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return OpResult{}, fmt.Errorf("edit cues: %w", err)
	}
	defer tx.Rollback()
	at := s.now()
	res, err := tx.ExecContext(ctx, `INSERT INTO cue_ops (event, lang, kind, token, name, role, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		event, lang, string(kind), by.Token, by.Name, string(by.Role), at.UnixMilli())
	if err != nil {
		return OpResult{}, fmt.Errorf("edit cues: %w", err)
	}
	t := &editTx{ctx: ctx, tx: tx, event: event, lang: lang, kind: kind, seen: map[int64]bool{}}
	if t.op, err = res.LastInsertId(); err != nil {
		return OpResult{}, fmt.Errorf("edit cues: %w", err)
	}
	if err := fn(t); err != nil {
		return OpResult{}, err
	}
	if len(t.changed) == 0 {
		return OpResult{}, nil
	}
	out := OpResult{Changed: len(t.changed)}
	if out.Op, err = scanOp(tx.QueryRowContext(ctx, `SELECT `+opColumns+` FROM cue_ops o WHERE o.id = ?`, t.op)); err != nil {
		return OpResult{}, fmt.Errorf("edit cues: %w", err)
	}
	if withCues {
		for _, id := range t.changed {
			c, err := getCue(ctx, tx, event, lang, id)
			if err != nil {
				return OpResult{}, err
			}
			out.Cues = append(out.Cues, c)
		}
	}
	if out.Seq, err = s.cueSeq(ctx, tx, event, lang); err != nil {
		return OpResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return OpResult{}, fmt.Errorf("edit cues: %w", err)
	}
	s.cuesChanged()
	return out, nil
}

var errNoSource = errors.New("no cue with this source")

// bySource finds the recognizer's cue with this program-time start.
func (t *editTx) bySource(start int64) (EditedCue, error) {
	c, err := scanCue(t.tx.QueryRowContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ? AND c.src_start = ?`,
		t.event, t.lang, start))
	if errors.Is(err, sql.ErrNoRows) {
		return EditedCue{}, errNoSource
	}
	if err != nil {
		return EditedCue{}, fmt.Errorf("read cue: %w", err)
	}
	return c, nil
}

func (t *editTx) get(id int64) (EditedCue, error) { return getCue(t.ctx, t.tx, t.event, t.lang, id) }

// current returns cue id if version is its latest, and a StaleError with
// the cue as it is now otherwise.
func (t *editTx) current(id int64, version int) (EditedCue, error) {
	c, err := t.get(id)
	if err != nil {
		return EditedCue{}, err
	}
	if c.Version != version {
		return EditedCue{}, stale(c, fmt.Sprintf("cue %d is at version %d, not %d: it changed since it was read", c.ID, c.Version, version))
	}
	if c.Deleted {
		return EditedCue{}, notFound(fmt.Sprintf("cue %d was deleted", c.ID))
	}
	return c, nil
}

func stale(c EditedCue, reason string) *StaleError {
	return &StaleError{Reason: reason, Current: []EditedCue{c}}
}

// create adds a cue as version 1. src is the recognizer's key, nil for a
// cue an editor makes.
func (t *editTx) create(st cueState, src *int64) (int64, error) {
	var orig []any
	if src != nil {
		orig = []any{*src, st.start, st.end, st.text}
	} else {
		orig = []any{nil, nil, nil, nil}
	}
	res, err := t.tx.ExecContext(t.ctx, `INSERT INTO cues (event, lang, start, end, text, version, seq, op, edited,
		src_start, orig_start, orig_end, orig_text) VALUES (?, ?, ?, ?, ?, 0, 0, ?, 0, ?, ?, ?, ?)`,
		append([]any{t.event, t.lang, st.start, st.end, st.text, t.op}, orig...)...)
	if err != nil {
		return 0, fmt.Errorf("add cue: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add cue: %w", err)
	}
	return id, t.write(id, 1, st)
}

// put makes st the next version of cur.
func (t *editTx) put(cur EditedCue, st cueState) error {
	if err := t.write(cur.ID, cur.Version+1, st); err != nil {
		return err
	}
	if t.kind == OpRecognizer {
		if _, err := t.tx.ExecContext(t.ctx, `UPDATE cues SET orig_start = ?, orig_end = ?, orig_text = ? WHERE id = ?`,
			st.start, st.end, st.text, cur.ID); err != nil {
			return fmt.Errorf("update cue: %w", err)
		}
	}
	return nil
}

func (t *editTx) write(id int64, version int, st cueState) error {
	if t.seen[id] {
		// One version per cue and operation is what undo relies on.
		return fmt.Errorf("cue %d changed twice in operation %d", id, t.op)
	}
	var err error
	if t.addVersion == nil {
		if t.addVersion, err = t.tx.PrepareContext(t.ctx, `INSERT INTO cue_versions (cue, version, start, end, text, reviewed, deleted, op)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`); err != nil {
			return fmt.Errorf("write cue: %w", err)
		}
		if t.setCue, err = t.tx.PrepareContext(t.ctx, `UPDATE cues SET start = ?, end = ?, text = ?, reviewed = ?, deleted = ?,
			version = ?, seq = ?, op = ?, edited = edited OR ? WHERE id = ?`); err != nil {
			return fmt.Errorf("write cue: %w", err)
		}
	}
	res, err := t.addVersion.ExecContext(t.ctx, id, version, st.start, st.end, st.text, st.reviewed, st.deleted, t.op)
	if err != nil {
		return fmt.Errorf("write cue: %w", err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return fmt.Errorf("write cue: %w", err)
	}
	if _, err := t.setCue.ExecContext(t.ctx, st.start, st.end, st.text, st.reviewed, st.deleted, version, seq, t.op,
		t.kind != OpRecognizer, id); err != nil {
		return fmt.Errorf("write cue: %w", err)
	}
	t.seen[id] = true
	t.changed = append(t.changed, id)
	return nil
}

// setSource keeps how the recognizer side made cue id's text: its
// confidence (nil: none) and whether it is a machine translation.
func (t *editTx) setSource(id int64, c *media.Confidence, mt bool) error {
	var mean, low, words any
	if c != nil {
		mean, low, words = float64(c.Mean), float64(c.Min), formatWordConf(c.Words)
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE cues SET conf = ?, conf_min = ?, conf_words = ?, mt = ? WHERE id = ?`,
		mean, low, words, mt, id); err != nil {
		return fmt.Errorf("cue confidence: %w", err)
	}
	return nil
}

// formatWordConf writes word confidences space-separated with two decimals,
// plenty for steering an editor and a few bytes a word.
func formatWordConf(ws []float32) string {
	b := make([]byte, 0, 5*len(ws))
	for i, w := range ws {
		if i > 0 {
			b = append(b, ' ')
		}
		b = strconv.AppendFloat(b, float64(w), 'f', 2, 32)
	}
	return string(b)
}

// parseWordConf reads formatWordConf's text; nil when any word is not a
// confidence, since a list that does not match the words is no use.
func parseWordConf(s string) []float32 {
	fs := strings.Fields(s)
	if len(fs) == 0 {
		return nil
	}
	out := make([]float32, len(fs))
	for i, f := range fs {
		v, err := strconv.ParseFloat(f, 32)
		if err != nil || !(v >= 0 && v <= 1) {
			return nil
		}
		out[i] = float32(v)
	}
	return out
}

// checkTimes refuses times that are negative, empty or backwards, or that
// overlap the cue before or after (cue id itself left out). Cues touching
// end to start do not overlap.
func (t *editTx) checkTimes(id, start, end int64) error {
	switch {
	case start < 0 || end < 0:
		return invalidf("times must not be negative (start %s, end %s)", clock(start), clock(end))
	case end <= start:
		return invalidf("the end (%s) must be after the start (%s)", clock(end), clock(start))
	case end > maxCueTime:
		return invalidf("the end (%s) is too far", clock(end))
	}
	prev, err := scanCue(t.tx.QueryRowContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ?
		AND c.deleted = 0 AND c.id != ? AND c.start <= ? ORDER BY c.start DESC, c.id DESC LIMIT 1`, t.event, t.lang, id, start))
	switch {
	case err == nil && prev.End > start:
		return &OverlapError{With: prev, msg: fmt.Sprintf("the start (%s) overlaps cue %d (%s–%s)", clock(start), prev.ID, clock(prev.Start), clock(prev.End))}
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read cues: %w", err)
	}
	next, err := scanCue(t.tx.QueryRowContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ?
		AND c.deleted = 0 AND c.id != ? AND c.start > ? ORDER BY c.start, c.id LIMIT 1`, t.event, t.lang, id, start))
	switch {
	case err == nil && next.Start < end:
		return &OverlapError{With: next, msg: fmt.Sprintf("the end (%s) overlaps cue %d (%s–%s)", clock(end), next.ID, clock(next.Start), clock(next.End))}
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("read cues: %w", err)
	}
	return nil
}

// clock writes samples as H:MM:SS.mmm for messages.
func clock(samples int64) string {
	neg := ""
	if samples < 0 {
		neg, samples = "-", -samples
	}
	ms := samples / 48
	return fmt.Sprintf("%s%d:%02d:%02d.%03d", neg, ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// CleanCueText makes text fit to keep: valid UTF-8, lines separated by
// "\n" (CR, CRLF and Unicode line separators become one), tabs as spaces, no
// other control characters, no blank lines, each line trimmed. More than
// MaxCueText characters is an error matching ErrInvalid.
func CleanCueText(text string) (string, error) {
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.NewReplacer("\r\n", "\n", "\r", "\n", "\u2028", "\n", "\u2029", "\n", "\t", " ").Replace(text)
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		l = strings.Map(func(r rune) rune {
			if unicode.IsControl(r) || r == '\uFEFF' || r&0xFFFE == 0xFFFE || (r >= 0xFDD0 && r <= 0xFDEF) {
				return -1
			}
			return r
		}, l)
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	out := strings.Join(lines, "\n")
	if n := utf8.RuneCountInString(out); n > MaxCueText {
		return "", invalidf("the text has %d characters, at most %d", n, MaxCueText)
	}
	return out, nil
}
