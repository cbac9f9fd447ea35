package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// EditCue changes the text, times or reviewed mark of cue id, made against
// its version. It returns the cue as it is then: a new version, or the same
// one when the patch changes nothing. Errors: ErrNoCue, *StaleError,
// ErrInvalid (bad or overlapping times, too long a text, an empty patch).
func (s *Store) EditCue(ctx context.Context, event, lang string, id int64, version int, p CuePatch, by Author) (EditedCue, error) {
	if p.Text == nil && p.Start == nil && p.End == nil && p.Reviewed == nil {
		return EditedCue{}, invalidf("nothing to change: give text, start, end or reviewed")
	}
	var cur EditedCue
	res, err := s.edit(ctx, event, lang, OpEdit, by, true, func(t *editTx) error {
		c, err := t.current(id, version)
		if err != nil {
			return err
		}
		cur = c
		st := c.state()
		if p.Text != nil {
			if st.text, err = CleanCueText(*p.Text); err != nil {
				return err
			}
		}
		if p.Start != nil {
			st.start = *p.Start
		}
		if p.End != nil {
			st.end = *p.End
		}
		if p.Reviewed != nil {
			st.reviewed = *p.Reviewed
		}
		if st.start != c.Start || st.end != c.End {
			if err := t.checkTimes(id, st.start, st.end); err != nil {
				return err
			}
		}
		if st == c.state() {
			return nil
		}
		return t.put(c, st)
	})
	if err != nil {
		return EditedCue{}, err
	}
	if len(res.Cues) == 0 {
		return cur, nil
	}
	return res.Cues[0], nil
}

// AddCue adds a cue an editor writes (one the recognizer missed).
func (s *Store) AddCue(ctx context.Context, event, lang string, start, end int64, text string, by Author) (EditedCue, error) {
	res, err := s.edit(ctx, event, lang, OpAdd, by, true, func(t *editTx) error {
		text, err := CleanCueText(text)
		if err != nil {
			return err
		}
		if err := t.checkTimes(0, start, end); err != nil {
			return err
		}
		_, err = t.create(cueState{start: start, end: end, text: text}, nil)
		return err
	})
	if err != nil {
		return EditedCue{}, err
	}
	return res.Cues[0], nil
}

// DeleteCue deletes cue id, made against its version. The cue stays in the
// history (and undo brings it back); lists and exports leave it out.
func (s *Store) DeleteCue(ctx context.Context, event, lang string, id int64, version int, by Author) (EditedCue, error) {
	res, err := s.edit(ctx, event, lang, OpDelete, by, true, func(t *editTx) error {
		c, err := t.current(id, version)
		if err != nil {
			return err
		}
		st := c.state()
		st.deleted = true
		return t.put(c, st)
	})
	if err != nil {
		return EditedCue{}, err
	}
	return res.Cues[0], nil
}

// SplitCue cuts cue id at the recording time at, strictly inside it: the cue
// keeps its id and ends at at, a new cue runs from at to the old end. The
// texts are before and after, or when nil the words are shared out in
// proportion to the times. The result's cues are the two parts in order.
func (s *Store) SplitCue(ctx context.Context, event, lang string, id int64, version int, at int64, before, after *string, by Author) (OpResult, error) {
	return s.edit(ctx, event, lang, OpSplit, by, true, func(t *editTx) error {
		c, err := t.current(id, version)
		if err != nil {
			return err
		}
		if at <= c.Start || at >= c.End {
			return invalidf("the split point %s is not inside cue %d (%s–%s)", clock(at), c.ID, clock(c.Start), clock(c.End))
		}
		t1, t2 := splitText(c.Text, float64(at-c.Start)/float64(c.End-c.Start))
		if before != nil {
			if t1, err = CleanCueText(*before); err != nil {
				return err
			}
		}
		if after != nil {
			if t2, err = CleanCueText(*after); err != nil {
				return err
			}
		}
		first := c.state()
		first.end, first.text = at, t1
		if err := t.put(c, first); err != nil {
			return err
		}
		_, err = t.create(cueState{start: at, end: c.End, text: t2, reviewed: c.Reviewed}, nil)
		return err
	})
}

