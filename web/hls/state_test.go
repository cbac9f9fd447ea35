package hls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// playlistTags returns the value of every line that starts with tag, in
// order, and the index of each such line.
func playlistTags(b []byte, tag string) (vals []string, at []int) {
	for i, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, tag); ok {
			vals = append(vals, strings.TrimPrefix(v, ":"))
			at = append(at, i)
		}
	}
	return vals, at
}

func playlistNumber(t *testing.T, b []byte, tag string) int64 {
	t.Helper()
	v, _ := playlistTags(b, tag)
	if len(v) != 1 {
		t.Fatalf("%s %d times in\n%s", tag, len(v), b)
	}
	n, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", tag, err)
	}
	return n
}

func TestLoadContinuation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hls", "ev.json")
	now := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
	c, err := LoadContinuation(path, 2*time.Second, now)
	if err != nil || c != (Continuation{}) {
		t.Fatalf("no file: %+v, %v; want a fresh start", c, err)
	}
	st := State{Version: stateVersion, NextMSN: 40, Discontinuity: 2, EdgeMSN: 37, Edge: now.Add(-time.Second), SegmentMS: 2000, Run: "abc"}
	if err := writeState(path, st); err != nil {
		t.Fatal(err)
	}
	// A restart soon after the edge: the saved next number.
	if c, err = LoadContinuation(path, 2*time.Second, now); err != nil || c != (Continuation{MSN: 40, Discontinuity: 2, Resumed: true}) {
		t.Fatalf("continuation %+v, %v", c, err)
	}
	// A minute later: 30 segments after the edge, so that media time and
	// date go on together.
	if c, _ = LoadContinuation(path, 2*time.Second, now.Add(time.Minute)); c.MSN != 37+30+1 {
		t.Fatalf("a minute on: msn %d, want %d", c.MSN, 37+30+1)
	}
	// A clock that went back never lowers the number.
	if c, _ = LoadContinuation(path, 2*time.Second, now.Add(-time.Hour)); c.MSN != 40 {
		t.Fatalf("clock behind the edge: msn %d, want 40", c.MSN)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("state directory holds %d files, want the state alone", len(entries))
	}
	for _, bad := range []string{"", "{", `{"version":9,"next_msn":4}`, `{"version":1,"next_msn":-4}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadContinuation(path, 2*time.Second, now)
		if err == nil {
			t.Errorf("state %q read without an error", bad)
		}
		// Still above anything an earlier run can have numbered.
		if !c.Resumed || c.MSN != now.Unix()/2 {
			t.Errorf("state %q: continuation %+v, want the clock's", bad, c)
		}
	}
}

// TestMuxerContinuesAfterKill: a muxer killed without Close leaves a state
// file from which the next run's playlists continue: numbers above every
// one shown, decode times after the killed run's, blocking reloads in the
// new numbering; marked (RestartDiscontinuity), a discontinuity before the
// first segment, and once that segment leaves the window the
// discontinuity sequence rises.
func TestMuxerContinuesAfterKill(t *testing.T) {
	state := filepath.Join(t.TempDir(), "hls", "ev.json")
	m1, _ := newTestMuxer(t, Options{StateFile: state, Run: "first"})
	for _, id := range []string{"en", "fr"} {
		writeRange(t, m1, id, 0, sec(3.4))
	}
	old := get(m1, http.MethodGet, "en/index.m3u8").Body.Bytes()
	if v, _ := playlistTags(old, "#EXT-X-DISCONTINUITY"); len(v) != 0 {
		t.Fatalf("a fresh event's playlist has a discontinuity:\n%s", old)
	}
	// Every number the killed run showed: its segments, parts and hint.
	shown := int64(0)
	for _, l := range strings.Split(string(old), "\n") {
		if i := strings.Index(l, "first/"); i >= 0 {
			name := strings.TrimSuffix(l[i+len("first/"):], `"`)
			name = strings.TrimPrefix(strings.TrimPrefix(name, "seg"), "part")
			msn, err := strconv.ParseInt(strings.FieldsFunc(name, func(r rune) bool { return r == '.' })[0], 10, 64)
			if err == nil {
				shown = max(shown, msn)
			}
		}
	}
	oldFrags, _ := decodeFragments(t, get(m1, http.MethodGet, "en/first/seg2.m4s").Body.Bytes())
	oldEnd := oldFrags[len(oldFrags)-1].tfdt + uint64(oldFrags[len(oldFrags)-1].dur)

	// The kill: the state file as it is now is all the next run gets.
	// Wait for the writer to have saved the newest complete segment.
	deadline := time.Now().Add(10 * time.Second)
	var st State
	for st.EdgeMSN != 3 {
		b, err := os.ReadFile(state)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("state %+v, want the edge after segment 2", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	saved, _ := os.ReadFile(state)
	m1.Close()
	if err := os.WriteFile(state, saved, 0o600); err != nil {
		t.Fatal(err)
	}

	c, err := LoadContinuation(state, time.Second, st.Edge)
	if err != nil {
		t.Fatal(err)
	}
	if c.MSN <= shown || !c.Resumed || c.Discontinuity != 0 {
		t.Fatalf("continuation %+v after a run that showed msn %d", c, shown)
	}
	// Unmarked (the default), the run goes on in the same discontinuity
	// sequence.
	plain, _ := newTestMuxer(t, Options{Run: "plain", Continue: c})
	writeRange(t, plain, "en", 0, sec(1.4))
	pl := get(plain, http.MethodGet, "en/index.m3u8").Body.Bytes()
	plain.Close()
	if playlistNumber(t, pl, "#EXT-X-MEDIA-SEQUENCE") != c.MSN || strings.Contains(string(pl), "DISCONTINUITY") {
		t.Errorf("an unmarked continuation:\n%s", pl)
	}

	m2, _ := newTestMuxer(t, Options{StateFile: state, Run: "second", Continue: c, RestartDiscontinuity: true})
	defer m2.Close()
	// Until the new run lists a whole segment, playlist requests wait,
	// blocking or not: a playlist of parts alone reads as empty.
	early := getAsync(m2, "en/index.m3u8")
	earlyBlocking := getAsync(m2, "en/index.m3u8?_HLS_msn="+strconv.FormatInt(shown, 10)+"&_HLS_part=4")
	writeRange(t, m2, "en", 0, sec(0.4))
	for _, ch := range []<-chan *httptest.ResponseRecorder{early, earlyBlocking} {
		select {
		case w := <-ch:
			t.Fatalf("answered before the first segment: %d\n%s", w.Code, w.Body)
		case <-time.After(20 * time.Millisecond):
		}
	}
	writeRange(t, m2, "fr", 0, sec(0.4))
	for _, id := range []string{"en", "fr"} {
		writeRange(t, m2, id, sec(0.4), sec(1.4))
	}
	for _, ch := range []<-chan *httptest.ResponseRecorder{early, earlyBlocking} {
		if w := receive(t, ch); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "#EXTINF") {
			t.Errorf("first answer: %d\n%s", w.Code, w.Body)
		}
	}
	pl = get(m2, http.MethodGet, "en/index.m3u8").Body.Bytes()
	t.Logf("after the restart:\n%s", pl)
	if seq := playlistNumber(t, pl, "#EXT-X-MEDIA-SEQUENCE"); seq != c.MSN {
		t.Errorf("media sequence %d, want %d", seq, c.MSN)
	}
	if d := playlistNumber(t, pl, "#EXT-X-DISCONTINUITY-SEQUENCE"); d != 0 {
		t.Errorf("discontinuity sequence %d, want 0 while the restart is listed", d)
	}
	lines := strings.Split(string(pl), "\n")
	discAt, mapAt, firstAt := -1, -1, -1
	for i, l := range lines {
		switch {
		case l == "#EXT-X-DISCONTINUITY":
			discAt = i
		case strings.HasPrefix(l, "#EXT-X-MAP:"):
			mapAt = i
		case strings.HasPrefix(l, "#EXT-X-PROGRAM-DATE-TIME:") && firstAt < 0:
			firstAt = i
		}
	}
	if discAt < 0 || discAt > mapAt || mapAt > firstAt {
		t.Errorf("want EXT-X-DISCONTINUITY, then EXT-X-MAP, then the first segment:\n%s", pl)
	}
	if !strings.Contains(string(pl), `#EXT-X-MAP:URI="second/init.mp4"`) {
		t.Errorf("the new run's init section is not listed:\n%s", pl)
	}
	// Media time goes on after the killed run's.
	first := "en/second/seg" + strconv.FormatInt(c.MSN, 10) + ".m4s"
	frags, _ := decodeFragments(t, get(m2, http.MethodGet, first).Body.Bytes())
	if want := uint64(c.MSN) * uint64(audio.SampleRate); frags[0].tfdt != want || frags[0].tfdt < oldEnd {
		t.Errorf("first decode time %d, want %d, after the killed run's end %d", frags[0].tfdt, want, oldEnd)
	}
	// The killed run's names are another run's: not found.
	if w := get(m2, http.MethodGet, "en/first/seg2.m4s"); w.Code != http.StatusNotFound {
		t.Errorf("the killed run's segment: %d", w.Code)
	}
	// A player that followed the killed run asks for the part after its
	// last one: the new run's parts are past it, so the answer is now.
	w := get(m2, http.MethodGet, "en/index.m3u8?_HLS_msn="+strconv.FormatInt(shown, 10)+"&_HLS_part=4")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") == "no-cache" {
		t.Errorf("blocking reload in the old numbering: %d %s", w.Code, w.Body)
	}
	// One in the new numbering waits for its part.
	ch := getAsync(m2, "en/index.m3u8?_HLS_msn="+strconv.FormatInt(c.MSN+1, 10)+"&_HLS_part=3")
	writeRange(t, m2, "en", sec(1.4), sec(1.8))
	if w := receive(t, ch); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "part"+strconv.FormatInt(c.MSN+1, 10)+".3.m4s") {
		t.Errorf("blocking reload in the new numbering: %d\n%s", w.Code, w.Body)
	}
	// The window (4 segments) slides past the restart: the tag goes and
	// the discontinuity sequence counts it.
	writeRange(t, m2, "en", sec(1.8), sec(6.4))
	pl = get(m2, http.MethodGet, "en/index.m3u8").Body.Bytes()
	if d := playlistNumber(t, pl, "#EXT-X-DISCONTINUITY-SEQUENCE"); d != 1 {
		t.Errorf("discontinuity sequence %d once the restart has left the window, want 1:\n%s", d, pl)
	}
	if strings.Contains(string(pl), "#EXT-X-DISCONTINUITY\n") {
		t.Errorf("a discontinuity is still listed:\n%s", pl)
	}
	// The state moves on with the new run, one discontinuity further.
	m2.Close()
	c3, err := LoadContinuation(state, time.Second, time.Time{})
	if err != nil || c3.MSN <= c.MSN+5 || c3.Discontinuity != 1 {
		t.Errorf("after the second run: %+v, %v", c3, err)
	}
	if s := m2.Stats(); s.StateWrites < 2 || s.StateFailures != 0 {
		t.Errorf("state writes %d, failures %d", s.StateWrites, s.StateFailures)
	}
}

