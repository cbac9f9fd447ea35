package hls

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
)

func TestSubtitlesSegmentsAlignWithAudio(t *testing.T) {
	epoch := time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)
	s := NewSubtitles(Options{SegmentDuration: 2 * time.Second, Window: 3}, func() (time.Time, bool) { return epoch, true })
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
	for _, want := range []string{"#EXT-X-TARGETDURATION:2", "#EXT-X-MEDIA-SEQUENCE:0", "seg0.vtt", "seg1.vtt",
		"#EXT-X-PROGRAM-DATE-TIME:2026-01-01T09:00:02.000Z"} {
		if !strings.Contains(pl, want) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	if strings.Contains(pl, "seg2.vtt") {
		t.Errorf("an unfinished segment is listed:\n%s", pl)
	}
	for _, n := range []string{"0", "1"} {
		code, body := get("seg" + n + ".vtt")
		if code != 200 || !strings.HasPrefix(body, "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n") ||
			!strings.Contains(body, "00:00:01.000 --> 00:00:03.000\nacross the first boundary") {
			t.Errorf("seg%s: %d\n%s", n, code, body)
		}
	}
	if code, _ := get("seg2.vtt"); code != 404 {
		t.Errorf("unpublished segment served: %d", code)
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
	s := NewSubtitles(Options{SegmentDuration: time.Second, Window: 10}, func() (time.Time, bool) { return time.Time{}, false })
	sec := int64(audio.SampleRate)
	get := func(n int) string {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", fmt.Sprintf("/seg%d.vtt", n), nil))
		if rec.Code != 200 {
			t.Fatalf("seg%d.vtt: %d", n, rec.Code)
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
	f.Add(int64(0), int64(48000), "hello", "seg0.vtt")
	f.Add(int64(-5), int64(3), "a --> b\n\nc", "seg-1.vtt")
	f.Fuzz(func(t *testing.T, start, end int64, text, path string) {
		s := NewSubtitles(Options{}, func() (time.Time, bool) { return time.Time{}, false })
		if start < 0 || end > 1<<40 {
			return
		}
		s.Add(start, end, text)
		s.Advance(end + 4*audio.SampleRate)
		req := httptest.NewRequest("GET", "/seg0.vtt", nil)
		req.URL.Path = "/" + path
		s.ServeHTTP(httptest.NewRecorder(), req)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/seg0.vtt", nil))
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
