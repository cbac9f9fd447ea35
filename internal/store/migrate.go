package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations bring the schema from version i to i+1. Append new steps at the
// end; never edit a step that has shipped, since databases in the field have
// already run it.
var migrations = []string{
	// 1: access tokens. Only the SHA-256 of the secret is kept. Times are
	// Unix milliseconds.
	`CREATE TABLE tokens (
		id      TEXT PRIMARY KEY,
		hash    BLOB NOT NULL UNIQUE,
		event   TEXT NOT NULL,
		role    TEXT NOT NULL,
		lang    TEXT NOT NULL DEFAULT '',
		name    TEXT NOT NULL DEFAULT '',
		created INTEGER NOT NULL,
		revoked INTEGER
	);
	CREATE INDEX tokens_event ON tokens (event, created);`,
	// 2: final caption cues, one per (event, language, start). Times are
	// program time: 48 kHz samples since the event started.
	`CREATE TABLE cues (
		event TEXT NOT NULL,
		lang  TEXT NOT NULL,
		start INTEGER NOT NULL,
		end   INTEGER NOT NULL,
		text  TEXT NOT NULL,
		PRIMARY KEY (event, lang, start)
	) WITHOUT ROWID;`,
	// 3: when each event's recording began: the wall-clock time (Unix
	// nanoseconds) of program time zero of its first run. Cue times are
	// counted from it from now on, so a run after a restart continues the
	// recording instead of starting again at zero.
	`CREATE TABLE recordings (
		event TEXT PRIMARY KEY,
		epoch INTEGER NOT NULL
	) WITHOUT ROWID;`,
	// 4: the server's own secret keys by name (e.g. the one that signs
	// viewers' access cookies), drawn once and kept so that a restart
	// keeps what they signed valid.
	`CREATE TABLE keys (
		name  TEXT PRIMARY KEY,
		value BLOB NOT NULL
	) WITHOUT ROWID;`,
	// 5: editable cues. A cue gets a stable id; every change of it is a
	// version (cue_versions) made by an operation (cue_ops: who, when, what
	// kind, and which undo took it back). cues holds each cue's latest
	// version; src_start is the recognizer's key for it (the program-time
	// start it first gave, NULL for cues an editor made), and orig_* what the
	// recognizer last wrote. seq, the latest cue_versions row of a cue, grows
	// with every change, so readers can ask what changed after a seq. The
	// cues of migration 2 become version 1 of recognizer cues.
	`ALTER TABLE cues RENAME TO cues_v2;
	CREATE TABLE cue_ops (
		id        INTEGER PRIMARY KEY AUTOINCREMENT,
		event     TEXT NOT NULL,
		lang      TEXT NOT NULL,
		kind      TEXT NOT NULL,
		token     TEXT NOT NULL DEFAULT '',
		name      TEXT NOT NULL DEFAULT '',
		role      TEXT NOT NULL,
		at        INTEGER NOT NULL,
		undoes    INTEGER REFERENCES cue_ops (id),
		undone_by INTEGER REFERENCES cue_ops (id)
	);
	CREATE INDEX cue_ops_by ON cue_ops (event, lang, token, id);
	CREATE TABLE cues (
		id         INTEGER PRIMARY KEY AUTOINCREMENT,
		event      TEXT NOT NULL,
		lang       TEXT NOT NULL,
		start      INTEGER NOT NULL,
		end        INTEGER NOT NULL,
		text       TEXT NOT NULL,
		reviewed   INTEGER NOT NULL DEFAULT 0,
		deleted    INTEGER NOT NULL DEFAULT 0,
		version    INTEGER NOT NULL,
		seq        INTEGER NOT NULL,
		op         INTEGER NOT NULL REFERENCES cue_ops (id),
		edited     INTEGER NOT NULL DEFAULT 0,
		src_start  INTEGER,
		orig_start INTEGER,
		orig_end   INTEGER,
		orig_text  TEXT
	);
	CREATE UNIQUE INDEX cues_source ON cues (event, lang, src_start);
	CREATE INDEX cues_start ON cues (event, lang, start);
	CREATE INDEX cues_seq ON cues (event, lang, seq);
	CREATE TABLE cue_versions (
		seq      INTEGER PRIMARY KEY AUTOINCREMENT,
		cue      INTEGER NOT NULL REFERENCES cues (id),
		version  INTEGER NOT NULL,
		start    INTEGER NOT NULL,
		end      INTEGER NOT NULL,
		text     TEXT NOT NULL,
		reviewed INTEGER NOT NULL,
		deleted  INTEGER NOT NULL,
		op       INTEGER NOT NULL REFERENCES cue_ops (id),
		UNIQUE (cue, version)
	);
	CREATE INDEX cue_versions_op ON cue_versions (op);
	INSERT INTO cue_ops (event, lang, kind, role, at)
		SELECT DISTINCT event, lang, 'recognizer', 'recognizer', CAST(strftime('%s', 'now') AS INTEGER) * 1000 FROM cues_v2;
	INSERT INTO cues (event, lang, start, end, text, version, seq, op, src_start, orig_start, orig_end, orig_text)
		SELECT c.event, c.lang, c.start, c.end, c.text, 1, 0, o.id, c.start, c.start, c.end, c.text
		FROM cues_v2 c JOIN cue_ops o ON o.event = c.event AND o.lang = c.lang ORDER BY c.event, c.lang, c.start;
	INSERT INTO cue_versions (cue, version, start, end, text, reviewed, deleted, op)
		SELECT id, 1, start, end, text, 0, 0, op FROM cues ORDER BY id;
	UPDATE cues SET seq = (SELECT v.seq FROM cue_versions v WHERE v.cue = cues.id);
	DROP TABLE cues_v2;`,
	// 6: the recognizer's confidence in each cue's words (0..1): the mean,
	// the lowest word and every word's, space-separated, for the text the
	// recognizer last wrote. NULL when it gave none, as for every cue kept
	// before this step and every cue an editor made.
	`ALTER TABLE cues ADD COLUMN conf REAL;
	ALTER TABLE cues ADD COLUMN conf_min REAL;
	ALTER TABLE cues ADD COLUMN conf_words TEXT;`,
	// 7: an event's settings changed while it runs (e.g. the glossary), by
	// name, so that a restart starts from them rather than from the
	// configuration. value is the setting's JSON; at is Unix milliseconds.
	`CREATE TABLE event_settings (
		event TEXT NOT NULL,
		name  TEXT NOT NULL,
		value BLOB NOT NULL,
		at    INTEGER NOT NULL,
		PRIMARY KEY (event, name)
	) WITHOUT ROWID;`,
	// 8: whether the text the recognizer side last wrote is the floor's,
	// machine-translated (1) rather than recognized speech (0).
	`ALTER TABLE cues ADD COLUMN mt INTEGER NOT NULL DEFAULT 0;`,
}

// migrate runs the missing steps in one immediate transaction, so two
// processes opening a fresh directory at once apply each step exactly once.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		one     INTEGER PRIMARY KEY CHECK (one = 1),
		version INTEGER NOT NULL
	)`); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = tx.ExecContext(ctx, `INSERT INTO schema_version (one, version) VALUES (1, 0)`)
	}
	if err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this build of tolk knows (%d)", v, len(migrations))
	}
	if v == len(migrations) {
		return nil
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, len(migrations)); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	return tx.Commit()
}

// schemaVersion reports the version recorded in the database.
func (s *Store) schemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}
