package hls

import (
	"bytes"
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
	"tolk/internal/media"
	"tolk/internal/recording"
)

// VOD serves the recorded runs of events (internal/recording) as HLS video
// on demand: the same AUDIO and SUBTITLES renditions as the live master
// playlist, cut from the recorded Opus packets without re-encoding, and
// WebVTT built from the edited cues at request time. A run still being
// recorded is an EVENT playlist that grows with the file.
//
// Naming, relative to /vod/:
//
//	{event}/{run}/master.m3u8             multivariant playlist
//	{event}/{run}/{lang}/index.m3u8       media playlist of a language
//	{event}/{run}/{lang}/init.mp4         its initialization section
//	{event}/{run}/{lang}/seg{N}.m4s       media segment N
//	{event}/{run}/subs/{lang}/index.m3u8  subtitle playlist of a caption language
//	{event}/{run}/subs/{lang}/seg{N}.vtt  WebVTT segment N
//
// Segment N covers program time [N·S, (N+1)·S) of the run's audio, S the
// segment duration, in every language and in the captions, so renditions
// line up and a seek lands on the same span in each. Fragment decode times
// are program time, as live, and each WebVTT segment maps program time zero
// (X-TIMESTAMP-MAP MPEGTS:0) onto it.
//
// Reading a segment reads only the recording's fragments it covers: the
// Reader's fragment index locates them, so a seek anywhere in a twelve-hour
// run costs a few small reads. Open runs are kept (at most MaxOpen, least
// recently used closed first), and a finished run's segments are cached
// (CacheBytes, least recently used dropped first).
type VOD struct {
	opts   VODOptions
	seg    int64 // segment length, samples
	builds chan struct{}

	mu     sync.Mutex
	runs   map[string]*vodRun
	lru    *list.List // of *vodRun, most recently used first
	closed bool

	cache *byteCache
	inits sync.Map // lang → init section

	stats vodStats
}

