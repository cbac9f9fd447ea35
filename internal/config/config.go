// Package config loads and validates an event's configuration: a YAML file,
// then TOLK_* environment variables, then command-line flags.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// MaxFileSize bounds a configuration file.
const MaxFileSize = 1 << 20

// Defaults applied when a field is left out.
const (
	DefaultDuckDB     = -14.0
	DefaultBitrate    = 64000
	DefaultPartMS     = 200
	DefaultSegmentMS  = 2000
	DefaultWindowSegs = 30
	DefaultAACBitrate = 64000
	DefaultHTTP       = "127.0.0.1:8080"
	DefaultData       = "./tolk-data"
)

// Event is one live event: a floor and the languages interpreted from it.
type Event struct {
	ID        string     `yaml:"id"`
	Title     string     `yaml:"title"`
	Floor     Floor      `yaml:"floor"`
	Languages []Language `yaml:"languages"`
	Audio     Audio      `yaml:"audio"`
	HLS       HLS        `yaml:"hls"`
	Server    Server     `yaml:"server"`
	Captions  Captions   `yaml:"captions"`
	Access    Access     `yaml:"access"`
	// Outputs push languages to platforms over RTMP, RTMPS or SRT
	// (outputs.go).
	Outputs []Output `yaml:"outputs"`
	// SFU forwards languages to Janus and WHIP servers, which serve their
	// WebRTC listeners (sfu.go).
	SFU SFU `yaml:"sfu"`
	// Record records every run of the event under the data directory
	// (DATA/recordings/{id}/); it defaults to true, record: false turns it
	// off.
	Record *bool `yaml:"record"`
	// End is when the event is scheduled to end (RFC 3339, e.g.
	// 2026-11-03T17:30:00+01:00), if known: the recorder warns when the
	// disk will be full before it.
	End string `yaml:"end"`
}

// Recording says whether the event's runs are recorded.
func (ev *Event) Recording() bool { return ev.Record == nil || *ev.Record }

// EndTime is the scheduled end; ok is false when the configuration has
// none (Validate has checked its form).
func (ev *Event) EndTime() (t time.Time, ok bool) {
	if ev.End == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, ev.End)
	return t, err == nil
}

// Access closes an event to viewers: the watch page, WHEP, LL-HLS, live
// captions and players' reports then need the event's passcode or a token
// of the event (a listener's, tolk token --role listener). Left out, the
// event is public.
type Access struct {
	// Passcode is what viewers type on the watch page (6..128 characters,
	// no control characters, no surrounding spaces). Set it from the
	// environment (TOLK_ACCESS_PASSCODE) to keep it out of the file.
	Passcode string `yaml:"passcode"`
	// Tokens closes the event to all but holders of a token when no
	// passcode is set. A closed event always takes its tokens.
	Tokens bool `yaml:"tokens"`
}

// Protected reports whether viewers need a passcode or a token.
func (a Access) Protected() bool { return a.Passcode != "" || a.Tokens }

// Passcode bounds, in characters.
const (
	MinPasscode = 6
	MaxPasscode = 128
)

// Captions chooses the speech recognizer of each language.
type Captions struct {
	// Backend is the default for every language: sphinx (embedded, the
	// default), google (Cloud Speech-to-Text) or none.
	Backend string `yaml:"backend"`
	// Languages overrides the backend per language tag (the floor's
	// included). An interpreted language can also take translate: the
	// floor's captions machine-translated (Translate), for a language
	// without an interpreter or whose interpreter's captions are not wanted.
	Languages map[string]string `yaml:"languages"`
	// Models gives PocketSphinx models for languages other than en-US.
	Models map[string]SphinxModel `yaml:"models"`
	// Google configures the cloud backend; credentials are Application
	// Default Credentials (GOOGLE_APPLICATION_CREDENTIALS).
	Google GoogleSpeech `yaml:"google"`
	// Translate configures Cloud Translation for the languages whose
	// backend is translate; credentials as for Google.
	Translate CloudTranslate `yaml:"translate"`
	// Glossary is the event's vocabulary (glossary.go).
	Glossary Glossary `yaml:"glossary"`
	// Fallback is what an interpreted language's captions are while no
	// interpreter is on air: "" (none: the interpreter's voice is silent)
	// or translate (the floor's captions, machine-translated, as for a
	// language whose backend is translate).
	Fallback string `yaml:"fallback"`
	// Denoise puts the embedded recognizer's noise suppressor before its
	// decoder (default on; false turns it off).
	Denoise *bool `yaml:"denoise"`
}

