package store

import (
	"errors"
	"strings"
	"testing"
)

// TestEventSettings keeps, replaces and forgets a setting, per event, across
// reopening the directory.
func TestEventSettings(t *testing.T) {
	ctx := ctxT(t)
	dir := t.TempDir()
	s := openT(t, dir)
	if _, ok, err := s.EventSetting(ctx, "demo", "glossary"); ok || err != nil {
		t.Fatalf("nothing kept yet: %v %v", ok, err)
	}
	for _, v := range []string{`{"terms":["a"]}`, `{"terms":["b"]}`} {
		if err := s.SetEventSetting(ctx, "demo", "glossary", []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetEventSetting(ctx, "other", "glossary", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = openT(t, dir)
	if v, ok, err := s.EventSetting(ctx, "demo", "glossary"); !ok || err != nil || string(v) != `{"terms":["b"]}` {
		t.Fatalf("after reopening: %q %v %v", v, ok, err)
	}
	if err := s.DeleteEventSetting(ctx, "demo", "glossary"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEventSetting(ctx, "demo", "glossary"); err != nil {
		t.Fatalf("forgetting twice: %v", err)
	}
	if _, ok, _ := s.EventSetting(ctx, "demo", "glossary"); ok {
		t.Fatal("a forgotten setting is still kept")
	}
	if v, ok, _ := s.EventSetting(ctx, "other", "glossary"); !ok || string(v) != `{}` {
		t.Fatalf("another event's setting: %q %v", v, ok)
	}
	for _, bad := range []func() error{
		func() error { return s.SetEventSetting(ctx, "Bad Event", "glossary", nil) },
		func() error { return s.SetEventSetting(ctx, "demo", "", nil) },
		func() error {
			return s.SetEventSetting(ctx, "demo", "glossary", []byte(strings.Repeat("x", maxSetting+1)))
		},
		func() error { _, _, err := s.EventSetting(ctx, "demo", strings.Repeat("n", 65)); return err },
	} {
		if err := bad(); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad input: %v, want ErrInvalid", err)
		}
	}
}
