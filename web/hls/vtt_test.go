package hls

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

func TestSubtitlesSegmentsAlignWithAudio(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	s := NewSubtitles(Options{SegmentDuration: 2 * time.Second, Window: 3, Run: "r1"}, func() (time.Time, bool) { return epoch, true })
	sec := int64(audio.SampleRate)
	s.Add(1*sec, 3*sec, "across the first boundary")
	s.Add(5*sec, 6*sec, "third segment")
	s.Add(4*sec, 4*sec, "empty span is dropped")
	s.Advance(4*sec + 100)
	get := func(p string) (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/"+p, nil))
		b, _ := io.ReadAll(rec.Body)
		return rec.Code, string(b)
	}
	_, pl := get("index.m3u8")
	for _, want := range []string{"#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0", "\n#EXTINF:2.000,\nr1/seg0.vtt\n", "\nr1/seg1.vtt\n",
		"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T09:00:02.000Z"} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	if strings.Contains(pl, "seg2") {
		t.Errorf("an unfinished segment is listed:\n%s", pl)
	}
	for _, n := range []string{"0", "1"} {
		code, body := get("r1/seg" + n + ".vtt")
		if code != 200 || !strings.HasPrefix(body, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n") ||
			!strings.Contains(body, "00:00:01.000 --> 00:00:03.000\nacross the first boundary") {
			t.Errorf("seg%s: %d\n%s", n, code, body)
		}
	}
	if code, _ := get("r1/seg2.vtt"); code != 404 {
		t.Errorf("unpublished segment served: %d", code)
	}
	// Names without this run's token never get its segments.
	for _, p := range []string{"seg0.vtt", "r2/seg0.vtt", "r1/r1/seg0.vtt", "r1/seg00.vtt", "/seg0.vtt", "r1/seg.vtt",
		"r1/seg-1.vtt", "r1/seg999999999999999.vtt", "r1/seg9999999999999999.vtt"} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/"+p, nil))
		assertJSONError(t, rec, http.StatusNotFound)
	}
	s.Advance(10 * sec)
	_, pl = get("index.m3u8")
	if !strings.Contains(pl, "#EXT-X-MEDIA-SEQUENCE:2") {
		t.Errorf("window not applied:\n%s", pl)
	}
	s.Close()
	if _, pl = get("index.m3u8"); !strings.HasSuffix(pl, "#EXT-X-ENDLIST\n") {
		t.Errorf("no ENDLIST after Close:\n%s", pl)
	}
}

// TestSubtitlesLateCue: a cue settled after the segments it spans were
// published leaves them unchanged and goes, with its own times, into the
// next segment; one that is still open continues in the segments after.
func TestSubtitlesLateCue(t *testing.T) {
	s := NewSubtitles(Options{SegmentDuration: time.Second, Window: 10, Run: "r1"}, func() (time.Time, bool) { return time.Time{}, false })
	sec := int64(audio.SampleRate)
	get := func(n int) string {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("/r1/seg%d.vtt", n), nil))
		if rec.Code != 200 {
			t.Fatalf("r1/seg%d.vtt: %d", n, rec.Code)
		}
		return rec.Body.String()
	}
	s.Add(sec/2, sec, "on time")
	s.Advance(3 * sec) // seg0..seg2 published
	before := []string{get(0), get(1), get(2)}
	s.Add(sec+sec/2, 2*sec+sec/4, "late") // ended within published segments
	s.Add(2*sec+sec/2, 4*sec+sec/2, "late and still open")
	for i, b := range before {
		if got := get(i); got != b {
			t.Errorf("published seg%d changed:\n%s\nthen\n%s", i, b, got)
		}
	}
	s.Advance(5 * sec)
	seg3, seg4 := get(3), get(4)
	for _, want := range []string{"00:00:01.500 --> 00:00:02.250\nlate\n", "00:00:02.500 --> 00:00:04.500\nlate and still open"} {
		if !strings.Contains(seg3, want) {
			t.Errorf("seg3 lacks %q:\n%s", want, seg3)
		}
	}
	if strings.Contains(seg4, "late\n") || !strings.Contains(seg4, "late and still open") {
		t.Errorf("seg4: the ended late cue once, the open one continued:\n%s", seg4)
	}
	if !strings.Contains(get(0), "on time") || strings.Contains(get(1), "on time") {
		t.Errorf("on-time cue in seg0 only")
	}
}

