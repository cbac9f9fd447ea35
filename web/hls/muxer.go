// Package hls packages the event's languages as Low-Latency HLS: one fMP4
// Opus AUDIO rendition per language and, once EnableAAC is called, one
// AAC-LC rendition per language in a second AUDIO group with a variant of
// its own, cut into parts and segments at program-time boundaries so every
// rendition lines up, and served from memory with blocking playlist reload.
//
// Naming, relative to the event's HLS root ({dir} is the rendition's id for
// Opus, the id and ".aac" for AAC):
//
//	master.m3u8                    multivariant playlist (?audio={id}: rendition id as the main audio)
//	{dir}/index.m3u8               media playlist of the rendition
//	{dir}/{run}/init.mp4           initialization section
//	{dir}/{run}/seg{msn}.m4s       media segment msn
//	{dir}/{run}/part{msn}.{i}.m4s  part i (from 0) of segment msn
//
// A segment's media sequence number is its program time divided by the
// segment duration, plus the number the run continues from
// (Options.Continue, zero in an event's first run), so the same number
// names the same span of the event in every rendition and in the caption
// playlists ({run}/seg{msn}.vtt). A part
// or segment holds the frames that start in its span: 20 ms Opus frames
// fill it exactly, AAC's 1024-sample frames start up to 21 ms after its
// start.
// Program time starts at zero in every run of the event; media sequence
// numbers and decode times go on from the run before (Options.Continue,
// state.go), so that players at the live edge follow a restart. Everything
// served as immutable lives below the run token (Options.Run): a cache never
// answers one run's request with another run's media, and a request for
// another run's name is a 404. File names still end in the sequence number,
// as tools that read the number from the URI expect.
package hls

import (
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// ErrClosed is returned by WriteOpus and WriteAAC after Close.
var ErrClosed = errors.New("hls muxer closed")

// maxPacket bounds one 20 ms Opus packet (RFC 6716 allows 1275 bytes per
// frame; a 20 ms packet may carry a few frames).
const maxPacket = 4000

// Muxer packages every rendition of one event and serves them over HTTP.
// WriteOpus may be called concurrently for different renditions; ServeHTTP
// never holds a lock while it writes to a client.
type Muxer struct {
	opts        Options
	partSamples int64
	segSamples  int64
	pps         int64 // parts per segment
	hold        time.Duration
	renditions  []AudioRendition
	tracks      map[string]*track // Opus renditions by id
	aac         map[string]*track // AAC renditions by id, nil until EnableAAC
	aacBitrate  int
	order       []*track
	media       *mediaWriter // Opus playlists' writer: the target duration
	video       *videoTrack  // the floor's H.264, once WriteVideo is called

	// measured counts the segments measured for BANDWIDTH; master is the
	// master playlist rendered at a count of them.
	measured atomic.Int64
	master   atomic.Pointer[renderedMaster]
	// blockedCache is the Cache-Control of an answered blocking reload.
	blockedCache []string

	timeline *media.Timeline

	// base is the media sequence number of program time zero
	// (Options.Continue), baseSamples its media time: every segment's
	// number and every fragment's decode time is offset by them.
	base, baseSamples int64
	// persist keeps the state file; nil without Options.StateFile.
	persist *persister

	closeOnce sync.Once
	stats     counters
}

// New validates the options and renditions and returns a Muxer ready for
// WriteOpus and ServeHTTP.
func New(opts Options, renditions []AudioRendition) (*Muxer, error) {
	opts = opts.withDefaults()
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("hls options: %w", err)
	}
	if _, err := MasterPlaylist(renditions, opts.Subtitles, opts.PartDuration); err != nil {
		return nil, fmt.Errorf("hls renditions: %w", err)
	}
	m := &Muxer{
		opts:        opts,
		partSamples: audio.Samples(opts.PartDuration),
		segSamples:  audio.Samples(opts.SegmentDuration),
		renditions:  append([]AudioRendition(nil), renditions...),
		tracks:      make(map[string]*track, len(renditions)),
		media:       newMediaWriter(opts, opusCodec),
	}
	m.pps = m.segSamples / m.partSamples
	m.hold = 3 * audio.Duration(m.media.target)
	m.blockedCache = []string{"public, max-age=" + strconv.FormatInt(int64(m.hold/time.Second), 10)}
	m.timeline = opts.Timeline
	if m.timeline == nil {
		m.timeline = media.NewTimeline()
	}
	m.base = opts.Continue.MSN
	m.baseSamples = m.base * m.segSamples
	m.video = newVideoTrack(m)
	for _, r := range renditions {
		t, err := newTrack(m, r, opusCodec)
		if err != nil {
			return nil, fmt.Errorf("hls rendition %q: %w", r.ID, err)
		}
		m.tracks[r.ID] = t
		m.order = append(m.order, t)
	}
	if opts.StateFile != "" {
		// Written before any segment exists: a run killed before its
		// first segment completes still moves the next run's numbers on.
		st := State{Version: stateVersion, NextMSN: m.base + stateMargin, Discontinuity: m.discontinuity(),
			EdgeMSN: m.base, Edge: opts.Clock.Now(), SegmentMS: opts.SegmentDuration.Milliseconds(), Run: opts.Run}
		m.persist = newPersister(opts.StateFile, st)
	}
	return m, nil
}

