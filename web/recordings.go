package web

import (
	"net/http"
	"time"

	"tolk/internal/recording"
)

// RecordingInfo is one recorded run in GET /api/events/{event}/recordings.
type RecordingInfo struct {
	// ID names the run in URLs (/vod/{event}/{id}/): the UTC time of its
	// program time zero, 20261103T090000Z.
	ID string `json:"id"`
	// Start and End are the wall-clock times of its first and after its
	// last recorded second; Duration is End − Start in seconds.
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Duration float64   `json:"duration"`
	// Offset is where the run's program time zero lies on the event's
	// recording timeline, in seconds: the time base of the stored and
	// exported cues.
	Offset float64 `json:"offset"`
	// Languages are its audio tracks, the floor first; Captions the
	// languages whose captions it holds.
	Languages []recording.Lang `json:"languages"`
	Captions  []recording.Lang `json:"captions"`
	Bytes     int64            `json:"bytes"`
	// Live is true while the run is being recorded.
	Live bool `json:"live"`
}

// handleRecordings serves GET /api/events/{event}/recordings to an editor
// or producer: the event's recorded runs, oldest first.
func (s *Server) handleRecordings(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !s.exportAccess(w, r, st.ev.ID()) {
		return
	}
	out := []RecordingInfo{}
	lib := st.ev.Recordings()
	if lib == nil {
		writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
		return
	}
	runs, err := lib.Runs(st.ev.ID())
	if err != nil {
		s.log.Error("list recordings", "event", st.ev.ID(), "err", err)
		writeError(w, http.StatusInternalServerError, "the recordings cannot be listed")
		return
	}
	for _, run := range runs {
		out = append(out, RecordingInfo{ID: run.ID, Start: run.Start.UTC(), End: run.End.UTC(),
			Duration: run.Duration.Seconds(), Offset: run.Offset.Seconds(), Languages: run.Languages,
			Captions: run.Captions, Bytes: run.Bytes, Live: run.Live})
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordings": out})
}
