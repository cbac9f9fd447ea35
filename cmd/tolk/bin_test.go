package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// The tests that run the real binary share one build, made outside every
// test's deadline: on a cold build cache it recompiles the cgo dependencies
// (SQLite, Opus, PocketSphinx), which takes minutes on a loaded machine.
// TOLK_BIN names a binary built beforehand instead.
var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// tolkBinary returns the path of the tolk binary, building it on first use.
// The build has no deadline of its own (the suite's -timeout bounds it) and
// uses the same race setting as the test binary, so that a cold cache
// compiles the dependencies once, not a second time without -race. Call it
// before starting a test's own deadline.
func tolkBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		if p := os.Getenv("TOLK_BIN"); p != "" {
			binPath = p
			if _, err := os.Stat(p); err != nil {
				binErr = fmt.Errorf("TOLK_BIN: %w", err)
			}
			return
		}
		if binDir, binErr = os.MkdirTemp("", "tolk-bin-"); binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "tolk")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go %v: %w\n%s", args, err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}
