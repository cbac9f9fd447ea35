package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

func get(m *Muxer, method, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	m.ServeHTTP(w, httptest.NewRequest(method, "/"+strings.TrimPrefix(target, "/"), nil))
	return w
}

// getAsync serves target in a goroutine; the recorder arrives when the
// handler returns.
func getAsync(m *Muxer, target string) <-chan *httptest.ResponseRecorder {
	done := make(chan *httptest.ResponseRecorder, 1)
	go func() { done <- get(m, http.MethodGet, target) }()
	return done
}

// waitTimers waits until n requests have armed their hold timer on clock.
func waitTimers(t *testing.T, clock *audiotest.Clock, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clock.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests waiting, want %d", clock.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func receive(t *testing.T, ch <-chan *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	t.Helper()
	select {
	case w := <-ch:
		return w
	case <-time.After(10 * time.Second):
		t.Fatal("request still blocked")
		return nil
	}
}

func assertJSONError(t *testing.T, w *httptest.ResponseRecorder, code int) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("status %d, want %d: %s", w.Code, code, w.Body)
	}
	var body struct {
		Error string `json:"error"`
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("error content type %q", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Error == "" {
		t.Errorf("error body %q: %v", w.Body, err)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("error cache control %q", cc)
	}
}

func TestServeResources(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(2.3))
	s := m.tracks["en"].snap.Load()
	const (
		playlist  = "application/vnd.apple.mpegurl"
		mp4       = "audio/mp4"
		immutable = "public, max-age=31536000, immutable"
	)
	cases := []struct {
		method, path string
		code         int
		ctype, cache string
		body         []byte
	}{
		{"GET", "master.m3u8", 200, playlist, "public, max-age=2", m.masterPlaylist(-1)},
		{"GET", "/master.m3u8", 200, playlist, "public, max-age=2", m.masterPlaylist(-1)},
		{"GET", "en/index.m3u8", 200, playlist, "public, max-age=1", s.playlist},
		{"GET", "en/k3x9ab/init.mp4", 200, mp4, immutable, m.tracks["en"].init},
		{"GET", "en/k3x9ab/seg1.m4s", 200, mp4, immutable, s.segs[1].data},
		{"GET", "en/k3x9ab/part1.2.m4s", 200, mp4, immutable, s.segs[1].parts[2].data},
		{"GET", "en/k3x9ab/part2.0.m4s", 200, mp4, immutable, s.open.parts[0].data},
		{"HEAD", "en/k3x9ab/seg0.m4s", 200, mp4, immutable, s.segs[0].data},
		{"GET", "de/index.m3u8", 404, "", "", nil},
		{"GET", "en/k3x9ab/seg9.m4s", 404, "", "", nil},
		{"GET", "en/k3x9ab/part1.7.m4s", 404, "", "", nil},
		{"GET", "en/k3x9ab/part9.0.m4s", 404, "", "", nil},
		{"GET", "en/k3x9ab/seg01.m4s", 404, "", "", nil},
		{"GET", "en/k3x9ab/k3x9ab/seg1.m4s", 404, "", "", nil},
		{"GET", "en/k3x9ab/index.m3u8", 404, "", "", nil},
		{"GET", "en/../k3x9ab/seg1.m4s", 404, "", "", nil},
		// Names without a run, or another run's: never this run's content.
		{"GET", "en/init.mp4", 404, "", "", nil},
		{"GET", "en/seg1.m4s", 404, "", "", nil},
		{"GET", "en/part1.2.m4s", 404, "", "", nil},
		{"GET", "en/k3x9ac/init.mp4", 404, "", "", nil},
		{"GET", "en/k3x9ac/seg1.m4s", 404, "", "", nil},
		{"GET", "en/k3x9a/part1.2.m4s", 404, "", "", nil},
		{"HEAD", "en/zz/seg0.m4s", 404, "", "", nil},
		{"GET", "en/index.m3u8/x", 404, "", "", nil},
		{"GET", "en", 404, "", "", nil},
		{"GET", "", 404, "", "", nil},
		{"GET", "../master.m3u8", 404, "", "", nil},
		{"POST", "master.m3u8", 405, "", "", nil},
		{"DELETE", "en/k3x9ab/seg0.m4s", 405, "", "", nil},
	}
	for _, c := range cases {
		w := get(m, c.method, c.path)
		if got := w.Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("%s %s: CORS header %q", c.method, c.path, got)
		}
		if c.code >= 400 {
			assertJSONError(t, w, c.code)
			if c.code == 405 && w.Header().Get("Allow") == "" {
				t.Errorf("%s %s: 405 without Allow", c.method, c.path)
			}
			continue
		}
		if w.Code != c.code || w.Header().Get("Content-Type") != c.ctype || w.Header().Get("Cache-Control") != c.cache {
			t.Errorf("%s %s: %d %q %q", c.method, c.path, w.Code, w.Header().Get("Content-Type"), w.Header().Get("Cache-Control"))
		}
		if c.method == "HEAD" {
			if w.Body.Len() != 0 || w.Header().Get("Content-Length") != strconv.Itoa(len(c.body)) {
				t.Errorf("HEAD %s: body %d bytes, length %q", c.path, w.Body.Len(), w.Header().Get("Content-Length"))
			}
			continue
		}
		if !bytes.Equal(w.Body.Bytes(), c.body) {
			t.Errorf("%s %s: body of %d bytes, want %d", c.method, c.path, w.Body.Len(), len(c.body))
		}
	}

	// Subtitle URIs belong to another handler.
	subs, err := New(Options{Subtitles: []SubtitleRendition{{ID: "en", Name: "English", Language: "en", URI: "subs/en/index.m3u8"}}}, testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	if w := get(subs, "GET", "master.m3u8"); !strings.Contains(w.Body.String(), `TYPE=SUBTITLES,GROUP-ID="subs"`) {
		t.Errorf("master without the subtitles group:\n%s", w.Body)
	}
	assertJSONError(t, get(subs, "GET", "subs/en/index.m3u8"), http.StatusNotFound)

	w := get(m, "OPTIONS", "en/index.m3u8")
	if w.Code != http.StatusNoContent || w.Header().Get("Access-Control-Allow-Methods") == "" {
		t.Errorf("OPTIONS: %d %v", w.Code, w.Header())
	}

	r := httptest.NewRequest("GET", "/en/k3x9ab/seg1.m4s", nil)
	r.Header.Set("Range", "bytes=0-9")
	w = httptest.NewRecorder()
	m.ServeHTTP(w, r)
	if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), s.segs[1].data[:10]) {
		t.Errorf("range request: %d, %d bytes", w.Code, w.Body.Len())
	}
}