// DenoiseOn reports whether the embedded recognizer suppresses steady noise.
func (c Captions) DenoiseOn() bool { return c.Denoise == nil || *c.Denoise }

// SphinxModel is a PocketSphinx model: acoustic model directory, dictionary
// and language model.
type SphinxModel struct {
	Acoustic string `yaml:"acoustic"`
	Dict     string `yaml:"dict"`
	LM       string `yaml:"lm"`
}

// GoogleSpeech configures Cloud Speech-to-Text.
type GoogleSpeech struct {
	// Endpoint overrides the service address (host:port).
	Endpoint string `yaml:"endpoint"`
	// Model is the recognition model, e.g. "latest_long".
	Model string `yaml:"model"`
}

// CloudTranslate configures Google Cloud Translation (v3).
type CloudTranslate struct {
	// Project is the Google Cloud project (id or number) the requests go
	// to; needed when a language's backend is translate.
	Project string `yaml:"project"`
	// Location is the service's region (default global).
	Location string `yaml:"location"`
	// Model is a model resource name; empty is the service's default (NMT).
	Model string `yaml:"model"`
	// Endpoint overrides the service address (host:port).
	Endpoint string `yaml:"endpoint"`
}

// Translated reports whether a language's captions are the floor's,
// machine-translated.
func (c Captions) Translated(tag string) bool { return c.BackendFor(tag) == "translate" }

// MaxCaptionOnly bounds the languages that have captions and no audio: each
// one is a translation request per floor cue and a WebVTT rendition.
const MaxCaptionOnly = 64

// CaptionOnly lists, sorted, the tags of the languages that have captions
// (the floor's, machine-translated) but no audio rendition: those under
// captions.languages that are neither the floor's nor in languages.
func (ev *Event) CaptionOnly() []string {
	audio := map[string]bool{Tag(ev.Floor.Language): true}
	for _, l := range ev.Languages {
		audio[Tag(l.Tag)] = true
	}
	var out []string
	for k, v := range ev.Captions.Languages {
		if t := Tag(k); v == "translate" && !audio[t] && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	slices.Sort(out)
	return out
}

// BackendFor returns the recognizer backend of a language tag.
func (c Captions) BackendFor(tag string) string {
	for k, v := range c.Languages {
		if Tag(k) == tag {
			return v
		}
	}
	return c.Backend
}

// Floor describes the stage feed: one source, or several inputs (studios,
// links) between which the producer switches.
type Floor struct {
	// Language is the BCP 47 tag of what is spoken on the floor.
	Language string `yaml:"language"`
	// Name is shown to viewers; it defaults to the language's native name.
	Name string `yaml:"name"`
	// Source is file:PATH, whip, rtmp://HOST:PORT/APP/KEY, srt://HOST:PORT,
	// or replay:EVENT/RUN (replay:RUN for a run of this event): the
	// rebroadcast of a recorded run, every language and its captions as
	// recorded, with no interpreters.
	Source string `yaml:"source"`
	// Loop replays a file source, or a rebroadcast's run, from the start
	// when it ends.
	Loop bool `yaml:"loop"`
	// StreamKey is the bearer token a WHIP publisher must present.
	StreamKey string `yaml:"stream_key"`
	// Start is when a rebroadcast begins (RFC 3339); before it the event
	// is scheduled and sends nothing. Left out, it begins when the server
	// starts.
	Start string `yaml:"start"`
	// Inputs, instead of Source, lists several floor inputs; the first is
	// on the program at the start.
	Inputs []Input `yaml:"inputs"`
}

// Input is one floor input.
type Input struct {
	// ID names the input in URLs and the API: [a-z0-9-], 1-32 characters.
	ID string `yaml:"id"`
	// Name is shown to the producer, e.g. "Studio Berlin".
	Name      string `yaml:"name"`
	Source    string `yaml:"source"`
	Loop      bool   `yaml:"loop"`
	StreamKey string `yaml:"stream_key"`
}

// MainInput is the id of the one input of a floor given by its source.
const MainInput = "main"

// ReplayPrefix starts the source of a rebroadcast: replay:EVENT/RUN.
const ReplayPrefix = "replay:"

// Replay parses a rebroadcast's source: the event and the run it plays;
// self is the id of the event being configured, the event of a source
// that names only its run (replay:RUN). ok is false for any other floor.
func (f Floor) Replay(self string) (event, run string, ok bool) {
	rest, ok := strings.CutPrefix(f.Source, ReplayPrefix)
	if !ok || len(f.Inputs) > 0 {
		return "", "", false
	}
	if ev, run, two := strings.Cut(rest, "/"); two {
		return ev, run, true
	}
	return self, rest, true
}

// StartTime is when a rebroadcast begins; ok is false when the
// configuration gives no start (Validate has checked its form).
func (f Floor) StartTime() (t time.Time, ok bool) {
	if f.Start == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, f.Start)
	return t, err == nil
}

