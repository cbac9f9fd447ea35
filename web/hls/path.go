package hls

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

type kind int

const (
	kindMaster kind = iota
	kindPlaylist
	kindInit
	kindSegment
	kindPart
	kindIFrames // the video rendition's I-frame playlist
)

// resource is a parsed request path.
type resource struct {
	kind  kind
	id    string
	aac   bool   // the AAC rendition of id, in "{id}.aac/"
	run   string // the run named by an init section, segment or part
	msn   int64
	index int
}

// aacSuffix ends the directory of an AAC rendition.
const aacSuffix = ".aac"

// dir is the rendition's directory: its id, and ".aac" for AAC.
func (r resource) dir() string {
	if r.aac {
		return r.id + aacSuffix
	}
	return r.id
}

// String returns the canonical path of the resource.
func (r resource) String() string {
	switch r.kind {
	case kindMaster:
		return "master.m3u8"
	case kindPlaylist:
		return r.dir() + "/index.m3u8"
	case kindInit:
		return r.dir() + "/" + r.run + "/init.mp4"
	case kindSegment:
		return r.dir() + "/" + r.run + "/" + segmentName(r.msn)
	default:
		return r.dir() + "/" + r.run + "/" + partName(r.msn, r.index)
	}
}

var errNoResource = errors.New("no such resource")

// maxDigits keeps parsed numbers far from int64 overflow in later arithmetic.
const maxDigits = 15

// parseNumber accepts a canonical non-negative decimal: digits only, no sign,
// no leading zero.
func parseNumber(s string) (int64, bool) {
	if s == "" || len(s) > maxDigits || (s[0] == '0' && len(s) > 1) {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parsePath maps a path relative to the event's HLS root to a resource.
func parsePath(p string) (resource, error) {
	p = strings.TrimPrefix(p, "/")
	if p == "master.m3u8" {
		return resource{kind: kindMaster}, nil
	}
	id, rest, ok := strings.Cut(p, "/")
	id, aac := strings.CutSuffix(id, aacSuffix)
	if !ok || !validID(id) {
		return resource{}, errNoResource
	}
	if rest == "index.m3u8" {
		return resource{kind: kindPlaylist, id: id, aac: aac}, nil
	}
	// Media lives below the run that made it: {id}/{run}/{file}.
	run, file, ok := strings.Cut(rest, "/")
	if !ok || !validRun(run) {
		return resource{}, errNoResource
	}
	r := resource{id: id, aac: aac, run: run}
	switch {
	case file == "init.mp4":
		r.kind = kindInit
	case strings.HasPrefix(file, "seg") && strings.HasSuffix(file, ".m4s"):
		msn, ok := parseNumber(file[3 : len(file)-4])
		if !ok {
			return resource{}, errNoResource
		}
		r.kind, r.msn = kindSegment, msn
	case strings.HasPrefix(file, "part") && strings.HasSuffix(file, ".m4s"):
		m, i, ok := strings.Cut(file[4:len(file)-4], ".")
		if !ok {
			return resource{}, errNoResource
		}
		msn, ok1 := parseNumber(m)
		idx, ok2 := parseNumber(i)
		if !ok1 || !ok2 || idx > 1<<20 {
			return resource{}, errNoResource
		}
		r.kind, r.msn, r.index = kindPart, msn, int(idx)
	default:
		return resource{}, errNoResource
	}
	return r, nil
}

// reload holds the blocking playlist reload parameters of a request.
type reload struct {
	msn, part       int64
	hasMSN, hasPart bool
}

// parseReload reads _HLS_msn and _HLS_part from a raw query. Other
// parameters are ignored (players add cache busters) and never change the
// answer, so a cache in front may key a playlist on these two alone;
// _HLS_skip is ignored because delta updates are never advertised. What a
// cache could read as one of them and this server would not is refused: a
// name spelled in another case or percent-encoded (nginx's $arg_ matches
// names case-insensitively), a value that is not plain digits.
func parseReload(rawQuery string) (reload, error) {
	var q reload
	if rawQuery == "" {
		return q, nil
	}
	vals, err := url.ParseQuery(rawQuery)
	if err != nil {
		return q, fmt.Errorf("bad query: %w", err)
	}
	for pair := range strings.SplitSeq(rawQuery, "&") {
		raw, val, _ := strings.Cut(pair, "=")
		name, _ := url.QueryUnescape(raw) // ParseQuery has checked it
		if (raw == "_HLS_msn" || raw == "_HLS_part") && strings.ContainsAny(val, "%+") {
			return q, fmt.Errorf("%s=%q is not plain digits", raw, val)
		}
		for _, want := range []string{"_HLS_msn", "_HLS_part", "_HLS_skip"} {
			if raw != want && (strings.EqualFold(raw, want) || strings.EqualFold(name, want)) {
				return q, fmt.Errorf("query parameter %q must be spelled %s", raw, want)
			}
		}
	}
	if q.msn, q.hasMSN, err = queryNumber(vals, "_HLS_msn"); err != nil {
		return q, err
	}
	if q.part, q.hasPart, err = queryNumber(vals, "_HLS_part"); err != nil {
		return q, err
	}
	if q.hasPart && !q.hasMSN {
		return q, errors.New("_HLS_part without _HLS_msn")
	}
	return q, nil
}

func queryNumber(vals url.Values, key string) (int64, bool, error) {
	v, ok := vals[key]
	if !ok {
		return 0, false, nil
	}
	if len(v) != 1 {
		return 0, false, fmt.Errorf("%s given %d times", key, len(v))
	}
	n, ok := parseNumber(v[0])
	if !ok {
		return 0, false, fmt.Errorf("%s=%q is not a non-negative integer", key, v[0])
	}
	return n, true, nil
}

// masterParam is the master playlist's query parameter that names the
// rendition to make the main audio (Muxer.ServeHTTP).
const masterParam = "audio"

// parseMasterQuery reads the audio parameter of a master playlist request:
// the ID of the rendition to make the main audio, "" for the plain master
// (no parameter, or an empty one). Other parameters are ignored, as for
// playlists. A cache in front keys masters on audio alone (nginx's
// $arg_audio: the first occurrence, undecoded, its name matched in any
// case), so what it could read otherwise is refused: the name in another
// case or percent-encoded, the parameter twice, a value that is not a
// plain rendition ID.
func parseMasterQuery(rawQuery string) (string, error) {
	if rawQuery == "" {
		return "", nil
	}
	id, seen := "", false
	for pair := range strings.SplitSeq(rawQuery, "&") {
		raw, val, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(raw)
		if err != nil {
			return "", fmt.Errorf("bad query parameter %q", raw)
		}
		if raw != masterParam {
			if strings.EqualFold(raw, masterParam) || strings.EqualFold(name, masterParam) {
				return "", fmt.Errorf("query parameter %q must be spelled %s", raw, masterParam)
			}
			continue
		}
		if seen {
			return "", fmt.Errorf("%s given twice", masterParam)
		}
		seen = true
		if val != "" && !validID(val) {
			return "", fmt.Errorf("%s=%q is not a rendition id", masterParam, val)
		}
		id = val
	}
	return id, nil
}
