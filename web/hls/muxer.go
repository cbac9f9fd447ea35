// Package hls packages the event's languages as Low-Latency HLS: one fMP4
// Opus AUDIO rendition per language, cut into parts and segments at
// program-time boundaries so every rendition lines up, and served from memory
// with blocking playlist reload.
//
// Naming, relative to the event's HLS root:
//
//	master.m3u8                   multivariant playlist
//	{id}/index.m3u8               media playlist of rendition id
//	{id}/{run}/init.mp4           initialization section
//	{id}/{run}/seg{msn}.m4s       media segment msn
//	{id}/{run}/part{msn}.{i}.m4s  part i (from 0) of segment msn
//
// A segment's media sequence number is its program time divided by the
// segment duration, so the same number names the same span of the event in
// every rendition and in the caption playlists ({run}/seg{msn}.vtt).
// Program time starts at zero in every run of the event, so everything
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

// ErrClosed is returned by WriteOpus after Close.
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
	master      []byte
	tracks      map[string]*track
	order       []*track
	media       *mediaWriter
	// blockedCache is the Cache-Control of an answered blocking reload.
	blockedCache []string

	timeline *media.Timeline

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
	master, err := MasterPlaylist(renditions, opts.Subtitles, opts.PartDuration)
	if err != nil {
		return nil, fmt.Errorf("hls renditions: %w", err)
	}
	m := &Muxer{
		opts:        opts,
		partSamples: audio.Samples(opts.PartDuration),
		segSamples:  audio.Samples(opts.SegmentDuration),
		master:      master,
		tracks:      make(map[string]*track, len(renditions)),
		media:       newMediaWriter(opts),
	}
	m.pps = m.segSamples / m.partSamples
	m.hold = 3 * audio.Duration(m.media.target)
	m.blockedCache = []string{"public, max-age=" + strconv.FormatInt(int64(m.hold/time.Second), 10)}
	m.timeline = opts.Timeline
	if m.timeline == nil {
		m.timeline = media.NewTimeline()
	}
	for _, r := range renditions {
		init, err := initSegment(r.Language)
		if err != nil {
			return nil, fmt.Errorf("hls rendition %q: %w", r.ID, err)
		}
		t := newTrack(m, r, init)
		m.tracks[r.ID] = t
		m.order = append(m.order, t)
	}
	return m, nil
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
	})
}

// Stats are cumulative counters of a Muxer, for metrics and benchmarks.
type Stats struct {
	Packets        int64 // packets accepted by WriteOpus
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
}

type counters struct {
	packets, rejected, filled, restarts, parts, segments        atomic.Int64
	requests, blocked, waiting, timeouts, badRequests, notFound atomic.Int64
	bytesServed, playlistBuilds                                 atomic.Int64
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
	}
}
