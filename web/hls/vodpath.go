package hls

import (
	"strconv"
	"strings"

	"tolk/internal/recording"
)

// vodKind is what a VOD request asks for.
type vodKind int

const (
	vodMaster   vodKind = iota // {event}/{run}/master.m3u8
	vodPlaylist                // {event}/{run}/{lang}/index.m3u8
	vodInit                    // {event}/{run}/{lang}/init.mp4
	vodSegment                 // {event}/{run}/{lang}/seg{N}.m4s
	vodSubs                    // {event}/{run}/subs/{lang}/index.m3u8
	vodCues                    // {event}/{run}/subs/{lang}/seg{N}.vtt
)

// vodSubsDir is the directory of the subtitle renditions below a run. It
// cannot be a language: BCP 47 has no four-letter primary language subtags.
const vodSubsDir = "subs"

// vodPath is a parsed VOD request path.
type vodPath struct {
	kind  vodKind
	event string
	run   string
	lang  string
	seg   int64
}

// String returns the canonical path (relative to /vod/).
func (p vodPath) String() string {
	base := p.event + "/" + p.run + "/"
	switch p.kind {
	case vodMaster:
		return base + "master.m3u8"
	case vodPlaylist:
		return base + p.lang + "/index.m3u8"
	case vodInit:
		return base + p.lang + "/init.mp4"
	case vodSegment:
		return base + p.lang + "/" + segmentName(p.seg)
	case vodSubs:
		return base + vodSubsDir + "/" + p.lang + "/index.m3u8"
	default:
		return base + vodSubsDir + "/" + p.lang + "/seg" + strconv.FormatInt(p.seg, 10) + ".vtt"
	}
}

// validEvent is the event id rule of the configuration (and of the
// recordings' directories): 1 to 64 of a-z 0-9 -.
func validEvent(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// parseVODPath maps a path relative to /vod/ to what it names. Every
// element is checked against the names the VOD writes, so nothing a client
// sends reaches the file system unchecked; anything else is errNoResource.
func parseVODPath(p string) (vodPath, error) {
	p = strings.TrimPrefix(p, "/")
	event, rest, ok := strings.Cut(p, "/")
	if !ok || !validEvent(event) {
		return vodPath{}, errNoResource
	}
	run, rest, ok := strings.Cut(rest, "/")
	if !ok || !recording.ValidRunID(run) {
		return vodPath{}, errNoResource
	}
	v := vodPath{event: event, run: run}
	if rest == "master.m3u8" {
		v.kind = vodMaster
		return v, nil
	}
	lang, file, ok := strings.Cut(rest, "/")
	if !ok {
		return vodPath{}, errNoResource
	}
	subs := false
	if lang == vodSubsDir {
		subs = true
		if lang, file, ok = strings.Cut(file, "/"); !ok {
			return vodPath{}, errNoResource
		}
	}
	if !validID(lang) || lang == vodSubsDir {
		return vodPath{}, errNoResource
	}
	v.lang = lang
	ext := ".m4s"
	switch {
	case file == "index.m3u8":
		v.kind = vodPlaylist
		if subs {
			v.kind = vodSubs
		}
		return v, nil
	case file == "init.mp4" && !subs:
		v.kind = vodInit
		return v, nil
	case subs:
		ext = ".vtt"
		v.kind = vodCues
	default:
		v.kind = vodSegment
	}
	num, ok := strings.CutPrefix(file, "seg")
	if !ok {
		return vodPath{}, errNoResource
	}
	num, ok = strings.CutSuffix(num, ext)
	if !ok {
		return vodPath{}, errNoResource
	}
	n, ok := parseNumber(num)
	if !ok {
		return vodPath{}, errNoResource
	}
	v.seg = n
	return v, nil
}
