package hls

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

// Header values shared by every response; net/http only reads them.
var (
	hdrPlaylist  = []string{"application/vnd.apple.mpegurl"}
	hdrMP4       = []string{"audio/mp4"}
	hdrVideoMP4  = []string{"video/mp4"}
	hdrNoCache   = []string{"no-cache"}
	hdrImmutable = []string{"public, max-age=31536000, immutable"}
	// hdrLivePlaylist: a live media playlist asked without _HLS_msn changes
	// with every part. A shared cache may hold it for one second, the least
	// Cache-Control can say (half a part, rounded up): it collapses the
	// reloads of players that do not block, and an LL-HLS player blocks on
	// _HLS_msn/_HLS_part after its first load anyway.
	hdrLivePlaylist = []string{"public, max-age=1"}
	// hdrMaster: the master changes only when a variant's measured
	// BANDWIDTH rises or video comes or goes, and players read it once.
	hdrMaster    = []string{"public, max-age=2"}
	hdrAnyOrigin = []string{"*"}
	hdrAllow     = []string{"GET, HEAD, OPTIONS"}
)

// ServeHTTP serves the event's HLS tree; paths are relative to the event's
// HLS root ("master.m3u8", "en/index.m3u8", "en/k3x9ab2c/part12.3.m4s",
// "en.aac/index.m3u8", ...).
// Blocking requests wait at most three target durations and never hold a
// lock; Close releases them.
func (m *Muxer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.stats.requests.Add(1)
	h := w.Header()
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions:
		h["Allow"] = hdrAllow
		h["Access-Control-Allow-Methods"] = hdrAllow
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	default:
		h["Allow"] = hdrAllow
		m.fail(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(r.URL.Path, "/"), videoDir+"/"); ok {
		m.serveVideo(w, r, rest)
		return
	}
	res, err := parsePath(r.URL.Path)
	if err != nil {
		m.fail(w, http.StatusNotFound, "not found")
		return
	}
	if res.kind == kindMaster {
		m.serveMaster(w, r)
		return
	}
	t := m.tracks[res.id]
	if res.aac {
		t = m.aac[res.id]
	}
	if t == nil {
		m.fail(w, http.StatusNotFound, "unknown rendition "+res.dir())
		return
	}
	if res.kind != kindPlaylist && res.run != m.opts.Run {
		// Another run's name: its content may be held by caches for good,
		// so this run never answers it.
		m.fail(w, http.StatusNotFound, "not found: named by another run")
		return
	}
	switch res.kind {
	case kindPlaylist:
		m.servePlaylist(w, r, t)
	case kindInit:
		m.writeMedia(w, r, t.init)
	case kindSegment:
		m.serveSegment(w, r, t, res.msn)
	case kindPart:
		m.servePart(w, r, t, res.msn, res.index)
	}
}

