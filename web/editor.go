package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
	"tolk/internal/recording"
	"tolk/internal/store"
	"tolk/locales"
	"tolk/web/pages"
)

// The caption editor: its page, GET /edit/{event}?token= (an editor or a
// producer token, as the editor API asks), and the audio levels its strip
// draws, GET /api/events/{event}/recordings/{run}/levels/{lang}.
//
// Why the levels come from the server: the page would otherwise fetch the
// VOD's fMP4 segments a second time and decode them with WebAudio, whose
// decodeAudioData takes Opus in fragmented MP4 in Chromium only; the server
// has the packets and libopus already, a 60 s block costs it about a
// twentieth of a second once (cached after), and the answer is ten numbers a
// second.

// handleEditPage serves the caption editor's page.
func (s *Server) handleEditPage(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	ev := st.ev
	secret := r.URL.Query().Get("token")
	if secret == "" {
		secret = bearer(r)
	}
	tok, ok := s.checkToken(w, r, secret, ev.ID(), "an editor or producer token is needed: ?token=<token>",
		store.RoleEditor, store.RoleProducer)
	if !ok {
		return
	}
	d := pages.EditorData{
		EventID:  ev.ID(),
		Title:    ev.Title(),
		Token:    r.URL.Query().Get("token"),
		Locale:   locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
		You:      tok.Name,
		Recorded: ev.Recordings() != nil,
	}
	_, d.Editable = s.cues.(CueEditor)
	d.Languages = s.captionLanguages(r.Context(), st)
	pages.Editor(w, r, d)
}

// captionLanguage finds tag (any case) among ev's languages: those with
// audio, then those with captions only.
func captionLanguage(ev Event, tag string) (Rendition, bool) {
	for _, list := range [][]Rendition{ev.Renditions(), ev.CaptionRenditions()} {
		for _, rd := range list {
			if strings.EqualFold(rd.Tag, tag) {
				return rd, true
			}
		}
	}
	return Rendition{}, false
}

// captionOnly lists ev's captioned languages that have no audio.
func captionOnly(ev Event) []Rendition {
	var out []Rendition
	audio := ev.Renditions()
	for _, rd := range ev.CaptionRenditions() {
		if !slices.ContainsFunc(audio, func(a Rendition) bool { return a.Tag == rd.Tag }) {
			out = append(out, rd)
		}
	}
	return out
}

// captionLanguages are the languages an editor can open: the event's
// captioned languages (the floor first), then any other language with
// stored cues.
func (s *Server) captionLanguages(ctx context.Context, st *eventState) []pages.Rendition {
	var out []pages.Rendition
	seen := map[string]bool{}
	for _, rd := range st.ev.CaptionRenditions() {
		out = append(out, pages.Rendition{Tag: rd.Tag, Name: rd.Name, Floor: rd.Floor})
		seen[strings.ToLower(rd.Tag)] = true
	}
	ed, ok := s.cues.(CueEditor)
	if !ok {
		return out
	}
	stored, err := ed.Languages(ctx, st.ev.ID())
	if err != nil {
		s.log.Error("editor: cue languages", "event", st.ev.ID(), "err", err)
		return out
	}
	for _, tag := range stored {
		if seen[strings.ToLower(tag)] {
			continue
		}
		seen[strings.ToLower(tag)] = true
		rd := pages.Rendition{Tag: tag}
		if r, ok := captionLanguage(st.ev, tag); ok {
			rd.Name, rd.Floor = r.Name, r.Floor
		}
		if l, ok := locales.LookupLanguage(tag); ok && rd.Name == "" {
			rd.Name = l.Native
		}
		out = append(out, rd)
	}
	return out
}

const (
	// levelStep is the span of one level: 100 ms of 48 kHz samples.
	levelStep = audio.SampleRate / 10
	// levelBlock is what is computed and cached at once: 60 s.
	levelBlock = 600 * levelStep
	// maxLevelSpan bounds one request: 2 minutes.
	maxLevelSpan = 2 * levelBlock
	// maxLevelBlocks bounds the cache: about 68 hours of one language's
	// levels, under 3 MB.
	maxLevelBlocks = 4096
	// noLevel marks 100 ms with nothing recorded.
	noLevel = math.MinInt8
	// silentLevel is the floor of the scale, dBFS.
	silentLevel = -90
)

// levelCache keeps computed blocks of levels; its zero value is empty and
// ready. Only blocks of recorded audio that can no longer change are kept.
type levelCache struct {
	mu     sync.Mutex
	blocks map[string][]int8
	order  []string // oldest first, for eviction
}

func (c *levelCache) get(key string) ([]int8, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.blocks[key]
	return b, ok
}

func (c *levelCache) put(key string, b []int8) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.blocks == nil {
		c.blocks = map[string][]int8{}
	}
	if _, ok := c.blocks[key]; ok {
		return
	}
	for len(c.order) >= maxLevelBlocks {
		delete(c.blocks, c.order[0])
		c.order = c.order[1:]
	}
	c.blocks[key] = b
	c.order = append(c.order, key)
}

