package web

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/locales"
	"tolk/web/hls"
	"tolk/web/pages"
)

// Replay: the recorded runs of an event as HLS VOD (/vod/{event}/{run}/…,
// web/hls.VOD), their public list (GET /api/events/{event}/replays) and the
// viewer page that plays them (/replay/{event}). All three are the viewer
// side: open for a public event, and for a closed one only with the access
// the watch page asks for (viewerAccess: the session cookie, or a token of
// the event).

// newVOD builds the server's VOD: runs are opened from the library of the
// event that owns them, captions read from the edited cues.
func (s *Server) newVOD() (*hls.VOD, error) {
	opts := hls.VODOptions{
		Log: s.log,
		Open: func(event, run string) (*recording.Reader, error) {
			st, ok := s.event(event)
			if !ok {
				return nil, recording.ErrNotFound
			}
			lib := st.ev.Recordings()
			if lib == nil {
				return nil, recording.ErrNotFound
			}
			return lib.Open(event, run)
		},
	}
	if s.cues != nil {
		cues := s.cues
		opts.Cues = func(ctx context.Context, event, lang string, from, to int64) ([]media.Cue, error) {
			return cues.Cues(ctx, event, lang, from, to)
		}
	}
	v, err := hls.NewVOD(opts)
	if err != nil {
		return nil, err
	}
	s.reg.MustRegister(vodCollector{v})
	return v, nil
}

// The VOD's metrics: server-wide (a run's requests carry its event in the
// path, not in a label, so that a scrape stays small whatever is replayed).
var (
	descVODRequests = prometheus.NewDesc("tolk_vod_requests_total", "Requests to /vod/.", nil, nil)
	descVODNotFound = prometheus.NewDesc("tolk_vod_not_found_total", "VOD requests answered 404.", nil, nil)
	descVODBuilds   = prometheus.NewDesc("tolk_vod_builds_total", "VOD segments (audio and WebVTT) built from a run file or the cue store.", nil, nil)
	descVODHits     = prometheus.NewDesc("tolk_vod_cache_hits_total", "Finished runs' segments served from the cache.", nil, nil)
	descVODWaits    = prometheus.NewDesc("tolk_vod_build_waits_total", "Segment builds that waited for another to finish.", nil, nil)
	descVODOpens    = prometheus.NewDesc("tolk_vod_run_opens_total", "Run files opened and indexed.", nil, nil)
	descVODOpen     = prometheus.NewDesc("tolk_vod_open_runs", "Runs kept open.", nil, nil)
	descVODBytes    = prometheus.NewDesc("tolk_vod_cache_bytes", "Bytes of cached segments.", nil, nil)
)

type vodCollector struct{ v *hls.VOD }

func (c vodCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descVODRequests, descVODNotFound, descVODBuilds, descVODHits, descVODWaits,
		descVODOpens, descVODOpen, descVODBytes} {
		ch <- d
	}
}

func (c vodCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.v.Stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	counter(descVODRequests, st.Requests)
	counter(descVODNotFound, st.NotFound)
	counter(descVODBuilds, st.Builds)
	counter(descVODHits, st.CacheHits)
	counter(descVODWaits, st.BuildWaits)
	counter(descVODOpens, st.Opens)
	ch <- prometheus.MustNewConstMetric(descVODOpen, prometheus.GaugeValue, float64(st.OpenRuns))
	ch <- prometheus.MustNewConstMetric(descVODBytes, prometheus.GaugeValue, float64(st.CacheBytes))
}

// handleVOD serves /vod/{event}/{rest...}: a recorded run as HLS VOD. A
// closed event's answers need viewer access and are private; a token given
// as ?token= is carried into the playlists' URIs, as for the live tree.
func (s *Server) handleVOD(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	st.hlsReqs.count(r.PathValue("rest"))
	w, finish, ok := s.mediaViewer(w, r, st)
	if !ok {
		return
	}
	defer finish()
	s.vod.ServeHTTP(w, withPath(r, "/"+st.ev.ID()+"/"+r.PathValue("rest")))
}

// ReplayInfo is one recorded run in GET /api/events/{event}/replays: what a
// viewer needs to pick and play it, and nothing of the server's files.
type ReplayInfo struct {
	ID string `json:"id"`
	// Start is the wall-clock time of its first recorded second; Duration
	// its length in seconds.
	Start    time.Time `json:"start"`
	Duration float64   `json:"duration"`
	// Languages are its audio languages, the floor first; Captions the
	// languages it has captions in.
	Languages []recording.Lang `json:"languages"`
	Captions  []recording.Lang `json:"captions"`
	// Live is true while the run is still being recorded: its playlists
	// grow.
	Live bool `json:"live"`
	// HLS is its master playlist.
	HLS string `json:"hls"`
}

// handleReplays serves GET /api/events/{event}/replays: the runs a viewer
// can play, oldest first. Runs without audio yet are left out.
func (s *Server) handleReplays(w http.ResponseWriter, r *http.Request) {
	st, _, ok := s.viewer(w, r)
	if !ok {
		return
	}
	out := []ReplayInfo{}
	lib := st.ev.Recordings()
	if lib == nil {
		writeJSON(w, http.StatusOK, map[string]any{"replays": out})
		return
	}
	runs, err := lib.Runs(st.ev.ID())
	if err != nil {
		s.log.Error("list replays", "event", st.ev.ID(), "err", err)
		writeError(w, http.StatusInternalServerError, "the recordings cannot be listed")
		return
	}
	for _, run := range runs {
		if run.Duration <= 0 || len(run.Languages) == 0 {
			continue
		}
		out = append(out, ReplayInfo{ID: run.ID, Start: run.Start.UTC(), Duration: run.Duration.Seconds(),
			Languages: run.Languages, Captions: run.Captions, Live: !run.Finalized,
			HLS: "/vod/" + st.ev.ID() + "/" + run.ID + "/master.m3u8"})
	}
	writeJSON(w, http.StatusOK, map[string]any{"replays": out})
}

// handleReplay serves the replay page. A closed event's page without access
// is the watch page's passcode form, posting back here.
func (s *Server) handleReplay(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok || !s.gatePage(w, r, st, replayPage) {
		return
	}
	ev := st.ev
	d := pages.ReplayData{
		EventID:  ev.ID(),
		Title:    ev.Title(),
		Replays:  "/api/events/" + ev.ID() + "/replays",
		Locale:   locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
		Watch:    "/watch/" + ev.ID(),
		Recorded: ev.Recordings() != nil,
	}
	pages.Replay(w, r, d)
}

// closeVOD closes the VOD's open runs (Server.Close).
func (s *Server) closeVOD() {
	if s.vod != nil {
		s.vod.Close()
	}
}
