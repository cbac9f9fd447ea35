package store

import (
	"context"
	"fmt"
	"math"

	"tolk/internal/media"
)

// SaveCue keeps a final cue from the recognizer. Its times are recording
// time: 48 kHz samples since the event's recording began (see
// RecordingStart), which on an event's first run is its program time. The
// recognizer's key for a cue is its language and start: saving a cue again
// with the same language and start updates it (a new version by the
// recognizer), so a retried write never duplicates a cue, unless an editor
// has changed or deleted the cue since; then the editor's work stands and the
// recognizer's cue is ignored. The cue's confidence (nil: none) is kept with
// the recognizer's text. Partial cues are the live line only and are not
// kept: SaveCue ignores them. The language is canonicalised (EN-gb is kept as
// en-GB).
func (s *Store) SaveCue(ctx context.Context, event string, c media.Cue) error {
	if !c.Final {
		return nil
	}
	if err := checkEvent(event); err != nil {
		return err
	}
	lang, err := cueLang(c.Lang)
	if err != nil {
		return err
	}
	if c.Start < 0 || c.End < c.Start {
		return invalidf("cue %d..%d: times must be non-negative and end at or after the start", c.Start, c.End)
	}
	if c.End > maxCueTime {
		return invalidf("cue %d..%d: times beyond %d samples", c.Start, c.End, maxCueTime)
	}
	st := cueState{start: c.Start, end: c.End, text: c.Text}
	_, err = s.edit(ctx, event, lang, OpRecognizer, Recognizer, false, func(t *editTx) error {
		cur, err := t.bySource(c.Start)
		switch {
		case err == errNoSource:
			src := c.Start
			id, err := t.create(st, &src)
			if err != nil {
				return err
			}
			return t.setSource(id, c.Confidence, c.MachineTranslated)
		case err != nil:
			return err
		case cur.Edited || cur.Deleted:
			return nil // an editor's work wins over a late or repeated result
		case cur.state() == st:
			return nil
		}
		if err := t.put(cur, st); err != nil {
			return err
		}
		return t.setSource(cur.ID, c.Confidence, c.MachineTranslated)
	})
	if err != nil {
		return fmt.Errorf("save cue: %w", err)
	}
	return nil
}

// All, as the to argument of Cues, means no upper bound.
const All = math.MaxInt64

// Cues returns the current (edited) cues of one language of an event that
// overlap the recording-time range [from, to), ordered by start; deleted
// cues are left out. Pass 0 and All for every cue. An event or language with
// no cues returns none and no error. Exports and the VOD packager read
// captions through it, so they follow every edit; CueSeq tells whether
// anything changed since an earlier read.
func (s *Store) Cues(ctx context.Context, event, lang string, from, to int64) ([]media.Cue, error) {
	if err := checkEvent(event); err != nil {
		return nil, err
	}
	lang, err := cueLang(lang)
	if err != nil {
		return nil, err
	}
	// A zero-length cue at from still counts: it lies in the range.
	rows, err := s.db.QueryContext(ctx, `SELECT start, end, text FROM cues
		WHERE event = ? AND lang = ? AND deleted = 0 AND start < ? AND (end > ? OR start >= ?) ORDER BY start, id`,
		event, lang, to, from, from)
	if err != nil {
		return nil, fmt.Errorf("read cues: %w", err)
	}
	defer rows.Close()
	var cs []media.Cue
	for rows.Next() {
		c := media.Cue{Lang: lang, Final: true}
		if err := rows.Scan(&c.Start, &c.End, &c.Text); err != nil {
			return nil, fmt.Errorf("read cues: %w", err)
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read cues: %w", err)
	}
	return cs, nil
}

// Languages lists the languages an event has cues in, sorted.
func (s *Store) Languages(ctx context.Context, event string) ([]string, error) {
	if err := checkEvent(event); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT lang FROM cues WHERE event = ? ORDER BY lang`, event)
	if err != nil {
		return nil, fmt.Errorf("cue languages: %w", err)
	}
	defer rows.Close()
	langs := []string{}
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return nil, fmt.Errorf("cue languages: %w", err)
		}
		langs = append(langs, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cue languages: %w", err)
	}
	return langs, nil
}

func cueLang(lang string) (string, error) {
	if lang == "" {
		return "", invalidf("cue without a language")
	}
	return canonicalLang(lang)
}
