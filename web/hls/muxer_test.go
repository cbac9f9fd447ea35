package hls

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var testRenditions = []AudioRendition{
	{ID: "en", Name: "English", Language: "en", Default: true, Bitrate: 32000},
	{ID: "fr", Name: "Français", Language: "fr", Translation: true, Bitrate: 32000},
}

// testRun names the test muxers' run unless a test gives its own.
const testRun = "k3x9ab"

// newTestMuxer returns a Muxer on a manual clock with 200 ms parts, 1 s
// segments and run testRun unless opts say otherwise.
func newTestMuxer(t testing.TB, opts Options) (*Muxer, *audiotest.Clock) {
	t.Helper()
	clock := audiotest.NewClock()
	if opts.Run == "" {
		opts.Run = testRun
	}
	if opts.PartDuration == 0 {
		opts.PartDuration = 200 * time.Millisecond
	}
	if opts.SegmentDuration == 0 {
		opts.SegmentDuration = time.Second
	}
	if opts.Window == 0 {
		opts.Window = 4
	}
	opts.Clock = clock
	m, err := New(opts, testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	return m, clock
}

// packet is a recognisable fake Opus packet for frame n.
func packet(n int64) []byte { return []byte{0xfc, byte(n), byte(n >> 8)} }

// writeRange writes one packet per 20 ms frame for program time [from, to).
func writeRange(t testing.TB, m *Muxer, id string, from, to int64) {
	t.Helper()
	for pts := from; pts < to; pts += audio.FrameSamples {
		if err := m.WriteOpus(id, pts, packet(pts/audio.FrameSamples)); err != nil {
			t.Fatalf("write %s at %d: %v", id, pts, err)
		}
	}
}

func sec(s float64) int64 { return int64(s * audio.SampleRate) }

// decodeFragments parses fMP4 fragments and returns, per fragment, its
// sequence number, decode time and sample count, and all sample payloads.
type fragInfo struct {
	seq     uint32
	tfdt    uint64
	samples int
	dur     uint32
}

func decodeFragments(t *testing.T, b []byte) ([]fragInfo, [][]byte) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode fragments: %v", err)
	}
	var infos []fragInfo
	var payloads [][]byte
	for _, seg := range f.Segments {
		for _, fr := range seg.Fragments {
			trex := &mp4.TrexBox{TrackID: trackID}
			full, err := fr.GetFullSamples(trex)
			if err != nil {
				t.Fatal(err)
			}
			info := fragInfo{seq: fr.Moof.Mfhd.SequenceNumber, tfdt: fr.Moof.Traf.Tfdt.BaseMediaDecodeTime(), samples: len(full)}
			for _, s := range full {
				info.dur += s.Dur
				payloads = append(payloads, s.Data)
			}
			infos = append(infos, info)
		}
	}
	return infos, payloads
}

func TestPartsAndSegmentsFollowProgramTime(t *testing.T) {
	m, clock := newTestMuxer(t, Options{})
	defer m.Close()
	if _, ok := m.Epoch(); ok {
		t.Error("epoch known before the first packet")
	}
	writeRange(t, m, "en", 0, sec(2.5))
	if e, ok := m.Epoch(); !ok || !e.Equal(clock.Now()) {
		t.Errorf("epoch %v %v, want %v", e, ok, clock.Now())
	}
	// fr joins late, in the middle of a part: the gap from the segment
	// start is silence and its boundaries match en's.
	writeRange(t, m, "fr", 7*audio.FrameSamples, sec(2.5))

	for _, id := range []string{"en", "fr"} {
		s := m.tracks[id].snap.Load()
		if len(s.segs) != 2 || s.segs[0].msn != 0 || s.segs[1].msn != 1 {
			t.Fatalf("%s: complete segments %v, want msn 0 and 1", id, msns(s.segs))
		}
		if s.open == nil || s.open.msn != 2 || len(s.open.parts) != 2 {
			t.Fatalf("%s: open segment %+v, want msn 2 with 2 parts", id, s.open)
		}
		// 2.5 s is 12.5 parts: parts 0..11 are out, the 13th is pending.
		if s.lastPart != 11 || s.lastSeg != 1 {
			t.Fatalf("%s: lastPart %d lastSeg %d, want 11 and 1", id, s.lastPart, s.lastSeg)
		}
		for _, seg := range s.segs {
			if seg.start != seg.msn*sec(1) || seg.dur != sec(1) || len(seg.parts) != 5 {
				t.Fatalf("%s: segment %d starts %d lasts %d with %d parts", id, seg.msn, seg.start, seg.dur, len(seg.parts))
			}
			infos, _ := decodeFragments(t, seg.data)
			if len(infos) != 5 {
				t.Fatalf("%s: segment %d holds %d fragments, want 5", id, seg.msn, len(infos))
			}
			for i, in := range infos {
				p := seg.parts[i]
				wantStart := seg.start + int64(i)*sec(0.2)
				if p.index != i || p.start != wantStart || in.tfdt != uint64(wantStart) {
					t.Fatalf("%s: part %d.%d index %d start %d tfdt %d, want start %d", id, seg.msn, i, p.index, p.start, in.tfdt, wantStart)
				}
				if in.samples != 10 || in.dur != uint32(sec(0.2)) || in.seq != uint32(wantStart/sec(0.2)+1) {
					t.Fatalf("%s: part %d.%d: %+v", id, seg.msn, i, in)
				}
			}
		}
	}
	_, en := decodeFragments(t, m.tracks["en"].snap.Load().segs[0].data)
	for i, p := range en {
		if !bytes.Equal(p, packet(int64(i))) {
			t.Fatalf("en sample %d is %x, want %x", i, p, packet(int64(i)))
		}
	}
	_, fr := decodeFragments(t, m.tracks["fr"].snap.Load().segs[0].data)
	for i, p := range fr {
		want := packet(int64(i))
		if i < 7 {
			want = silenceFrame
		}
		if !bytes.Equal(p, want) {
			t.Fatalf("fr sample %d is %x, want %x", i, p, want)
		}
	}
	if st := m.Stats(); st.FilledFrames != 7 || st.Segments != 4 || st.Parts != 24 {
		t.Fatalf("stats %+v", st)
	}
}

