package hls

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/language"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// Options shape the segmentation and the live window of a Muxer.
type Options struct {
	// PartDuration is the length of one LL-HLS partial segment, a multiple of
	// 20 ms (default 200 ms).
	PartDuration time.Duration
	// SegmentDuration is the length of one media segment, a multiple of
	// PartDuration (default 2 s).
	SegmentDuration time.Duration
	// Window is how many complete segments a live media playlist lists; older
	// segments are dropped from memory (default 6).
	Window int
	// Clock stamps EXT-X-PROGRAM-DATE-TIME and bounds blocking requests
	// (default audio.SystemClock).
	Clock audio.Clock
	// Timeline is the program's timeline, whose epoch (the wall-clock time of
	// program time zero) dates every segment. Nil: the muxer keeps its own,
	// fixed from the clock at the first packet written to any rendition.
	Timeline *media.Timeline
	// Subtitles are listed in the master playlist as a SUBTITLES group. The
	// Muxer does not serve them: the caller routes their URIs elsewhere.
	Subtitles []SubtitleRendition
	// Run is the directory, below each rendition, of everything served as
	// immutable (init sections, segments, parts, WebVTT segments). Without
	// a continuation (Continue) media sequence numbers start again at zero
	// when the event restarts: a new Run keeps a cache from answering the
	// new run's seg0 with the old run's, and with one, from answering any
	// name with another run's bytes. 1 to 16 of a-z 0-9; empty picks a new
	// one (NewRun). Give the Muxer and the Subtitles of an event the same.
	Run string
	// Continue numbers this run after an earlier run of the event
	// (LoadContinuation): media sequence numbers from Continue.MSN, decode
	// times from Continue.MSN segment durations, and, when Continue.Resumed and
	// RestartDiscontinuity, an EXT-X-DISCONTINUITY before the first
	// segment. The zero value is a
	// fresh event. Give the Muxer and the Subtitles of an event the same.
	Continue Continuation
	// RestartDiscontinuity marks the first segment of a continuing run
	// (Continue.Resumed) with EXT-X-DISCONTINUITY, as RFC 8216 asks of a
	// gap in the media (tolk serve sets it). Off, the run goes on in the
	// same discontinuity sequence: its decode times are its media sequence
	// number times the segment duration, as the earlier run's were, so a
	// player sees the restart as segments missing from one timeline.
	// hls.js (1.7) plays across the tag only when the language is the
	// variant's main audio: at a new discontinuity its audio controller
	// waits for the timestamp offset (initPTS) of that discontinuity, which
	// only a fragment of the main variant gives, and once an alternate
	// audio rendition of an audio-only variant plays it fetches no more
	// main fragments, so it stalls. The web player therefore loads
	// master.m3u8?audio={id}, in which that language is the main audio
	// (renderMaster).
	RestartDiscontinuity bool
	// StateFile, when set, is where the Muxer keeps what the event's next
	// run needs to continue its playlists (State): written in New and
	// whenever a segment completes.
	StateFile string
}

// runLen is the length of a generated run token: 40 random bits.
const runLen = 8

// NewRun returns a fresh run token for Options.Run: 8 characters of
// lower-case base32 from crypto/rand, so two runs practically never share one.
func NewRun() string {
	// rand.Text draws each base32 character uniformly.
	return strings.ToLower(rand.Text()[:runLen])
}

