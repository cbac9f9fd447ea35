package hls

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
)

// aacFrame is a recognisable fake AAC frame for frame n.
func aacFrame(n int64) []byte { return []byte{0x21, byte(n), byte(n >> 8)} }

// writeAACRange writes one frame per 1024 samples whose start is in
// [from, to).
func writeAACRange(t testing.TB, m *Muxer, id string, from, to int64) {
	t.Helper()
	for pts := ceilTo(from, 1024); pts < to; pts += 1024 {
		if err := m.WriteAAC(id, pts, aacFrame(pts/1024)); err != nil {
			t.Fatalf("write AAC %s at %d: %v", id, pts, err)
		}
	}
}

func newAACMuxer(t testing.TB, opts Options) *Muxer {
	t.Helper()
	m, _ := newTestMuxer(t, opts)
	if err := m.EnableAAC(64000); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestAACPartsAndSegmentsFollowProgramTime: AAC's 1024-sample frames are cut
// into the parts and segments of the program's grid: a part holds the frames
// that start in its 200 ms span (9 or 10: 192 or 213.3 ms, never above the
// PART-TARGET of 0.213333), a segment those that start in its second (46 or
// 47), its media sequence number and date those of the Opus segment of the
// same span, every fragment's decode time its first frame's program time.
func TestAACPartsAndSegmentsFollowProgramTime(t *testing.T) {
	m := newAACMuxer(t, Options{Window: 10})
	defer m.Close()
	// The first frame lands in the middle of segment 2 (2.5 s): the AAC
	// rendition starts at the segment's first frame boundary, filled.
	start := ceilTo(sec(2.5), 1024)
	writeAACRange(t, m, "fr", start, sec(7.3))
	writeRange(t, m, "fr", sec(2.5), sec(7.3))

	aacList := parseMedia(t, get(m, "GET", "/fr.aac/index.m3u8").Body.Bytes())
	opusList := parseMedia(t, get(m, "GET", "/fr/index.m3u8").Body.Bytes())
	if aacList.partTarget != 0.213333 || aacList.partHoldBack != 0.64 || aacList.target != 1 {
		t.Errorf("AAC part target %v, hold back %v, target %d", aacList.partTarget, aacList.partHoldBack, aacList.target)
	}
	if aacList.seq != 2 || len(aacList.segs) != 5 || opusList.seq != 2 || len(opusList.segs) != 5 {
		t.Fatalf("AAC from %d with %d segments, Opus from %d with %d", aacList.seq, len(aacList.segs), opusList.seq, len(opusList.segs))
	}
	if aacList.mapURI != testRun+"/init.mp4" {
		t.Errorf("map %q", aacList.mapURI)
	}
	for i, s := range aacList.segs {
		msn := int64(2 + i)
		first := ceilTo(msn*sec(1), 1024)
		next := ceilTo((msn+1)*sec(1), 1024)
		if want := fmt.Sprintf("%s/seg%d.m4s", testRun, msn); s.uri != want {
			t.Errorf("segment %d uri %q, want %q", i, s.uri, want)
		}
		if want := float64(next-first) / audio.SampleRate; math.Abs(s.dur-want) > 1e-6 {
			t.Errorf("segment %d lasts %v, want %v", msn, s.dur, want)
		}
		// Dates are written to the millisecond.
		if want := opusList.segs[i].pdt.Add(audio.Duration(first - msn*sec(1))); s.pdt.Sub(want).Abs() >= time.Millisecond {
			t.Errorf("segment %d dated %v, want %v (the Opus one's plus %v)", msn, s.pdt, want, audio.Duration(first-msn*sec(1)))
		}
		// Parts are listed near the live edge only (three target
		// durations).
		if len(s.parts) != 5 && (len(s.parts) != 0 || i >= 2) {
			t.Fatalf("segment %d has %d parts listed", msn, len(s.parts))
		}
		sum := s.dur
		if len(s.parts) > 0 {
			sum = 0
		}
		for j, p := range s.parts {
			if p.dur > aacList.partTarget || (p.dur != 0.192 && p.dur != 0.213333) || !p.independent {
				t.Errorf("part %d.%d lasts %v (independent %v)", msn, j, p.dur, p.independent)
			}
			sum += p.dur
		}
		if math.Abs(sum-s.dur) > 1e-5 {
			t.Errorf("segment %d: parts sum to %v of %v", msn, sum, s.dur)
		}
		// The segment's fragments start on its first frame and follow on.
		seg := get(m, "GET", "/fr.aac/"+s.uri).Body.Bytes()
		infos, payloads := decodeFragments(t, seg)
		at := first
		for j, f := range infos {
			if int64(f.tfdt) != at {
				t.Errorf("segment %d fragment %d at %d, want %d", msn, j, f.tfdt, at)
			}
			if want := uint32(at/sec(0.2) + 1); f.seq != want {
				t.Errorf("segment %d fragment %d sequence %d, want %d", msn, j, f.seq, want)
			}
			at += int64(f.dur)
		}
		if at != next {
			t.Errorf("segment %d ends at %d, want %d", msn, at, next)
		}
		n := (next - first) / 1024
		if int64(len(payloads)) != n {
			t.Fatalf("segment %d holds %d frames, want %d", msn, len(payloads), n)
		}
		for k, p := range payloads {
			pts := first + int64(k)*1024
			want := aacFrame(pts / 1024)
			if pts < start {
				want = fmp4.AACSilence
			}
			if !bytes.Equal(p, want) {
				t.Errorf("segment %d frame %d = % x, want % x", msn, k, p, want)
			}
		}
	}
	init := get(m, "GET", "/fr.aac/"+testRun+"/init.mp4").Body.Bytes()
	if !bytes.Contains(init, []byte("mp4a")) || !bytes.Contains(init, []byte("esds")) {
		t.Error("the AAC init section has no mp4a sample entry")
	}
	for _, p := range []string{"/fr.aac/" + testRun + "/part9.0.m4s", "/xx.aac/index.m3u8", "/fr.aac/other1/seg3.m4s"} {
		if r := get(m, "GET", p); r.Code != 404 {
			t.Errorf("%s: %d", p, r.Code)
		}
	}
}

// TestAACRefusedWithoutEnable: WriteAAC needs EnableAAC, which is given once.
func TestAACRefusedWithoutEnable(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	defer m.Close()
	if err := m.WriteAAC("en", 0, aacFrame(0)); err == nil {
		t.Error("an AAC frame was taken without EnableAAC")
	}
	if r := get(m, "GET", "/en.aac/index.m3u8"); r.Code != 404 {
		t.Errorf("AAC playlist without AAC: %d", r.Code)
	}
	if err := m.EnableAAC(0); err == nil {
		t.Error("a bitrate of 0 was taken")
	}
	if err := m.EnableAAC(64000); err != nil {
		t.Fatal(err)
	}
	if err := m.EnableAAC(64000); err == nil {
		t.Error("AAC enabled twice")
	}
	for _, tc := range []struct {
		pts   int64
		frame []byte
	}{{1000, aacFrame(1)}, {-1024, aacFrame(1)}, {0, nil}, {0, make([]byte, maxPacket+1)}} {
		if err := m.WriteAAC("en", tc.pts, tc.frame); err == nil {
			t.Errorf("frame of %d bytes at %d taken", len(tc.frame), tc.pts)
		}
	}
	if err := m.WriteAAC("en", 1024, aacFrame(1)); err != nil {
		t.Fatal(err)
	}
	if err := m.WriteAAC("en", 1024, aacFrame(1)); err == nil {
		t.Error("a repeated frame was taken")
	}
}

// TestAACGapIsFilled: a hole in the AAC frames is filled with silent frames
// on the same grid, as a dead encoder leaves one.
func TestAACGapIsFilled(t *testing.T) {
	m := newAACMuxer(t, Options{})
	defer m.Close()
	writeAACRange(t, m, "en", 0, sec(0.5))
	before := m.Stats().FilledFrames
	writeAACRange(t, m, "en", sec(1.2), sec(2.1))
	filled := m.Stats().FilledFrames - before
	if want := (ceilTo(sec(1.2), 1024) - ceilTo(sec(0.5), 1024)) / 1024; filled != want {
		t.Errorf("%d frames filled, want %d", filled, want)
	}
	l := parseMedia(t, get(m, "GET", "/en.aac/index.m3u8").Body.Bytes())
	if len(l.segs) != 2 || math.Abs(l.segs[0].dur+l.segs[1].dur-float64(ceilTo(sec(2), 1024))/audio.SampleRate) > 1e-5 {
		t.Errorf("segments %+v", l.segs)
	}
}

// TestMasterPlaylistOffersAACAndOpus: with AAC on, the master playlist has
// two variants, AAC first (CODECS="mp4a.40.2", AUDIO="aac") and Opus
// (CODECS="opus", AUDIO="audio"), each naming the subtitles and no closed
// captions; both groups list every language with the same NAME and
// LANGUAGE, the floor the DEFAULT without URI (the variant's URI is its
// playlist), the others with their own. Asked with ?audio=fr, French takes
// the floor's place: the DEFAULT without URI, the variants' URIs its
// playlists, the floor with a URI; the subtitles stay as they are.
func TestMasterPlaylistOffersAACAndOpus(t *testing.T) {
	subs := []SubtitleRendition{{ID: "en", Name: "English", Language: "en", Default: true, URI: "captions/en/index.m3u8"}}
	m := newAACMuxer(t, Options{Subtitles: subs})
	defer m.Close()
	for _, main := range []string{"en", "fr"} {
		path := "/master.m3u8"
		if main != "en" {
			path += "?audio=" + main
		}
		b := get(m, "GET", path).Body.Bytes()
		t.Logf("%s:\n%s", path, b)
		p := decodeMaster(t, b)
		if len(p.Variants) != 2 {
			t.Fatalf("%d variants", len(p.Variants))
		}
		want := []struct{ codecs, group, suffix string }{
			{"mp4a.40.2", aacGroup, ".aac"},
			{"opus", audioGroup, ""},
		}
		for i, v := range p.Variants {
			w := want[i]
			if v.Codecs != w.codecs || v.Audio != w.group || v.URI != main+w.suffix+"/index.m3u8" || v.Subtitles != subtitleGroup ||
				v.Captions != "NONE" || v.Bandwidth < 32000 || v.AverageBandwidth == 0 || v.AverageBandwidth > v.Bandwidth {
				t.Errorf("%s: variant %d: %+v %s", path, i, v.VariantParams, v.URI)
			}
			langs := map[string]bool{}
			for _, a := range v.Alternatives {
				if a.Type == "SUBTITLES" && (a.URI != subs[0].URI || !a.Default) {
					t.Errorf("%s: subtitles %+v", path, a)
				}
				if a.Type != "AUDIO" || a.GroupId != w.group {
					continue
				}
				langs[a.Language] = true
				r := testRenditions[0]
				if a.Language != r.Language {
					r = testRenditions[1]
				}
				isMain := r.ID == main
				if a.Name != r.Name || a.Default != isMain || !a.Autoselect || a.Channels == nil || a.Channels.Amount != 1 {
					t.Errorf("%s: %s rendition %+v", path, w.group, a)
				}
				switch {
				case isMain && a.URI != "":
					t.Errorf("%s: the default %s rendition has a URI %q", path, w.group, a.URI)
				case !isMain && a.URI != r.ID+w.suffix+"/index.m3u8":
					t.Errorf("%s: %s rendition of %s at %q", path, w.group, a.Language, a.URI)
				}
			}
			if len(langs) != len(testRenditions) {
				t.Errorf("%s: group %s has languages %v", path, w.group, langs)
			}
		}
		if n := strings.Count(string(b), "#EXT-X-INDEPENDENT-SEGMENTS\n"); n != 1 {
			t.Errorf("EXT-X-INDEPENDENT-SEGMENTS %d times", n)
		}
	}
	// The floor asked by name is the plain master.
	if a, b := get(m, "GET", "master.m3u8?audio=en").Body.String(), get(m, "GET", "master.m3u8").Body.String(); a != b {
		t.Errorf("?audio=en:\n%s\nplain:\n%s", a, b)
	}
}

// TestMasterAudioParameter: the master's audio parameter names a rendition
// by ID; cache busters beside it are ignored, and what a cache keyed on
// nginx's $arg_audio could read otherwise is a 400, an unknown rendition a
// 404, both JSON errors that are never cached.
func TestMasterAudioParameter(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	defer m.Close()
	plain, french := m.masterPlaylist(-1), m.masterPlaylist(1)
	for q, want := range map[string][]byte{
		"": plain, "audio=": plain, "audio": plain, "x=1": plain, "audio=en": plain,
		"audio=fr": french, "x=1&audio=fr&_=2": french, "audiox=de&audio=fr": french,
	} {
		if w := get(m, "GET", "master.m3u8?"+q); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), want) {
			t.Errorf("?%s: %d\n%s", q, w.Code, w.Body)
		}
	}
	for q, code := range map[string]int{
		"audio=de":          http.StatusNotFound,
		"audio=FR":          http.StatusNotFound,
		"Audio=fr":          http.StatusBadRequest,
		"%61udio=fr":        http.StatusBadRequest,
		"audio=fr&audio=en": http.StatusBadRequest,
		"audio=fr&audio=fr": http.StatusBadRequest,
		"audio=f%72":        http.StatusBadRequest,
		"audio=f+r":         http.StatusBadRequest,
		"audio=..%2Fen":     http.StatusBadRequest,
		"audio=%zz":         http.StatusBadRequest,
		"%zz=1&audio=fr":    http.StatusBadRequest,
	} {
		assertJSONError(t, get(m, "GET", "master.m3u8?"+q), code)
	}
}

