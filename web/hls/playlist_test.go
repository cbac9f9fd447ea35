package hls

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"

	"tolk/internal/audio/audiotest"
)

func decodeMedia(t *testing.T, b []byte) *m3u8.MediaPlaylist {
	t.Helper()
	p, kind, err := m3u8.Decode(*bytes.NewBuffer(b), true)
	if err != nil {
		t.Fatalf("decode media playlist: %v\n%s", err, b)
	}
	if kind != m3u8.MEDIA {
		t.Fatalf("playlist kind %v, want media", kind)
	}
	return p.(*m3u8.MediaPlaylist)
}

func decodeMaster(t *testing.T, b []byte) *m3u8.MasterPlaylist {
	t.Helper()
	p, kind, err := m3u8.Decode(*bytes.NewBuffer(b), true)
	if err != nil {
		t.Fatalf("decode master playlist: %v\n%s", err, b)
	}
	if kind != m3u8.MASTER {
		t.Fatalf("playlist kind %v, want master", kind)
	}
	return p.(*m3u8.MasterPlaylist)
}

// mediaList is a media playlist as a player reads it.
type mediaList struct {
	version, target, seq int64
	canBlock             bool
	partHoldBack         float64
	partTarget           float64
	independent          bool
	mapURI               string
	segs                 []listedSegment
	open                 []listedPart // parts after the last complete segment
	hint                 string
	ended                bool
}

type listedSegment struct {
	uri   string
	dur   float64
	pdt   time.Time
	parts []listedPart
}

type listedPart struct {
	uri         string
	dur         float64
	independent bool
}

// parseAttrs splits an attribute list, keeping quoted values whole.
func parseAttrs(t *testing.T, s string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for s != "" {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			t.Fatalf("attribute without value in %q", s)
		}
		var v string
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				t.Fatalf("unterminated quote in %q", s)
			}
			v, rest = rest[1:end+1], rest[end+2:]
		} else {
			v, rest, _ = strings.Cut(rest, ",")
			rest = "," + rest
		}
		if _, dup := out[k]; dup {
			t.Fatalf("attribute %s twice", k)
		}
		out[k] = v
		s = strings.TrimPrefix(rest, ",")
	}
	return out
}

// parseMedia reads a media playlist strictly: every line must be a known tag
// or a segment URI, the way RFC 8216bis lays them out.
func parseMedia(t *testing.T, b []byte) mediaList {
	t.Helper()
	text := string(b)
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("playlist does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if lines[0] != "#EXTM3U" {
		t.Fatalf("first line %q", lines[0])
	}
	var l mediaList
	var cur listedSegment
	var dur float64
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("bad number %q", s)
		}
		return n
	}
	float := func(s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("bad decimal %q", s)
		}
		return f
	}
	for _, line := range lines[1:] {
		tag, val, _ := strings.Cut(line, ":")
		if l.ended {
			t.Fatalf("line %q after EXT-X-ENDLIST", line)
		}
		switch tag {
		case "#EXT-X-VERSION":
			l.version = num(val)
		case "#EXT-X-TARGETDURATION":
			l.target = num(val)
		case "#EXT-X-MEDIA-SEQUENCE":
			l.seq = num(val)
		case "#EXT-X-INDEPENDENT-SEGMENTS":
			l.independent = true
		case "#EXT-X-SERVER-CONTROL":
			a := parseAttrs(t, val)
			l.canBlock = a["CAN-BLOCK-RELOAD"] == "YES"
			l.partHoldBack = float(a["PART-HOLD-BACK"])
		case "#EXT-X-PART-INF":
			l.partTarget = float(parseAttrs(t, val)["PART-TARGET"])
		case "#EXT-X-MAP":
			l.mapURI = parseAttrs(t, val)["URI"]
		case "#EXT-X-PROGRAM-DATE-TIME":
			pdt, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				t.Fatalf("date %q: %v", val, err)
			}
			cur.pdt = pdt
		case "#EXT-X-PART":
			a := parseAttrs(t, val)
			cur.parts = append(cur.parts, listedPart{uri: a["URI"], dur: float(a["DURATION"]), independent: a["INDEPENDENT"] == "YES"})
		case "#EXTINF":
			d, _, ok := strings.Cut(val, ",")
			if !ok {
				t.Fatalf("EXTINF without comma: %q", line)
			}
			dur = float(d)
		case "#EXT-X-PRELOAD-HINT":
			a := parseAttrs(t, val)
			if a["TYPE"] != "PART" {
				t.Fatalf("hint type %q", a["TYPE"])
			}
			l.hint = a["URI"]
		case "#EXT-X-ENDLIST":
			l.ended = true
		default:
			if strings.HasPrefix(line, "#") || line == "" {
				t.Fatalf("unknown line %q", line)
			}
			if dur == 0 {
				t.Fatalf("URI %q without EXTINF", line)
			}
			cur.uri, cur.dur = line, dur
			l.segs = append(l.segs, cur)
			cur, dur = listedSegment{}, 0
		}
	}
	l.open = cur.parts
	return l
}

