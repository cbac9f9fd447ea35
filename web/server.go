// Package web is tolk's HTTP face: the pages, WHIP floor ingest, WHEP
// listeners, the LL-HLS tree, the JSON API, /metrics and /healthz.
package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"tolk/internal/rtc"
	"tolk/locales"
	"tolk/web/hls"
	"tolk/web/pages"
)

// Options configure a Server.
type Options struct {
	Log *slog.Logger
	RTC rtc.Options
	// MaxListeners bounds WHEP sessions per event (default 5000).
	MaxListeners int
	// Tokens checks interpreter, producer and editor tokens; without it
	// booths refuse everyone.
	Tokens Tokens
	// Cues reads the stored captions for export; without it export
	// requests fail with 503.
	Cues CueReader
	// AccessKey signs viewers' access sessions to closed events (at least
	// 16 bytes; store.Key keeps one in the data directory). Without it a
	// key is drawn for the process, and sessions end with it.
	AccessKey []byte
	// Origins are other sites (scheme://host[:port]) whose pages may open
	// the WebSockets and post the passcode forms; the server's own pages
	// always may.
	Origins []string
}

// Server serves every event it has been given.
type Server struct {
	log  *slog.Logger
	api  *webrtc.API
	cert webrtc.Certificate
	maxL int
	reg  *prometheus.Registry
	mux  *http.ServeMux
	// patterns are the routes registered on mux, in order (Routes).
	patterns []string
	// origins are Options.Origins, lower-cased (sameOrigin).
	origins map[string]bool
	mu      sync.Mutex
	events  map[string]*eventState
	closed  bool
	tokens  Tokens
	cues    CueReader
	// sessions counts running booth sessions, so Close can wait for them.
	sessions sync.WaitGroup
	wsConns  map[*websocket.Conn]struct{}
	// live are the sessions open with each token, which revoking it ends.
	live liveSessions
	// gate checks viewers of closed events (access.go).
	gate *viewerGate
	// vod serves recorded runs as HLS VOD (replay.go).
	vod *hls.VOD
	// levels keeps the caption editor's audio levels (editor.go).
	levels levelCache
	// quit stops the server's own goroutines (the revocation watcher);
	// bg waits for them.
	quit chan struct{}
	bg   sync.WaitGroup
}

// eventState is what the server keeps beside an event: its WebRTC sessions.
type eventState struct {
	ev      Event
	whip    *whipIngest
	langs   map[string]*whepLang
	links   linkRegistry   // the booths' microphones and links now
	viewers viewerRegistry // what the players report
	status  *statusHub     // the status every console reads
	access  eventAccess    // who may watch: public, or a passcode and tokens
	hlsReqs hlsRequests    // HLS requests that reached this server, by kind
	// consoleDropped counts statuses replaced by a newer one before a slow
	// console took them.
	consoleDropped atomic.Uint64
}

// New returns a server with no events.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.MaxListeners <= 0 {
		opts.MaxListeners = 5000
	}
	api, err := rtc.NewAPI(opts.RTC)
	if err != nil {
		return nil, err
	}
	// One DTLS certificate for every session: generating one per peer costs
	// more than the rest of a listener's setup.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("dtls key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("dtls certificate: %w", err)
	}
	s := &Server{
		log:     opts.Log,
		api:     api,
		cert:    *cert,
		maxL:    opts.MaxListeners,
		reg:     prometheus.NewRegistry(),
		events:  map[string]*eventState{},
		tokens:  opts.Tokens,
		cues:    opts.Cues,
		wsConns: map[*websocket.Conn]struct{}{},
		quit:    make(chan struct{}),
		gate:    newViewerGate(opts.AccessKey),
		origins: allowedOrigins(opts.Origins),
	}
	if s.vod, err = s.newVOD(); err != nil {
		return nil, err
	}
	if s.tokens != nil {
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.watchRevocations(s.quit)
		}()
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collector{s})
	s.routes()
	return s, nil
}