// discontinuity is the discontinuity sequence number of this run's
// segments.
func (m *Muxer) discontinuity() int64 {
	if m.opts.Continue.Resumed {
		return m.opts.Continue.Discontinuity + 1
	}
	return m.opts.Continue.Discontinuity
}

// segmentDone notes a completed segment in the state file.
func (m *Muxer) segmentDone(s *segment) {
	if m.persist != nil {
		m.persist.completed(s.msn, s.pdt.Add(audio.Duration(s.dur)))
	}
}

// EnableAAC adds an AAC-LC rendition beside every Opus one, fed by
// WriteAAC: a second AUDIO group with the same languages and a variant with
// CODECS="mp4a.40.2", listed before the Opus variant, for the players that
// take no Opus (Apple's) or pick the first variant they can play. bitrate
// (bits/s) is the encoder's, declared until segments are measured. Call it
// once, before the first write and before serving.
func (m *Muxer) EnableAAC(bitrate int) error {
	if m.aac != nil {
		return errors.New("hls: AAC is already enabled")
	}
	if bitrate <= 0 {
		return fmt.Errorf("hls: AAC bitrate %d is not positive", bitrate)
	}
	aac := make(map[string]*track, len(m.renditions))
	for _, r := range m.renditions {
		t, err := newTrack(m, r, aacCodec)
		if err != nil {
			return fmt.Errorf("hls AAC rendition %q: %w", r.ID, err)
		}
		aac[r.ID] = t
		m.order = append(m.order, t)
	}
	m.aac, m.aacBitrate = aac, bitrate
	m.master.Store(nil)
	return nil
}

// renderedMaster is the master playlist as rendered when measured was at:
// the variants, and each master rendered from them (masterPlaylist's main,
// plus one), rendered when first asked.
type renderedMaster struct {
	measured int64
	vs       []variant
	iframes  []iframeVariant
	out      []atomic.Pointer[[]byte]
}

// masterPlaylist returns the master playlist whose main audio is rendition
// main (an index of m.renditions; -1: the floor, the plain master),
// rendered again once more segments have been measured: BANDWIDTH is the
// highest segment bit rate any rendition of the variant's group has had,
// AVERAGE-BANDWIDTH the highest rendition's average over its segments
// (Apple's authoring rules), and before the first segment the encoder's
// bitrate plus the fragments' overhead stands for both.
func (m *Muxer) masterPlaylist(main int) []byte {
	n := m.measured.Load()
	c := m.master.Load()
	if c == nil || c.measured != n {
		c = m.measureMaster(n)
		m.master.Store(c)
	}
	slot := &c.out[main+1]
	if b := slot.Load(); b != nil {
		return *b
	}
	b := renderMaster(m.renditions, main, m.opts.Subtitles, c.vs, c.iframes...)
	slot.Store(&b)
	return b
}