// TestMasterBandwidthIsMeasured: once segments are complete, BANDWIDTH is
// the highest segment bit rate of the variant's renditions and
// AVERAGE-BANDWIDTH the highest rendition's average, per codec.
func TestMasterBandwidthIsMeasured(t *testing.T) {
	m := newAACMuxer(t, Options{})
	defer m.Close()
	before := decodeMaster(t, get(m, "GET", "/master.m3u8").Body.Bytes())
	big := bytes.Repeat([]byte{0x21}, 400)
	for pts := int64(0); pts < sec(1); pts += 1024 { // 47 frames of 400 bytes
		if err := m.WriteAAC("fr", pts, big); err != nil {
			t.Fatal(err)
		}
	}
	writeAACRange(t, m, "fr", sec(1), sec(2.1))
	writeRange(t, m, "en", 0, sec(2.1))
	after := decodeMaster(t, get(m, "GET", "/master.m3u8").Body.Bytes())
	segBits := func(dir string, msn int64) int64 {
		s := get(m, "GET", "/"+dir+"/"+testRun+"/"+segmentName(msn)).Body.Bytes()
		return int64(len(s)) * 8
	}
	aac0, aac1 := segBits("fr.aac", 0), segBits("fr.aac", 1)
	d0, d1 := ceilTo(sec(1), 1024), ceilTo(sec(2), 1024)-ceilTo(sec(1), 1024)
	wantPeak := max(aac0*audio.SampleRate/d0, aac1*audio.SampleRate/d1)
	wantAvg := (aac0 + aac1) * audio.SampleRate / (d0 + d1)
	v := after.Variants[0]
	t.Logf("AAC declared %d/%d before, %d/%d measured", before.Variants[0].Bandwidth, before.Variants[0].AverageBandwidth, v.Bandwidth, v.AverageBandwidth)
	if int64(v.Bandwidth) != wantPeak || int64(v.AverageBandwidth) != wantAvg {
		t.Errorf("AAC BANDWIDTH %d, AVERAGE-BANDWIDTH %d, want %d and %d", v.Bandwidth, v.AverageBandwidth, wantPeak, wantAvg)
	}
	o := after.Variants[1]
	opus0, opus1 := segBits("en", 0), segBits("en", 1)
	if want := max(opus0, opus1); int64(o.Bandwidth) != want {
		t.Errorf("Opus BANDWIDTH %d, want %d", o.Bandwidth, want)
	}
	if before.Variants[0].Bandwidth == v.Bandwidth {
		t.Error("BANDWIDTH did not change once measured")
	}
}
