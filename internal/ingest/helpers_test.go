package ingest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// needFFmpeg skips a test when ffmpeg is missing, except in CI, where a missing
// ffmpeg is a broken machine.
func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, bin := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(bin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found: %v", bin, err)
			}
			t.Skipf("%s not found: %v", bin, err)
		}
	}
}

// recorder is a Writer that keeps copies of what it receives.
type recorder struct {
	mu      sync.Mutex
	frames  int
	samples []float32 // all samples, when keepAll
	keepAll bool
	ch      chan []float32 // each frame, when non-nil; full ⇒ dropped
	bad     int            // frames of the wrong size
}

func (r *recorder) WriteFloor(s []float32) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frames++
	if len(s) != audio.FrameSamples {
		r.bad++
	}
	if r.keepAll {
		r.samples = append(r.samples, s...)
	}
	if r.ch != nil {
		select {
		case r.ch <- append([]float32(nil), s...):
		default:
		}
	}
	// Scribble over the slice: a source that reused it after handing it over
	// would be caught by the race detector or by wrong audio.
	for i := range s {
		s[i] = 0
	}
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.frames
}

func (r *recorder) all() []float32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]float32(nil), r.samples...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// drive advances clock by one frame whenever something waits on it, until
// stop is closed, so a paced source runs as fast as it can decode.
func drive(clock *audiotest.Clock, stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if clock.Pending() > 0 {
			clock.Advance(audio.FrameDuration)
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}

// goertzel returns the amplitude of the freq component of s.
func goertzel(s []float32, freq float64) float64 {
	return audiotest.Goertzel(s, freq, audio.SampleRate)
}

// dominant returns which of freqs has the largest Goertzel amplitude in s.
func dominant(s []float32, freqs ...float64) float64 {
	best, bestAmp := 0.0, -1.0
	for _, f := range freqs {
		if a := goertzel(s, f); a > bestAmp {
			best, bestAmp = f, a
		}
	}
	return best
}

func dB(x float64) float64 { return audio.GainToDB(x) }

// runTool runs ffmpeg with args and fails the test on error.
func runTool(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args = append([]string{"-nostdin", "-hide_banner", "-y"}, args...)
	out, err := exec.CommandContext(ctx, "ffmpeg", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// probeDuration asks ffprobe for a file's duration.
func probeDuration(t testing.TB, path string) time.Duration {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	sec, err := strconv.ParseFloat(strings.TrimSpace(string(out)), 64)
	if err != nil {
		t.Fatalf("ffprobe %s: %q: %v", path, out, err)
	}
	return time.Duration(sec * float64(time.Second))
}

var meanVolumeRE = regexp.MustCompile(`mean_volume: (-?[0-9.]+) dB`)

// meanVolume measures a file's RMS level in dBFS with ffmpeg's volumedetect,
// at the file's own rate and channel layout.
func meanVolume(t testing.TB, path string) float64 {
	t.Helper()
	out := runTool(t, "-i", path, "-af", "volumedetect", "-f", "null", "-")
	m := meanVolumeRE.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no mean_volume in volumedetect output:\n%s", out)
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// makeTone writes a sine file with ffmpeg's lavfi source.
func makeTone(t testing.TB, name string, freq, rate int, dur time.Duration, extra ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	args := []string{"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=%d:duration=%g", freq, rate, dur.Seconds())}
	args = append(args, extra...)
	runTool(t, append(args, path)...)
	return path
}

// portBound reports whether a local port is bound: a listening TCP socket or
// any UDP socket. It reads /proc so it never connects to the listener, which
// would take the one publisher slot ffmpeg offers.
func portBound(t testing.TB, network string, port int) bool {
	t.Helper()
	files := map[string][]string{"tcp": {"/proc/net/tcp", "/proc/net/tcp6"}, "udp": {"/proc/net/udp", "/proc/net/udp6"}}[network]
	suffix := fmt.Sprintf(":%04X", port)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || !strings.HasSuffix(fields[1], suffix) {
				continue
			}
			if network == "udp" || fields[3] == "0A" { // 0A: TCP_LISTEN
				f.Close()
				return true
			}
		}
		f.Close()
	}
	return false
}
