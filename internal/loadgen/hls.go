// Package loadgen simulates tolk's audiences for load tests and the load
// tool (cmd/tolk-load): LL-HLS viewers at the live edge, the server's
// /metrics read as numbers, latency percentiles and a line chart.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"tolk/internal/audio"
)

// HLSStats are what a group of simulated LL-HLS viewers saw.
type HLSStats struct {
	// Requests counts every request made, Errors those that failed (a
	// transport error or a status other than 200) while the run went on.
	Requests, Errors int64
	// Parts counts the parts received; Missed the parts a viewer never
	// asked for because it fell behind and jumped to the newest (a gap on
	// its program timeline); Late the parts that arrived after their
	// program date time plus the part hold-back: a player at that distance
	// from the live edge would have stalled.
	Parts, Missed, Late int64
	// Latency holds, per part received, the time from the part's program
	// date time (its first sample's wall-clock time; or, with
	// HLSSink.Clock, that sample's time on the program clock) to the end of
	// its body at the viewer.
	Latency []time.Duration
	// PDTLatency is, per part, the end of its body at the viewer less its
	// program date time as the playlist gives it (with HLSSink.Clock the
	// two differ by how far the dates and the clock have moved apart).
	PDTLatency []time.Duration
}

// HLSSink gathers what viewers see as they see it; Take empties it, so a
// load test reads one window at a time.
type HLSSink struct {
	mu sync.Mutex
	s  HLSStats
	// Clock, when set, returns the wall-clock time of program time zero
	// on the program clock now: a part's latency is then measured from
	// the clock's time of its first sample (its tfdt) rather than from its
	// program date time.
	Clock func() time.Time
}

// Take returns what was gathered since the last Take and starts afresh.
func (k *HLSSink) Take() HLSStats {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := k.s
	k.s = HLSStats{}
	return s
}

func (k *HLSSink) add(f func(s *HLSStats)) {
	k.mu.Lock()
	f(&k.s)
	k.mu.Unlock()
}

// HLSViewers runs n LL-HLS viewers against the media playlists in
// playlists (round robin: viewer i watches playlists[i%len]) until ctx
// ends, and returns when all have stopped. Each does what an LL-HLS player
// does at the live edge: ask for the preload-hinted part, then the blocking
// playlist reload that lists it, again and again. Viewers arrive over ramp.
// client is shared (its transport should allow n idle connections per
// host).
func HLSViewers(ctx context.Context, client *http.Client, playlists []string, n int, ramp time.Duration, sink *HLSSink) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !sleep(ctx, ramp*time.Duration(i)/time.Duration(max(n, 1))) {
				return
			}
			watch(ctx, client, playlists[i%len(playlists)], sink)
		}()
	}
	wg.Wait()
}

func (s *HLSStats) add(o HLSStats) {
	s.Requests += o.Requests
	s.Errors += o.Errors
	s.Parts += o.Parts
	s.Missed += o.Missed
	s.Late += o.Late
	s.Latency = append(s.Latency, o.Latency...)
	s.PDTLatency = append(s.PDTLatency, o.PDTLatency...)
}