// AddEvent makes an event reachable. Its outputs are its own (the event
// attaches every reader); the server adds the sessions that take them.
func (s *Server) AddEvent(ev Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.events[ev.ID()]; dup {
		return fmt.Errorf("event %q already served", ev.ID())
	}
	st := &eventState{ev: ev, langs: map[string]*whepLang{}}
	if cfg := ev.Config(); cfg != nil {
		st.access = newEventAccess(cfg.Access)
	}
	for _, r := range ev.Renditions() {
		out, ok := ev.Listeners(r.Tag)
		if !ok {
			return fmt.Errorf("event %q has no listener track for %q", ev.ID(), r.Tag)
		}
		st.langs[r.Tag] = newWhepLang(out)
	}
	st.status = newStatusHub(s, st)
	s.events[ev.ID()] = st
	return nil
}

// Close ends every WebRTC session. Events, and their outputs, are closed by
// their owner.
func (s *Server) Close() {
	s.mu.Lock()
	if !s.closed {
		close(s.quit)
	}
	s.closed = true
	evs := s.events
	s.events = map[string]*eventState{}
	for ws := range s.wsConns {
		_ = ws.Close() // the session notices, leaves its booth and ends
	}
	s.mu.Unlock()
	s.bg.Wait()
	s.sessions.Wait()
	s.closeVOD()
	for _, st := range evs {
		if st.whip != nil {
			st.whip.close()
		}
		for _, l := range st.langs {
			l.close()
		}
		st.status.close()
	}
}

// ServeHTTP routes a request, every answer carrying the security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header(), r)
	s.mux.ServeHTTP(w, s.withOrigins(r))
}

// Routes lists the patterns the server answers (as http.ServeMux takes
// them), in the order they were registered. The role matrix test walks it, so
// a new route cannot go untested.
func (s *Server) Routes() []string { return slices.Clone(s.patterns) }

// routeMux is an http.ServeMux that remembers the patterns registered on it.
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers h for pattern.
func (m *routeMux) Handle(pattern string, h http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers f for pattern.
func (m *routeMux) HandleFunc(pattern string, f func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(f))
}