func msns(segs []*segment) []int64 {
	var out []int64
	for _, s := range segs {
		out = append(out, s.msn)
	}
	return out
}

func TestGapIsFilledWithSilence(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(1))
	writeRange(t, m, "en", sec(1.6), sec(3))
	s := m.tracks["en"].snap.Load()
	if got := msns(s.segs); len(got) != 3 || got[0] != 0 || got[2] != 2 {
		t.Fatalf("segments %v, want 0..2", got)
	}
	_, payloads := decodeFragments(t, s.segs[1].data)
	for i, p := range payloads {
		silent := bytes.Equal(p, silenceFrame)
		if silent != (i < 30) {
			t.Fatalf("segment 1 sample %d silent=%v", i, silent)
		}
	}
	if st := m.Stats(); st.FilledFrames != 30 || st.Restarts != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLongGapRestartsWindow(t *testing.T) {
	m, _ := newTestMuxer(t, Options{Window: 3})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(1.5))
	jump := sec(3600.4)
	writeRange(t, m, "en", jump, jump+sec(0.2))
	s := m.tracks["en"].snap.Load()
	got := msns(s.segs)
	if len(got) != 3 || got[0] != 3597 || got[2] != 3599 {
		t.Fatalf("segments after the jump %v, want 3597..3599", got)
	}
	if s.open == nil || s.open.msn != 3600 || len(s.open.parts) != 3 {
		t.Fatalf("open segment %+v", s.open)
	}
	st := m.Stats()
	// Half a segment to finish the old one, three window segments and 0.4 s.
	if st.Restarts != 1 || st.FilledFrames != 25+150+20 {
		t.Fatalf("stats %+v", st)
	}
	pl := string(s.playlist)
	if !strings.Contains(pl, "#EXT-X-MEDIA-SEQUENCE:3597\n") {
		t.Fatalf("playlist does not start at 3597:\n%s", pl)
	}
}