// VODOptions configure a VOD.
type VODOptions struct {
	// Open opens a run of an event for reading (recording.Library.Open);
	// an error matching recording.ErrNotFound answers 404.
	Open func(event, run string) (*recording.Reader, error)
	// Cues returns the current (edited) cues of a language of an event
	// that overlap [from, to) of recording time (store.Store.Cues). Nil:
	// the captions recorded in the run file.
	Cues func(ctx context.Context, event, lang string, from, to int64) ([]media.Cue, error)
	// SegmentDuration is the length of a media segment, a whole number of
	// seconds (default 6 s, at most a minute).
	SegmentDuration time.Duration
	// CacheBytes bounds the cached segments of finished runs (default
	// 64 MiB; negative caches nothing).
	CacheBytes int64
	// MaxOpen bounds the runs kept open (default 16).
	MaxOpen int
	// MaxBuilds bounds the segments built at once (default 4); further
	// requests wait for one to finish.
	MaxBuilds int
	// Refresh is how often a run still being recorded is looked at again
	// for new fragments (default 1 s: the recorder writes one a second).
	Refresh time.Duration
	// Now is the wall clock (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// DefaultVODSegment is the default VOD segment duration.
const DefaultVODSegment = 6 * time.Second

// NewVOD returns a VOD server.
func NewVOD(opts VODOptions) (*VOD, error) {
	if opts.Open == nil {
		return nil, errors.New("vod: no way to open runs")
	}
	if opts.SegmentDuration == 0 {
		opts.SegmentDuration = DefaultVODSegment
	}
	if opts.SegmentDuration <= 0 || opts.SegmentDuration%time.Second != 0 || opts.SegmentDuration > time.Minute {
		return nil, fmt.Errorf("vod: segment duration %v is not a whole number of seconds up to a minute", opts.SegmentDuration)
	}
	if opts.CacheBytes == 0 {
		opts.CacheBytes = 64 << 20
	}
	if opts.MaxOpen <= 0 {
		opts.MaxOpen = 16
	}
	if opts.MaxBuilds <= 0 {
		opts.MaxBuilds = 4
	}
	if opts.Refresh <= 0 {
		opts.Refresh = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &VOD{
		opts:   opts,
		seg:    audio.Samples(opts.SegmentDuration),
		builds: make(chan struct{}, opts.MaxBuilds),
		runs:   map[string]*vodRun{},
		lru:    list.New(),
		cache:  newByteCache(max(opts.CacheBytes, 0)),
	}, nil
}

// Close closes every open run; runs being read close when their requests
// end. Requests after Close are answered 503.
func (v *VOD) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	for e := v.lru.Front(); e != nil; e = e.Next() {
		v.forget(e.Value.(*vodRun))
	}
	v.lru.Init()
	v.cache.clear()
}

// VODStats counts what a VOD did.
type VODStats struct {
	Requests, NotFound uint64
	// Opens counts run files opened and indexed; Refreshes the looks at a
	// run being recorded for new fragments.
	Opens, Refreshes uint64
	// Builds counts segments built (audio from a run file, WebVTT from the
	// cues), CacheHits finished runs' segments served from the cache, and
	// BuildWaits builds that waited for one of MaxBuilds to finish.
	Builds, CacheHits, BuildWaits uint64
	CacheBytes                    int64
	OpenRuns                      int
}

type vodStats struct {
	requests, notFound, opens, refreshes, builds, hits, waits atomic.Uint64
}

// Stats returns the counters.
func (v *VOD) Stats() VODStats {
	v.mu.Lock()
	n := len(v.runs)
	v.mu.Unlock()
	s := &v.stats
	return VODStats{Requests: s.requests.Load(), NotFound: s.notFound.Load(), Opens: s.opens.Load(),
		Refreshes: s.refreshes.Load(), Builds: s.builds.Load(), CacheHits: s.hits.Load(),
		CacheBytes: v.cache.size(), OpenRuns: n, BuildWaits: s.waits.Load()}
}

// ---- open runs ---------------------------------------------------------

// vodRun is one open run, shared by the requests that read it.
type vodRun struct {
	key   string
	ready chan struct{} // closed once r (or err) is set
	r     *recording.Reader
	err   error
	elem  *list.Element
	refs  int  // requests using it (VOD.mu)
	gone  bool // no longer in the VOD: closed when refs reach 0 (VOD.mu)

	mu      sync.Mutex   // serialises looks at a growing file
	checked atomic.Int64 // wall clock of the last look, unix ns
	view    atomic.Pointer[runView]
}

var errVODClosed = errors.New("vod closed")

// acquire returns the open run, opening it if need be; release it after.
// Concurrent requests for a run that is being opened wait for that one
// open rather than scan the file again.
func (v *VOD) acquire(ctx context.Context, event, id string) (*vodRun, error) {
	key := event + "/" + id
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil, errVODClosed
	}
	run := v.runs[key]
	if run != nil {
		run.refs++
		v.lru.MoveToFront(run.elem)
		v.mu.Unlock()
		select {
		case <-run.ready:
		case <-ctx.Done():
			v.release(run)
			return nil, ctx.Err()
		}
		if run.err != nil {
			v.release(run)
			return nil, run.err
		}
		return run, nil
	}
	run = &vodRun{key: key, ready: make(chan struct{}), refs: 1}
	run.elem = v.lru.PushFront(run)
	v.runs[key] = run
	for v.lru.Len() > v.opts.MaxOpen {
		old := v.lru.Back().Value.(*vodRun)
		v.lru.Remove(old.elem)
		v.forget(old)
	}
	v.mu.Unlock()

	r, err := v.opts.Open(event, id)
	run.r, run.err = r, err
	if err == nil {
		v.stats.opens.Add(1)
		_, err = run.current(v)
		run.err = err
	}
	close(run.ready)
	if err != nil {
		v.mu.Lock()
		if v.runs[key] == run {
			v.lru.Remove(run.elem)
			v.forget(run)
		}
		v.mu.Unlock()
		v.release(run)
		return nil, err
	}
	return run, nil
}

// forget takes a run out of the map (the caller holds v.mu and has taken
// it off the list); it closes once its last request ends.
func (v *VOD) forget(run *vodRun) {
	if v.runs[run.key] == run {
		delete(v.runs, run.key)
	}
	run.gone = true
	if run.refs == 0 && run.r != nil {
		_ = run.r.Close()
	}
}

func (v *VOD) release(run *vodRun) {
	v.mu.Lock()
	defer v.mu.Unlock()
	run.refs--
	if run.gone && run.refs == 0 && run.r != nil {
		_ = run.r.Close()
	}
}