// AllInputs lists the floor's inputs: Inputs, or the one Source makes.
func (f Floor) AllInputs() []Input {
	if len(f.Inputs) > 0 {
		return f.Inputs
	}
	return []Input{{ID: MainInput, Source: f.Source, Loop: f.Loop, StreamKey: f.StreamKey}}
}

// Language is one interpreted language.
type Language struct {
	Tag  string `yaml:"tag"`
	Name string `yaml:"name"`
	// DuckDB is how far the floor bed is lowered while the interpreter speaks.
	DuckDB *float64 `yaml:"duck_db"`
}

// Audio holds the encoder settings shared by every rendition.
type Audio struct {
	Bitrate    int `yaml:"bitrate"`
	Complexity int `yaml:"complexity"`
}

// HLS holds the LL-HLS packaging settings.
type HLS struct {
	PartMS    int `yaml:"part_ms"`
	SegmentMS int `yaml:"segment_ms"`
	Window    int `yaml:"window"`
	// AAC adds an AAC-LC group beside the Opus one, for Apple's players
	// and the others that take no Opus: every language encoded once more,
	// by FFmpeg (about 17 ms of CPU per second per language, a fifth of a
	// core for 12). Default true; false saves it on small machines.
	AAC *bool `yaml:"aac"`
	// AACBitrate is each language's AAC bitrate in bits/s (default 64000).
	AACBitrate int `yaml:"aac_bitrate"`
}

// AACOn reports whether the AAC group is served (the default).
func (h HLS) AACOn() bool { return h.AAC == nil || *h.AAC }

// Server holds where tolk listens and keeps its data.
type Server struct {
	HTTP string `yaml:"http"`
	Data string `yaml:"data"`
	// Origins are other sites (scheme://host[:port]) whose pages may open
	// this server's WebSockets and post its passcode forms, such as an
	// event site that embeds the watch page. Pages of the server itself
	// always may.
	Origins []string `yaml:"origins"`
}

// checkOrigin reports what is wrong with an allowed origin, or "".
func checkOrigin(o string) string {
	u, err := url.Parse(o)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "must be http:// or https:// and a host"
	case u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "must be only scheme://host[:port], without a path"
	}
	return ""
}

// Problems lists every validation failure of a configuration.
type Problems []string

func (p Problems) Error() string {
	return "invalid configuration:\n  " + strings.Join(p, "\n  ")
}

// Check is a validation that belongs to a package the configuration does
// not know (the glossary's rules are the captions'): the command that loads
// the file passes it, and its problems are listed with the others.
type Check func(*Event) []string