func TestMediaPlaylistParsesBack(t *testing.T) {
	m, _ := newTestMuxer(t, Options{Window: 4})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(5.3))
	l := parseMedia(t, m.tracks["en"].snap.Load().playlist)

	if l.version != playlistVersion || l.target != 1 || l.seq != 1 || !l.independent || l.mapURI != "k3x9ab/init.mp4" || l.ended {
		t.Errorf("header %+v", l)
	}
	if !l.canBlock || l.partTarget != 0.2 || l.partHoldBack < 3*l.partTarget-1e-9 {
		t.Errorf("server control: block %v part target %v hold back %v", l.canBlock, l.partTarget, l.partHoldBack)
	}
	if len(l.segs) != 4 {
		t.Fatalf("%d segments, want 4", len(l.segs))
	}
	epoch := audiotest.NewClock().Now()
	for i, seg := range l.segs {
		msn := int64(1 + i)
		if seg.uri != "k3x9ab/"+segmentName(msn) || seg.dur != 1 {
			t.Errorf("segment %d: %s %v", i, seg.uri, seg.dur)
		}
		if want := epoch.Add(time.Duration(msn) * time.Second); !seg.pdt.Equal(want) {
			t.Errorf("segment %d date %v, want %v", msn, seg.pdt, want)
		}
		// Parts are listed for segments that end within three target
		// durations of the edge (5.2 s): segments 2 to 4, not 1.
		wantParts := 5
		if msn == 1 {
			wantParts = 0
		}
		if len(seg.parts) != wantParts {
			t.Fatalf("segment %d lists %d parts, want %d", msn, len(seg.parts), wantParts)
		}
		for j, p := range seg.parts {
			if p.uri != "k3x9ab/"+partName(msn, j) || p.dur != 0.2 || !p.independent {
				t.Errorf("segment %d part %d: %+v", msn, j, p)
			}
		}
	}
	if len(l.open) != 1 || l.open[0].uri != "k3x9ab/part5.0.m4s" || l.hint != "k3x9ab/part5.1.m4s" {
		t.Errorf("open parts %+v, hint %q", l.open, l.hint)
	}

	// The hint after the last part of a segment is the first part of the
	// next one.
	writeRange(t, m, "en", sec(5.3), sec(6))
	if l := parseMedia(t, m.tracks["en"].snap.Load().playlist); l.hint != "k3x9ab/part6.0.m4s" || len(l.open) != 0 {
		t.Errorf("at a segment boundary: open %+v hint %q", l.open, l.hint)
	}
	m.Close()
	if l := parseMedia(t, m.tracks["en"].snap.Load().playlist); !l.ended || l.hint != "" || len(l.segs) != 4 {
		t.Errorf("closed playlist: %+v", l)
	}
}