func TestBlockingPlaylistReload(t *testing.T) {
	m, clock := newTestMuxer(t, Options{})
	defer m.Close()
	// 1.1 s: segment 0 complete, part 1.0 not yet.
	writeRange(t, m, "en", 0, sec(1.1))

	pending := getAsync(m, "en/index.m3u8?_HLS_msn=1&_HLS_part=0")
	waitTimers(t, clock, 1)
	writeRange(t, m, "en", sec(1.1), sec(1.2))
	w := receive(t, pending)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	l := parseMedia(t, w.Body.Bytes())
	if len(l.open) != 1 || l.open[0].uri != "k3x9ab/part1.0.m4s" || l.hint != "k3x9ab/part1.1.m4s" {
		t.Errorf("playlist after the wait: open %+v hint %q", l.open, l.hint)
	}
	if cc := w.Header().Get("Cache-Control"); !strings.HasPrefix(cc, "public, max-age=") {
		t.Errorf("blocking answer cache control %q", cc)
	}

	// Asking again for a part that exists answers at once.
	blocked := m.Stats().Blocked
	if w := get(m, "GET", "en/index.m3u8?_HLS_msn=1&_HLS_part=0"); w.Code != 200 || m.Stats().Blocked != blocked {
		t.Errorf("existing part: %d, blocked %d → %d", w.Code, blocked, m.Stats().Blocked)
	}
	// A part index past the end of a segment is the next segment's part.
	pending = getAsync(m, "en/index.m3u8?_HLS_msn=1&_HLS_part=5")
	// _HLS_msn alone waits for the complete segment.
	pendingSeg := getAsync(m, "en/index.m3u8?_HLS_msn=1")
	waitTimers(t, clock, 2)
	writeRange(t, m, "en", sec(1.2), sec(2))
	if w := receive(t, pendingSeg); w.Code != 200 || len(parseMedia(t, w.Body.Bytes()).segs) != 2 {
		t.Errorf("wait for segment 1: %d\n%s", w.Code, w.Body)
	}
	select {
	case w := <-pending:
		t.Fatalf("part 1.5 answered before it exists: %d", w.Code)
	default:
	}
	writeRange(t, m, "en", sec(2), sec(2.2))
	if w := receive(t, pending); w.Code != 200 || !strings.Contains(w.Body.String(), "k3x9ab/part2.0.m4s") {
		t.Errorf("wait for part 1.5 (= 2.0): %d\n%s", w.Code, w.Body)
	}
}