func (s *Server) routes() {
	m := &routeMux{ServeMux: http.NewServeMux()}
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("GET /healthz", s.handleHealth)
	m.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	m.Handle("GET /static/", http.StripPrefix("/static", pages.Static()))
	m.HandleFunc("GET /watch/{event}", s.handleWatch)
	m.HandleFunc("POST /watch/{event}", s.handleWatchPasscode)
	m.HandleFunc("GET /replay/{event}", s.handleReplay)
	m.HandleFunc("POST /replay/{event}", s.handleReplayPasscode)
	m.HandleFunc("GET /api/events/{event}/replays", s.handleReplays)
	m.HandleFunc("/vod/{event}/{rest...}", s.handleVOD)
	m.HandleFunc("GET /api/events/{event}", s.handleEventInfo)
	m.HandleFunc("GET /api/events/{event}/access", s.handleAccessCheck)
	m.HandleFunc("POST /api/events/{event}/access", s.handleAccessLogin)
	m.HandleFunc("GET /api/events/{event}/booths", s.handleBooths)
	m.HandleFunc("GET /api/events/{event}/captions/{file}", s.handleExport)
	m.HandleFunc("GET /api/events/{event}/captions/live/{lang}", s.handleLiveCaptions)
	m.HandleFunc("GET /api/events/{event}/captions/{lang}/{list}", s.handleCaptionList)
	m.HandleFunc("POST /api/events/{event}/captions/{lang}/{action}", s.handleCaptionAction)
	m.HandleFunc("POST /api/events/{event}/captions/{lang}/cues", s.handleCueAdd)
	m.HandleFunc("PATCH /api/events/{event}/captions/{lang}/cues/{id}", s.handleCuePatch)
	m.HandleFunc("DELETE /api/events/{event}/captions/{lang}/cues/{id}", s.handleCueDelete)
	m.HandleFunc("GET /api/events/{event}/captions/{lang}/cues/{id}/versions", s.handleCueVersions)
	m.HandleFunc("POST /api/events/{event}/captions/{lang}/cues/{id}/{action}", s.handleCueAction)
	m.HandleFunc("POST /api/events/{event}/booths/{lang}", s.handleBoothSettings)
	m.HandleFunc("GET /api/events/{event}/status", s.handleStatus)
	m.HandleFunc("GET /api/events/{event}/recordings", s.handleRecordings)
	m.HandleFunc("GET /api/events/{event}/recordings/{run}/levels/{lang}", s.handleLevels)
	m.HandleFunc("PATCH /api/events/{event}/languages/{lang}", s.handleLanguagePatch)
	m.HandleFunc("GET /api/events/{event}/glossary", s.handleGlossaryGet)
	m.HandleFunc("PUT /api/events/{event}/glossary", s.handleGlossaryPut)
	m.HandleFunc("DELETE /api/events/{event}/glossary", s.handleGlossaryDelete)
	m.HandleFunc("GET /api/events/{event}/signals", s.handleSignals)
	m.HandleFunc("POST /api/events/{event}/viewers", s.handleViewerReport)
	m.HandleFunc("GET /api/events/{event}/tokens", s.handleTokens)
	m.HandleFunc("POST /api/events/{event}/tokens", s.handleCreateToken)
	m.HandleFunc("DELETE /api/events/{event}/tokens/{id}", s.handleRevokeToken)
	m.HandleFunc("POST /api/events/{event}/notices", s.handleNotice)
	m.HandleFunc("POST /api/events/{event}/floor", s.handleFloorSwitch)
	m.HandleFunc("GET /api/events/{event}/outputs", s.handlePushes)
	m.HandleFunc("POST /api/events/{event}/outputs/{id}/{action}", s.handlePushAction)
	m.HandleFunc("/hls/{event}/{rest...}", s.handleHLS)
	m.HandleFunc("POST /whip/{event}", s.keyGuarded(s.handleWHIPPost))
	m.HandleFunc("DELETE /whip/{event}/{id}", s.keyGuarded(s.handleWHIPDelete))
	m.HandleFunc("PATCH /whip/{event}/{id}", s.handleNoTrickle)
	m.HandleFunc("OPTIONS /whip/{event}", s.handleOptions)
	m.HandleFunc("GET /console/{event}", s.handleConsolePage)
	m.HandleFunc("GET /console/{event}/ws", s.handleConsoleWS)
	m.HandleFunc("GET /edit/{event}", s.handleEditPage)
	m.HandleFunc("GET /booth/{event}/{lang}", s.handleBoothPage)
	m.HandleFunc("GET /booth/{event}/{lang}/ws", s.handleBoothWS)
	m.HandleFunc("POST /whep/{event}/{lang}", s.handleWHEPPost)
	m.HandleFunc("DELETE /whep/{event}/{lang}/{id}", s.handleWHEPDelete)
	m.HandleFunc("PATCH /whep/{event}/{lang}/{id}", s.handleNoTrickle)
	m.HandleFunc("OPTIONS /whep/{event}/{lang}", s.handleOptions)
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such page: "+r.URL.Path)
	})
	s.mux, s.patterns = m.ServeMux, m.patterns
}

func (s *Server) event(id string) (*eventState, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.events[id]
	return st, ok
}

// lookup resolves the {event} path value or answers 404.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (*eventState, bool) {
	st, ok := s.event(r.PathValue("event"))
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no event %q", r.PathValue("event")))
	}
	return st, ok
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ids := make([]string, 0, len(s.events))
	for id := range s.events {
		ids = append(ids, id)
	}
	s.mu.Unlock()
	if len(ids) == 1 {
		http.Redirect(w, r, "/watch/"+ids[0], http.StatusFound)
		return
	}
	sort.Strings(ids)
	writeJSON(w, http.StatusOK, map[string]any{"events": ids})
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	type evHealth struct {
		ID    string `json:"id"`
		Ticks uint64 `json:"ticks"`
		Floor string `json:"floor"`
	}
	s.mu.Lock()
	out := []evHealth{}
	for id, st := range s.events {
		stats := st.ev.Stats()
		out = append(out, evHealth{ID: id, Ticks: stats.Ticks, Floor: st.ev.FloorState()})
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "events": out})
}