// Load reads, overrides from the environment, fills defaults and validates,
// with the extra checks.
func Load(path string, env []string, checks ...Check) (*Event, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("config %s is larger than %d bytes", path, MaxFileSize)
	}
	return Parse(data, env, checks...)
}

// Parse decodes YAML strictly (unknown keys are errors), applies TOLK_*
// overrides from env, fills defaults and validates, with the extra checks.
func Parse(data []byte, env []string, checks ...Check) (*Event, error) {
	var ev Event
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&ev); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			return nil, Problems(te.Errors)
		}
		return nil, fmt.Errorf("parse config: %w", err)
	}
	if err := ApplyEnv(&ev, env); err != nil {
		return nil, err
	}
	ev.Defaults()
	p := ev.Validate()
	for _, c := range checks {
		p = append(p, c(&ev)...)
	}
	if len(p) > 0 {
		return nil, p
	}
	return &ev, nil
}

// Defaults fills every field that was left out.
func (ev *Event) Defaults() {
	if ev.Audio.Bitrate == 0 {
		ev.Audio.Bitrate = DefaultBitrate
	}
	if ev.Audio.Complexity == 0 {
		ev.Audio.Complexity = 8
	}
	if ev.HLS.PartMS == 0 {
		ev.HLS.PartMS = DefaultPartMS
	}
	if ev.HLS.SegmentMS == 0 {
		ev.HLS.SegmentMS = DefaultSegmentMS
	}
	if ev.HLS.Window == 0 {
		ev.HLS.Window = DefaultWindowSegs
	}
	if ev.HLS.AACBitrate == 0 {
		ev.HLS.AACBitrate = DefaultAACBitrate
	}
	if ev.Server.HTTP == "" {
		ev.Server.HTTP = DefaultHTTP
	}
	if ev.Server.Data == "" {
		ev.Server.Data = DefaultData
	}
	if ev.Captions.Backend == "" {
		ev.Captions.Backend = "sphinx"
	}
	for i := range ev.Languages {
		if ev.Languages[i].DuckDB == nil {
			d := DefaultDuckDB
			ev.Languages[i].DuckDB = &d
		}
	}
}

var (
	idRE    = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)
	inputRE = regexp.MustCompile(`^[a-z0-9-]{1,32}$`)
)

// checkInput adds the problems of one floor source, its loop and its key.
func checkInput(add func(string, ...any), field string, in Input) {
	if err := checkSource(in.Source); err != nil {
		add("%s.source: %v", field, err)
	}
	if in.Loop && !strings.HasPrefix(in.Source, "file:") && !strings.HasPrefix(in.Source, ReplayPrefix) {
		add("%s.loop: only file sources and rebroadcasts (replay:) can loop", field)
	}
	if in.Source == "whip" && len(in.StreamKey) < 16 {
		add("%s.stream_key: a whip source needs a stream key of at least 16 characters", field)
	}
}

