package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/asticode/go-astisub"
	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/store"
)

// liveCue is a settled cue as the live captions WebSocket sends it.
type liveCue struct {
	Type       string
	Text       string
	Start, End float64 // program seconds of the run
}

// serveRun is one run of the real binary's `tolk serve`.
type serveRun struct {
	cmd    *exec.Cmd
	stderr audiotest.LockedBuffer
	stdout audiotest.LockedBuffer // what follows the watch link
	base   string                 // http://host:port
}

// startServe runs `tolk serve ARGS --http 127.0.0.1:0` (unless ARGS give
// --http) and waits for its links.
func startServe(ctx context.Context, t *testing.T, bin string, args ...string) *serveRun {
	t.Helper()
	if slices.Contains(args, "--http") {
		return startServeOn(ctx, t, bin, "", args...)
	}
	return startServeOn(ctx, t, bin, "127.0.0.1:0", args...)
}

// startServeOn is startServe listening on addr ("": ARGS give --http).
func startServeOn(ctx context.Context, t *testing.T, bin, addr string, args ...string) *serveRun {
	t.Helper()
	args = append([]string{"serve"}, args...)
	if addr != "" {
		args = append(args, "--http", addr)
	}
	r := &serveRun{cmd: exec.CommandContext(ctx, bin, args...)}
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stderr = &r.stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "watch:" {
			r.base = f[1][:strings.Index(f[1], "/watch/")]
			break
		}
	}
	// The scanner may already hold the lines after the watch link: keep
	// reading through it. It ends when the process does.
	go func() {
		for sc.Scan() {
			_, _ = r.stdout.Write(append(sc.Bytes(), '\n'))
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	if r.base == "" {
		_ = r.cmd.Wait()
		t.Fatalf("no watch link printed; stderr: %s", r.stderr.String())
	}
	return r
}

// stop sends SIGTERM and expects a clean exit.
func (r *serveRun) stop(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr: %s", err, r.stderr.String())
	}
}

// epoch reads the wall-clock time of the run's program time zero from its
// English playlist: the EXT-X-PROGRAM-DATE-TIME of the run's first segment,
// which starts at program time zero. Call it right after the start, while
// the playlist lists that segment first: media sequence numbers go on from
// the run before, so the number does not say how far into the run a
// segment lies, and the playlist must not have slid yet (fewer segments
// than the window).
func (r *serveRun) epoch(ctx context.Context, t *testing.T, event string, window int) time.Time {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/hls/"+event+"/en/index.m3u8", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "#EXTINF"); n >= window {
		t.Fatalf("the playlist lists %d segments, its window: the run's first may have left it:\n%s", n, b)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"); ok {
			pdt, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t.Fatalf("program date-time %q: %v", v, err)
			}
			return pdt
		}
	}
	t.Fatalf("no dated segment in the playlist:\n%s", b)
	return time.Time{}
}

