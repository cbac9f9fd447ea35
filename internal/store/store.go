// Package store keeps tolk's durable state in one SQLite file, tolk.db,
// under the data directory: access tokens, caption cues (with the
// recognizer's confidence), when each event's recording began, and the
// settings a producer changed on a running event (its glossary).
//
// The file is opened in WAL mode with a busy timeout, so several processes
// can use it at once: `tolk token` adds or revokes tokens while `tolk serve`
// checks them, and every Check reads the file, so a revocation takes effect
// on the server's next Check without a restart.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver
)

// FileName is the database file inside the data directory.
const FileName = "tolk.db"

// busyTimeout is how long a statement waits for another connection's or
// process's write lock before failing; writes here take milliseconds.
const busyTimeout = 10 * time.Second

// openTimeout bounds the migrations run by Open.
const openTimeout = 30 * time.Second

// Store is the handle on one data directory's database. It is safe for
// concurrent use; several Stores, in one process or many, may share a
// directory.
type Store struct {
	db    *sql.DB
	check *sql.Stmt
	now   func() time.Time
	// watch is closed, and replaced, when this Store changes cues; see
	// CuesChanged.
	watchMu sync.Mutex
	watch   chan struct{}
}

// Open opens (creating if needed) the database in dir and brings its schema
// up to date.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("store: no data directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Create the file ourselves so that it, and the -wal and -shm files
	// SQLite derives from it, are readable by the owner only.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	f.Close()

	db, err := sql.Open("sqlite3", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// SQLite serialises writers anyway; a few connections let Checks read
	// in parallel (WAL) without holding dozens of file handles.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)

	ctx, cancel := context.WithTimeout(context.Background(), openTimeout)
	defer cancel()
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	s := &Store{db: db, now: time.Now}
	if s.check, err = db.PrepareContext(ctx, `SELECT `+tokenColumns+`, hash FROM tokens WHERE hash = ?`); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	return s, nil
}

// dsn builds a file: URI for the driver. The path is escaped because a data
// directory may contain '?', '#' or '%'.
func dsn(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	// Writers take the lock when their transaction begins, so two
	// processes never deadlock upgrading read locks; the busy timeout
	// then simply queues them.
	q.Set("_txlock", "immediate")
	// NORMAL is safe with WAL: a crash can lose the last commits, never
	// corrupt the file.
	q.Set("_synchronous", "NORMAL")
	q.Set("_foreign_keys", "on")
	return "file:" + (&url.URL{Path: filepath.ToSlash(path)}).EscapedPath() + "?" + q.Encode()
}

// Close closes the database; in-flight calls finish first.
func (s *Store) Close() error {
	s.check.Close()
	return s.db.Close()
}