// splitText shares text's words out at the word boundary nearest to the
// fraction frac of its characters.
func splitText(text string, frac float64) (string, string) {
	words := strings.Fields(text)
	if len(words) < 2 {
		return strings.Join(words, " "), ""
	}
	total := utf8.RuneCountInString(strings.Join(words, " "))
	target := frac * float64(total)
	best, bestDist, n := 1, -1.0, 0
	for k := 1; k < len(words); k++ {
		n += utf8.RuneCountInString(words[k-1])
		if k > 1 {
			n++ // the space before
		}
		d := float64(n) - target
		if d < 0 {
			d = -d
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	return strings.Join(words[:best], " "), strings.Join(words[best:], " ")
}

// MergeCue joins cue id with the next cue (by start) into cue id, made
// against both versions; the next cue is deleted. The text is text, or when
// nil the two texts as two lines when each is one line of at most
// mergeLine characters, and joined by a space otherwise. The result's cues
// are the merged cue and the deleted one.
func (s *Store) MergeCue(ctx context.Context, event, lang string, id int64, version, nextVersion int, text *string, by Author) (OpResult, error) {
	return s.edit(ctx, event, lang, OpMerge, by, true, func(t *editTx) error {
		c, err := t.current(id, version)
		if err != nil {
			return err
		}
		next, err := scanCue(t.tx.QueryRowContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ?
			AND c.deleted = 0 AND c.id != ? AND (c.start > ? OR (c.start = ? AND c.id > ?)) ORDER BY c.start, c.id LIMIT 1`,
			t.event, t.lang, c.ID, c.Start, c.Start, c.ID))
		if errors.Is(err, sql.ErrNoRows) {
			return invalidf("cue %d is the last: there is no next cue to merge with", c.ID)
		} else if err != nil {
			return fmt.Errorf("read cues: %w", err)
		}
		if next.Version != nextVersion {
			return &StaleError{
				Reason:  fmt.Sprintf("the next cue, %d, is at version %d, not %d: it changed since it was read", next.ID, next.Version, nextVersion),
				Current: []EditedCue{next, c},
			}
		}
		merged := c.state()
		merged.end = max(c.End, next.End)
		merged.reviewed = c.Reviewed && next.Reviewed
		if text != nil {
			if merged.text, err = CleanCueText(*text); err != nil {
				return err
			}
		} else if merged.text, err = CleanCueText(joinText(c.Text, next.Text)); err != nil {
			return err
		}
		if err := t.put(c, merged); err != nil {
			return err
		}
		gone := next.state()
		gone.deleted = true
		return t.put(next, gone)
	})
}

// mergeLine is the longest line merging keeps as a line of its own.
const mergeLine = 42

func joinText(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case !strings.Contains(a, "\n") && !strings.Contains(b, "\n") &&
		utf8.RuneCountInString(a) <= mergeLine && utf8.RuneCountInString(b) <= mergeLine:
		return a + "\n" + b
	}
	return strings.Join(strings.Fields(a+" "+b), " ")
}

// ShiftCues moves every cue starting at or after from by offset samples
// (negative: earlier). It refuses a shift that would move a cue before 0
// or onto the cues before from. The result has no cues (there may be many):
// read the changes after the previous Seq.
func (s *Store) ShiftCues(ctx context.Context, event, lang string, from, offset int64, by Author) (OpResult, error) {
	if from < 0 || from > maxCueTime {
		return OpResult{}, invalidf("shift from %s: out of range", clock(from))
	}
	if offset < -maxCueTime || offset > maxCueTime {
		return OpResult{}, invalidf("shift by %s: out of range", clock(offset))
	}
	return s.edit(ctx, event, lang, OpShift, by, false, func(t *editTx) error {
		if offset == 0 {
			return nil
		}
		rows, err := t.tx.QueryContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ? AND c.deleted = 0
			AND c.start >= ? ORDER BY c.start, c.id`, t.event, t.lang, from)
		if err != nil {
			return fmt.Errorf("read cues: %w", err)
		}
		var cs []EditedCue
		for rows.Next() {
			c, err := scanCue(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read cues: %w", err)
			}
			cs = append(cs, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read cues: %w", err)
		}
		if len(cs) == 0 {
			return nil
		}
		first := cs[0]
		if first.Start+offset < 0 {
			return invalidf("the shift would move cue %d (at %s) before the start", first.ID, clock(first.Start))
		}
		if offset < 0 {
			prev, err := scanCue(t.tx.QueryRowContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ?
				AND c.deleted = 0 AND c.start < ? ORDER BY c.end DESC LIMIT 1`, t.event, t.lang, from))
			if err == nil && prev.End > first.Start+offset {
				return &OverlapError{With: prev, msg: fmt.Sprintf("the shift would move cue %d (%s) onto cue %d (%s–%s)",
					first.ID, clock(first.Start+offset), prev.ID, clock(prev.Start), clock(prev.End))}
			} else if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("read cues: %w", err)
			}
		}
		for _, c := range cs {
			if c.End+offset > maxCueTime {
				return invalidf("the shift would move cue %d too far", c.ID)
			}
			st := c.state()
			st.start += offset
			st.end += offset
			if err := t.put(c, st); err != nil {
				return err
			}
		}
		return nil
	})
}

// Replace is a find and replace over a language's cues.
type Replace struct {
	Find, With string
	WholeWord  bool // only where Find is not part of a longer word
	MatchCase  bool // otherwise letters match whatever their case
}

// Bounds of a find and replace, in characters.
const (
	MaxFind        = 200
	MaxReplaceWith = 500
)

// ReplaceText replaces r.Find by r.With in every cue of a language, as one
// operation (one undo takes it all back). The result has no cues; Changed
// counts the cues changed.
func (s *Store) ReplaceText(ctx context.Context, event, lang string, r Replace, by Author) (OpResult, error) {
	if r.Find == "" {
		return OpResult{}, invalidf("nothing to find")
	}
	if !utf8.ValidString(r.Find) || !utf8.ValidString(r.With) {
		return OpResult{}, invalidf("find and replace must be text")
	}
	if n := utf8.RuneCountInString(r.Find); n > MaxFind {
		return OpResult{}, invalidf("find has %d characters, at most %d", n, MaxFind)
	}
	if n := utf8.RuneCountInString(r.With); n > MaxReplaceWith {
		return OpResult{}, invalidf("replace has %d characters, at most %d", n, MaxReplaceWith)
	}
	expr := regexp.QuoteMeta(r.Find)
	if !r.MatchCase {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return OpResult{}, invalidf("find: %v", err)
	}
	replaced := 0
	res, err := s.edit(ctx, event, lang, OpReplace, by, false, func(t *editTx) error {
		rows, err := t.tx.QueryContext(t.ctx, `SELECT `+cueColumns+cueFrom+` WHERE c.event = ? AND c.lang = ? AND c.deleted = 0
			ORDER BY c.start, c.id`, t.event, t.lang)
		if err != nil {
			return fmt.Errorf("read cues: %w", err)
		}
		type change struct {
			c    EditedCue
			text string
			n    int
		}
		var changes []change
		for rows.Next() {
			c, err := scanCue(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("read cues: %w", err)
			}
			if text, n := replaceAll(c.Text, re, r.With, r.WholeWord); n > 0 && text != c.Text {
				changes = append(changes, change{c, text, n})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read cues: %w", err)
		}
		for _, ch := range changes {
			text, err := CleanCueText(ch.text)
			if err != nil {
				return invalidf("cue %d: %v", ch.c.ID, err)
			}
			if text == ch.c.Text {
				continue
			}
			st := ch.c.state()
			st.text = text
			if err := t.put(ch.c, st); err != nil {
				return err
			}
			replaced += ch.n
		}
		return nil
	})
	if res.Changed > 0 {
		res.Replaced = replaced
	}
	return res, err
}

// replaceAll replaces the matches of re in s by with (literally) and counts
// them. With whole, a match whose first or last character is part of a word
// must not continue a word on that side.
func replaceAll(s string, re *regexp.Regexp, with string, whole bool) (string, int) {
	var b strings.Builder
	n, pos, last := 0, 0, 0
	for pos <= len(s) {
		loc := re.FindStringIndex(s[pos:])
		if loc == nil || loc[1] == loc[0] {
			break
		}
		a, z := pos+loc[0], pos+loc[1]
		if whole && !wordEdge(s, a, z) {
			_, w := utf8.DecodeRuneInString(s[a:])
			pos = a + w
			continue
		}
		b.WriteString(s[last:a])
		b.WriteString(with)
		last, pos = z, z
		n++
	}
	if n == 0 {
		return s, 0
	}
	b.WriteString(s[last:])
	return b.String(), n
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_'
}

// wordEdge reports whether s[a:z] stands as a whole word.
func wordEdge(s string, a, z int) bool {
	first, _ := utf8.DecodeRuneInString(s[a:])
	lastR, _ := utf8.DecodeLastRuneInString(s[:z])
	if isWordRune(first) && a > 0 {
		if r, _ := utf8.DecodeLastRuneInString(s[:a]); isWordRune(r) {
			return false
		}
	}
	if isWordRune(lastR) && z < len(s) {
		if r, _ := utf8.DecodeRuneInString(s[z:]); isWordRune(r) {
			return false
		}
	}
	return true
}

// RestoreCue puts cue id, made against its version, back to an earlier
// version's text and times (to), or to what the recognizer wrote (to 0). The
// reviewed mark stays as it is.
func (s *Store) RestoreCue(ctx context.Context, event, lang string, id int64, version, to int, by Author) (EditedCue, error) {
	var cur EditedCue
	res, err := s.edit(ctx, event, lang, OpRestore, by, true, func(t *editTx) error {
		c, err := t.current(id, version)
		if err != nil {
			return err
		}
		cur = c
		st := c.state()
		if to == 0 {
			if c.Original == nil {
				return invalidf("cue %d was made by an editor: it has no recognizer original", c.ID)
			}
			st.start, st.end, st.text = c.Original.Start, c.Original.End, c.Original.Text
		} else {
			var deleted bool
			err := t.tx.QueryRowContext(t.ctx, `SELECT start, end, text, deleted FROM cue_versions WHERE cue = ? AND version = ?`, c.ID, to).
				Scan(&st.start, &st.end, &st.text, &deleted)
			if errors.Is(err, sql.ErrNoRows) {
				return invalidf("cue %d has no version %d", c.ID, to)
			} else if err != nil {
				return fmt.Errorf("read cue: %w", err)
			}
			if deleted {
				return invalidf("version %d of cue %d is its deletion", to, c.ID)
			}
		}
		if st.start != c.Start || st.end != c.End {
			if err := t.checkTimes(c.ID, st.start, st.end); err != nil {
				return err
			}
		}
		if st == c.state() {
			return nil
		}
		return t.put(c, st)
	})
	if err != nil {
		return EditedCue{}, err
	}
	if len(res.Cues) == 0 {
		return cur, nil
	}
	return res.Cues[0], nil
}

// UndoOp takes back operation op, every cue it changed, as a new operation.
// op 0 is the latest operation by's token made and has not undone (undoing
// again goes further back). It is refused with a *StaleError when a cue
// the operation changed has changed since (unless that change was undone
// too), and with ErrNothingToUndo when there is nothing (left) to take back.
func (s *Store) UndoOp(ctx context.Context, event, lang string, op int64, by Author) (OpResult, error) {
	return s.edit(ctx, event, lang, OpUndo, by, true, func(t *editTx) error {
		target := op
		if target == 0 {
			if by.Token == "" {
				return nothing("nothing to undo")
			}
			err := t.tx.QueryRowContext(t.ctx, `SELECT id FROM cue_ops WHERE event = ? AND lang = ? AND token = ?
				AND kind NOT IN ('undo', 'recognizer') AND undone_by IS NULL ORDER BY id DESC LIMIT 1`,
				t.event, t.lang, by.Token).Scan(&target)
			if errors.Is(err, sql.ErrNoRows) {
				return nothing("nothing to undo: no change of yours is left to take back")
			} else if err != nil {
				return fmt.Errorf("read operations: %w", err)
			}
		}
		return t.undo(target)
	})
}

// UndoCue takes back the latest change of cue id (made against its
// version; a deleted cue can be brought back this way). When that change was
// part of an operation on several cues (split, merge, shift, replace) the
// whole operation is taken back.
func (s *Store) UndoCue(ctx context.Context, event, lang string, id int64, version int, by Author) (OpResult, error) {
	return s.edit(ctx, event, lang, OpUndo, by, true, func(t *editTx) error {
		c, err := t.get(id)
		if err != nil {
			return err
		}
		if c.Version != version {
			return stale(c, fmt.Sprintf("cue %d is at version %d, not %d: it changed since it was read", c.ID, c.Version, version))
		}
		var target int64
		var kind string
		err = t.tx.QueryRowContext(t.ctx, `SELECT v.op, o.kind FROM cue_versions v JOIN cue_ops o ON o.id = v.op
			WHERE v.cue = ? AND o.undone_by IS NULL AND o.kind != 'undo' ORDER BY v.version DESC LIMIT 1`, c.ID).Scan(&target, &kind)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && OpKind(kind) == OpRecognizer) {
			return nothing(fmt.Sprintf("nothing to undo: cue %d is as the recognizer wrote it", c.ID))
		} else if err != nil {
			return fmt.Errorf("read versions: %w", err)
		}
		return t.undo(target)
	})
}

// undo takes operation target back within t.
func (t *editTx) undo(target int64) error {
	var (
		kind   string
		undone sql.NullInt64
	)
	err := t.tx.QueryRowContext(t.ctx, `SELECT kind, undone_by FROM cue_ops WHERE id = ? AND event = ? AND lang = ?`,
		target, t.event, t.lang).Scan(&kind, &undone)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound(fmt.Sprintf("no operation %d in %s", target, t.lang))
	} else if err != nil {
		return fmt.Errorf("read operation: %w", err)
	}
	switch {
	case undone.Valid:
		return nothing(fmt.Sprintf("operation %d was undone already", target))
	case OpKind(kind) == OpRecognizer || OpKind(kind) == OpUndo:
		return nothing(fmt.Sprintf("operation %d (%s) cannot be undone", target, kind))
	}
	// A change after the operation that still stands would be lost.
	var later []int64
	rows, err := t.tx.QueryContext(t.ctx, `SELECT DISTINCT v.cue FROM cue_versions v
		JOIN cue_versions l ON l.cue = v.cue AND l.version > v.version JOIN cue_ops o ON o.id = l.op
		WHERE v.op = ? AND o.undone_by IS NULL AND o.kind != 'undo' ORDER BY v.cue LIMIT 20`, target)
	if err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("read versions: %w", err)
		}
		later = append(later, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	if len(later) > 0 {
		e := &StaleError{Reason: fmt.Sprintf("cue %d changed after operation %d: undo that change first", later[0], target)}
		for _, id := range later {
			c, err := t.get(id)
			if err != nil {
				return err
			}
			e.Current = append(e.Current, c)
		}
		return e
	}
	// Each cue goes back to the version before the operation's; a cue the
	// operation created is deleted.
	type back struct {
		id   int64
		prev *cueState
	}
	var backs []back
	rows, err = t.tx.QueryContext(t.ctx, `SELECT v.cue, p.version IS NOT NULL, COALESCE(p.start, 0), COALESCE(p.end, 0),
		COALESCE(p.text, ''), COALESCE(p.reviewed, 0), COALESCE(p.deleted, 0)
		FROM cue_versions v LEFT JOIN cue_versions p ON p.cue = v.cue AND p.version = v.version - 1
		WHERE v.op = ? ORDER BY v.seq`, target)
	if err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	for rows.Next() {
		var (
			b   back
			has bool
			st  cueState
		)
		if err := rows.Scan(&b.id, &has, &st.start, &st.end, &st.text, &st.reviewed, &st.deleted); err != nil {
			rows.Close()
			return fmt.Errorf("read versions: %w", err)
		}
		if has {
			b.prev = &st
		}
		backs = append(backs, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read versions: %w", err)
	}
	var moved []cueState
	var movedID []int64
	for _, b := range backs {
		cur, err := t.get(b.id)
		if err != nil {
			return err
		}
		st := cur.state()
		if b.prev == nil {
			st.deleted = true
		} else {
			st = *b.prev
		}
		if !st.deleted && (st.start != cur.Start || st.end != cur.End || cur.Deleted) {
			moved = append(moved, st)
			movedID = append(movedID, b.id)
		}
		if err := t.put(cur, st); err != nil {
			return err
		}
	}
	// Checked once every cue is back: a shift's cues pass each other on
	// the way.
	for i, st := range moved {
		if err := t.checkTimes(movedID[i], st.start, st.end); err != nil {
			var ov *OverlapError
			if errors.As(err, &ov) {
				return &StaleError{Reason: fmt.Sprintf("undoing operation %d would overlap a cue changed since: %v", target, err),
					Current: []EditedCue{ov.With}}
			}
			return err
		}
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE cue_ops SET undone_by = ? WHERE id = ?`, t.op, target); err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	if _, err := t.tx.ExecContext(t.ctx, `UPDATE cue_ops SET undoes = ? WHERE id = ?`, target, t.op); err != nil {
		return fmt.Errorf("undo: %w", err)
	}
	return nil
}
