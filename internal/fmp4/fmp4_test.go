package fmp4

import (
	"bytes"
	"strings"
	"testing"

	"github.com/Eyevinn/mp4ff/mp4"
)

func testSpecs() []TrackSpec {
	return []TrackSpec{
		{ID: 1, Kind: Audio, Lang: "en", Name: "English", Role: RoleMain, Enabled: true},
		{ID: 2, Kind: Audio, Lang: "fr-CA", Name: "Français (Canada)", Role: RoleDub},
		{ID: 3, Kind: Text, Lang: "en", Name: "English", Role: RoleCaption, Enabled: true},
	}
}

// TestInitRoundTrip: the movie box written for a multi-track recording
// reads back with every track's id, kind, language (ISO 639-2/T and BCP
// 47), name, role and default flag.
func TestInitRoundTrip(t *testing.T) {
	moov, err := Init(testSpecs())
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(moov)
	if err != nil || h.Type != "moov" || h.Size != uint64(len(moov)) {
		t.Fatalf("header %+v, %v", h, err)
	}
	tracks, err := ParseMoov(moov[h.Len:])
	if err != nil {
		t.Fatal(err)
	}
	want := []TrackInfo{
		{ID: 1, Kind: Audio, Timescale: Timescale, Lang: "eng", ExtLang: "en", Handler: "soun", Name: "English", Entry: "Opus", Role: RoleMain, Enabled: true},
		{ID: 2, Kind: Audio, Timescale: Timescale, Lang: "fra", ExtLang: "fr-CA", Handler: "soun", Name: "Français (Canada)", Entry: "Opus", Role: RoleDub},
		{ID: 3, Kind: Text, Timescale: Timescale, Lang: "eng", ExtLang: "en", Handler: "sbtl", Name: "English", Entry: "tx3g", Role: RoleCaption, Enabled: true},
	}
	if len(tracks) != len(want) {
		t.Fatalf("tracks %+v", tracks)
	}
	for i := range want {
		if tracks[i] != want[i] {
			t.Errorf("track %d = %+v, want %+v", i+1, tracks[i], want[i])
		}
	}
	if _, err := Init([]TrackSpec{{ID: 2, Kind: Audio, Lang: "en"}}); err == nil {
		t.Error("a first track with id 2 was accepted")
	}
}

// TestMultiFragmentRoundTrip: a fragment of two audio tracks and a
// captions track reads back with every sample's time, duration and data.
func TestMultiFragmentRoundTrip(t *testing.T) {
	a := Traf{TrackID: 1, Start: 48000, Dur: FrameDur, Sizes: []uint32{3, 2, 4}, Data: []byte("aaabbcccc")}
	b := Traf{TrackID: 2, Start: 48000, Dur: FrameDur, Sizes: []uint32{1, 1, 1}, Data: []byte("xyz")}
	s1, s2 := TextSample(""), TextSample("Bonjour\nà tous")
	c := Traf{TrackID: 3, Start: 1000, Durs: []uint32{500, 1500}, Sizes: []uint32{uint32(len(s1)), uint32(len(s2))},
		Data: append(append([]byte{}, s1...), s2...)}
	empty := Traf{TrackID: 4}
	frag, err := MultiFragment(7, []Traf{a, b, empty, c})
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseHeader(frag)
	if err != nil || h.Type != "moof" {
		t.Fatalf("header %+v, %v", h, err)
	}
	moof, err := ParseMoof(frag[h.Len:h.Size], nil)
	if err != nil {
		t.Fatal(err)
	}
	if moof.Seq != 7 || len(moof.Trafs) != 3 {
		t.Fatalf("moof %+v", moof)
	}
	for i, want := range []Traf{a, b, c} {
		got := moof.Trafs[i]
		if got.TrackID != want.TrackID || len(got.Samples) != len(want.Sizes) {
			t.Fatalf("traf %d: %+v", i, got)
		}
		pos, at := 0, want.Start
		for j, s := range got.Samples {
			d := want.Dur
			if want.Durs != nil {
				d = want.Durs[j]
			}
			data := frag[s.Offset : s.Offset+int64(s.Size)]
			if s.Time != at || s.Dur != d || !bytes.Equal(data, want.Data[pos:pos+int(want.Sizes[j])]) {
				t.Errorf("traf %d sample %d: %+v %q", i, j, s, data)
			}
			pos += int(want.Sizes[j])
			at += int64(d)
		}
		if got.End() != want.Start+want.Duration() {
			t.Errorf("traf %d ends at %d, want %d", i, got.End(), want.Start+want.Duration())
		}
	}
	text, err := ParseTextSample(frag[moof.Trafs[2].Samples[1].Offset:])
	if err != nil || text != "Bonjour\nà tous" {
		t.Errorf("text %q, %v", text, err)
	}
	if _, err := MultiFragment(1, []Traf{empty}); err == nil {
		t.Error("a fragment without samples was encoded")
	}
	if _, err := MultiFragment(1, []Traf{{TrackID: 1, Dur: 960, Sizes: []uint32{4}, Data: []byte("ab")}}); err == nil {
		t.Error("sizes that do not match the data were accepted")
	}
}