func TestBlockingReloadIsBounded(t *testing.T) {
	m, clock := newTestMuxer(t, Options{})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(1.1))
	pending := getAsync(m, "en/index.m3u8?_HLS_msn=1&_HLS_part=3")
	waitTimers(t, clock, 1)
	clock.Advance(m.hold - time.Millisecond)
	select {
	case w := <-pending:
		t.Fatalf("answered before the bound: %d", w.Code)
	default:
	}
	clock.Advance(time.Millisecond)
	w := receive(t, pending)
	assertJSONError(t, w, http.StatusServiceUnavailable)
	if w.Header().Get("Retry-After") == "" {
		t.Error("503 without Retry-After")
	}
	if st := m.Stats(); st.BlockTimeouts != 1 || st.Waiting != 0 {
		t.Errorf("stats %+v", st)
	}
	if m.hold != 3*time.Second {
		t.Errorf("hold %v, want three 1 s target durations", m.hold)
	}
}

func TestBlockingReloadBadParameters(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	defer m.Close()
	// Newest part: 1.0 (lastPart 5); advance limit 15 parts.
	writeRange(t, m, "en", 0, sec(1.2))
	for _, q := range []string{
		"_HLS_part=1",
		"_HLS_msn=x",
		"_HLS_msn=-1",
		"_HLS_msn=1.5",
		"_HLS_msn=01",
		"_HLS_msn=1&_HLS_msn=2",
		"_HLS_msn=1&_HLS_part=",
		"_HLS_msn=1&_HLS_part=1&_HLS_part=2",
		"_HLS_msn=%zz",
		"_HLS_msn=4",                       // more than two segments ahead
		"_HLS_msn=1&_HLS_part=16",          // 16 parts ahead
		"_HLS_msn=9999999999999999",        // too many digits
		"_HLS_msn=999999999999999&x=1",     // far ahead
		"_HLS_msn=1&_HLS_part=99999999999", // far ahead
		// What a cache could key as _HLS_msn or _HLS_part, and we would not
		// read as such: refused, never answered as another request.
		"_hls_msn=1",
		"_HLS_MSN=1&_HLS_part=0",
		"_HLS_msn=1&_hls_part=0",
		"%5FHLS_msn=1",
		"_HLS%5Fpart=0&_HLS_msn=1",
		"_HLS_msn=%31",
		"_HLS_msn=1&_HLS_part=+0",
		"_hls_skip=YES&_HLS_msn=0",
	} {
		assertJSONError(t, get(m, "GET", "en/index.m3u8?"+q), http.StatusBadRequest)
	}
	if st := m.Stats(); st.Blocked != 0 {
		t.Errorf("a bad request blocked: %+v", st)
	}
	// Unknown parameters are ignored: the answer is the one a cache keyed on
	// _HLS_msn and _HLS_part alone holds.
	plain := get(m, "GET", "en/index.m3u8?_HLS_msn=0&_HLS_part=1")
	if w := get(m, "GET", "en/index.m3u8?cb=123&_HLS_msn=0&x=%41&_HLS_skip=YES&_HLS_part=1"); w.Code != 200 ||
		!bytes.Equal(w.Body.Bytes(), plain.Body.Bytes()) || w.Header().Get("Cache-Control") != plain.Header().Get("Cache-Control") {
		t.Errorf("cache buster: %d %q\n%s", w.Code, w.Header().Get("Cache-Control"), w.Body)
	}
}

