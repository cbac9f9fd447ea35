package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"
)

const (
	// ViewerTimeout is how long a player's report counts: the watch page
	// reports every ViewerReportEvery.
	ViewerTimeout     = 15 * time.Second
	ViewerReportEvery = 5 * time.Second
	// maxViewers bounds the reports an event keeps; past it new players are
	// told to stop reporting (they still play).
	maxViewers = 50000
	// maxReport bounds a report's body.
	maxReport = 1024
	// maxLatency is the largest latency a report may claim (a player paused
	// on a DVR window reports "paused", not a latency).
	maxLatency = 10 * time.Minute
)

var viewerIDRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// viewerReport is the body of POST /api/events/{event}/viewers: one player
// says what it plays. Reports carry no identity beyond a random id per page.
type viewerReport struct {
	ID       string `json:"id"`
	Lang     string `json:"lang"`
	Protocol string `json:"protocol"` // "hls" or "webrtc"
	// State is "playing" (counted), or "stopped" (forgotten at once).
	State string `json:"state"`
	// LatencyMS is how far what the player plays now trails the program:
	// the program time being played on the server less the program time
	// being heard, as the page measures it (see docs/http.md).
	LatencyMS *float64 `json:"latency_ms"`
}

// viewerClock is the answer to a report: the server's clock and the program
// time being played at that moment, so the page can measure its latency.
type viewerClock struct {
	ServerMS int64 `json:"server_ms"`
	// PTS is the program time (48 kHz samples) being played at ServerMS; -1
	// before the program started.
	PTS int64 `json:"pts"`
	// EpochMS is the wall-clock time of program time zero, which HLS's
	// EXT-X-PROGRAM-DATE-TIME counts from; 0 before it is fixed.
	EpochMS int64 `json:"epoch_ms"`
	// NextMS is when to report again.
	NextMS int64 `json:"next_ms"`
}

type viewer struct {
	lang, protocol string
	latency        float64 // ms; NaN-free, -1 when not reported
	at             time.Time
}

// viewerRegistry counts an event's players by the reports of the last
// ViewerTimeout.
type viewerRegistry struct {
	mu sync.Mutex
	m  map[string]viewer
	// pruned is when expired reports were last swept out: a full registry
	// is swept at most once a second, so a flood of reports costs a map
	// lookup each, not a sweep of the whole map.
	pruned time.Time
}

// put records a report; false when the registry is full.
func (r *viewerRegistry) put(rep viewerReport, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]viewer{}
	}
	if rep.State == "stopped" {
		delete(r.m, rep.ID)
		return true
	}
	if _, ok := r.m[rep.ID]; !ok && len(r.m) >= maxViewers {
		if now.Sub(r.pruned) >= time.Second {
			r.pruneLocked(now)
		}
		if len(r.m) >= maxViewers {
			return false
		}
	}
	v := viewer{lang: rep.Lang, protocol: rep.Protocol, latency: -1, at: now}
	if rep.LatencyMS != nil {
		v.latency = *rep.LatencyMS
	}
	r.m[rep.ID] = v
	return true
}

func (r *viewerRegistry) pruneLocked(now time.Time) {
	r.pruned = now
	for id, v := range r.m {
		if now.Sub(v.at) > ViewerTimeout {
			delete(r.m, id)
		}
	}
}

// ViewerLatency summarises the latency players of one kind report.
type ViewerLatency struct {
	// Players counts the players whose report carried a latency.
	Players  int     `json:"players"`
	MedianMS float64 `json:"median_ms"`
	WorstMS  float64 `json:"worst_ms"`
}

// viewerSummary is what the registry knows now: HLS players by language, and
// the reported latencies by protocol and language ("" for all languages).
type viewerSummary struct {
	hls     map[string]int64
	latency map[string]map[string]ViewerLatency
}

func (r *viewerRegistry) summary(now time.Time) viewerSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pruneLocked(now)
	s := viewerSummary{hls: map[string]int64{}, latency: map[string]map[string]ViewerLatency{}}
	lat := map[string]map[string][]float64{}
	for _, v := range r.m {
		if v.protocol == "hls" {
			s.hls[v.lang]++
		}
		if v.latency < 0 {
			continue
		}
		if lat[v.protocol] == nil {
			lat[v.protocol] = map[string][]float64{}
		}
		lat[v.protocol][v.lang] = append(lat[v.protocol][v.lang], v.latency)
		lat[v.protocol][""] = append(lat[v.protocol][""], v.latency)
	}
	for proto, byLang := range lat {
		s.latency[proto] = map[string]ViewerLatency{}
		for lang, xs := range byLang {
			slices.Sort(xs)
			s.latency[proto][lang] = ViewerLatency{Players: len(xs), MedianMS: xs[len(xs)/2], WorstMS: xs[len(xs)-1]}
		}
	}
	return s
}

// check says what is wrong with a report of an event whose languages are langs.
func (rep viewerReport) check(langs map[string]bool) error {
	switch {
	case !viewerIDRE.MatchString(rep.ID):
		return fmt.Errorf("id must be 8 to 64 letters, digits, - or _")
	case rep.State == "stopped":
		return nil
	case rep.State != "playing":
		return fmt.Errorf(`state must be "playing" or "stopped", not %q`, rep.State)
	case !langs[rep.Lang]:
		return fmt.Errorf("the event has no language %q", rep.Lang)
	case rep.Protocol != "hls" && rep.Protocol != "webrtc":
		return fmt.Errorf(`protocol must be "hls" or "webrtc", not %q`, rep.Protocol)
	case rep.LatencyMS != nil && !(*rep.LatencyMS >= 0 && *rep.LatencyMS <= float64(maxLatency/time.Millisecond)):
		return fmt.Errorf("latency_ms must be 0 to %d", maxLatency/time.Millisecond)
	}
	return nil
}

// handleViewerReport takes a player's report: POST /api/events/{event}/viewers.
func (s *Server) handleViewerReport(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.viewer(w, r)
	if !ok {
		return
	}
	var rep viewerReport
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxReport))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rep); err != nil {
		writeError(w, http.StatusBadRequest, `body must be {"id", "lang", "protocol", "state", "latency_ms"}: `+err.Error())
		return
	}
	langs := map[string]bool{}
	for _, rd := range st.ev.Renditions() {
		langs[rd.Tag] = true
	}
	if err := rep.check(langs); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := time.Now()
	if !st.viewers.put(rep, now) {
		writeError(w, http.StatusTooManyRequests, "too many players report already; keep playing")
		return
	}
	writeJSON(w, http.StatusOK, s.viewerClock(st, now))
}

// viewerClock is the program clock as a page measures latency against it.
func (s *Server) viewerClock(st *eventState, now time.Time) viewerClock {
	c := viewerClock{ServerMS: now.UnixMilli(), PTS: st.ev.ProgramAt(now), NextMS: ViewerReportEvery.Milliseconds()}
	if e, ok := st.ev.Epoch(); ok {
		c.EpochMS = e.UnixMilli()
	}
	return c
}