// current returns the run as it is now: a finished run's view for good, a
// growing run's looked at again once Refresh has passed.
func (run *vodRun) current(v *VOD) (*runView, error) {
	now := v.opts.Now()
	fresh := func(vw *runView) bool {
		return vw != nil && (vw.final || now.UnixNano()-run.checked.Load() < int64(v.opts.Refresh))
	}
	if vw := run.view.Load(); fresh(vw) {
		return vw, nil
	}
	run.mu.Lock()
	defer run.mu.Unlock()
	vw := run.view.Load()
	if fresh(vw) {
		return vw, nil
	}
	if vw != nil {
		v.stats.refreshes.Add(1)
		grew, err := run.r.Refresh()
		if err != nil {
			return nil, fmt.Errorf("refresh %s: %w", run.key, err)
		}
		if !grew && !run.r.Finalized() {
			run.checked.Store(now.UnixNano())
			return vw, nil
		}
	}
	nv := newRunView(run.r, v.seg)
	run.view.Store(nv)
	run.checked.Store(now.UnixNano())
	return nv, nil
}

// ---- what a run offers -------------------------------------------------

// runView is an immutable view of a run: its renditions and segments as
// they were at one look. Playlists are rendered on first use.
type runView struct {
	meta       recording.Meta
	audio      []AudioRendition
	subs       []SubtitleRendition
	tracks     map[string]recording.Track // audio by rendition id
	captions   map[string]recording.Track // captions by language
	start, end int64                      // the audio's program time
	final      bool
	seg        int64
	first      int64 // first segment listed
	last       int64 // last segment listed; < first: none

	masterOnce, mediaOnce, subsOnce sync.Once
	master                          []byte
	masterErr                       error
	media, subsPL                   []byte
}

func newRunView(r *recording.Reader, seg int64) *runView {
	vw := &runView{meta: r.Meta(), final: r.Finalized(), seg: seg, tracks: map[string]recording.Track{},
		captions: map[string]recording.Track{}}
	vw.start, vw.end = r.Range()
	vw.first, vw.last = 0, -1
	if vw.start >= 0 && vw.end > vw.start {
		vw.first = vw.start / seg
		if vw.final {
			vw.last = (vw.end - 1) / seg
		} else {
			vw.last = vw.end/seg - 1 // whole segments only: they never change
		}
	}
	bitrate := peakBitrate(r.Fragments())
	seen := map[string]bool{}
	seenSubs := map[string]bool{}
	def := -1
	for _, t := range r.Tracks() {
		name := playlistName(t.Name, t.Lang)
		switch t.Kind {
		case fmp4.Audio:
			if validateMedia("rendition", t.Lang, name, t.Lang, seen) != nil {
				continue // not a name we can serve; the others still play
			}
			if t.Floor && def < 0 {
				def = len(vw.audio)
			}
			vw.audio = append(vw.audio, AudioRendition{ID: t.Lang, Name: name, Language: t.Lang,
				Translation: !t.Floor, Bitrate: bitrate})
			vw.tracks[t.Lang] = t
		case fmp4.Text:
			if validateMedia("subtitle", "cc-"+t.Lang, name, t.Lang, seenSubs) != nil || !validID(t.Lang) {
				continue
			}
			vw.subs = append(vw.subs, SubtitleRendition{ID: "cc-" + t.Lang, Name: name, Language: t.Lang,
				Default: t.Floor, URI: vodSubsDir + "/" + t.Lang + "/index.m3u8"})
			vw.captions[t.Lang] = t
		}
	}
	if len(vw.audio) > 0 {
		// Exactly one default: the floor, or the first language.
		vw.audio[max(def, 0)].Default = true
	}
	return vw
}

