package store

import (
	"bytes"
	"errors"
	"sync"
	"testing"
)

// TestListenerTokens: listener tokens are issued for an event without a
// language, listed, checked and revoked like the others, and found by id.
func TestListenerTokens(t *testing.T) {
	ctx := ctxT(t)
	s := openT(t, t.TempDir())
	secret, tk, err := s.CreateToken(ctx, "gala", RoleListener, "", "  Press pool ")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Role != RoleListener || tk.Lang != "" || tk.Name != "Press pool" || tk.Event != "gala" {
		t.Fatalf("created %+v", tk)
	}
	if _, _, err := s.CreateToken(ctx, "gala", RoleListener, "fr", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a listener token with a language: %v, want ErrInvalid", err)
	}
	if _, _, err := s.CreateToken(ctx, "gala", Role("viewer"), "", ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("role viewer: %v, want ErrInvalid", err)
	}
	if got, err := s.Check(ctx, secret); err != nil || got.ID != tk.ID || got.Role != RoleListener {
		t.Errorf("Check = %+v, %v", got, err)
	}
	got, err := s.Token(ctx, tk.ID)
	if err != nil || got.ID != tk.ID || got.Role != RoleListener || got.Revoked != nil || got.Name != "Press pool" {
		t.Errorf("Token(%s) = %+v, %v", tk.ID, got, err)
	}
	for _, id := range []string{"ffffffff", "", "FFFFFFFF", "1234567", secret, "'; DROP TABLE tokens; --"} {
		if _, err := s.Token(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("Token(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if err := s.Revoke(ctx, tk.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Token(ctx, tk.ID); err != nil || got.Revoked == nil {
		t.Errorf("Token of a revoked token = %+v, %v; want it, revoked", got, err)
	}
	if _, err := s.Check(ctx, secret); !errors.Is(err, ErrRevoked) {
		t.Errorf("Check of a revoked listener token = %v", err)
	}
	ts, err := s.Tokens(ctx, "gala")
	if err != nil || len(ts) != 1 || ts[0].Role != RoleListener {
		t.Errorf("Tokens = %+v, %v", ts, err)
	}
}

// TestKey: a key is drawn once per name and data directory, the same for
// every handle (and process) and across reopening; names are independent.
func TestKey(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	a, b := openT(t, dir), openT(t, dir)
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := a
			if i%2 == 1 {
				s = b
			}
			k, err := s.Key(ctx, "access")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i, k := range keys {
		if len(k) != KeySize || !bytes.Equal(k, keys[0]) {
			t.Fatalf("key %d = %x, want the same %d bytes as key 0 (%x)", i, k, KeySize, keys[0])
		}
	}
	if bytes.Equal(keys[0], make([]byte, KeySize)) {
		t.Error("the key is all zeros")
	}
	other, err := a.Key(ctx, "other")
	if err != nil || bytes.Equal(other, keys[0]) {
		t.Errorf("another name's key %x, %v", other, err)
	}
	a.Close()
	c := openT(t, dir)
	if k, err := c.Key(ctx, "access"); err != nil || !bytes.Equal(k, keys[0]) {
		t.Errorf("after reopening: %x, %v", k, err)
	}
	if _, err := c.Key(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Key(\"\") = %v", err)
	}
	if k, err := openT(t, t.TempDir()).Key(ctx, "access"); err != nil || bytes.Equal(k, keys[0]) {
		t.Errorf("another data directory's key %x, %v", k, err)
	}
}