// measureMaster works out the master's variants at measured count n.
func (m *Muxer) measureMaster(n int64) *renderedMaster {
	c := &renderedMaster{measured: n, out: make([]atomic.Pointer[[]byte], len(m.renditions)+1)}
	var vs []variant
	if m.aac != nil {
		vs = append(vs, m.variant(aacGroup, aacCodec, m.aac, m.aacBitrate))
	}
	peak := 0
	for _, r := range m.renditions {
		peak = max(peak, r.Bitrate)
	}
	vs = append(vs, m.variant(audioGroup, opusCodec, m.tracks, peak))
	if info, ok := m.Video(); ok {
		// The video variants come first, AAC before Opus: a player that
		// takes the first variant it can play gets the picture and the
		// codec every player decodes. Each declares the video's measured
		// bit rates plus its audio group's.
		vpeak, vavg, _ := m.video.bitrates()
		var av []variant
		for _, a := range vs {
			group := audioVideoGroup
			if a.group == aacGroup {
				group = aacVideoGroup
			}
			av = append(av, variant{group: group, c: a.c, peak: a.peak + vpeak, avg: a.avg + vavg, video: &info})
		}
		vs = append(av, vs...)
		ipeak, iavg := m.video.iframeRates()
		c.iframes = []iframeVariant{{info: info, peak: ipeak, avg: iavg}}
	}
	c.vs = vs
	return c
}

// rendition returns the index of the rendition with the given ID in
// m.renditions, -1 if there is none.
func (m *Muxer) rendition(id string) int {
	for i, r := range m.renditions {
		if r.ID == id {
			return i
		}
	}
	return -1
}

func (m *Muxer) variant(group string, c *codec, tracks map[string]*track, bitrate int) variant {
	v := variant{group: group, c: c}
	for _, t := range tracks {
		if peak, avg, ok := t.bitrates(); ok {
			v.peak, v.avg = max(v.peak, peak), max(v.avg, avg)
		}
	}
	if v.peak == 0 {
		v.peak = int64(bitrate) + overheadBits(m.opts.PartDuration)
		v.avg = v.peak
	}
	return v
}

// epochFor returns the wall-clock time of program time zero, fixing it from
// the clock when the first packet arrives at pts if the timeline has no
// epoch yet.
func (m *Muxer) epochFor(pts int64) time.Time {
	if e, ok := m.timeline.Epoch(); ok {
		return e
	}
	return m.timeline.Fix(m.opts.Clock.Now().Add(-audio.Duration(pts)))
}

// Epoch returns the wall-clock time of program time zero, which dates every
// segment (EXT-X-PROGRAM-DATE-TIME); ok is false until it is known.
// Caption playlists use it to stay aligned with the audio.
func (m *Muxer) Epoch() (epoch time.Time, ok bool) { return m.timeline.Epoch() }

// WriteAAC appends one raw AAC-LC frame (1024 samples, mono, 48 kHz, no
// ADTS header) of rendition id at program time pts, a multiple of 1024, as
// WriteOpus does for Opus. It fails unless EnableAAC was called.
func (m *Muxer) WriteAAC(id string, pts int64, frame []byte) error {
	t := m.aac[id]
	if t == nil {
		m.stats.rejected.Add(1)
		return fmt.Errorf("hls: no AAC rendition %q", id)
	}
	if err := t.write(pts, frame); err != nil {
		m.stats.rejected.Add(1)
		return fmt.Errorf("hls AAC rendition %q: %w", id, err)
	}
	return nil
}