// playlistName is a track's name as a quoted playlist attribute can hold it.
func playlistName(name, lang string) string {
	name = strings.Map(func(r rune) rune {
		if r == '"' || r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, strings.TrimSpace(name))
	if name == "" || len(name) > 256 {
		return lang
	}
	return name
}

// peakBitrate bounds the peak bit rate of any one language: the busiest
// whole fragment of all the tracks together (every language's share is at
// most that), in bits/s. BANDWIDTH may overstate, never understate.
func peakBitrate(frags []recording.Fragment) int {
	peak := int64(1)
	for _, f := range frags {
		d := f.End - f.Start
		if d < recording.FragmentSamples/2 {
			continue // a short first or last fragment: its header weighs too much
		}
		// The audio variants' bandwidth: a run's picture is not in them.
		peak = max(peak, (f.Size-f.VideoBytes)*8*audio.SampleRate/d)
	}
	return int(min(peak, 1<<31-1))
}

// segment returns the program time segment n covers, or false when the
// run does not list it.
func (vw *runView) segment(n int64) (from, to int64, ok bool) {
	if n < vw.first || n > vw.last {
		return 0, 0, false
	}
	return max(n*vw.seg, vw.start), min((n+1)*vw.seg, vw.end), true
}

func (vw *runView) masterPlaylist() ([]byte, error) {
	vw.masterOnce.Do(func() {
		if len(vw.audio) == 0 {
			vw.masterErr = errors.New("the run holds no audio")
			return
		}
		vw.master, vw.masterErr = MasterPlaylist(vw.audio, vw.subs, audio.Duration(vw.seg))
	})
	return vw.master, vw.masterErr
}

// mediaPlaylist is every language's media playlist: the URIs are relative
// to it, so all languages share one rendering.
func (vw *runView) mediaPlaylist() []byte {
	vw.mediaOnce.Do(func() { vw.media = vw.renderPlaylist(".m4s", true) })
	return vw.media
}

func (vw *runView) subtitlePlaylist() []byte {
	vw.subsOnce.Do(func() { vw.subsPL = vw.renderPlaylist(".vtt", false) })
	return vw.subsPL
}

// renderPlaylist writes a media playlist of the run's segments: VOD with
// EXT-X-ENDLIST once the run is finished, EVENT (segments only added)
// while it is recorded. One EXT-X-PROGRAM-DATE-TIME dates the first
// segment from the run's epoch; the others follow without a gap.
func (vw *runView) renderPlaylist(ext string, init bool) []byte {
	n := max(vw.last-vw.first+1, 0)
	b := make([]byte, 0, 256+n*int64(24+len(ext)))
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, playlistVersion, 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, targetSeconds(vw.seg), 10)
	if vw.final {
		b = append(b, "\n#EXT-X-PLAYLIST-TYPE:VOD"...)
	} else {
		b = append(b, "\n#EXT-X-PLAYLIST-TYPE:EVENT"...)
	}
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, vw.first, 10)
	b = append(b, '\n')
	if init {
		b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n#EXT-X-MAP:URI=\"init.mp4\"\n"...)
	}
	for k := vw.first; k <= vw.last; k++ {
		from, to, _ := vw.segment(k)
		if k == vw.first {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = appendDate(b, vw.meta.Epoch.Add(audio.Duration(from)))
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, to-from)
		b = append(b, ",\nseg"...)
		b = strconv.AppendInt(b, k, 10)
		b = append(b, ext...)
		b = append(b, '\n')
	}
	if vw.final {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}

// ---- HTTP ---------------------------------------------------------------

// ServeHTTP serves a path relative to /vod/ (see VOD). Unknown runs,
// languages and segments, and paths the VOD does not write, are 404 with
// {"error"}.
func (v *VOD) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.stats.requests.Add(1)
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
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	p, err := parseVODPath(r.URL.Path)
	if err != nil {
		v.notFound(w, "not found")
		return
	}
	run, err := v.acquire(r.Context(), p.event, p.run)
	switch {
	case errors.Is(err, recording.ErrNotFound):
		v.notFound(w, "no recording "+p.run+" of event "+p.event)
		return
	case errors.Is(err, errVODClosed):
		writeError(w, http.StatusServiceUnavailable, "shutting down")
		return
	case r.Context().Err() != nil:
		return // the client went away while the run was opened
	case err != nil:
		v.opts.Log.Error("vod: open run", "event", p.event, "run", p.run, "err", err)
		writeError(w, http.StatusInternalServerError, "the recording cannot be read")
		return
	}
	defer v.release(run)
	vw, err := run.current(v)
	if err != nil {
		v.opts.Log.Error("vod: read run", "event", p.event, "run", p.run, "err", err)
		writeError(w, http.StatusInternalServerError, "the recording cannot be read")
		return
	}
	// While recorded, the playlists grow by whole segments: short-lived,
	// as live ones. Whole segments never change, so they are immutable
	// from the start.
	playlistCache := hdrLivePlaylist
	if vw.final {
		playlistCache = hdrFinished
	}
	switch p.kind {
	case vodMaster:
		b, err := vw.masterPlaylist()
		if err != nil {
			v.notFound(w, "recording "+p.run+" has no audio yet")
			return
		}
		writeBody(w, r, hdrPlaylist, playlistCache, b)
	case vodPlaylist, vodInit, vodSegment:
		t, ok := vw.tracks[p.lang]
		if !ok {
			v.notFound(w, "recording "+p.run+" has no language "+p.lang)
			return
		}
		switch p.kind {
		case vodPlaylist:
			writeBody(w, r, hdrPlaylist, playlistCache, vw.mediaPlaylist())
		case vodInit:
			b, err := v.init(p.lang)
			if err != nil {
				writeError(w, http.StatusInternalServerError, err.Error())
				return
			}
			writeMediaBody(w, r, b)
		default:
			v.serveSegment(w, r, run, vw, t, p)
		}
	case vodSubs, vodCues:
		t, ok := vw.captions[p.lang]
		if !ok {
			v.notFound(w, "recording "+p.run+" has no captions in "+p.lang)
			return
		}
		if p.kind == vodSubs {
			writeBody(w, r, hdrPlaylist, playlistCache, vw.subtitlePlaylist())
			return
		}
		v.serveCues(w, r, run, vw, t, p)
	}
}