// glossary calls /api/events/EVENT/glossary with a producer token.
func (r *serveRun) glossary(ctx context.Context, t *testing.T, event, token, method, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, method, r.base+"/api/events/"+event+"/glossary", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// liveCues reads the live English captions until at least n settled cues
// with text have come.
func (r *serveRun) liveCues(ctx context.Context, t *testing.T, event string, n int) []liveCue {
	t.Helper()
	u := strings.Replace(r.base, "http", "ws", 1) + "/api/events/" + event + "/captions/live/en"
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	// Partial lines keep coming while the floor speaks: bound the whole wait.
	_ = ws.SetReadDeadline(time.Now().Add(30 * time.Second))
	var cues []liveCue
	for len(cues) < n {
		var c liveCue
		if err := ws.ReadJSON(&c); err != nil {
			t.Fatalf("live captions: %v; stderr: %s", err, r.stderr.String())
		}
		if c.Type == "cue" && strings.TrimSpace(c.Text) != "" {
			cues = append(cues, c)
		}
	}
	return cues
}

// words normalises caption text for comparison: lines and spaces alike.
func words(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestServeRestartKeepsCues runs the real binary twice on one data
// directory with a floor of flite speech recognized by the embedded
// PocketSphinx: each run's program time starts at zero, yet `tolk export`
// afterwards holds every cue seen live in both runs, with its text, the
// first run's at their live times and the second's later by the time
// between the runs' program time zeros. The glossary the producer set in
// the first run is the second run's.
func TestServeRestartKeepsCues(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { // after the runs' own cleanups
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "flite")
	audiotest.NeedTool(t, "sox")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	// Speech with silence around it: the recognizer settles a cue on a
	// pause, and the looped file would otherwise run on without one. One
	// short sentence: each run waits for its first cue.
	said := filepath.Join(dir, "said.wav")
	if out, err := exec.CommandContext(ctx, "flite", "-voice", "rms", "-t",
		"Please keep your questions until the end.", "-o", said).CombinedOutput(); err != nil {
		t.Fatalf("flite: %v: %s", err, out)
	}
	speech := filepath.Join(dir, "floor.wav")
	if out, err := exec.CommandContext(ctx, "sox", said, speech, "pad", "0.5", "2").CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	const event = "restart"
	const seg = time.Second
	cfg := filepath.Join(dir, "event.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
id: %s
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: %d, window: 6, aac: false}
captions: {languages: {fr: none}}
`, event, speech, seg.Milliseconds())), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	producer, _, err := st.CreateToken(ctx, event, store.RoleProducer, "", "Pat")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	const glossary = `{"terms":["questions"],"speakers":["Ada Oyelaran"],"text":"Questions at the end."}`

	var live [2][]liveCue
	var epochs, stopped [2]time.Time
	for i := range 2 {
		r := startServe(ctx, t, bin, "--config", cfg, "--data", data)
		epochs[i] = r.epoch(ctx, t, event, 6)
		// The glossary set in the first run is the second's from its start.
		if i == 0 {
			if code, body := r.glossary(ctx, t, event, producer, http.MethodPut, glossary); code != 200 {
				t.Fatalf("PUT glossary: %d %s", code, body)
			}
		} else if code, body := r.glossary(ctx, t, event, producer, http.MethodGet, ""); code != 200 ||
			!strings.Contains(body, `"terms":["questions"],"speakers":["Ada Oyelaran"],"text":"Questions at the end."`) {
			t.Errorf("the glossary after a restart: %d %s", code, body)
		}
		live[i] = r.liveCues(ctx, t, event, 1)
		r.stop(t)
		stopped[i] = time.Now()
		t.Logf("run %d: live cues %+v", i+1, live[i])
	}
	gap := epochs[1].Sub(epochs[0])
	// The first run's recording ended by the time its process had exited.
	end1 := stopped[0].Sub(epochs[0])
	t.Logf("second run's program time zero %v after the first's; the first run ended by %v", gap, end1)

	out := filepath.Join(dir, "en.srt")
	var stderr bytes.Buffer
	exp := exec.CommandContext(ctx, bin, "export", "--data", data, "--event", event, "--lang", "en", "--format", "srt", "--out", out)
	exp.Stderr = &stderr
	if err := exp.Run(); err != nil {
		t.Fatalf("tolk export: %v: %s", err, stderr.String())
	}
	subs, err := astisub.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	file, _ := os.ReadFile(out)
	type timed struct {
		text  string
		start time.Duration
	}
	var got []timed
	for _, it := range subs.Items {
		var lines []string
		for _, l := range it.Lines {
			lines = append(lines, l.String())
		}
		got = append(got, timed{words(strings.Join(lines, " ")), it.StartAt})
	}
	// Each cue seen live is in the file exactly once, where the design puts it.
	for i, cues := range live {
		for _, c := range cues {
			want := timed{words(c.Text), time.Duration(i)*gap + time.Duration(c.Start*float64(time.Second))}
			n := 0
			for _, g := range got {
				if g.text == want.text && (g.start-want.start).Abs() <= audio.FrameDuration {
					n++
				}
			}
			if n != 1 {
				t.Errorf("run %d's cue %q at %v is in the export %d times, want once:\n%s", i+1, want.text, want.start, n, file)
			}
		}
	}
	// Every cue, seen live or not, lies within one of the runs: nothing
	// between the first run's end and the second run's start.
	for _, g := range got {
		if g.start > end1+audio.FrameDuration && g.start < gap-audio.FrameDuration {
			t.Errorf("cue %q at %v lies between the runs (%v to %v):\n%s", g.text, g.start, end1, gap, file)
		}
	}
	t.Logf("export: %d cues; %s", len(got), strings.TrimSpace(stderr.String()))
}