// LevelsJSON is the answer of the levels route.
type LevelsJSON struct {
	// StepMS is the span of one level (100); FromMS the run time of the
	// first, ToMS the end of the last.
	StepMS int64 `json:"step_ms"`
	FromMS int64 `json:"from_ms"`
	ToMS   int64 `json:"to_ms"`
	// EndMS is where the run's recorded audio ends now.
	EndMS int64 `json:"end_ms"`
	// Levels are RMS levels in whole dBFS, -90 (or less: silence) to 0;
	// null where nothing was recorded.
	Levels []*int `json:"levels"`
}

// handleLevels serves GET /api/events/{event}/recordings/{run}/levels/{lang}
// ?from_ms=&to_ms=: the RMS level of every 100 ms of one language of a run,
// from its recorded Opus, in run time (the VOD's time, 0 at the run's
// program time zero). At most 2 minutes per request.
func (s *Server) handleLevels(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	if !s.exportAccess(w, r, st.ev.ID()) {
		return
	}
	q := r.URL.Query()
	var from, to int64 = 0, -1
	for _, p := range []struct {
		name string
		dst  *int64
	}{{"from_ms", &from}, {"to_ms", &to}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || n > maxEditMS {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q: want milliseconds, 0 or more", p.name, v))
				return
			}
			*p.dst = n
		}
	}
	if to < 0 {
		to = from + maxLevelSpan/samplesPerMS
	}
	from = from * samplesPerMS / levelStep * levelStep
	to = (to*samplesPerMS + levelStep - 1) / levelStep * levelStep
	if to <= from || to-from > maxLevelSpan {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("from_ms and to_ms: want a range of 100 ms to %d s", maxLevelSpan/audio.SampleRate))
		return
	}
	lib := st.ev.Recordings()
	if lib == nil {
		writeError(w, http.StatusNotFound, "this server keeps no recordings")
		return
	}
	run, lang := r.PathValue("run"), r.PathValue("lang")
	rd, err := lib.Open(st.ev.ID(), run)
	if errors.Is(err, recording.ErrNotFound) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("event %q has no recording %q", st.ev.ID(), run))
		return
	}
	if err != nil {
		s.log.Error("levels: open run", "event", st.ev.ID(), "run", run, "err", err)
		writeError(w, http.StatusInternalServerError, "the recording cannot be read")
		return
	}
	defer rd.Close()
	var track recording.Track
	for _, t := range rd.Tracks() {
		if t.Kind == fmp4.Audio && strings.EqualFold(t.Lang, lang) {
			track = t
		}
	}
	if track.ID == 0 {
		writeError(w, http.StatusNotFound, fmt.Sprintf("recording %q has no audio in %q", run, lang))
		return
	}
	_, end := rd.Range()
	out := LevelsJSON{StepMS: levelStep / samplesPerMS, FromMS: from / samplesPerMS, ToMS: to / samplesPerMS,
		EndMS: max(end, 0) / samplesPerMS, Levels: make([]*int, 0, (to-from)/levelStep)}
	final := rd.Finalized()
	for b := from / levelBlock; b*levelBlock < to; b++ {
		key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", st.ev.ID(), run, track.Lang, b)
		lv, ok := s.levels.get(key)
		if !ok {
			if lv, err = blockLevels(rd, track.ID, b*levelBlock); err != nil {
				s.log.Error("levels", "event", st.ev.ID(), "run", run, "lang", lang, "err", err)
				writeError(w, http.StatusInternalServerError, "the recording cannot be read")
				return
			}
			if final || (b+1)*levelBlock <= end {
				s.levels.put(key, lv)
			}
		}
		for i, v := range lv {
			t := b*levelBlock + int64(i)*levelStep
			if t < from || t >= to {
				continue
			}
			if v == noLevel {
				out.Levels = append(out.Levels, nil)
			} else {
				n := int(v)
				out.Levels = append(out.Levels, &n)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// blockLevels decodes the block of levelBlock samples at start of an Opus
// track and measures each levelStep: RMS in whole dBFS (silentLevel at
// least), noLevel where no packet was recorded. Decoding starts one step
// early, so the decoder has settled by the block's first level.
func blockLevels(rd *recording.Reader, track uint32, start int64) ([]int8, error) {
	pkts, err := rd.Packets(track, max(start-levelStep, 0), start+levelBlock)
	if err != nil {
		return nil, err
	}
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	n := levelBlock / levelStep
	sum := make([]float64, n)
	count := make([]int, n)
	pcm := make([]float32, 120*samplesPerMS) // Opus's longest packet
	for _, p := range pkts {
		got, err := dec.DecodeFloat32(p.Data, pcm)
		if err != nil {
			continue // a damaged packet: its time reads as not recorded
		}
		for i, v := range pcm[:got] {
			at := p.PTS + int64(i) - start
			if at < 0 || at >= levelBlock {
				continue // the decoder's run-up, or past the block
			}
			k := at / levelStep
			sum[k] += float64(v) * float64(v)
			count[k]++
		}
	}
	out := make([]int8, n)
	for k := range out {
		if count[k] == 0 {
			out[k] = noLevel
			continue
		}
		db := silentLevel
		if ms := sum[k] / float64(count[k]); ms > 0 {
			db = max(silentLevel, min(0, int(math.Round(10*math.Log10(ms)))))
		}
		out[k] = int8(db)
	}
	return out, nil
}
