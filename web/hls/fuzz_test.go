package hls

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"master.m3u8", "/master.m3u8", "en/index.m3u8", "fr-CA/k3x9ab/init.mp4", "en/k3x9ab/seg0.m4s", "en/r1/seg12.m4s",
		"en/k3x9ab/part12.3.m4s", "en/k3x9ab/part1.m4s", "en/k3x9ab/seg-1.m4s", "en/k3x9ab/seg01.m4s",
		"en/k3x9ab/part1.02.m4s", "/", "", "a/b/c", "en/k3x9ab/seg999999999999999999999.m4s", "en/k3x9ab/part1..m4s",
		"en/k3x9ab/partx.1.m4s", "é/index.m3u8", "en/init.mp4", "en/seg0.m4s", "en/part12.3.m4s", "en//init.mp4",
		"en/K3X9AB/seg0.m4s", "en/k3x9ab/k3x9ab/seg0.m4s", "en/a.b/part1.2.m4s", "en/../seg0.m4s", "en/./init.mp4",
		"en/abcdefghijklmnopq/init.mp4", "en/k3x9ab/seg0.mp4", "en/k3x9ab/init.m4s", "en/k3x9ab/index.m3u8",
		"en/k3x9ab/", "en/k3x9ab", "en.aac/index.m3u8", "fr-CA.aac/k3x9ab/init.mp4", "en.aac/k3x9ab/part12.3.m4s",
		"en.aac.aac/index.m3u8", ".aac/index.m3u8", "en.AAC/index.m3u8", "en.opus/index.m3u8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		r, err := parsePath(p)
		if err != nil {
			return
		}
		// Every accepted path is canonical: it prints back to itself.
		if got := r.String(); got != strings.TrimPrefix(p, "/") {
			t.Fatalf("%q parsed to %+v, prints as %q", p, r, got)
		}
		if r.msn < 0 || r.index < 0 || (r.kind != kindMaster && !validID(r.id)) {
			t.Fatalf("%q parsed to %+v", p, r)
		}
		// Media names always carry a run token; playlists never do.
		if immutable := r.kind == kindInit || r.kind == kindSegment || r.kind == kindPart; immutable != validRun(r.run) || (!immutable && r.run != "") {
			t.Fatalf("%q parsed to %+v: run %q", p, r, r.run)
		}
	})
}

func FuzzParseReload(f *testing.F) {
	for _, s := range []string{
		"", "_HLS_msn=1", "_HLS_msn=1&_HLS_part=2", "_HLS_part=2", "_HLS_msn=-1", "_HLS_msn=1&_HLS_msn=1",
		"_HLS_msn=%zz", "_HLS_skip=YES&_HLS_msn=3", "_HLS_msn=999999999999999&_HLS_part=999999999999999", ";;",
		"_hls_msn=1", "%5FHLS_msn=1&_HLS_part=0", "_HLS_msn=%31", "cb=1&_HLS_msn=2&_HLS_part=0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		r, err := parseReload(q)
		if err != nil {
			return
		}
		if r.hasPart && !r.hasMSN {
			t.Fatalf("%q: part without msn accepted", q)
		}
		if r.msn < 0 || r.part < 0 || r.msn >= 1e15 || r.part >= 1e15 {
			t.Fatalf("%q: out of range %+v", q, r)
		}
		vals, _ := url.ParseQuery(q)
		if r.hasMSN && vals.Get("_HLS_msn") == "" {
			t.Fatalf("%q: msn from nowhere", q)
		}
		// A cache keyed on nginx's $arg__HLS_msn and $arg__HLS_part reads
		// what the server read: the same numbers, or none.
		for _, c := range []struct {
			name string
			has  bool
			n    int64
		}{{"_HLS_msn", r.hasMSN, r.msn}, {"_HLS_part", r.hasPart, r.part}} {
			want := ""
			if c.has {
				want = strconv.FormatInt(c.n, 10)
			}
			if got := nginxArg(q, c.name); got != want {
				t.Fatalf("%q: nginx reads %s=%q, the server %q", q, c.name, got, want)
			}
		}
	})
}

// FuzzParseMasterQuery: an accepted master query names a valid rendition
// ID or none, and a cache keyed on nginx's $arg_audio reads the same.
func FuzzParseMasterQuery(f *testing.F) {
	for _, s := range []string{
		"", "audio=fr", "audio=", "audio", "Audio=fr", "%61udio=fr", "audio=fr&audio=en", "audio=f%72", "x=1&audio=fr-CA",
		"audio=a.b", "audio=%zz", "%zz=1", "audio=fr;x=1", "audiox=de&audio=fr", "token=abc&audio=en",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		id, err := parseMasterQuery(q)
		if err != nil {
			return
		}
		if id != "" && !validID(id) {
			t.Fatalf("%q: id %q accepted", q, id)
		}
		if got := nginxArg(q, masterParam); got != id {
			t.Fatalf("%q: nginx reads audio=%q, the server %q", q, got, id)
		}
	})
}

// nginxArg is nginx's $arg_name: the raw value of the first parameter whose
// name matches case-insensitively, "" when there is none.
func nginxArg(rawQuery, name string) string {
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if len(pair) > len(name) && pair[len(name)] == '=' && strings.EqualFold(pair[:len(name)], name) {
			return pair[len(name)+1:]
		}
	}
	return ""
}

// FuzzServeHTTP sends arbitrary paths and queries to a closed Muxer (nothing
// blocks once closed): every answer is a known status and errors are JSON.
func FuzzServeHTTP(f *testing.F) {
	m, _ := newTestMuxer(f, Options{})
	writeRange(f, m, "en", 0, sec(2.3))
	writeRange(f, m, "fr", sec(0.5), sec(1.1))
	m.Close()
	for _, s := range []string{
		"master.m3u8", "en/index.m3u8", "en/index.m3u8?_HLS_msn=1&_HLS_part=2", "fr/index.m3u8?_HLS_part=1",
		"en/k3x9ab/seg1.m4s", "en/k3x9ab/part2.1.m4s", "en/k3x9ab/part1.0.m4s", "xx/index.m3u8",
		"en/k3x9ab/init.mp4?x=%zz", "en/seg1.m4s", "en/zz/part2.1.m4s", "fr/other/init.mp4",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		p, q, _ := strings.Cut(target, "?")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r := (&http.Request{Method: http.MethodGet, URL: &url.URL{Path: p, RawQuery: q}, Header: http.Header{}}).WithContext(ctx)
		w := httptest.NewRecorder()
		m.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusOK:
			// Media is only ever served under this run's names.
			if r, err := parsePath(p); err != nil || (r.kind != kindMaster && r.kind != kindPlaylist && r.run != testRun) {
				t.Fatalf("%q: served as %+v, %v", target, r, err)
			}
		case http.StatusBadRequest, http.StatusNotFound:
			var body map[string]string
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body["error"] == "" {
				t.Fatalf("%q: error body %q", target, w.Body)
			}
		default:
			t.Fatalf("%q: status %d", target, w.Code)
		}
	})
}

func FuzzOpusSamples(f *testing.F) {
	for _, s := range [][]byte{silenceFrame, {0x08, 0}, {0xf3, 0x05}, {0xfb}, {}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		n, err := opusSamples(pkt)
		if err == nil && (n < 120 || n > 63*2880 || n%120 != 0) {
			t.Fatalf("%x: %d samples", pkt, n)
		}
	})
}
