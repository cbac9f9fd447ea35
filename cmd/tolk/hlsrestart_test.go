package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio/audiotest"
	"tolk/internal/store"
)

// getText GETs base+path and returns the body, failing on a status other
// than 200.
func getText(ctx context.Context, t *testing.T, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// mediaNames matches every media name a playlist shows: segments, parts
// and the preload hint, with the media sequence number they carry.
var mediaNames = regexp.MustCompile(`(?m)/(?:seg|part)([0-9]+)[.]`)

// playlistMSNs returns the media sequence numbers a playlist shows.
func playlistMSNs(t *testing.T, pl string) []int64 {
	t.Helper()
	var out []int64
	for _, m := range mediaNames.FindAllStringSubmatch(pl, -1) {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		t.Fatalf("no media in the playlist:\n%s", pl)
	}
	return out
}

// tagValue returns the value of tag in a playlist, "" when it is absent.
func tagValue(pl, tag string) string {
	for _, l := range strings.Split(pl, "\n") {
		if v, ok := strings.CutPrefix(l, tag+":"); ok {
			return v
		}
	}
	return ""
}

// TestServeKilledPlaylistsContinue runs the real binary on one data
// directory, kills it with SIGKILL while it serves, and starts it again:
// the English media playlist goes on at the same URI with media sequence
// numbers above every one the killed run showed, the gap marked with
// EXT-X-DISCONTINUITY in every playlist and counted in the discontinuity
// sequence; the master playlist lists the same URIs; a token
// made before the kill still opens the API; the killed run's recording
// holds every second up to the last one before the kill; and the cue the
// killed run published is in the export afterwards.
func TestServeKilledPlaylistsContinue(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "ffmpeg")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	floor, err := filepath.Abs("../../testdata/floor.wav")
	if err != nil {
		t.Fatal(err)
	}
	const event = "crash"
	cfg := filepath.Join(dir, "event.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
id: %s
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {fr: none}}
`, event, floor)), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	producer, _, err := st.CreateToken(ctx, event, store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	args := []string{"--config", cfg, "--data", data}
	hlsRoot := "/hls/" + event + "/"

	// Run 1: a cue is published (and so stored), then the process is killed.
	r1 := startServe(ctx, t, bin, args...)
	cues := r1.liveCues(ctx, t, event, 1)
	master1 := getText(ctx, t, r1.base+hlsRoot+"master.m3u8")
	pl1 := getText(ctx, t, r1.base+hlsRoot+"en/index.m3u8")
	var status struct{ PTS int64 }
	r1.getJSON(ctx, t, "/api/events/"+event+"/status", producer, &status)
	if err := r1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r1.cmd.Wait()
	// Whatever the killed run showed after that last playlist is at most
	// the part being written: the last number the playlist shows.
	shown := int64(0)
	for _, n := range playlistMSNs(t, pl1) {
		shown = max(shown, n)
	}
	ran := float64(status.PTS) / 48000
	t.Logf("run 1 played %.2f s, showed msn up to %d, published %q; killed", ran, shown, cues[0].Text)
	if tagValue(pl1, "#EXT-X-DISCONTINUITY-SEQUENCE") != "" || strings.Contains(pl1, "#EXT-X-DISCONTINUITY\n") {
		t.Errorf("the first run's playlist has a discontinuity:\n%s", pl1)
	}

	// Run 2 on the same data directory.
	r2 := startServe(ctx, t, bin, args...)
	stopped := false
	defer func() {
		if !stopped {
			_ = r2.cmd.Process.Kill()
			_ = r2.cmd.Wait()
		}
	}()
	pl2 := getText(ctx, t, r2.base+hlsRoot+"en/index.m3u8")
	t.Logf("run 2's first playlist:\n%s", pl2)
	seq, err := strconv.ParseInt(tagValue(pl2, "#EXT-X-MEDIA-SEQUENCE"), 10, 64)
	if err != nil || seq <= shown {
		t.Errorf("run 2 starts at media sequence %d (%v), the killed run showed %d", seq, err, shown)
	}
	for _, n := range playlistMSNs(t, pl2) {
		if n <= shown {
			t.Errorf("run 2 shows msn %d again", n)
		}
	}
	// Dates go on: the new run's first is after the killed run's last, and
	// the numbers have moved on at least as far as the clock has, so that
	// media time (number × segment) never falls behind the dates.
	last1, first2 := lastDate(t, pl1), firstDate(t, pl2)
	if !first2.After(last1) {
		t.Errorf("run 2 dated %v, not after run 1's %v", first2, last1)
	}
	if msn1 := lastSegmentMSN(t, pl1); time.Duration(seq-msn1)*time.Second < first2.Sub(last1)-time.Second {
		t.Errorf("numbers moved %d segments from %d, the clock %v", seq-msn1, msn1, first2.Sub(last1))
	}
	// The restart is a discontinuity, marked before the new run's first
	// segment, in the discontinuity sequence the killed run's segments had.
	assertRestartMarked(t, "en/index.m3u8", pl2)
	if !strings.Contains(pl2, `#EXT-X-MAP:URI="`) || strings.Contains(pl2, tagValue(pl1, "#EXT-X-MAP")) {
		t.Errorf("run 2 lists the killed run's initialization section:\n%s", pl2)
	}
	master2 := getText(ctx, t, r2.base+hlsRoot+"master.m3u8")
	if !sameURIs(master1, master2) {
		t.Errorf("the master playlist's URIs changed:\n%s\nthen\n%s", master1, master2)
	}
	// Every playlist the master names marks the restart: each language's
	// Opus and AAC, the captions.
	for _, uri := range mediaPlaylists(master2) {
		if uri != "en/index.m3u8" {
			assertRestartMarked(t, uri, getText(ctx, t, r2.base+hlsRoot+uri))
		}
	}
	// The token made before the kill opens the API, whose recordings list
	// the killed run, recovered, up to its last second.
	var runs []recRun
	for len(runs) < 2 {
		// The new run is listed once its recording has its first fragment.
		if runs = r2.recordings(ctx, t, event, producer); len(runs) >= 2 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("runs %+v", runs)
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(runs) != 2 || runs[0].Live || !runs[1].Live {
		t.Errorf("runs %+v, want the killed run and the live one", runs)
	}
	t.Logf("the killed run's recording lasts %.2f s; it had played %.2f s when last asked", runs[0].Duration, ran)
	if runs[0].Duration < float64(int(ran))-1 {
		t.Errorf("the killed run kept %.2f s, it had played %.2f s", runs[0].Duration, ran)
	}
	stopped = true
	r2.stop(t)
	// The next run counts one discontinuity more: the state file says
	// the second run's segments were in discontinuity sequence 1.
	var state struct{ Discontinuity int64 }
	if b, err := os.ReadFile(filepath.Join(data, "hls", event+".json")); err != nil {
		t.Error(err)
	} else if err := json.Unmarshal(b, &state); err != nil || state.Discontinuity != 1 {
		t.Errorf("state after the second run: %s (%v), want discontinuity 1", b, err)
	}

	// The cue the killed run published is kept.
	var out, stderr bytes.Buffer
	exp := exec.CommandContext(ctx, bin, "export", "--data", data, "--event", event, "--lang", "en", "--format", "vtt", "--out", "-")
	exp.Stdout, exp.Stderr = &out, &stderr
	if err := exp.Run(); err != nil {
		t.Fatalf("tolk export: %v: %s", err, stderr.String())
	}
	if !strings.Contains(words(out.String()), words(cues[0].Text)) {
		t.Errorf("the killed run's cue %q is not in the export:\n%s", cues[0].Text, out.String())
	}
}