// TestMediaPlaylistThirdPartyParser reads a playlist of the default shape
// with hls-m3u8. That parser refuses a part before the first complete
// segment and files a date that precedes parts under the part, so only a
// window whose first segment lists no parts is checked with it.
func TestMediaPlaylistThirdPartyParser(t *testing.T) {
	m, err := New(Options{Clock: audiotest.NewClock(), Run: "r7"}, testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	writeRange(t, m, "fr", 0, sec(20.5))
	p := decodeMedia(t, m.tracks["fr"].snap.Load().playlist)
	if p.TargetDuration != 2 || p.SeqNo != 4 || p.Map == nil || p.Map.URI != "r7/init.mp4" || p.PartTargetDuration != 0.2 {
		t.Errorf("header: target %d seq %d map %+v part target %v", p.TargetDuration, p.SeqNo, p.Map, p.PartTargetDuration)
	}
	if sc := p.ServerControl; sc == nil || !sc.CanBlockReload || sc.PartHoldBack != 0.6 {
		t.Errorf("server control %+v", p.ServerControl)
	}
	var uris []string
	for _, s := range p.Segments {
		if s != nil {
			uris = append(uris, s.URI)
			if s.Duration != 2 {
				t.Errorf("segment %s lasts %v", s.URI, s.Duration)
			}
		}
	}
	if strings.Join(uris, " ") != "r7/seg4.m4s r7/seg5.m4s r7/seg6.m4s r7/seg7.m4s r7/seg8.m4s r7/seg9.m4s" {
		t.Errorf("segments %v", uris)
	}
	if n := len(p.PartialSegments); n != 3*10+2 {
		t.Errorf("%d parts listed, want 32", n)
	}
	if h := p.PreloadHints; h == nil || h.Type != "PART" || h.URI != "r7/part10.2.m4s" {
		t.Errorf("preload hint %+v", p.PreloadHints)
	}
}

func TestMasterPlaylistParsesBack(t *testing.T) {
	subs := []SubtitleRendition{
		{ID: "en", Name: "English", Language: "en", Default: true, URI: "captions/en/index.m3u8"},
		{ID: "fr", Name: "Français", Language: "fr", URI: "captions/fr/index.m3u8"},
	}
	for _, withSubs := range []bool{false, true} {
		var ss []SubtitleRendition
		if withSubs {
			ss = subs
		}
		b, err := MasterPlaylist(testRenditions, ss, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		p := decodeMaster(t, b)
		if len(p.Variants) != 1 {
			t.Fatalf("%d variants", len(p.Variants))
		}
		v := p.Variants[0]
		if v.URI != "en/index.m3u8" || v.Codecs != "opus" || v.Audio != audioGroup || v.Bandwidth < 32000 {
			t.Errorf("variant %+v", v.VariantParams)
		}
		if withSubs != (v.Subtitles == subtitleGroup) {
			t.Errorf("variant subtitles group %q", v.Subtitles)
		}
		audio, text := 0, 0
		for _, a := range v.Alternatives {
			switch a.Type {
			case "AUDIO":
				audio++
				switch a.Language {
				case "en":
					if !a.Default || !a.Autoselect || a.URI != "" || a.Characteristics != "" || a.Name != "English" {
						t.Errorf("floor rendition %+v", a)
					}
				case "fr":
					if a.Default || a.URI != "fr/index.m3u8" || a.Characteristics != "public.translation" || a.Name != "Français" {
						t.Errorf("interpreted rendition %+v", a)
					}
				default:
					t.Errorf("unexpected rendition %+v", a)
				}
			case "SUBTITLES":
				text++
				if a.GroupId != subtitleGroup || a.URI != "captions/"+a.Language+"/index.m3u8" || a.Default != (a.Language == "en") {
					t.Errorf("subtitle rendition %+v", a)
				}
			}
		}
		if audio != 2 || text != len(ss) {
			t.Errorf("%d audio and %d subtitle renditions", audio, text)
		}
	}
	if _, err := MasterPlaylist(testRenditions, []SubtitleRendition{{ID: "x", Name: "x", Language: "en", URI: `a"b`}}, time.Second); err == nil {
		t.Error("a quote in a subtitle URI was accepted")
	}
}

func TestAppendSeconds(t *testing.T) {
	for samples, want := range map[int64]string{0: "0.000", 960: "0.020", 9600: "0.200", 48000: "1.000", 96000 + 4800: "2.100", 48000 * 61: "61.000"} {
		if got := string(appendSeconds(nil, samples)); got != want {
			t.Errorf("%d samples: %q, want %q", samples, got, want)
		}
	}
}