var (
	// hdrFinished: a finished run's playlists change only if the run is
	// deleted; a day keeps a cache from serving a deleted run for long, and
	// immutable keeps players from asking again meanwhile.
	hdrFinished = []string{"public, max-age=86400, immutable"}
	hdrVTT      = []string{"text/vtt; charset=utf-8"}
)

func (v *VOD) notFound(w http.ResponseWriter, msg string) {
	v.stats.notFound.Add(1)
	writeError(w, http.StatusNotFound, msg)
}

func (v *VOD) init(lang string) ([]byte, error) {
	if b, ok := v.inits.Load(lang); ok {
		return b.([]byte), nil
	}
	b, err := initSegment(lang)
	if err != nil {
		return nil, err
	}
	v.inits.Store(lang, b)
	return b, nil
}

// build runs fn as one of at most MaxBuilds builds; false when the client
// left while waiting.
func (v *VOD) build(ctx context.Context, fn func()) bool {
	select {
	case v.builds <- struct{}{}:
	default:
		v.stats.waits.Add(1)
		select {
		case v.builds <- struct{}{}:
		case <-ctx.Done():
			return false
		}
	}
	defer func() { <-v.builds }()
	v.stats.builds.Add(1)
	fn()
	return true
}

func (v *VOD) serveSegment(w http.ResponseWriter, r *http.Request, run *vodRun, vw *runView, t recording.Track, p vodPath) {
	from, to, ok := vw.segment(p.seg)
	if !ok {
		v.notFound(w, "no segment "+strconv.FormatInt(p.seg, 10))
		return
	}
	key := p.String()
	if vw.final {
		if b, ok := v.cache.get(key); ok {
			v.stats.hits.Add(1)
			writeMediaBody(w, r, b)
			return
		}
	}
	var b []byte
	var err error
	if !v.build(r.Context(), func() { b, err = audioSegment(run.r, t.ID, p.seg, from, to) }) {
		return
	}
	if err != nil {
		v.opts.Log.Error("vod: build segment", "path", key, "err", err)
		writeError(w, http.StatusInternalServerError, "the segment cannot be read")
		return
	}
	if vw.final {
		v.cache.put(key, b)
	}
	writeMediaBody(w, r, b)
}

// audioSegment cuts segment n, [from, to) of program time, of an audio
// track: the recorded packets as they are, on the 20 ms grid, with silence
// where the recording has none, as one fragment.
func audioSegment(r *recording.Reader, track uint32, n, from, to int64) ([]byte, error) {
	pkts, err := r.Packets(track, from, to)
	if err != nil {
		return nil, err
	}
	frames := (to - from) / audio.FrameSamples
	sizes := make([]uint32, 0, frames)
	size := 0
	for _, p := range pkts {
		size += len(p.Data)
	}
	data := make([]byte, 0, size+len(silenceFrame)*4)
	add := func(p []byte) {
		sizes = append(sizes, uint32(len(p)))
		data = append(data, p...)
	}
	pos := from
	for _, p := range pkts {
		if p.PTS < pos || pos+audio.FrameSamples > to {
			continue // overlaps what is placed (never in a recording tolk wrote)
		}
		for ; p.PTS-pos >= audio.FrameSamples && pos+audio.FrameSamples <= to; pos += audio.FrameSamples {
			add(silenceFrame)
		}
		if pos+audio.FrameSamples > to {
			break
		}
		add(p.Data)
		pos += audio.FrameSamples
	}
	for ; pos+audio.FrameSamples <= to; pos += audio.FrameSamples {
		add(silenceFrame)
	}
	if len(sizes) == 0 {
		add(silenceFrame) // a run shorter than a frame: still a valid segment
	}
	// The fragment sequence number follows the segment number (wraps after
	// 2^32 segments, centuries of them).
	return fragment(uint32(n+1), from, sizes, data)
}