func TestPreloadHintedPartBlocks(t *testing.T) {
	m, clock := newTestMuxer(t, Options{})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(1.1))
	hinted := getAsync(m, "en/k3x9ab/part1.0.m4s")
	segment := getAsync(m, "en/k3x9ab/seg1.m4s")
	waitTimers(t, clock, 2)
	// Too far ahead, already passed or another run's: answered at once.
	for _, p := range []string{"en/k3x9ab/part2.1.m4s", "en/k3x9ab/seg3.m4s", "en/k3x9ab/part9.0.m4s", "en/other/part1.0.m4s", "en/other/seg1.m4s"} {
		assertJSONError(t, get(m, "GET", p), http.StatusNotFound)
	}
	writeRange(t, m, "en", sec(1.1), sec(2))
	s := m.tracks["en"].snap.Load()
	if w := receive(t, hinted); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), s.segs[1].parts[0].data) {
		t.Errorf("hinted part: %d, %d bytes", w.Code, w.Body.Len())
	}
	if w := receive(t, segment); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), s.segs[1].data) {
		t.Errorf("open segment: %d, %d bytes", w.Code, w.Body.Len())
	}
}

func TestCloseReleasesBlockedRequests(t *testing.T) {
	m, clock := newTestMuxer(t, Options{})
	writeRange(t, m, "en", 0, sec(1.1))
	pl := getAsync(m, "en/index.m3u8?_HLS_msn=1&_HLS_part=2")
	part := getAsync(m, "en/k3x9ab/part1.2.m4s")
	first := getAsync(m, "fr/index.m3u8") // fr has no part yet
	waitTimers(t, clock, 3)
	m.Close()
	if w := receive(t, pl); w.Code != 200 || !parseMedia(t, w.Body.Bytes()).ended {
		t.Errorf("playlist after close: %d\n%s", w.Code, w.Body)
	} else if cc := w.Header().Get("Cache-Control"); cc != "no-cache" {
		t.Errorf("ended playlist that lacks the asked part is cacheable: %q", cc)
	}
	assertJSONError(t, receive(t, part), http.StatusNotFound)
	if w := receive(t, first); w.Code != 200 || !parseMedia(t, w.Body.Bytes()).ended {
		t.Errorf("empty rendition after close: %d\n%s", w.Code, w.Body)
	}
	// Segments stay servable after Close.
	if w := get(m, "GET", "en/k3x9ab/seg0.m4s"); w.Code != 200 {
		t.Errorf("segment after close: %d", w.Code)
	}
	if w := get(m, "GET", "en/k3x9ab/part1.0.m4s"); w.Code != 200 {
		t.Errorf("short last part after close: %d", w.Code)
	}
}

func TestGoneClientStopsWaiting(t *testing.T) {
	m, clock := newTestMuxer(t, Options{})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(1.1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r := httptest.NewRequestWithContext(ctx, "GET", "/en/index.m3u8?_HLS_msn=1&_HLS_part=1", nil)
		m.ServeHTTP(httptest.NewRecorder(), r)
	}()
	waitTimers(t, clock, 1)
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("handler still waiting after the client left")
	}
	if st := m.Stats(); st.Waiting != 0 || clock.Pending() != 0 {
		t.Errorf("waiting %d, timers %d", st.Waiting, clock.Pending())
	}
}

// stuckWriter is a client that never reads: Write blocks until released.
type stuckWriter struct {
	header  http.Header
	entered chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stuckWriter) Header() http.Header { return s.header }
func (s *stuckWriter) WriteHeader(int)     {}
func (s *stuckWriter) Write(b []byte) (int, error) {
	s.once.Do(func() { close(s.entered) })
	<-s.release
	return len(b), nil
}

func TestStuckReaderDoesNotSlowWriter(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(1))
	sw := &stuckWriter{header: http.Header{}, entered: make(chan struct{}), release: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.ServeHTTP(sw, httptest.NewRequest("GET", "/en/index.m3u8", nil))
	}()
	<-sw.entered
	// The reader is stuck inside Write: the writer must go on regardless.
	writeRange(t, m, "en", sec(1), sec(30))
	if got := m.tracks["en"].snap.Load().lastSeg; got != 29 {
		t.Errorf("writer reached segment %d, want 29", got)
	}
	close(sw.release)
	<-done
}

// mediaURIs returns every immutable URI a media playlist names: the
// initialization section, segments, parts and the preload hint.
func mediaURIs(t *testing.T, playlist []byte) []string {
	t.Helper()
	l := parseMedia(t, playlist)
	uris := []string{l.mapURI}
	for _, s := range append(l.segs, listedSegment{parts: l.open}) {
		if s.uri != "" {
			uris = append(uris, s.uri)
		}
		for _, p := range s.parts {
			uris = append(uris, p.uri)
		}
	}
	if l.hint != "" {
		uris = append(uris, l.hint)
	}
	return uris
}