// Validate returns every problem, each naming its field.
func (ev *Event) Validate() Problems {
	var p Problems
	add := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	if !idRE.MatchString(ev.ID) {
		add("id: %q must be 1-64 characters of a-z, 0-9 and -", ev.ID)
	}
	if len(ev.Title) > 200 {
		add("title: longer than 200 characters")
	}
	if len(ev.Server.Origins) > 32 {
		add("server.origins: at most 32 origins")
	}
	for i, o := range ev.Server.Origins {
		if msg := checkOrigin(o); msg != "" {
			add("server.origins[%d]: %q %s", i, o, msg)
		}
	}
	_, _, replay := ev.Floor.Replay(ev.ID)
	floorTag, err := parseTag(ev.Floor.Language)
	switch {
	case replay && ev.Floor.Language == "":
		// A rebroadcast's languages are its run's.
	case err != nil:
		add("floor.language: %v", err)
	}
	if ev.Floor.Start != "" {
		if _, perr := time.Parse(time.RFC3339, ev.Floor.Start); perr != nil {
			add("floor.start: %q is not a time such as 2026-11-03T17:00:00+01:00 (RFC 3339)", ev.Floor.Start)
		} else if !replay {
			add("floor.start: only a rebroadcast (source: replay:EVENT/RUN) waits for its start")
		}
	}
	if len(ev.Floor.Inputs) > 0 {
		if ev.Floor.Source != "" || ev.Floor.Loop || ev.Floor.StreamKey != "" {
			add("floor: give either source (with loop, stream_key) or inputs, not both")
		}
		if len(ev.Floor.Inputs) > 16 {
			add("floor.inputs: at most 16 inputs, got %d", len(ev.Floor.Inputs))
		}
		ids, whips := map[string]int{}, 0
		for i, in := range ev.Floor.Inputs {
			field := fmt.Sprintf("floor.inputs[%d]", i)
			if !inputRE.MatchString(in.ID) {
				add("%s.id: %q must be 1-32 characters of a-z, 0-9 and -", field, in.ID)
			} else if j, dup := ids[in.ID]; dup {
				add("%s.id: %q is already floor.inputs[%d]", field, in.ID, j)
			}
			ids[in.ID] = i
			if len(in.Name) > 64 {
				add("%s.name: longer than 64 characters", field)
			}
			if in.Source == "whip" {
				whips++
			}
			if strings.HasPrefix(in.Source, ReplayPrefix) {
				add("%s.source: a rebroadcast is the whole floor: give it as floor.source, without inputs", field)
				continue
			}
			checkInput(add, field, in)
		}
		if whips > 1 {
			add("floor.inputs: at most one input can be whip (POST /whip/{event})")
		}
	} else {
		checkInput(add, "floor", Input{Source: ev.Floor.Source, Loop: ev.Floor.Loop, StreamKey: ev.Floor.StreamKey})
	}
	if len(ev.Floor.Name) > 64 {
		add("floor.name: longer than 64 characters")
	}
	if len(ev.Languages) > 32 {
		add("languages: at most 32 languages, got %d", len(ev.Languages))
	}
	seen := map[string]int{}
	if err == nil {
		seen[floorTag] = -1
	}
	for i, l := range ev.Languages {
		tag, err := parseTag(l.Tag)
		if err != nil {
			add("languages[%d].tag: %v", i, err)
			continue
		}
		if j, dup := seen[tag]; dup {
			if j < 0 {
				add("languages[%d].tag: %s is the floor language", i, tag)
			} else {
				add("languages[%d].tag: %s is already languages[%d]", i, tag, j)
			}
		}
		seen[tag] = i
		if len(l.Name) > 64 {
			add("languages[%d].name: longer than 64 characters", i)
		}
		if l.DuckDB != nil && (*l.DuckDB > 0 || *l.DuckDB < -40) {
			add("languages[%d].duck_db: %g is outside -40..0", i, *l.DuckDB)
		}
	}
	if ev.Audio.Bitrate < 16000 || ev.Audio.Bitrate > 256000 {
		add("audio.bitrate: %d is outside 16000..256000", ev.Audio.Bitrate)
	}
	if ev.Audio.Complexity < 0 || ev.Audio.Complexity > 10 {
		add("audio.complexity: %d is outside 0..10", ev.Audio.Complexity)
	}
	if ev.HLS.PartMS < 100 || ev.HLS.PartMS > 1000 || ev.HLS.PartMS%20 != 0 {
		add("hls.part_ms: %d must be a multiple of 20 between 100 and 1000", ev.HLS.PartMS)
	} else if ev.HLS.SegmentMS%ev.HLS.PartMS != 0 || ev.HLS.SegmentMS < 2*ev.HLS.PartMS || ev.HLS.SegmentMS > 10000 {
		add("hls.segment_ms: %d must be a multiple of hls.part_ms, at least two parts and at most 10000", ev.HLS.SegmentMS)
	}
	if ev.HLS.Window < 3 || ev.HLS.Window > 10000 {
		add("hls.window: %d is outside 3..10000 segments", ev.HLS.Window)
	}
	if ev.HLS.AACBitrate < 32000 || ev.HLS.AACBitrate > 192000 {
		add("hls.aac_bitrate: %d is outside 32000..192000", ev.HLS.AACBitrate)
	}
	if ev.End != "" {
		if _, err := time.Parse(time.RFC3339, ev.End); err != nil {
			add("end: %q is not a time such as 2026-11-03T17:30:00+01:00 (RFC 3339)", ev.End)
		}
	}
	backends := map[string]bool{"sphinx": true, "google": true, "none": true}
	if !backends[ev.Captions.Backend] {
		add("captions.backend: %q is not sphinx, google or none", ev.Captions.Backend)
	}
	translated, captionOnly := false, 0
	for k, v := range ev.Captions.Languages {
		tag, err := parseTag(k)
		i, ok := seen[tag]
		switch {
		case err != nil:
			add("captions.languages.%s: %v", k, err)
		case !ok && v != "translate":
			// Nobody speaks it: captions can only be the floor's, translated.
			add("captions.languages.%s: not a language of this event (a language without audio can only take translate)", k)
		case !ok:
			captionOnly++
		}
		switch {
		case v == "translate" && ok && i < 0:
			add("captions.languages.%s: the floor's captions cannot be translated from themselves", k)
		case v == "translate":
			translated = true
		case !backends[v]:
			add("captions.languages.%s: %q is not sphinx, google, translate or none", k, v)
		}
	}
	switch ev.Captions.Fallback {
	case "":
	case "translate":
		translated = true
	default:
		add("captions.fallback: %q is not translate (or empty: none)", ev.Captions.Fallback)
	}
	if captionOnly > MaxCaptionOnly {
		add("captions.languages: at most %d languages without audio, got %d", MaxCaptionOnly, captionOnly)
	}
	if translated && !replay {
		if ev.Captions.Translate.Project == "" {
			add("captions.translate.project: needed for the languages whose backend is translate")
		}
		if b := ev.Captions.BackendFor(floorTag); b == "none" {
			add("captions: translated captions need the floor's captions, whose backend is none")
		}
	}
	ev.checkOutputs(add, seen, replay)
	ev.checkSFU(add, seen, replay)
	if pc := ev.Access.Passcode; pc != "" {
		n := utf8.RuneCountInString(pc)
		switch {
		case !utf8.ValidString(pc) || strings.IndexFunc(pc, unicode.IsControl) >= 0:
			add("access.passcode: must be printable text")
		case n < MinPasscode || n > MaxPasscode:
			add("access.passcode: %d characters, want %d..%d", n, MinPasscode, MaxPasscode)
		case strings.TrimSpace(pc) != pc:
			add("access.passcode: starts or ends with a space")
		}
	}
	ev.checkGlossary(add)
	for k, m := range ev.Captions.Models {
		if _, err := parseTag(k); err != nil {
			add("captions.models.%s: %v", k, err)
		}
		if m.Acoustic == "" || m.Dict == "" || m.LM == "" {
			add("captions.models.%s: acoustic, dict and lm are all needed", k)
		}
	}
	return p
}