func TestTextSample(t *testing.T) {
	long := strings.Repeat("é", 40000) // 80000 bytes
	got, err := ParseTextSample(TextSample(long))
	if err != nil || len(got) > maxText || !strings.HasPrefix(long, got) || len(got)%2 != 0 {
		t.Errorf("long text cut to %d bytes, %v", len(got), err)
	}
	for _, b := range [][]byte{nil, {0}, {0, 5, 'a'}} {
		if _, err := ParseTextSample(b); err == nil {
			t.Errorf("%x parsed", b)
		}
	}
}

func TestParseRefusesBadBoxes(t *testing.T) {
	for name, b := range map[string][]byte{
		"short header":    {0, 0, 0},
		"zero size":       {0, 0, 0, 0, 'm', 'o', 'o', 'f'},
		"under header":    {0, 0, 0, 4, 'm', 'o', 'o', 'f'},
		"large too short": {0, 0, 0, 1, 'm', 'd', 'a', 't', 0, 0, 0, 0, 0, 0, 0, 8},
	} {
		if _, err := ParseHeader(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	// A trun claiming more samples than its bytes hold.
	moof := []byte{
		0, 0, 0, 56, 't', 'r', 'a', 'f',
		0, 0, 0, 16, 't', 'f', 'h', 'd', 0, 2, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 16, 't', 'f', 'd', 't', 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 16, 't', 'r', 'u', 'n', 0, 0, 3, 1, 0, 0, 0xff, 0xff, 0, 0, 0, 64,
	}
	if _, err := ParseMoof(moof, nil); err == nil {
		t.Error("a trun longer than its box was accepted")
	}
}

// FuzzParseMoof: the fragment parser takes any bytes without panicking,
// and every sample it returns has a duration in range and data placed after
// the moof's start.
func FuzzParseMoof(f *testing.F) {
	a := Traf{TrackID: 1, Start: 48000, Dur: FrameDur, Sizes: []uint32{3, 2}, Data: []byte("aaabb")}
	s := TextSample("hi")
	c := Traf{TrackID: 2, Start: 1000, Durs: []uint32{500}, Sizes: []uint32{uint32(len(s))}, Data: s}
	frag, err := MultiFragment(1, []Traf{a, c})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(frag[8:])
	f.Add(frag[8:40])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ParseMoof(b, func(uint32) (uint32, uint32) { return 960, 3 })
		if err != nil {
			return
		}
		for _, tr := range m.Trafs {
			if len(tr.Samples) > MaxSamples {
				t.Fatalf("%d samples", len(tr.Samples))
			}
			for _, s := range tr.Samples {
				if s.Offset < 0 || s.Time < 0 {
					t.Fatalf("sample %+v", s)
				}
			}
		}
	})
}

// FuzzParseMoov: the movie box parser takes any bytes without panicking.
func FuzzParseMoov(f *testing.F) {
	moov, err := Init(testSpecs())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(moov[8:])
	f.Add(moov[8:200])
	f.Fuzz(func(t *testing.T, b []byte) {
		tracks, err := ParseMoov(b)
		if err == nil {
			for _, tr := range tracks {
				if tr.ID == 0 {
					t.Fatal("track without an id")
				}
			}
		}
	})
}

// TestAACInit: the AAC-LC initialization section reads back as one mono
// 48 kHz mp4a track with the AudioSpecificConfig of AAC-LC and the
// language's ISO 639-2/T code.
func TestAACInit(t *testing.T) {
	b, err := AACInit("fr-CA")
	if err != nil {
		t.Fatal(err)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	trak := f.Init.Moov.Trak
	if trak.Mdia.Mdhd.GetLanguage() != "fra" || trak.Mdia.Mdhd.Timescale != Timescale {
		t.Errorf("mdhd %+v", trak.Mdia.Mdhd)
	}
	mp4a := trak.Mdia.Minf.Stbl.Stsd.Mp4a
	if mp4a == nil || mp4a.ChannelCount != 1 || mp4a.SampleRate != Timescale || mp4a.Esds == nil {
		t.Fatalf("sample entry %+v", mp4a)
	}
	if got := mp4a.Esds.DecConfigDescriptor.DecSpecificInfo.DecConfig; !bytes.Equal(got, AACConfig) {
		t.Errorf("AudioSpecificConfig % x, want % x", got, AACConfig)
	}
}