func TestWriteRejectsBadPackets(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	writeRange(t, m, "en", 0, sec(0.1))
	cases := []struct {
		name string
		id   string
		pts  int64
		pkt  []byte
	}{
		{"unknown rendition", "de", sec(0.1), packet(1)},
		{"late", "en", sec(0.06), packet(1)},
		{"repeated", "en", sec(0.08), packet(1)},
		{"misaligned", "en", sec(0.1) + 1, packet(1)},
		{"negative", "en", -960, packet(1)},
		{"empty", "en", sec(0.1), nil},
		{"huge", "en", sec(0.1), append([]byte{0xf8}, make([]byte, maxPacket)...)},
		{"10 ms", "en", sec(0.1), []byte{0xf0, 1, 2}},
		{"40 ms", "en", sec(0.1), []byte{0x10, 1, 2}},
		{"two 20 ms frames", "en", sec(0.1), []byte{0xf9, 1, 2}},
		{"code 3 without count", "en", sec(0.1), []byte{0xfb}},
	}
	for _, c := range cases {
		if err := m.WriteOpus(c.id, c.pts, c.pkt); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	if err := m.WriteOpus("en", sec(0.08), packet(1)); !errors.Is(err, errLate) {
		t.Errorf("late packet error %v does not wrap errLate", err)
	}
	// The stream goes on where it was.
	writeRange(t, m, "en", sec(0.1), sec(0.2))
	m.Close()
	if err := m.WriteOpus("en", sec(0.2), packet(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("write after close: %v", err)
	}
	if st := m.Stats(); st.Rejected != int64(len(cases))+2 || st.Parts != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestWindowBoundsMemory(t *testing.T) {
	m, _ := newTestMuxer(t, Options{Window: 3})
	defer m.Close()
	writeRange(t, m, "en", 0, sec(20))
	tr := m.tracks["en"]
	s := tr.snap.Load()
	if got := msns(s.segs); len(got) != 3 || got[0] != 17 {
		t.Fatalf("segments %v, want 17..19", got)
	}
	if len(tr.done) != 3 || cap(tr.done) > 8 {
		t.Fatalf("writer keeps %d segments in a backing array of %d", len(tr.done), cap(tr.done))
	}
	for _, seg := range tr.done[:cap(tr.done)][len(tr.done):] {
		if seg != nil {
			t.Fatal("a dropped segment is still referenced")
		}
	}
}

func TestCloseCompletesOpenSegment(t *testing.T) {
	m, _ := newTestMuxer(t, Options{})
	writeRange(t, m, "en", 0, sec(1.3))
	m.Close()
	m.Close()
	s := m.tracks["en"].snap.Load()
	if !s.ended || len(s.segs) != 2 || s.open != nil {
		t.Fatalf("after close: ended %v segments %v open %v", s.ended, msns(s.segs), s.open)
	}
	last := s.segs[1]
	if last.dur != sec(0.3) || len(last.parts) != 2 || last.parts[1].dur != sec(0.1) {
		t.Fatalf("last segment lasts %d with %d parts", last.dur, len(last.parts))
	}
	infos, _ := decodeFragments(t, last.data)
	if len(infos) != 2 || infos[1].samples != 5 || infos[1].tfdt != uint64(sec(1.2)) {
		t.Fatalf("last segment fragments %+v", infos)
	}
	pl := string(s.playlist)
	if !strings.HasSuffix(pl, "#EXT-X-ENDLIST\n") || strings.Contains(pl, "PRELOAD-HINT") {
		t.Fatalf("closed playlist:\n%s", pl)
	}
	// fr never received a packet: its playlist ends empty.
	if fr := m.tracks["fr"].snap.Load(); !fr.ended || !strings.HasSuffix(string(fr.playlist), "#EXT-X-ENDLIST\n") {
		t.Fatalf("fr playlist:\n%s", fr.playlist)
	}
}

func TestOpusSamples(t *testing.T) {
	for _, c := range []struct {
		pkt  []byte
		want int
	}{
		{silenceFrame, 960},
		{[]byte{0x08, 0}, 960},                // SILK NB 20 ms
		{[]byte{0x18, 0}, 2880},               // SILK NB 60 ms
		{[]byte{0x68, 0}, 960},                // hybrid SWB 20 ms
		{[]byte{0x60, 0}, 480},                // hybrid SWB 10 ms
		{[]byte{0xf9, 0, 0}, 1920},            // CELT 20 ms, two frames
		{[]byte{0xeb, 0x04, 0, 0, 0, 0}, 960}, // CELT 5 ms, code 3 with four frames of one byte
		{[]byte{0xeb, 0x04, 0}, 0},            // four frames in one byte: impossible framing, refused
		{[]byte{0xe3, 0x00}, 0},               // code 3 with no frame: refused
		{nil, 0},
	} {
		got, err := opusSamples(c.pkt)
		if (err != nil) != (c.want == 0) || got != c.want {
			t.Errorf("%x: %d samples, %v; want %d", c.pkt, got, err, c.want)
		}
	}
}

func TestInitSegment(t *testing.T) {
	b, err := initSegment("fr-CA")
	if err != nil {
		t.Fatal(err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	trak := f.Init.Moov.Trak
	if ts := trak.Mdia.Mdhd.Timescale; ts != audio.SampleRate {
		t.Errorf("timescale %d", ts)
	}
	if lang := trak.Mdia.Mdhd.GetLanguage(); lang != "fra" {
		t.Errorf("mdhd language %q", lang)
	}
	opus := trak.Mdia.Minf.Stbl.Stsd.Opus
	if opus == nil || opus.Dops == nil {
		t.Fatal("no Opus sample entry with dOps")
	}
	d := opus.Dops
	if d.PreSkip != opusPreSkip || d.InputSampleRate != audio.SampleRate || d.OutputChannelCount != 1 || opus.SampleRate != audio.SampleRate {
		t.Errorf("dOps %+v, entry rate %d", d, opus.SampleRate)
	}
}

func TestNewValidates(t *testing.T) {
	good := testRenditions
	bad := []struct {
		name string
		opts Options
		rs   []AudioRendition
	}{
		{"part not 20 ms multiple", Options{PartDuration: 210 * time.Millisecond}, good},
		{"segment not part multiple", Options{PartDuration: 200 * time.Millisecond, SegmentDuration: 1100 * time.Millisecond}, good},
		{"negative window", Options{Window: -1}, good},
		{"no renditions", Options{}, nil},
		{"two defaults", Options{}, []AudioRendition{good[0], {ID: "de", Name: "Deutsch", Language: "de", Default: true, Bitrate: 1}}},
		{"no default", Options{}, good[1:]},
		{"bad id", Options{}, []AudioRendition{{ID: "e/n", Name: "x", Language: "en", Default: true, Bitrate: 1}}},
		{"duplicate id", Options{}, []AudioRendition{good[0], good[0]}},
		{"quote in name", Options{}, []AudioRendition{{ID: "en", Name: `a"b`, Language: "en", Default: true, Bitrate: 1}}},
		{"bad language", Options{}, []AudioRendition{{ID: "en", Name: "x", Language: "not a tag", Default: true, Bitrate: 1}}},
		{"no bitrate", Options{}, []AudioRendition{{ID: "en", Name: "x", Language: "en", Default: true}}},
		{"run with a dash", Options{Run: "a-b"}, good},
		{"upper-case run", Options{Run: "K3X9"}, good},
		{"run too long", Options{Run: "abcdefghijklmnopq"}, good},
		{"run with a dot", Options{Run: "a.b"}, good},
	}
	for _, c := range bad {
		if _, err := New(c.opts, c.rs); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	sub := SubtitleRendition{ID: "en", Name: "English", Language: "en", URI: "subs/en/index.m3u8"}
	if _, err := New(Options{Subtitles: []SubtitleRendition{sub}}, good); err != nil {
		t.Fatalf("good subtitle refused: %v", err)
	}
	for name, s := range map[string][]SubtitleRendition{
		"space in uri":  {{ID: "en", Name: "English", Language: "en", URI: "a b"}},
		"bad id":        {{ID: "e/n", Name: "English", Language: "en", URI: sub.URI}},
		"duplicate id":  {sub, sub},
		"quote in name": {{ID: "en", Name: `a"b`, Language: "en", URI: sub.URI}},
		"bad language":  {{ID: "en", Name: "English", Language: "not a tag", URI: sub.URI}},
	} {
		if _, err := New(Options{Subtitles: s}, good); err == nil {
			t.Errorf("subtitle with %s accepted", name)
		}
	}
	m, err := New(Options{}, good)
	if err != nil {
		t.Fatal(err)
	}
	if m.opts.PartDuration != 200*time.Millisecond || m.opts.SegmentDuration != 2*time.Second || m.pps != 10 {
		t.Errorf("defaults %+v", m.opts)
	}
}

// TestRestartedOutputKeepsTheProgramTimeline: a packager started again
// mid-run (a restarted output) on the program's timeline dates its segments
// exactly as the first one did, although the wall clock has moved on: the
// epoch is the program's, not the packager's.
func TestRestartedOutputKeepsTheProgramTimeline(t *testing.T) {
	tl := media.NewTimeline()
	first, clock := newTestMuxer(t, Options{Timeline: tl})
	writeRange(t, first, "en", 0, sec(3))
	epoch, ok := tl.Epoch()
	if !ok {
		t.Fatal("the first packet did not fix the timeline's epoch")
	}
	first.Close()
	clock.Advance(17 * time.Second) // the wall clock moves on, and drifts from program time
	again, err := New(Options{SegmentDuration: time.Second, Window: 4, Clock: clock, Timeline: tl}, testRenditions)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	writeRange(t, again, "en", sec(10), sec(13))
	pl := string(again.tracks["en"].snap.Load().playlist)
	want := "#EXT-X-PROGRAM-DATE-TIME:" + string(appendDate(nil, epoch.Add(10*time.Second)))
	if !strings.Contains(pl, want) {
		t.Fatalf("restarted packager's playlist lacks %q:\n%s", want, pl)
	}
	if e, _ := again.Epoch(); !e.Equal(epoch) {
		t.Errorf("restarted packager's epoch %v, want the program's %v", e, epoch)
	}
}