// parseTag canonicalises a BCP 47 tag; what it returns is letters, digits and
// hyphens only, so it can stand in a URL path as it is.
func parseTag(s string) (string, error) {
	if s == "" {
		return "", errors.New("missing")
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", fmt.Errorf("%q is not a BCP 47 language tag", s)
	}
	return t.String(), nil
}

// Tag returns the canonical form of a tag that Validate has accepted.
func Tag(s string) string {
	t, err := parseTag(s)
	if err != nil {
		return s
	}
	return t
}

func checkSource(s string) error {
	switch {
	case s == "":
		return errors.New("missing (file:PATH, whip, rtmp://HOST:PORT/APP/KEY, srt://HOST:PORT or replay:EVENT/RUN)")
	case s == "whip":
		return nil
	case strings.HasPrefix(s, "file:"):
		if strings.TrimPrefix(s, "file:") == "" {
			return errors.New("file: needs a path")
		}
		return nil
	case strings.HasPrefix(s, ReplayPrefix):
		return checkReplay(strings.TrimPrefix(s, ReplayPrefix))
	case strings.HasPrefix(s, "rtmp://"), strings.HasPrefix(s, "srt://"):
		u, err := url.Parse(s)
		if err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		if u.Hostname() == "" || u.Port() == "" {
			return fmt.Errorf("%q needs a host and a port to listen on", s)
		}
		if port, err := strconv.Atoi(u.Port()); err != nil || port < 1 || port > 65535 {
			return fmt.Errorf("%q: bad port", s)
		}
		return nil
	}
	return fmt.Errorf("%q: unknown kind (file:PATH, whip, rtmp://HOST:PORT/APP/KEY, srt://HOST:PORT or replay:EVENT/RUN)", s)
}