// watch is one viewer of one media playlist until ctx ends.
func watch(ctx context.Context, client *http.Client, playlist string, sink *HLSSink) {
	base := playlist[:strings.LastIndexByte(playlist, '/')+1]
	get := func(u string) ([]byte, bool) {
		b, err := fetch(ctx, client, u)
		failed := err != nil && ctx.Err() == nil
		sink.add(func(s *HLSStats) {
			s.Requests++
			if failed {
				s.Errors++
			}
		})
		return b, err == nil
	}
	var (
		lastPDT time.Time // the previous part's program date time
		partDur time.Duration
	)
	pl, ok := get(playlist)
	for ctx.Err() == nil {
		var p Playlist
		if ok {
			p, ok = ParsePlaylist(pl)
		}
		if !ok {
			if !sleep(ctx, 100*time.Millisecond) {
				break
			}
			pl, ok = get(playlist)
			continue
		}
		h := p.Hint
		if body, got := get(base + h.URI); got {
			at := time.Now()
			var o HLSStats
			o.Parts = 1
			if !h.PDT.IsZero() {
				start := h.PDT
				if sink.Clock != nil {
					if pts, err := PartStart(body); err == nil {
						start = sink.Clock().Add(audio.Duration(pts))
					}
				}
				o.Latency = []time.Duration{at.Sub(start)}
				o.PDTLatency = []time.Duration{at.Sub(h.PDT)}
				if p.PartHoldBack > 0 && at.Sub(start) > p.PartTarget+p.PartHoldBack {
					o.Late = 1
				}
				if !lastPDT.IsZero() && partDur > 0 {
					if gap := h.PDT.Sub(lastPDT); gap > partDur*3/2 {
						o.Missed = int64((gap+partDur/2)/partDur) - 1
					}
				}
				lastPDT, partDur = h.PDT, p.PartTarget
			}
			sink.add(func(s *HLSStats) { s.add(o) })
		}
		pl, ok = get(fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", playlist, h.MSN, h.Part))
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// fetch GETs u and reads the whole body; a status other than 200 is an
// error.
func fetch(ctx context.Context, client *http.Client, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return b, nil
}

// Playlist is what a viewer reads from a live media playlist.
type Playlist struct {
	// PartTarget is EXT-X-PART-INF's PART-TARGET, PartHoldBack
	// EXT-X-SERVER-CONTROL's PART-HOLD-BACK.
	PartTarget, PartHoldBack time.Duration
	// Hint is the preload-hinted part: the next part to be made.
	Hint Part
	// Parts are the parts listed, oldest first.
	Parts []Part
}

// Part is one part of a live playlist.
type Part struct {
	URI string
	// MSN and Part are its media sequence number and index in the segment.
	MSN, Part int
	// PDT is its program date time: the wall-clock time of its first
	// sample (the segment's EXT-X-PROGRAM-DATE-TIME plus the parts before
	// it); zero when the playlist dates none of its segments.
	PDT time.Time
	Dur time.Duration
}

var (
	partURIRE = regexp.MustCompile(`part(\d+)\.(\d+)\.m4s$`)
	attrRE    = regexp.MustCompile(`([A-Z-]+)=("[^"]*"|[^,]*)`)
)

// ParsePlaylist reads a live LL-HLS media playlist as tolk writes it; ok is
// false when it is not one (no preload hint for a part).
func ParsePlaylist(b []byte) (Playlist, bool) {
	var (
		p   Playlist
		pdt time.Time // the current segment's date, then advanced by each part
	)
	for _, line := range bytes.Split(b, []byte("\n")) {
		line = bytes.TrimSpace(line)
		tag, rest, _ := bytes.Cut(line, []byte(":"))
		switch string(tag) {
		case "#EXT-X-PART-INF":
			p.PartTarget = seconds(attrs(rest)["PART-TARGET"])
		case "#EXT-X-SERVER-CONTROL":
			p.PartHoldBack = seconds(attrs(rest)["PART-HOLD-BACK"])
		case "#EXT-X-PROGRAM-DATE-TIME":
			if t, err := time.Parse(time.RFC3339Nano, string(rest)); err == nil {
				pdt = t
			}
		case "#EXT-X-PART":
			a := attrs(rest)
			part, ok := partOf(a["URI"])
			if !ok {
				continue
			}
			part.Dur = seconds(a["DURATION"])
			part.PDT = pdt
			if !pdt.IsZero() {
				pdt = pdt.Add(part.Dur)
			}
			p.Parts = append(p.Parts, part)
		case "#EXT-X-PRELOAD-HINT":
			a := attrs(rest)
			if a["TYPE"] != "PART" {
				continue
			}
			part, ok := partOf(a["URI"])
			if !ok {
				continue
			}
			part.PDT = pdt
			p.Hint = part
		}
	}
	return p, p.Hint.URI != ""
}

func partOf(uri string) (Part, bool) {
	m := partURIRE.FindStringSubmatch(uri)
	if m == nil {
		return Part{}, false
	}
	msn, err1 := strconv.Atoi(m[1])
	idx, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return Part{}, false
	}
	return Part{URI: uri, MSN: msn, Part: idx}, true
}

func attrs(b []byte) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllSubmatch(b, -1) {
		out[string(m[1])] = string(bytes.Trim(m[2], `"`))
	}
	return out
}

func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 3600 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}