// RenditionInfo describes one language in the event API.
type RenditionInfo struct {
	Tag   string `json:"tag"`
	Name  string `json:"name"`
	Floor bool   `json:"floor"`
	WHEP  string `json:"whep"`
}

// EventInfo is the body of GET /api/events/{event}.
type EventInfo struct {
	ID         string          `json:"id"`
	Title      string          `json:"title"`
	HLS        string          `json:"hls"`
	Floor      string          `json:"floor"`
	Renditions []RenditionInfo `json:"renditions"`
	// Captions lists the languages with captions and their live feed.
	Captions []CaptionInfo `json:"captions"`
	// Access is absent for a public event; "passcode" when the viewer side
	// needs the passcode or a token, "token" when only a token opens it.
	Access string `json:"access,omitempty"`
	// Video is the floor's picture as the LL-HLS master lists it (codec,
	// size, frame rate); absent while it lists none (an audio-only floor,
	// or before the first video segment).
	Video *hls.VideoInfo `json:"video,omitempty"`
}

// videoLister is an event's LL-HLS tree that can say whether its master
// lists video (*hls.Muxer).
type videoLister interface {
	Video() (hls.VideoInfo, bool)
}

// eventVideo is the video the event's master playlist lists, if any.
func eventVideo(ev Event) *hls.VideoInfo {
	if v, ok := ev.HLS().(videoLister); ok {
		if info, ok := v.Video(); ok {
			return &info
		}
	}
	return nil
}

// CaptionInfo is one caption language in the event API.
type CaptionInfo struct {
	Tag  string `json:"tag"`
	Name string `json:"name"`
	Live string `json:"live"` // WebSocket path of the live cues
	// MachineTranslation marks captions that are the floor's,
	// machine-translated (captions.languages.X: translate).
	MachineTranslation bool `json:"machine_translation,omitempty"`
}

func (s *Server) info(st *eventState) EventInfo {
	ev := st.ev
	info := EventInfo{ID: ev.ID(), Title: ev.Title(), HLS: "/hls/" + ev.ID() + "/master.m3u8", Floor: ev.FloorState(),
		Access: st.access.mode(), Video: eventVideo(ev)}
	for _, r := range ev.Renditions() {
		info.Renditions = append(info.Renditions, RenditionInfo{Tag: r.Tag, Name: r.Name, Floor: r.Floor,
			WHEP: "/whep/" + ev.ID() + "/" + r.Tag})
	}
	info.Captions = []CaptionInfo{}
	for _, r := range ev.CaptionRenditions() {
		info.Captions = append(info.Captions, CaptionInfo{Tag: r.Tag, Name: r.Name,
			Live: "/api/events/" + ev.ID() + "/captions/live/" + r.Tag, MachineTranslation: r.MachineTranslated})
	}
	return info
}

func (s *Server) handleEventInfo(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, s.info(st))
}