// runRE is the form of a recorded run's id (internal/recording names runs
// by the UTC time of their program time zero).
var runRE = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z(-[0-9]{1,4})?$`)

// checkReplay checks the EVENT/RUN or RUN of a rebroadcast's source; that
// the run exists is checked when the event starts.
func checkReplay(s string) error {
	ev, run, two := strings.Cut(s, "/")
	if !two {
		ev, run = "", s
	}
	switch {
	case two && !idRE.MatchString(ev):
		return fmt.Errorf("replay:%s: %q is not an event id (1-64 characters of a-z, 0-9 and -)", s, ev)
	case !runRE.MatchString(run):
		return fmt.Errorf("replay:%s: %q is not a recorded run's id such as 20261103T080000Z (GET /api/events/{event}/recordings lists them)", s, run)
	}
	return nil
}

// ApplyEnv sets fields from TOLK_* variables: the variable's name is the YAML
// path in upper case joined by underscores (TOLK_FLOOR_SOURCE sets floor.source).
// Only scalar fields outside lists can be set this way.
func ApplyEnv(ev *Event, env []string) error {
	var p Problems
	for _, kv := range env {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, "TOLK_") {
			continue
		}
		path := strings.ToLower(strings.TrimPrefix(name, "TOLK_"))
		f, ok := fieldByPath(reflect.ValueOf(ev).Elem(), path)
		if !ok {
			continue // other TOLK_ variables belong to the CLI, not the event
		}
		if err := setScalar(f, val); err != nil {
			p = append(p, fmt.Sprintf("%s: %v", name, err))
		}
	}
	if len(p) > 0 {
		return p
	}
	return nil
}

func fieldByPath(v reflect.Value, path string) (reflect.Value, bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		key := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		fv := v.Field(i)
		if path == key && fv.Kind() != reflect.Struct && fv.Kind() != reflect.Slice {
			return fv, true
		}
		if fv.Kind() == reflect.Struct && strings.HasPrefix(path, key+"_") {
			return fieldByPath(fv, strings.TrimPrefix(path, key+"_"))
		}
	}
	return reflect.Value{}, false
}

func setScalar(f reflect.Value, s string) error {
	switch f.Kind() {
	case reflect.Pointer: // an optional scalar (record)
		v := reflect.New(f.Type().Elem())
		if err := setScalar(v.Elem(), s); err != nil {
			return err
		}
		f.Set(v)
	case reflect.String:
		f.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		f.SetBool(b)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		f.SetInt(int64(n))
	default:
		return errors.New("cannot be set from the environment")
	}
	return nil
}

// Demo returns the built-in demo event: a looped speech clip as the English
// floor, interpreted into French, Spanish and German.
func Demo(floorFile string) *Event {
	ev := &Event{
		ID:    "demo",
		Title: "tolk demo",
		Floor: Floor{Language: "en", Source: "file:" + floorFile, Loop: true},
		Languages: []Language{
			{Tag: "fr", Name: "Français"},
			{Tag: "es", Name: "Español"},
			{Tag: "de", Name: "Deutsch"},
		},
	}
	ev.Defaults()
	return ev
}