// TestRestartNeverReusesMediaURLs runs an event twice with default options,
// as a restarted server does: program time and media sequence numbers start
// at zero again, yet no immutable URL of one run names anything in the
// other, so a cache in front can never serve the first run's media for the
// second's.
func TestRestartNeverReusesMediaURLs(t *testing.T) {
	runs := make([]*Muxer, 2)
	listed := make([][]string, 2)
	for i := range runs {
		m, err := New(Options{Clock: audiotest.NewClock(), PartDuration: 200 * time.Millisecond, SegmentDuration: time.Second}, testRenditions)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		// Different audio at the same program time in each run.
		for pts := int64(0); pts < sec(2.3); pts += audio.FrameSamples {
			if err := m.WriteOpus("en", pts, packet(pts/audio.FrameSamples+int64(i)*1000)); err != nil {
				t.Fatal(err)
			}
		}
		runs[i] = m
		for _, u := range mediaURIs(t, m.tracks["en"].snap.Load().playlist) {
			if !strings.HasPrefix(u, m.opts.Run+"/") {
				t.Errorf("run %s lists %q", m.opts.Run, u)
			}
			listed[i] = append(listed[i], "en/"+u)
		}
	}
	if a, b := runs[0].opts.Run, runs[1].opts.Run; a == b || len(a) != runLen || !validRun(a) || !validRun(b) {
		t.Fatalf("runs %q and %q", a, b)
	}
	t.Logf("runs %s and %s, %d and %d immutable URIs listed", runs[0].opts.Run, runs[1].opts.Run, len(listed[0]), len(listed[1]))
	for i, m := range runs {
		other := runs[1-i]
		for _, u := range listed[i] {
			if strings.Contains(u, "/part2.1.m4s") { // the preload hint, not written yet
				continue
			}
			if w := get(m, "GET", u); w.Code != 200 || w.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("run %d: own %s: %d %q", i, u, w.Code, w.Header().Get("Cache-Control"))
			}
			// The same number in the other run's name space is not this URL.
			assertJSONError(t, get(other, "GET", u), http.StatusNotFound)
			if slices.Contains(listed[1-i], u) {
				t.Errorf("%s is listed by both runs", u)
			}
		}
	}
	// Both runs hold segment 1: different media under different names.
	a := get(runs[0], "GET", "en/"+runs[0].opts.Run+"/seg1.m4s").Body.Bytes()
	b := get(runs[1], "GET", "en/"+runs[1].opts.Run+"/seg1.m4s").Body.Bytes()
	if len(a) == 0 || bytes.Equal(a, b) {
		t.Errorf("segment 1 of the two runs: %d and %d bytes, equal %v", len(a), len(b), bytes.Equal(a, b))
	}
	// A blocking reload for the hinted part works under the run's names and
	// waits for nothing of another run.
	m := runs[1]
	clock := m.opts.Clock.(*audiotest.Clock)
	pending := getAsync(m, "en/index.m3u8?_HLS_msn=2&_HLS_part=1")
	hinted := getAsync(m, "en/"+m.opts.Run+"/part2.1.m4s")
	waitTimers(t, clock, 2)
	assertJSONError(t, get(m, "GET", "en/"+runs[0].opts.Run+"/part2.1.m4s"), http.StatusNotFound)
	writeRange(t, m, "en", 115*audio.FrameSamples, 120*audio.FrameSamples) // 2.3 s to 2.4 s
	if w := receive(t, pending); w.Code != 200 || !strings.Contains(w.Body.String(), "URI=\""+m.opts.Run+"/part2.1.m4s\"") {
		t.Errorf("blocking reload: %d\n%s", w.Code, w.Body)
	}
	if w := receive(t, hinted); w.Code != 200 || !bytes.Equal(w.Body.Bytes(), m.tracks["en"].snap.Load().open.parts[1].data) {
		t.Errorf("hinted part: %d, %d bytes", w.Code, w.Body.Len())
	}
}

func TestNewRunTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		r := NewRun()
		if len(r) != runLen || strings.Trim(r, "abcdefghijklmnopqrstuvwxyz234567") != "" || !validRun(r) {
			t.Fatalf("token %q", r)
		}
		if seen[r] {
			t.Fatalf("token %q drawn twice", r)
		}
		seen[r] = true
	}
}