// validRun reports whether s can be a run token: 1 to 16 of a-z 0-9, a path
// element that needs no escaping and is never "." or "..".
func validRun(s string) bool {
	if len(s) == 0 || len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// AudioRendition describes one language of the event, an AUDIO rendition in
// the master playlist.
type AudioRendition struct {
	// ID names the rendition in URLs ("en" → "en/index.m3u8"): 1 to 64 of
	// A-Z a-z 0-9 '-' '_'.
	ID string
	// Name is what players show, e.g. "Français".
	Name string
	// Language is a BCP 47 tag.
	Language string
	// Default marks the floor rendition; exactly one rendition is the default.
	Default bool
	// Translation marks an interpreted language
	// (CHARACTERISTICS="public.translation").
	Translation bool
	// Bitrate is the Opus bitrate in bits/s, used for BANDWIDTH.
	Bitrate int
}

// SubtitleRendition describes one caption language, a SUBTITLES rendition in
// the master playlist. Its playlist is served by whoever produces the WebVTT.
type SubtitleRendition struct {
	// ID is a URL-safe identifier, with the same rules as AudioRendition.ID.
	ID string
	// Name is what players show.
	Name string
	// Language is a BCP 47 tag.
	Language string
	// Default selects this track when the player has no preference.
	Default bool
	// URI is the subtitle playlist relative to the master playlist.
	URI string
}

const (
	defaultPartDuration    = 200 * time.Millisecond
	defaultSegmentDuration = 2 * time.Second
	defaultWindow          = 6
	maxIDLen               = 64
)

func (o Options) withDefaults() Options {
	if o.PartDuration == 0 {
		o.PartDuration = defaultPartDuration
	}
	if o.SegmentDuration == 0 {
		o.SegmentDuration = defaultSegmentDuration
	}
	if o.Window == 0 {
		o.Window = defaultWindow
	}
	if o.Clock == nil {
		o.Clock = audio.SystemClock{}
	}
	if o.Run == "" {
		o.Run = NewRun()
	}
	if !o.RestartDiscontinuity {
		o.Continue.Resumed = false
	}
	return o
}

func (o Options) validate() error {
	if o.PartDuration <= 0 || o.PartDuration%audio.FrameDuration != 0 {
		return fmt.Errorf("part duration %v is not a positive multiple of %v", o.PartDuration, audio.FrameDuration)
	}
	if o.SegmentDuration <= 0 || o.SegmentDuration%o.PartDuration != 0 {
		return fmt.Errorf("segment duration %v is not a positive multiple of the part duration %v", o.SegmentDuration, o.PartDuration)
	}
	if o.SegmentDuration > time.Minute {
		return fmt.Errorf("segment duration %v is longer than a minute", o.SegmentDuration)
	}
	if o.Window < 1 || o.Window > 10000 {
		return fmt.Errorf("window %d is not between 1 and 10000 segments", o.Window)
	}
	if o.Continue.MSN < 0 || o.Continue.MSN > maxContinue || o.Continue.Discontinuity < 0 || o.Continue.Discontinuity > maxContinue {
		return fmt.Errorf("continuation at %d, discontinuity %d, is out of range", o.Continue.MSN, o.Continue.Discontinuity)
	}
	if !validRun(o.Run) {
		return fmt.Errorf("run %q is not 1-16 of a-z 0-9", o.Run)
	}
	return nil
}

// validID reports whether s can be used as a path element and a playlist
// attribute without escaping.
func validID(s string) bool {
	if len(s) == 0 || len(s) > maxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// validName reports whether s can stand inside a quoted playlist attribute.
func validName(s string) bool {
	return s != "" && len(s) <= 256 && !strings.ContainsAny(s, "\"\r\n")
}

// validateMedia checks what every EXT-X-MEDIA entry of a group needs: an id
// not in seen (which it joins), a name and a BCP 47 language.
func validateMedia(kind, id, name, lang string, seen map[string]bool) error {
	if !validID(id) {
		return fmt.Errorf("%s id %q is not 1-%d of A-Z a-z 0-9 - _", kind, id, maxIDLen)
	}
	if seen[id] {
		return fmt.Errorf("%s id %q is used twice", kind, id)
	}
	seen[id] = true
	if !validName(name) {
		return fmt.Errorf("%s %q: name %q is empty, too long or holds a quote or line break", kind, id, name)
	}
	if _, err := language.Parse(lang); err != nil {
		return fmt.Errorf("%s %q: language %q: %w", kind, id, lang, err)
	}
	return nil
}

func validateRenditions(rs []AudioRendition) error {
	if len(rs) == 0 {
		return errors.New("no audio rendition")
	}
	seen := make(map[string]bool, len(rs))
	defaults := 0
	for _, r := range rs {
		if err := validateMedia("rendition", r.ID, r.Name, r.Language, seen); err != nil {
			return err
		}
		if r.ID == videoDir {
			return fmt.Errorf("rendition id %q is the video rendition's directory", r.ID)
		}
		if r.Bitrate <= 0 {
			return fmt.Errorf("rendition %q: bitrate %d is not positive", r.ID, r.Bitrate)
		}
		if r.Default {
			defaults++
		}
	}
	if defaults != 1 {
		return fmt.Errorf("%d default renditions, want exactly one", defaults)
	}
	return nil
}

func validateSubtitles(ss []SubtitleRendition) error {
	seen := make(map[string]bool, len(ss))
	for _, s := range ss {
		if err := validateMedia("subtitle", s.ID, s.Name, s.Language, seen); err != nil {
			return err
		}
		if !validName(s.URI) || strings.ContainsAny(s.URI, " \t") {
			return fmt.Errorf("subtitle %q: uri %q is empty or holds a quote, space or line break", s.ID, s.URI)
		}
	}
	return nil
}