// WriteOpus appends one 20 ms Opus packet of rendition id at program time pts
// (48 kHz samples since the event started, a multiple of 960). A jump forward
// is filled with silence so timing stays continuous; a jump larger than the
// window restarts the rendition's window at the new time. A packet at or
// before one already written is refused. The packet is copied.
func (m *Muxer) WriteOpus(id string, pts int64, packet []byte) error {
	t := m.tracks[id]
	if t == nil {
		m.stats.rejected.Add(1)
		return fmt.Errorf("hls: unknown rendition %q", id)
	}
	if err := t.write(pts, packet); err != nil {
		m.stats.rejected.Add(1)
		return fmt.Errorf("hls rendition %q: %w", id, err)
	}
	return nil
}

// Close completes the open part and segment of every rendition, ends every
// playlist with EXT-X-ENDLIST and releases blocked requests. The window's
// segments stay servable. Close is idempotent.
func (m *Muxer) Close() {
	m.closeOnce.Do(func() {
		for _, t := range m.order {
			t.close()
		}
		m.video.close()
		if m.persist != nil {
			m.persist.close()
		}
	})
}

// Stats are cumulative counters of a Muxer, for metrics and benchmarks.
type Stats struct {
	Packets        int64 // packets accepted by WriteOpus and frames by WriteAAC
	Rejected       int64 // packets refused (unknown rendition, late, malformed, after Close)
	FilledFrames   int64 // 20 ms silence frames written into gaps
	Restarts       int64 // gaps longer than the window that restarted a rendition's window
	Parts          int64 // parts published
	Segments       int64 // segments completed
	Requests       int64 // HTTP requests served
	Blocked        int64 // requests that waited for a playlist update, part or segment
	Waiting        int64 // requests waiting now
	BlockTimeouts  int64 // waits that ran out (503)
	BadRequests    int64 // 400 answers
	NotFound       int64 // 404 answers
	BytesServed    int64 // response body bytes written
	PlaylistBuilds int64 // media playlists rendered
	VideoFrames    int64 // video frames accepted by WriteVideo
	VideoSkipped   int64 // video frames skipped while waiting for a key frame
	VideoRejected  int64 // video frames refused (not H.264, malformed, late, after Close)
	StateWrites    int64 // state files written (Options.StateFile)
	StateFailures  int64 // state file writes that failed
}

type counters struct {
	packets, rejected, filled, restarts, parts, segments        atomic.Int64
	requests, blocked, waiting, timeouts, badRequests, notFound atomic.Int64
	bytesServed, playlistBuilds                                 atomic.Int64
	videoFrames, videoSkipped, videoRejected                    atomic.Int64
}

// Stats returns a snapshot of the counters.
func (m *Muxer) Stats() Stats {
	c := &m.stats
	return Stats{
		Packets:        c.packets.Load(),
		Rejected:       c.rejected.Load(),
		FilledFrames:   c.filled.Load(),
		Restarts:       c.restarts.Load(),
		Parts:          c.parts.Load(),
		Segments:       c.segments.Load(),
		Requests:       c.requests.Load(),
		Blocked:        c.blocked.Load(),
		Waiting:        c.waiting.Load(),
		BlockTimeouts:  c.timeouts.Load(),
		BadRequests:    c.badRequests.Load(),
		NotFound:       c.notFound.Load(),
		BytesServed:    c.bytesServed.Load(),
		PlaylistBuilds: c.playlistBuilds.Load(),
		VideoFrames:    c.videoFrames.Load(),
		VideoSkipped:   c.videoSkipped.Load(),
		VideoRejected:  c.videoRejected.Load(),
		StateWrites:    m.stateCount(func(p *persister) int64 { return p.writes.Load() }),
		StateFailures:  m.stateCount(func(p *persister) int64 { return p.failures.Load() }),
	}
}

// StateErr returns the last error writing Options.StateFile, nil if the
// last write succeeded or there is no state file.
func (m *Muxer) StateErr() error {
	if m.persist == nil {
		return nil
	}
	return m.persist.err()
}

func (m *Muxer) stateCount(f func(*persister) int64) int64 {
	if m.persist == nil {
		return 0
	}
	return f(m.persist)
}