// serveMaster answers master.m3u8: the plain master, or with ?audio={id}
// the one whose main audio is that rendition (renderMaster), which the
// web player loads.
func (m *Muxer) serveMaster(w http.ResponseWriter, r *http.Request) {
	id, err := parseMasterQuery(r.URL.RawQuery)
	if err != nil {
		m.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	main := -1
	if id != "" {
		if main = m.rendition(id); main < 0 {
			m.fail(w, http.StatusNotFound, "unknown rendition "+id)
			return
		}
	}
	m.write(w, r, hdrPlaylist, hdrMaster, m.masterPlaylist(main))
}

type waitResult int

const (
	waitReady waitResult = iota
	waitTimeout
	waitGone // the client went away
)

// await returns the first snapshot for which ready holds, or the newest once
// the rendition has ended. It waits at most m.hold on the Muxer's clock.
func (m *Muxer) await(r *http.Request, snap *atomic.Pointer[snapshot], ready func(*snapshot) bool) (*snapshot, waitResult) {
	s := snap.Load()
	if ready(s) || s.ended {
		return s, waitReady
	}
	m.stats.blocked.Add(1)
	m.stats.waiting.Add(1)
	defer m.stats.waiting.Add(-1)
	timer := m.opts.Clock.NewTimer(m.hold)
	defer timer.Stop()
	for {
		select {
		case <-s.changed:
		case <-timer.C():
			if s = snap.Load(); ready(s) || s.ended {
				return s, waitReady
			}
			m.stats.timeouts.Add(1)
			return s, waitTimeout
		case <-r.Context().Done():
			return nil, waitGone
		}
		if s = snap.Load(); ready(s) || s.ended {
			return s, waitReady
		}
	}
}

// advanceParts is how far ahead of the newest part a blocking request may
// ask: three parts, or three seconds of parts when parts are shorter than a
// second.
func (m *Muxer) advanceParts() int64 {
	return max(3, 3*audio.SampleRate/m.partSamples)
}

func (m *Muxer) servePlaylist(w http.ResponseWriter, r *http.Request, t *track) {
	q, err := parseReload(r.URL.RawQuery)
	if err != nil {
		m.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	// A run that continues an earlier one answers once it lists a whole
	// segment: its first playlists, parts only, replace ones that had
	// segments, and a player takes a live playlist without segments for
	// an empty one (hls.js: a fatal levelEmptyError once its retries are
	// spent). A fresh event answers from its first part.
	listed := func(s *snapshot) bool { return s.playlist != nil && (m.base == 0 || s.lastSeg >= 0 || s.ended) }
	if !q.hasMSN {
		s, res := m.await(r, &t.snap, listed)
		m.finishPlaylist(w, r, s, res, hdrLivePlaylist)
		return
	}
	abs := q.msn*m.pps + q.part // both ≤ 15 digits: no overflow
	if s := t.snap.Load(); s.lastPart >= 0 && !s.ended {
		if q.msn > s.lastPart/m.pps+2 {
			m.fail(w, http.StatusBadRequest, "_HLS_msn is more than two segments ahead of the playlist")
			return
		}
		if q.hasPart && abs > s.lastPart+m.advanceParts() {
			m.fail(w, http.StatusBadRequest, "_HLS_part is too far ahead of the playlist")
			return
		}
	}
	ready := func(s *snapshot) bool { return s.lastSeg >= q.msn && listed(s) }
	if q.hasPart {
		ready = func(s *snapshot) bool { return s.lastPart >= abs && listed(s) }
	}
	s, res := m.await(r, &t.snap, ready)
	// An ended rendition answers at once without the asked part: a cache
	// must not give that answer to the next player who asks for the part.
	cache := hdrNoCache
	if res == waitReady && ready(s) {
		// The answer to this URL holds the asked part for good, so shared
		// caches may collapse concurrent reloads onto it.
		cache = m.blockedCache
	}
	m.finishPlaylist(w, r, s, res, cache)
}

func (m *Muxer) finishPlaylist(w http.ResponseWriter, r *http.Request, s *snapshot, res waitResult, cache []string) {
	switch {
	case res == waitGone:
	case res == waitTimeout || s.playlist == nil:
		m.fail(w, http.StatusServiceUnavailable, "playlist not updated in time")
	default:
		m.write(w, r, hdrPlaylist, cache, s.playlist)
	}
}

func (m *Muxer) serveSegment(w http.ResponseWriter, r *http.Request, t *track, msn int64) {
	s := t.snap.Load()
	if seg := s.segment(msn); seg != nil && seg.data != nil {
		m.writeMedia(w, r, seg.data)
		return
	}
	// Wait only for the segment being written or the next one.
	if s.ended || s.lastPart < 0 || msn <= s.lastSeg || msn > s.lastPart/m.pps+1 {
		m.fail(w, http.StatusNotFound, "no segment "+strconv.FormatInt(msn, 10))
		return
	}
	s, res := m.await(r, &t.snap, func(s *snapshot) bool { return s.lastSeg >= msn })
	m.finishMedia(w, r, res, func() []byte {
		if seg := s.segment(msn); seg != nil && seg.data != nil {
			return seg.data
		}
		return nil
	})
}

func (m *Muxer) servePart(w http.ResponseWriter, r *http.Request, t *track, msn int64, index int) {
	s := t.snap.Load()
	if p := s.part(msn, index); p != nil {
		m.writeMedia(w, r, p.data)
		return
	}
	abs := msn*m.pps + int64(index)
	// Wait for the preload-hinted part and up to a segment beyond it.
	if int64(index) >= m.pps || s.ended || s.lastPart < 0 || abs <= s.lastPart || abs > s.lastPart+m.pps {
		m.fail(w, http.StatusNotFound, "no part "+strconv.FormatInt(msn, 10)+"."+strconv.Itoa(index))
		return
	}
	s, res := m.await(r, &t.snap, func(s *snapshot) bool { return s.lastPart >= abs })
	m.finishMedia(w, r, res, func() []byte {
		if p := s.part(msn, index); p != nil {
			return p.data
		}
		return nil
	})
}

func (m *Muxer) finishMedia(w http.ResponseWriter, r *http.Request, res waitResult, body func() []byte) {
	m.finishMediaAs(w, r, hdrMP4, res, body)
}

func (m *Muxer) finishMediaAs(w http.ResponseWriter, r *http.Request, ctype []string, res waitResult, body func() []byte) {
	switch res {
	case waitGone:
	case waitTimeout:
		m.fail(w, http.StatusServiceUnavailable, "media not ready in time")
	default:
		if b := body(); b != nil {
			m.writeMediaAs(w, r, ctype, b)
		} else {
			m.fail(w, http.StatusNotFound, "media was skipped")
		}
	}
}

// writeMedia sends an immutable fMP4 body; requests with a Range header go
// through http.ServeContent.
func (m *Muxer) writeMedia(w http.ResponseWriter, r *http.Request, body []byte) {
	m.writeMediaAs(w, r, hdrMP4, body)
}

// writeMediaAs is writeMedia with a content type (video/mp4 for video).
func (m *Muxer) writeMediaAs(w http.ResponseWriter, r *http.Request, ctype []string, body []byte) {
	if _, ok := r.Header["Range"]; ok {
		h := w.Header()
		h["Content-Type"] = ctype
		h["Cache-Control"] = hdrImmutable
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		return
	}
	m.write(w, r, ctype, hdrImmutable, body)
}

// write sends a precomputed body.
func (m *Muxer) write(w http.ResponseWriter, r *http.Request, ctype, cache []string, body []byte) {
	h := w.Header()
	h["Content-Type"] = ctype
	h["Cache-Control"] = cache
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	n, _ := w.Write(body)
	m.stats.bytesServed.Add(int64(n))
}

// fail counts an error answer and writes it.
func (m *Muxer) fail(w http.ResponseWriter, code int, msg string) {
	switch code {
	case http.StatusBadRequest:
		m.stats.badRequests.Add(1)
	case http.StatusNotFound:
		m.stats.notFound.Add(1)
	}
	writeError(w, code, msg)
}

// writeError answers with a JSON error body that is never cached; a 503 asks
// the player to retry in a second.
func writeError(w http.ResponseWriter, code int, msg string) {
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{msg})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	_, _ = w.Write(append(body, '\n'))
}
