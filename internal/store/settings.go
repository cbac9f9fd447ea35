package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Event settings are what a producer changes on a running event (the
// glossary) kept by name, so that a restart starts from them rather than
// from the configuration. The store keeps each one's JSON as given; what it
// means is the event's business.

// maxSetting bounds a setting's value: the largest glossary is 512 KB.
const maxSetting = 1 << 20

func checkSetting(event, name string) error {
	if err := checkEvent(event); err != nil {
		return err
	}
	if name == "" || len(name) > 64 {
		return invalidf("setting name %q: must be 1-64 bytes", name)
	}
	return nil
}

// EventSetting returns the value kept for an event's setting, and false
// when none is kept.
func (s *Store) EventSetting(ctx context.Context, event, name string) ([]byte, bool, error) {
	if err := checkSetting(event, name); err != nil {
		return nil, false, err
	}
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM event_settings WHERE event = ? AND name = ?`, event, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read setting %s: %w", name, err)
	}
	return v, true, nil
}

// SetEventSetting keeps value as an event's setting, replacing what was kept.
func (s *Store) SetEventSetting(ctx context.Context, event, name string, value []byte) error {
	if err := checkSetting(event, name); err != nil {
		return err
	}
	if len(value) > maxSetting {
		return invalidf("setting %s: %d bytes, at most %d", name, len(value), maxSetting)
	}
	if value == nil {
		value = []byte{}
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO event_settings (event, name, value, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (event, name) DO UPDATE SET value = excluded.value, at = excluded.at`,
		event, name, value, s.now().UnixMilli()); err != nil {
		return fmt.Errorf("save setting %s: %w", name, err)
	}
	return nil
}

// DeleteEventSetting forgets an event's setting; forgetting one that is not
// kept is no error.
func (s *Store) DeleteEventSetting(ctx context.Context, event, name string) error {
	if err := checkSetting(event, name); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM event_settings WHERE event = ? AND name = ?`, event, name); err != nil {
		return fmt.Errorf("delete setting %s: %w", name, err)
	}
	return nil
}
