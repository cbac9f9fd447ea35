package web_test

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// Media that several tests play (an H.264 floor costs seconds of CPU to
// encode) is made once per run of the test binary, in a directory removed
// when the run ends.
var fixtures struct {
	mu    sync.Mutex
	dir   string
	files map[string]string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if fixtures.dir != "" {
		os.RemoveAll(fixtures.dir)
	}
	os.Exit(code)
}

// sharedFixture returns the path of the fixture called name, which make
// writes to the path it is given on first use. Tests must not change it. The
// file is called base (what a test's floor shows as its source) in a
// directory of its own.
func sharedFixture(t testing.TB, name, base string, make func(path string) error) string {
	t.Helper()
	fixtures.mu.Lock()
	defer fixtures.mu.Unlock()
	if p, ok := fixtures.files[name]; ok {
		return p
	}
	if fixtures.dir == "" {
		d, err := os.MkdirTemp("", "tolk-web-fixtures-")
		if err != nil {
			t.Fatal(err)
		}
		fixtures.dir, fixtures.files = d, map[string]string{}
	}
	sub := filepath.Join(fixtures.dir, name)
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(sub, base)
	if err := make(p); err != nil {
		os.RemoveAll(sub)
		t.Fatalf("make %s: %v", name, err)
	}
	fixtures.files[name] = p
	return p
}