// TestSubtitlesContinue: the WebVTT rendition of a continuing run numbers
// its segments as the audio does, marks the same discontinuity and maps
// its cue times onto the audio's shifted decode times.
func TestSubtitlesContinue(t *testing.T) {
	c := Continuation{MSN: 50, Discontinuity: 3, Resumed: true}
	s := NewSubtitles(Options{SegmentDuration: time.Second, Window: 2, Run: "second", Continue: c, RestartDiscontinuity: true},
		func() (time.Time, bool) { return time.Unix(1e9, 0), true })
	s.Add(sec(0.5), sec(1.5), "hello")
	s.Advance(sec(2))
	pl := *s.playlist.Load()
	if playlistNumber(t, pl, "#EXT-X-MEDIA-SEQUENCE") != 50 || playlistNumber(t, pl, "#EXT-X-DISCONTINUITY-SEQUENCE") != 3 ||
		!strings.Contains(string(pl), "#EXT-X-DISCONTINUITY\n") || !strings.Contains(string(pl), "second/seg51.vtt") {
		t.Errorf("subtitle playlist:\n%s", pl)
	}
	w := httpGet(s, "/second/seg50.vtt")
	if want := "X-TIMESTAMP-MAP=MPEGTS:4500000,LOCAL:00:00:00.000"; !strings.Contains(w, want) || !strings.Contains(w, "hello") {
		t.Errorf("segment 50:\n%s\nwant %s", w, want)
	}
	s.Advance(sec(3))
	pl = *s.playlist.Load()
	if playlistNumber(t, pl, "#EXT-X-DISCONTINUITY-SEQUENCE") != 4 || strings.Contains(string(pl), "#EXT-X-DISCONTINUITY\n") {
		t.Errorf("after the restart left the window:\n%s", pl)
	}
	s.Close()
}

