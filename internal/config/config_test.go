package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const good = `
id: demo
title: Partner conference
floor:
  language: en
  source: file:testdata/floor.wav
  loop: true
languages:
  - {tag: fr, name: Français, duck_db: -14}
  - {tag: es, name: Español}
`

func TestParseGood(t *testing.T) {
	ev, err := Parse([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "demo" || len(ev.Languages) != 2 || !ev.Floor.Loop {
		t.Fatalf("decoded %+v", ev)
	}
	if *ev.Languages[1].DuckDB != DefaultDuckDB {
		t.Fatalf("es duck_db default = %v", *ev.Languages[1].DuckDB)
	}
	if ev.Audio.Bitrate != DefaultBitrate || ev.HLS.PartMS != DefaultPartMS || ev.Server.HTTP != DefaultHTTP {
		t.Fatalf("defaults not applied: %+v", ev)
	}
}

func TestCaptionsTranslated(t *testing.T) {
	ev, err := Parse([]byte(good+"captions: {backend: google, languages: {FR: translate}, translate: {project: tolk-demo}}\n"),
		[]string{"TOLK_CAPTIONS_TRANSLATE_ENDPOINT=127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	if !ev.Captions.Translated("fr") || ev.Captions.Translated("es") || ev.Captions.Translated("en") {
		t.Errorf("translated: fr %v es %v en %v", ev.Captions.Translated("fr"), ev.Captions.Translated("es"), ev.Captions.Translated("en"))
	}
	if tr := ev.Captions.Translate; tr.Project != "tolk-demo" || tr.Endpoint != "127.0.0.1:9" {
		t.Errorf("translate %+v", tr)
	}
}

// TestDenoise: the recognizer's noise suppressor is on unless the
// configuration says false.
func TestDenoise(t *testing.T) {
	for yaml, want := range map[string]bool{"": true, "captions: {denoise: true}\n": true, "captions: {denoise: false}\n": false} {
		ev, err := Parse([]byte(good+yaml), nil)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Captions.DenoiseOn() != want {
			t.Errorf("%q: denoise %v, want %v", yaml, ev.Captions.DenoiseOn(), want)
		}
	}
	if _, err := Parse([]byte(good+"captions: {denoise: maybe}\n"), nil); err == nil {
		t.Error("denoise: maybe accepted")
	}
}

// TestCaptionOnlyLanguages: a language under captions.languages that nobody
// interprets takes translate and becomes captions without audio.
func TestCaptionOnlyLanguages(t *testing.T) {
	ev, err := Parse([]byte(good+"captions: {languages: {ko: translate, JA: translate, fr: translate, es: sphinx}, translate: {project: p}}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ev.CaptionOnly(), ","); got != "ja,ko" {
		t.Errorf("caption-only %q, want ja,ko", got)
	}
	if !ev.Captions.Translated("ja") || len(ev.Languages) != 2 {
		t.Errorf("ja translated %v, languages %d", ev.Captions.Translated("ja"), len(ev.Languages))
	}
	plain, err := Parse([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := plain.CaptionOnly(); len(got) != 0 {
		t.Errorf("caption-only %q without captions.languages", got)
	}
}

const studios = `
id: summit
floor:
  language: en
  inputs:
    - {id: berlin, name: Studio Berlin, source: "srt://0.0.0.0:9001"}
    - {id: lisbon, name: Studio Lisbon, source: "srt://0.0.0.0:9002"}
    - {id: backup, source: file:testdata/floor.wav, loop: true}
languages:
  - {tag: fr}
`

func TestParseInputs(t *testing.T) {
	ev, err := Parse([]byte(studios), nil)
	if err != nil {
		t.Fatal(err)
	}
	in := ev.Floor.AllInputs()
	if len(in) != 3 || in[0].ID != "berlin" || in[0].Name != "Studio Berlin" || !in[2].Loop {
		t.Fatalf("inputs %+v", in)
	}
	one, _ := Parse([]byte(good), nil)
	if in := one.Floor.AllInputs(); len(in) != 1 || in[0].ID != MainInput || in[0].Source != "file:testdata/floor.wav" || !in[0].Loop {
		t.Fatalf("a floor given by its source: inputs %+v", in)
	}
	for name, c := range map[string]struct{ yaml, want string }{
		"source and inputs": {strings.Replace(studios, "  inputs:", "  source: whip\n  inputs:", 1), "either source"},
		"duplicate id":      {strings.Replace(studios, "id: lisbon", "id: berlin", 1), "floor.inputs[1].id"},
		"bad id":            {strings.Replace(studios, "id: backup", "id: Back Up", 1), "floor.inputs[2].id"},
		"bad source":        {strings.Replace(studios, "srt://0.0.0.0:9002", "srt://nowhere", 1), "floor.inputs[1].source"},
		"loop not a file":   {strings.Replace(studios, `"srt://0.0.0.0:9001"}`, `"srt://0.0.0.0:9001", loop: true}`, 1), "floor.inputs[0].loop"},
		"whip without key":  {strings.Replace(studios, `"srt://0.0.0.0:9001"`, "whip", 1), "floor.inputs[0].stream_key"},
		"two whips": {strings.Replace(strings.Replace(studios, `"srt://0.0.0.0:9001"}`, "whip, stream_key: 0123456789abcdef}", 1),
			`"srt://0.0.0.0:9002"}`, "whip, stream_key: 0123456789abcdef}", 1), "at most one input can be whip"},
	} {
		if _, err := Parse([]byte(c.yaml), nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

func TestSampleConfigsValid(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/*.yaml")
	docs, _ := filepath.Glob("../../docs/*.yaml")
	files = append(files, docs...)
	if len(files) == 0 {
		t.Skip("no sample configuration found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(data, nil); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestParseBad(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // every fragment must appear in the error
	}{
		{"unknown key", good + "colour: blue\n", []string{"field colour not found"}},
		{"unknown nested key", strings.Replace(good, "loop: true", "loop: true\n  volume: 3", 1), []string{"field volume not found"}},
		{"bad id", strings.Replace(good, "id: demo", "id: Demo Event", 1), []string{"id:"}},
		{"bad floor language", strings.Replace(good, "language: en", "language: english!", 1), []string{"floor.language"}},
		{"missing source", strings.Replace(good, "source: file:testdata/floor.wav", "source: \"\"", 1), []string{"floor.source: missing", "floor.loop"}},
		{"unknown source", strings.Replace(good, "file:testdata/floor.wav", "ftp://x", 1), []string{"floor.source", "unknown kind"}},
		{"rtmp without port", strings.Replace(strings.Replace(good, "file:testdata/floor.wav", "rtmp://0.0.0.0/live/k", 1), "loop: true", "loop: false", 1), []string{"floor.source", "port"}},
		{"whip without key", strings.Replace(strings.Replace(good, "file:testdata/floor.wav", "whip", 1), "loop: true", "", 1), []string{"floor.stream_key"}},
		{"duplicate language", good + "  - {tag: fr}\n", []string{"languages[2].tag", "already languages[0]"}},
		{"floor language interpreted", good + "  - {tag: en}\n", []string{"languages[2].tag", "floor language"}},
		{"duck out of range", strings.Replace(good, "duck_db: -14", "duck_db: 6", 1), []string{"languages[0].duck_db"}},
		{"bad tag", good + "  - {tag: \"x y\"}\n", []string{"languages[2].tag"}},
		{"bad part", good + "hls: {part_ms: 150}\n", []string{"hls.part_ms"}},
		{"segment not multiple", good + "hls: {segment_ms: 2100}\n", []string{"hls.segment_ms"}},
		{"bitrate", good + "audio: {bitrate: 1000}\n", []string{"audio.bitrate"}},
		{"aac bitrate", good + "hls: {aac_bitrate: 8000}\n", []string{"hls.aac_bitrate"}},
		{"aac not a switch", good + "hls: {aac: sometimes}\n", []string{"sometimes"}},
		{"several problems at once", "id: X\nfloor: {language: zz-zz-zz-zz-1, source: nope}\n", []string{"id:", "floor.language", "floor.source"}},
		{"not yaml", "id: [", []string{"parse config"}},
		{"captions backend", good + "captions: {backend: whisper}\n", []string{"captions.backend"}},
		{"captions language not in event", good + "captions: {languages: {de: google}}\n", []string{"captions.languages.de"}},
		{"caption-only language without translate", good + "captions: {languages: {ja: sphinx}}\n", []string{"captions.languages.ja", "only take translate"}},
		{"caption-only bad tag", good + "captions: {languages: {\"x y\": translate}, translate: {project: p}}\n", []string{"captions.languages.x y"}},
		{"too many caption-only", good + "captions: {translate: {project: p}, languages: {" + manyTranslated(65) + "}}\n", []string{"at most 64"}},
		{"caption-only without floor captions", good + "captions: {languages: {en: none, ja: translate}, translate: {project: p}}\n",
			[]string{"captions: translated"}},
		{"fallback not translate", good + "captions: {fallback: google}\n", []string{"captions.fallback"}},
		{"fallback without project", good + "captions: {fallback: translate}\n", []string{"captions.translate.project"}},
		{"fallback without floor captions", good + "captions: {fallback: translate, languages: {en: none}, translate: {project: p}}\n",
			[]string{"captions: translated"}},
		{"captions language backend", good + "captions: {languages: {fr: magic}}\n", []string{"captions.languages.fr"}},
		{"translate without project", good + "captions: {languages: {fr: translate}}\n", []string{"captions.translate.project"}},
		{"translate the floor", good + "captions: {languages: {en: translate}, translate: {project: p}}\n", []string{"captions.languages.en"}},
		{"translate without floor captions", good + "captions: {languages: {en: none, fr: translate}, translate: {project: p}}\n",
			[]string{"captions: translated"}},
		{"captions model incomplete", good + "captions: {models: {fr: {acoustic: /m}}}\n", []string{"captions.models.fr"}},
		{"wrong type", strings.Replace(good, "loop: true", "loop: maybe", 1), []string{"line 7", "maybe"}},
		{"short passcode", good + "access: {passcode: abc}\n", []string{"access.passcode", "3 characters"}},
		{"long passcode", good + "access: {passcode: " + strings.Repeat("p", 129) + "}\n", []string{"access.passcode", "129 characters"}},
		{"passcode with a tab", good + "access: {passcode: \"open\\tsesame\"}\n", []string{"access.passcode", "printable"}},
		{"passcode with spaces around", good + "access: {passcode: \" sesame42 \"}\n", []string{"access.passcode", "space"}},
		{"unknown access key", good + "access: {password: sesame42}\n", []string{"field password not found"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), nil)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestEnvOverrides(t *testing.T) {
	ev, err := Parse([]byte(good), []string{"TOLK_TITLE=Other", "TOLK_FLOOR_LOOP=false", "TOLK_FLOOR_SOURCE=srt://0.0.0.0:9000",
		"TOLK_SERVER_HTTP=127.0.0.1:9999", "TOLK_HLS_PART_MS=400", "TOLK_UNRELATED=1", "PATH=/bin"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.Title != "Other" || ev.Floor.Loop || ev.Floor.Source != "srt://0.0.0.0:9000" || ev.Server.HTTP != "127.0.0.1:9999" || ev.HLS.PartMS != 400 {
		t.Fatalf("overrides not applied: %+v", ev)
	}
	_, err = Parse([]byte(good), []string{"TOLK_HLS_PART_MS=lots", "TOLK_FLOOR_LOOP=perhaps"})
	var p Problems
	if !errors.As(err, &p) || len(p) != 2 {
		t.Fatalf("bad overrides: %v", err)
	}
}

// TestAccess: an event without access settings is public; a passcode, or
// tokens: true, closes it; the passcode can come from the environment.
func TestAccess(t *testing.T) {
	ev, err := Parse([]byte(good), nil)
	if err != nil || ev.Access.Protected() {
		t.Fatalf("an event without access is protected: %+v, %v", ev.Access, err)
	}
	for _, c := range []struct {
		yaml     string
		env      []string
		passcode string
		tokens   bool
	}{
		{good + "access: {passcode: \"Gala 2026 ✓\"}\n", nil, "Gala 2026 ✓", false},
		{good + "access: {tokens: true}\n", nil, "", true},
		{good + "access: {passcode: sesame42, tokens: true}\n", nil, "sesame42", true},
		{good, []string{"TOLK_ACCESS_PASSCODE=from-the-env"}, "from-the-env", false},
		{good, []string{"TOLK_ACCESS_TOKENS=true"}, "", true},
	} {
		ev, err := Parse([]byte(c.yaml), c.env)
		if err != nil {
			t.Errorf("%q %v: %v", c.yaml, c.env, err)
			continue
		}
		if ev.Access.Passcode != c.passcode || ev.Access.Tokens != c.tokens || !ev.Access.Protected() {
			t.Errorf("%q %v: access %+v", c.yaml, c.env, ev.Access)
		}
	}
}

// TestRecordAndEnd: an event is recorded unless record: false says
// otherwise (also from TOLK_RECORD); end is an RFC 3339 time.
func TestRecordAndEnd(t *testing.T) {
	ev, err := Parse([]byte(good), nil)
	if err != nil || !ev.Recording() {
		t.Fatalf("an event without record is not recorded: %v", err)
	}
	if _, ok := ev.EndTime(); ok {
		t.Error("an end without end:")
	}
	ev, err = Parse([]byte(good+"record: false\nend: 2026-11-03T17:30:00+01:00\n"), nil)
	if err != nil || ev.Recording() {
		t.Fatalf("record: false is recorded: %v", err)
	}
	if end, ok := ev.EndTime(); !ok || !end.Equal(time.Date(2026, 11, 3, 16, 30, 0, 0, time.UTC)) {
		t.Errorf("end %v, %v", end, ok)
	}
	for env, want := range map[string]bool{"TOLK_RECORD=false": false, "TOLK_RECORD=true": true} {
		ev, err := Parse([]byte(good+"record: true\n"), []string{env})
		if err != nil || ev.Recording() != want {
			t.Errorf("%s: recording %v, %v", env, ev.Recording(), err)
		}
	}
	if _, err := Parse([]byte(good), []string{"TOLK_RECORD=sometimes"}); err == nil || !strings.Contains(err.Error(), "TOLK_RECORD") {
		t.Errorf("TOLK_RECORD=sometimes: %v", err)
	}
	for _, bad := range []string{"end: tomorrow\n", "end: 2026-11-03 17:30\n"} {
		if _, err := Parse([]byte(good+bad), nil); err == nil || !strings.Contains(err.Error(), "end:") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDemoValid(t *testing.T) {
	if p := Demo("x.ogg").Validate(); len(p) > 0 {
		t.Fatal(p)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("id: x\nlanguages: [{tag: fr}]"))
	f.Add([]byte("{{{"))
	f.Add([]byte(good + "access: {passcode: sesame42, tokens: true}\n"))
	f.Add([]byte(withSFU))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Parse(data, nil)
		if err == nil && len(ev.Validate()) > 0 {
			t.Fatal("Parse accepted an invalid configuration")
		}
	})
}

// TestParseReplay: a rebroadcast names a recorded run of another event or
// of its own, may leave its languages to the run, may loop and wait for a
// start; what is not a rebroadcast's is refused with the field named.
func TestParseReplay(t *testing.T) {
	ev, err := Parse([]byte("id: conf-apac\nfloor: {source: \"replay:conf/20261103T080000Z\", start: \"2026-11-03T17:00:00+01:00\", loop: true}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, run, ok := ev.Floor.Replay(ev.ID); !ok || e != "conf" || run != "20261103T080000Z" {
		t.Errorf("Replay() = %q %q %v", e, run, ok)
	}
	if at, ok := ev.Floor.StartTime(); !ok || !at.Equal(time.Date(2026, 11, 3, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("StartTime() = %v %v", at, ok)
	}
	own, err := Parse([]byte("id: conf\nfloor: {language: en, source: \"replay:20261103T080000Z-2\"}\nlanguages: [{tag: fr}]\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if e, run, ok := own.Floor.Replay(own.ID); !ok || e != "conf" || run != "20261103T080000Z-2" {
		t.Errorf("replay:RUN: Replay() = %q %q %v", e, run, ok)
	}
	if _, ok := own.Floor.StartTime(); ok {
		t.Error("a start without start:")
	}
	if _, _, ok := own.Floor.Replay("x"); !ok {
		t.Error("not a replay")
	}
	live, _ := Parse([]byte(good), nil)
	if _, _, ok := live.Floor.Replay(live.ID); ok {
		t.Error("a file floor is a replay")
	}
	bad := []struct{ name, yaml, want string }{
		{"bad run", "id: a\nfloor: {source: \"replay:conf/yesterday\"}\n", "not a recorded run's id"},
		{"bad event", "id: a\nfloor: {source: \"replay:Conf!/20261103T080000Z\"}\n", "not an event id"},
		{"empty", "id: a\nfloor: {source: \"replay:\"}\n", "floor.source"},
		{"bad start", "id: a\nfloor: {source: \"replay:20261103T080000Z\", start: tomorrow}\n", "floor.start"},
		{"start on a live floor", strings.Replace(good, "loop: true", "start: \"2026-11-03T17:00:00Z\"", 1), "only a rebroadcast"},
		{"replay among inputs", "id: a\nfloor: {language: en, inputs: [{id: x, source: \"replay:20261103T080000Z\"}]}\n", "floor.inputs[0].source: a rebroadcast is the whole floor"},
		{"live floor without language", "id: a\nfloor: {source: whip, stream_key: 0123456789abcdef}\n", "floor.language: missing"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml), nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
		})
	}
}

// TestHLSAAC: the AAC group is on unless switched off, in the file or the
// environment, with a 64 kb/s default.
func TestHLSAAC(t *testing.T) {
	ev, err := Parse([]byte(good), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !ev.HLS.AACOn() || ev.HLS.AACBitrate != DefaultAACBitrate {
		t.Errorf("default: on %v at %d", ev.HLS.AACOn(), ev.HLS.AACBitrate)
	}
	ev, err = Parse([]byte(good+"hls: {aac: false, aac_bitrate: 96000}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ev.HLS.AACOn() || ev.HLS.AACBitrate != 96000 {
		t.Errorf("switched off: on %v at %d", ev.HLS.AACOn(), ev.HLS.AACBitrate)
	}
	ev, err = Parse([]byte(good), []string{"TOLK_HLS_AAC=false"})
	if err != nil {
		t.Fatal(err)
	}
	if ev.HLS.AACOn() {
		t.Error("TOLK_HLS_AAC=false left AAC on")
	}
}

// manyTranslated is YAML for n caption-only languages (ISO 639's local-use
// codes qaa..qtz, n < 520).
func manyTranslated(n int) string {
	var keys []string
	for i := range n {
		keys = append(keys, string([]byte{'q', byte('a' + i/26), byte('a' + i%26)})+": translate")
	}
	return strings.Join(keys, ", ")
}