func FuzzSubtitles(f *testing.F) {
	f.Add(int64(0), int64(48000), "hello", "fz/seg0.vtt")
	f.Add(int64(-5), int64(3), "a --> b\n\nc", "fz/seg-1.vtt")
	f.Add(int64(0), int64(48000), "old name", "seg0.vtt")
	f.Fuzz(func(t *testing.T, start, end int64, text, path string) {
		s := NewSubtitles(Options{Run: "fz"}, func() (time.Time, bool) { return time.Time{}, false })
		if start < 0 || end > 1<<40 {
			return
		}
		s.Add(start, end, text)
		s.Advance(end + 4*audio.SampleRate)
		req := httptest.NewRequest("GET", "/fz/seg0.vtt", nil)
		req.URL.Path = "/" + path
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == 200 && path != "index.m3u8" {
			// Only this run's canonical segment names are served.
			num, ok := strings.CutSuffix(strings.TrimPrefix(path, "fz/seg"), ".vtt")
			if n, err := strconv.ParseInt(num, 10, 64); !ok || err != nil || "fz/seg"+strconv.FormatInt(n, 10)+".vtt" != path {
				t.Fatalf("%q served", path)
			}
		}
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/fz/seg0.vtt", nil))
		if rec.Code == 200 {
			// A cue's text never breaks the cue structure: no blank line, no arrow inside.
			parts := strings.Split(strings.TrimSpace(rec.Body.String()), "\n\n")
			for _, p := range parts[1:] {
				if strings.Count(p, "-->") != 1 {
					t.Fatalf("cue text broke the segment: %q", rec.Body.String())
				}
			}
		}
	})
}

// TestSubtitlesRunNames: two runs of a caption language (default options, as
// after a restart) list their segments under different runs, and neither
// answers the other's names.
func TestSubtitlesRunNames(t *testing.T) {
	noEpoch := func() (time.Time, bool) { return time.Time{}, false }
	sec := int64(audio.SampleRate)
	runs := []*Subtitles{NewSubtitles(Options{}, noEpoch), NewSubtitles(Options{}, noEpoch), NewSubtitles(Options{Run: "Not-A-Run"}, noEpoch)}
	serve := func(s *Subtitles, p string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/"+p, nil))
		return rec
	}
	listed := make([][]string, len(runs))
	for i, s := range runs {
		if !validRun(s.run) || len(s.run) != runLen {
			t.Fatalf("run %d: token %q", i, s.run)
		}
		s.Add(sec/2, sec, fmt.Sprintf("run %d", i))
		s.Advance(4 * sec) // two 2 s segments
		for _, l := range strings.Split(serve(s, "index.m3u8").Body.String(), "\n") {
			if l != "" && !strings.HasPrefix(l, "#") {
				listed[i] = append(listed[i], l)
			}
		}
		if len(listed[i]) != 2 || listed[i][0] != s.run+"/seg0.vtt" {
			t.Fatalf("run %d lists %v", i, listed[i])
		}
	}
	if runs[0].run == runs[1].run || runs[1].run == runs[2].run || runs[0].run == runs[2].run {
		t.Fatalf("runs %q %q %q", runs[0].run, runs[1].run, runs[2].run)
	}
	for i, s := range runs {
		if rec := serve(s, listed[i][0]); rec.Code != 200 || !strings.Contains(rec.Body.String(), fmt.Sprintf("run %d", i)) ||
			rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Errorf("run %d: own %s: %d %q\n%s", i, listed[i][0], rec.Code, rec.Header().Get("Cache-Control"), rec.Body)
		}
		for j := range runs {
			if j == i {
				continue
			}
			for _, u := range listed[j] {
				if rec := serve(s, u); rec.Code != 404 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("Cache-Control") != "no-store" {
					t.Errorf("run %d answers run %d's %s: %d", i, j, u, rec.Code)
				}
			}
		}
	}
}

// TestSubtitlesPlaylistWaitsForItsFirstSegment: a live subtitle playlist is
// never answered empty while its first segment is on its way (hls.js gives up
// on an empty one), and an event that never gets one is answered after three
// target durations of the clock.
func TestSubtitlesPlaylistWaitsForItsFirstSegment(t *testing.T) {
	clock := audiotest.NewClock()
	sec := int64(audio.SampleRate)
	serve := func(s *Subtitles) <-chan string {
		out := make(chan string, 1)
		go func() {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", "/index.m3u8", nil))
			out <- rec.Body.String()
		}()
		return out
	}
	s := NewSubtitles(Options{SegmentDuration: time.Second, Clock: clock, Run: "r1"}, func() (time.Time, bool) { return time.Time{}, false })
	got := serve(s)
	waitPending(t, clock)
	select {
	case pl := <-got:
		t.Fatalf("answered before the first segment:\n%s", pl)
	case <-time.After(50 * time.Millisecond):
	}
	s.Advance(sec)
	if pl := <-got; !strings.Contains(pl, "r1/seg0.vtt") {
		t.Fatalf("playlist after the first segment:\n%s", pl)
	}
	// Later requests are answered at once.
	if pl := <-serve(s); !strings.Contains(pl, "seg0.vtt") {
		t.Fatalf("second request:\n%s", pl)
	}
	never := NewSubtitles(Options{SegmentDuration: time.Second, Clock: clock, Run: "r2"}, func() (time.Time, bool) { return time.Time{}, false })
	got = serve(never)
	waitPending(t, clock)
	clock.Advance(3 * time.Second)
	if pl := <-got; strings.Contains(pl, ".vtt") || !strings.HasPrefix(pl, "#EXTM3U") {
		t.Fatalf("an event without segments: %q", pl)
	}
}

func waitPending(t *testing.T, clock *audiotest.Clock) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for clock.Pending() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the request never waited on the clock")
		}
		time.Sleep(time.Millisecond)
	}
}