func httpGet(h http.Handler, target string) string {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w.Body.String()
}

// FuzzLoadContinuation: whatever the state file holds, reading it neither
// panics nor gives a continuation that would number below zero or forget
// that an earlier run existed.
func FuzzLoadContinuation(f *testing.F) {
	f.Add([]byte(`{"version":1,"next_msn":40,"discontinuity":2,"edge_msn":37,"edge":"2026-12-05T19:59:59Z","segment_ms":2000,"run":"abc"}`))
	f.Add([]byte(`{"version":1,"next_msn":9223372036854775807,"edge_msn":9223372036854775807,"edge":"1970-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`not json`))
	path := filepath.Join(f.TempDir(), "ev.json")
	now := time.Date(2026, 12, 5, 20, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadContinuation(path, 2*time.Second, now)
		if !c.Resumed || c.MSN < 0 || c.Discontinuity < 0 {
			t.Fatalf("continuation %+v, %v", c, err)
		}
		if _, err := New(Options{Continue: c}, testRenditions); err != nil {
			t.Fatalf("continuation %+v refused: %v", c, err)
		}
	})
}

// TestVideoContinues: the video rendition of a continuing run numbers its
// segments from the continuation, with decode times shifted to match, and
// marks the restart only when asked, before its initialization section.
func TestVideoContinues(t *testing.T) {
	units := clip(t, videotest.Options{Seconds: 3, FPS: 30, GOP: 30})
	for _, marked := range []bool{false, true} {
		c := Continuation{MSN: 20, Discontinuity: 2, Resumed: true}
		m, _ := newTestMuxer(t, Options{Continue: c, RestartDiscontinuity: marked})
		for _, u := range units {
			if err := m.WriteVideo(u); err != nil {
				t.Fatal(err)
			}
		}
		code, pl := body(m, "video/index.m3u8")
		if code != http.StatusOK || playlistNumber(t, pl, "#EXT-X-MEDIA-SEQUENCE") != 20 {
			t.Fatalf("marked %v: %d\n%s", marked, code, pl)
		}
		disc := playlistNumber(t, pl, "#EXT-X-DISCONTINUITY-SEQUENCE")
		tag := strings.Index(string(pl), "#EXT-X-DISCONTINUITY\n")
		if mapAt := strings.Index(string(pl), "#EXT-X-MAP:"); disc != 2 || (tag >= 0) != marked || tag > mapAt {
			t.Errorf("marked %v: discontinuity sequence %d, tag at %d, map at %d:\n%s", marked, disc, tag, mapAt, pl)
		}
		code, seg := body(m, "video/"+testRun+"/seg20.m4s")
		if code != http.StatusOK {
			t.Fatalf("segment 20: %d", code)
		}
		samples := decodeVideo(t, seg)
		if want := 20 * int64(audio.SampleRate); samples[0].dts != want+units[0].DTS {
			t.Errorf("marked %v: first decode time %d, want %d", marked, samples[0].dts, want+units[0].DTS)
		}
		m.Close()
	}
}

// TestStateWriteFails: a state file that cannot be written is counted and
// reported, and the muxer works on.
func TestStateWriteFails(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	m, _ := newTestMuxer(t, Options{StateFile: filepath.Join(blocker, "hls", "ev.json")})
	writeRange(t, m, "en", 0, sec(1.2))
	m.Close()
	if s := m.Stats(); s.StateFailures < 1 || s.StateWrites != 0 || m.StateErr() == nil {
		t.Errorf("writes %d, failures %d, error %v", s.StateWrites, s.StateFailures, m.StateErr())
	}
	if w := get(m, http.MethodGet, "en/index.m3u8"); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "#EXTINF") {
		t.Errorf("playlist: %d\n%s", w.Code, w.Body)
	}
}

// TestVideoConfigurationKeptInState: a new picture configuration is one
// more discontinuity in the video playlist; the state file keeps it, so the
// next run's video sequence does not go down (RFC 8216 §6.2.2) and every
// playlist of that run starts above it.
func TestVideoConfigurationKeptInState(t *testing.T) {
	state := filepath.Join(t.TempDir(), "hls.json")
	small := clip(t, videotest.Options{Seconds: 2, Width: 640, Height: 360, FPS: 25, GOP: 25})
	large := shift(clip(t, videotest.Options{Seconds: 2, FPS: 25, GOP: 25}), sec(2))
	m, _ := newTestMuxer(t, Options{StateFile: state, SegmentDuration: time.Second, RestartDiscontinuity: true})
	for _, u := range append(append([]media.Unit(nil), small...), large...) {
		if err := m.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()
	c, err := LoadContinuation(state, time.Second, time.Now())
	if err != nil || c.Discontinuity != 1 || !c.Resumed {
		t.Fatalf("continuation %+v, %v: want discontinuity 1 (one new configuration)", c, err)
	}
	m2, _ := newTestMuxer(t, Options{Continue: c, RestartDiscontinuity: true})
	defer m2.Close()
	for _, u := range shift(clip(t, videotest.Options{Seconds: 2, FPS: 25, GOP: 25}), sec(10)) {
		if err := m2.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	_, pl := body(m2, "video/index.m3u8")
	if d := playlistNumber(t, pl, "#EXT-X-DISCONTINUITY-SEQUENCE"); d != 1 || !bytes.Contains(pl, []byte("#EXT-X-DISCONTINUITY\n")) {
		t.Errorf("next run's video: discontinuity sequence %d (the first run reached 1), want 1 then the restart's tag:\n%s", d, pl)
	}
}