func (v *VOD) serveCues(w http.ResponseWriter, r *http.Request, run *vodRun, vw *runView, t recording.Track, p vodPath) {
	from, to, ok := vw.segment(p.seg)
	if !ok {
		v.notFound(w, "no segment "+strconv.FormatInt(p.seg, 10))
		return
	}
	var cues []media.Cue
	var err error
	if !v.build(r.Context(), func() {
		if v.opts.Cues != nil {
			// The store's cues are in recording time: the run's program
			// time plus its offset.
			off := vw.meta.Offset
			cues, err = v.opts.Cues(r.Context(), p.event, t.Lang, off+from, off+to)
			for i := range cues {
				cues[i].Start -= off
				cues[i].End -= off
			}
			return
		}
		cues, err = run.r.Cues(t.ID, from, to)
	}) {
		return
	}
	if err != nil {
		v.opts.Log.Error("vod: read cues", "path", p.String(), "err", err)
		writeError(w, http.StatusInternalServerError, "the captions cannot be read")
		return
	}
	// Edits show at once: the segment is built for each request, and
	// caches must ask again.
	writeBody(w, r, hdrVTT, hdrNoCache, vttSegment(cues))
}

// vttSegment writes a WebVTT segment of cues in program time; the
// X-TIMESTAMP-MAP puts program time zero at media time zero, as the live
// renditions do.
func vttSegment(cues []media.Cue) []byte {
	var b strings.Builder
	b.WriteString("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n")
	for _, c := range cues {
		text := vttEscape(cleanCueText(c.Text))
		start := max(c.Start, 0)
		if text == "" || c.End <= start {
			continue
		}
		b.WriteString(vttTime(start))
		b.WriteString(" --> ")
		b.WriteString(vttTime(c.End))
		b.WriteByte('\n')
		b.WriteString(text)
		b.WriteString("\n\n")
	}
	return []byte(b.String())
}

// vttEscape escapes what WebVTT cue text reads as markup: an editor's "<"
// or "&" shows as typed.
var vttEscape = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace

// writeBody sends a body with its type and caching.
func writeBody(w http.ResponseWriter, r *http.Request, ctype, cache []string, body []byte) {
	h := w.Header()
	h["Content-Type"] = ctype
	h["Cache-Control"] = cache
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// writeMediaBody sends fMP4 that never changes under its name; a Range
// request goes through http.ServeContent.
func writeMediaBody(w http.ResponseWriter, r *http.Request, body []byte) {
	if _, ok := r.Header["Range"]; ok {
		h := w.Header()
		h["Content-Type"] = hdrMP4
		h["Cache-Control"] = hdrImmutable
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
		return
	}
	writeBody(w, r, hdrMP4, hdrImmutable, body)
}

// ---- segment cache -----------------------------------------------------

// byteCache keeps byte slices by key up to a total size, dropping the least
// recently used.
type byteCache struct {
	limit int64
	mu    sync.Mutex
	total int64
	items map[string]*list.Element
	order *list.List // of *cacheItem, most recent first
}

type cacheItem struct {
	key  string
	data []byte
}

func newByteCache(limit int64) *byteCache {
	return &byteCache{limit: limit, items: map[string]*list.Element{}, order: list.New()}
}

func (c *byteCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*cacheItem).data, true
}

func (c *byteCache) put(key string, data []byte) {
	n := int64(len(data)) + int64(len(key))
	if n > c.limit {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.order.PushFront(&cacheItem{key, data})
	c.total += n
	for c.total > c.limit {
		e := c.order.Back()
		it := e.Value.(*cacheItem)
		c.order.Remove(e)
		delete(c.items, it.key)
		c.total -= int64(len(it.data)) + int64(len(it.key))
	}
}

func (c *byteCache) size() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.total
}

func (c *byteCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = map[string]*list.Element{}
	c.order.Init()
	c.total = 0
}
