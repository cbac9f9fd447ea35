package sphinx

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/text/language"

	"tolk/internal/audio"
)

// rssMB is the process's resident memory.
func rssMB(t *testing.T) float64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestRestartedStreamsKeepRSSBounded: the caption pipeline opens a new
// stream (a new decoder, some 90 MB of malloc) each time one hangs. Each
// here is opened and closed on a thread of its own, as the scheduler may
// do, so each decoder lands in another malloc arena; once freed, its pages
// go back to the system, so RSS stays about one decoder however many came
// before (without the trim it grew ~90 MB a stream: 37 → 307 MB over
// four).
func TestRestartedStreamsKeepRSSBounded(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Skip("no PocketSphinx model:", err)
	}
	const streams = 4
	var after [streams]float64
	for i := range streams {
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			st, err := r.NewStream(context.Background(), language.AmericanEnglish)
			if err != nil {
				t.Error(err)
				return
			}
			read := make(chan struct{})
			go func() {
				defer close(read)
				for range st.Results() {
				}
			}()
			for k := range 10 {
				_ = st.Write(audio.Frame{PTS: int64(k * audio.FrameSamples), Samples: make([]float32, audio.FrameSamples)})
			}
			if err := st.Close(); err != nil {
				t.Error(err)
			}
			<-read
		}()
		<-done
		after[i] = rssMB(t)
	}
	t.Logf("RSS after each stream closed: %.1f MB", after)
	if grew := after[streams-1] - after[0]; grew > 150 {
		t.Errorf("RSS grew %.1f MB over %d more streams opened and closed (%.1f MB): freed decoders are kept", grew, streams-1, after)
	}
}
