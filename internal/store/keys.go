package store

import (
	"context"
	"crypto/rand"
	"fmt"
)

// KeySize is the length of the keys Key draws: 256 bits.
const KeySize = 32

// Key returns the server's secret key of that name, drawing it on first use.
// Every process on the data directory gets the same key, so what one signs
// (a viewer's access cookie) stays valid across restarts; deleting the data
// directory draws a new one.
func (s *Store) Key(ctx context.Context, name string) ([]byte, error) {
	if name == "" {
		return nil, invalidf("key: no name")
	}
	fresh := make([]byte, KeySize)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	// The first writer wins; everyone reads what it wrote.
	if _, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO keys (name, value) VALUES (?, ?)`, name, fresh); err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	var key []byte
	if err := s.db.QueryRowContext(ctx, `SELECT value FROM keys WHERE name = ?`, name).Scan(&key); err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	return key, nil
}