func (s *Server) handleWatch(w http.ResponseWriter, r *http.Request) {
	st, ok := s.lookup(w, r)
	if !ok || !s.gatePage(w, r, st, watchPage) {
		return
	}
	ev := st.ev
	d := pages.WatchData{
		EventID: ev.ID(),
		Title:   ev.Title(),
		HLSURL:  "/hls/" + ev.ID() + "/master.m3u8",
		WHEPURL: "/whep/" + ev.ID() + "/{lang}",
		Locale:  locales.Match(r.Header.Get("Accept-Language"), r.URL.Query().Get("lang")),
		Video:   eventVideo(ev) != nil,
	}
	for _, rd := range ev.Renditions() {
		d.Renditions = append(d.Renditions, pages.Rendition{Tag: rd.Tag, Name: rd.Name, Floor: rd.Floor})
	}
	if c := ev.Config(); c.SFU.Watch != "" {
		// Low latency plays from the event's Janus mountpoints (config sfu.watch).
		d.Janus = &pages.JanusWatch{API: c.SFU.Watch, Mounts: map[string]int{}}
		for _, m := range c.JanusMounts() {
			d.Janus.Mounts[m.Lang] = m.ID
		}
	}
	d.Captions = []pages.Rendition{}
	for _, rd := range ev.CaptionRenditions() {
		d.Captions = append(d.Captions, pages.Rendition{Tag: rd.Tag, Name: rd.Name, Floor: rd.Floor,
			MachineTranslated: rd.MachineTranslated})
	}
	// A rebroadcast scheduled for later: the page says when it starts.
	if at, ok := ev.Config().Floor.StartTime(); ok && time.Now().Before(at) {
		if rb, ok := ev.(rebroadcaster); ok {
			if _, ok := rb.Rebroadcast(); ok {
				d.Starts = at
			}
		}
	}
	pages.Watch(w, r, d)
}

func (s *Server) handleHLS(w http.ResponseWriter, r *http.Request) {
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
	if s.serveSubtitles(w, r, st, r.PathValue("rest")) {
		return
	}
	st.ev.HLS().ServeHTTP(w, withPath(r, "/"+r.PathValue("rest")))
}

// withPath returns r for a sub-handler that serves path p. Like
// http.StripPrefix it copies only the request and its URL: the handlers below
// only read the headers, so cloning them (r.Clone) on every LL-HLS request
// would be waste.
func withPath(r *http.Request, p string) *http.Request {
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	r2.URL = &u
	return r2
}

func (s *Server) handleOptions(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, DELETE, PATCH, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Expose-Headers", "Location")
	h.Set("Accept-Post", "application/sdp")
	w.WriteHeader(http.StatusNoContent)
}

// handleNoTrickle answers PATCH: sessions are negotiated in one offer/answer
// with every candidate, so trickle ICE and ICE restarts are not offered.
func (s *Server) handleNoTrickle(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "DELETE, OPTIONS")
	writeError(w, http.StatusMethodNotAllowed, "trickle ICE and ICE restarts are not supported; start a new session")
}

// readSDP checks the content type and size of an SDP offer.
func readSDP(w http.ResponseWriter, r *http.Request) (string, bool) {
	ct := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0])
	if !strings.EqualFold(ct, "application/sdp") {
		writeError(w, http.StatusUnsupportedMediaType, "the offer must be sent as Content-Type: application/sdp")
		return "", false
	}
	buf, err := io.ReadAll(http.MaxBytesReader(w, r.Body, rtc.MaxSDP))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the offer is larger than %d bytes", rtc.MaxSDP))
		} else {
			writeError(w, http.StatusBadRequest, "could not read the offer")
		}
		return "", false
	}
	if len(buf) == 0 {
		writeError(w, http.StatusBadRequest, "empty offer")
		return "", false
	}
	return string(buf), true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with {"error": msg}.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// answerOffer answers a WHIP/WHEP offer on pc; on failure it closes pc, writes
// the error (400 for an offer that cannot be applied) and returns false.
func answerOffer(w http.ResponseWriter, r *http.Request, pc *webrtc.PeerConnection, offer string) (string, bool) {
	ctx, cancel := context.WithTimeout(r.Context(), negotiateTimeout)
	defer cancel()
	answer, err := rtc.Answer(ctx, pc, offer)
	if err != nil {
		_ = pc.Close()
		code := http.StatusInternalServerError
		if errors.Is(err, rtc.ErrBadSDP) {
			code = http.StatusBadRequest
		}
		writeError(w, code, err.Error())
		return "", false
	}
	return answer, true
}