// mediaPlaylists returns the URIs of the media playlists a master names.
func mediaPlaylists(master string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(master, "\n") {
		uri := l
		if i := strings.Index(l, `URI="`); i >= 0 {
			uri, _, _ = strings.Cut(l[i+len(`URI="`):], `"`)
		} else if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		if strings.HasSuffix(uri, "/index.m3u8") && !seen[uri] {
			seen[uri] = true
			out = append(out, uri)
		}
	}
	return out
}

// assertRestartMarked checks the first playlist of a run that continues a
// killed one: EXT-X-DISCONTINUITY-SEQUENCE 0, the killed run's, and, when
// it lists segments, an EXT-X-DISCONTINUITY before the first of them (and
// before the new run's EXT-X-MAP, when there is one).
func assertRestartMarked(t *testing.T, uri, pl string) {
	t.Helper()
	if v := tagValue(pl, "#EXT-X-DISCONTINUITY-SEQUENCE"); v != "0" {
		t.Errorf("%s: discontinuity sequence %q, want 0 while the restart is listed:\n%s", uri, v, pl)
	}
	first := strings.Index(pl, "#EXTINF:")
	if first < 0 {
		return
	}
	disc, mp := strings.Index(pl, "#EXT-X-DISCONTINUITY\n"), strings.Index(pl, "#EXT-X-MAP:")
	if disc < 0 || disc > first || (mp >= 0 && disc > mp) {
		t.Errorf("%s: no EXT-X-DISCONTINUITY before the new run's first segment:\n%s", uri, pl)
	}
}

// sameURIs reports whether two master playlists name the same media
// playlists.
func sameURIs(a, b string) bool {
	uris := func(s string) string {
		var out []string
		for _, l := range strings.Split(s, "\n") {
			if i := strings.Index(l, `URI="`); i >= 0 {
				out = append(out, l[i:])
			} else if l != "" && !strings.HasPrefix(l, "#") {
				out = append(out, l)
			}
		}
		return strings.Join(out, "\n")
	}
	return uris(a) == uris(b) && uris(a) != ""
}

// dates returns a playlist's EXT-X-PROGRAM-DATE-TIME values in order.
func dates(t *testing.T, pl string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, l := range strings.Split(pl, "\n") {
		if v, ok := strings.CutPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:"); ok {
			d, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				t.Fatalf("program date-time %q: %v", v, err)
			}
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("no date in the playlist:\n%s", pl)
	}
	return out
}

func firstDate(t *testing.T, pl string) time.Time { return dates(t, pl)[0] }

func lastDate(t *testing.T, pl string) time.Time { d := dates(t, pl); return d[len(d)-1] }

// lastSegmentMSN is the media sequence number of the last dated segment
// (complete or open) of a playlist.
func lastSegmentMSN(t *testing.T, pl string) int64 {
	t.Helper()
	seq, err := strconv.ParseInt(tagValue(pl, "#EXT-X-MEDIA-SEQUENCE"), 10, 64)
	if err != nil {
		t.Fatalf("media sequence: %v\n%s", err, pl)
	}
	return seq + int64(len(dates(t, pl))) - 1
}
