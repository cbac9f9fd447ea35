package hls

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
)

// errLate marks a packet at or before the rendition's write position.
var errLate = errors.New("packet is late or repeated")

// snapshot is an immutable view of a rendition, swapped atomically by the
// writer after every part so readers never take the writer's lock.
type snapshot struct {
	playlist []byte     // rendered media playlist; nil before the first part
	segs     []*segment // complete segments of the window, consecutive msn
	open     *segment   // segment being written, nil between segments
	lastPart int64      // msn × parts per segment + index of the newest part, -1 before any
	lastSeg  int64      // msn of the newest complete segment, -1 before any
	ended    bool
	changed  chan struct{} // closed when a newer snapshot replaces this one
	// inits are the video rendition's initialization sections by
	// configuration; nil for audio.
	inits map[int][]byte
	// iframes is the video rendition's I-frame playlist; nil before its
	// first complete segment, and for audio.
	iframes []byte
}

func (s *snapshot) segment(msn int64) *segment {
	if len(s.segs) > 0 {
		if i := msn - s.segs[0].msn; i >= 0 && i < int64(len(s.segs)) {
			return s.segs[i]
		}
	}
	if s.open != nil && s.open.msn == msn {
		return s.open
	}
	return nil
}

func (s *snapshot) part(msn int64, index int) *part {
	seg := s.segment(msn)
	if seg == nil || index < 0 || index >= len(seg.parts) {
		return nil
	}
	if p := seg.parts[index]; p.index == index {
		return p
	}
	return nil
}

// track is one rendition: the writer's state behind mu and the published
// snapshot behind an atomic pointer.
type track struct {
	m    *Muxer
	r    AudioRendition
	c    *codec
	init []byte
	mw   *mediaWriter

	mu     sync.Mutex // serialises write and close
	next   int64      // program time of the next expected packet, -1 before the first
	epoch  time.Time
	pstart int64    // program time of the part being built
	sizes  []uint32 // packet sizes of the part being built
	data   []byte   // packets of the part being built, back to back
	open   *segment
	done   []*segment
	ended  bool
	begun  bool // a segment was opened in this run

	snap atomic.Pointer[snapshot]

	// Measured bit rates of the complete segments, for BANDWIDTH and
	// AVERAGE-BANDWIDTH: the peak segment's, and the bytes and samples of
	// all of them.
	peak, bytes, samples atomic.Int64
}

func newTrack(m *Muxer, r AudioRendition, c *codec) (*track, error) {
	init, err := c.init(r.Language)
	if err != nil {
		return nil, err
	}
	t := &track{m: m, r: r, c: c, init: init, mw: newMediaWriter(m.opts, c), next: -1}
	t.snap.Store(&snapshot{lastPart: -1, lastSeg: -1, changed: make(chan struct{})})
	return t, nil
}

// grid is the first frame boundary at or after program time v: a
// rendition's frames start on multiples of its frame length.
func (t *track) grid(v int64) int64 { return ceilTo(v, t.c.frame) }

func floorTo(v, unit int64) int64 { return v / unit * unit }

func ceilTo(v, unit int64) int64 { return (v + unit - 1) / unit * unit }

func (t *track) write(pts int64, packet []byte) error {
	if err := t.c.check(packet); err != nil {
		return err
	}
	if len(packet) > maxPacket {
		return fmt.Errorf("packet of %d bytes is larger than %d", len(packet), maxPacket)
	}
	if pts < 0 || pts%t.c.frame != 0 {
		return fmt.Errorf("pts %d is not a non-negative multiple of %d", pts, t.c.frame)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return ErrClosed
	}
	if t.next < 0 {
		// Start at the segment boundary (the first frame boundary in it)
		// so every segment spans the same program time in every
		// rendition, to within a frame.
		t.epoch = t.m.epochFor(pts)
		t.next = t.grid(floorTo(pts, t.m.segSamples))
	}
	if pts < t.next {
		return fmt.Errorf("pts %d, expected %d: %w", pts, t.next, errLate)
	}
	if pts > t.next {
		if err := t.fillGap(pts); err != nil {
			return err
		}
	}
	t.m.stats.packets.Add(1)
	return t.appendFrame(pts, packet)
}

// fillGap writes silence from the write position up to pts. A gap longer than
// the window completes the open segment and restarts the window just before
// pts, so the work is bounded and segment numbers stay consecutive.
func (t *track) fillGap(pts int64) error {
	seg := t.m.segSamples
	restart := t.grid(floorTo(pts, seg) - int64(t.m.opts.Window)*seg)
	if end := t.grid(ceilTo(t.next, seg)); restart > end {
		if err := t.fill(end); err != nil {
			return err
		}
		t.done = nil
		t.next = restart
		t.m.stats.restarts.Add(1)
	}
	return t.fill(pts)
}

func (t *track) fill(until int64) error {
	for t.next < until {
		t.m.stats.filled.Add(1)
		if err := t.appendFrame(t.next, t.c.silence); err != nil {
			return err
		}
	}
	return nil
}

func (t *track) appendFrame(pts int64, packet []byte) error {
	if len(t.sizes) == 0 {
		t.pstart = pts
	}
	t.sizes = append(t.sizes, uint32(len(packet)))
	t.data = append(t.data, packet...)
	t.next = pts + t.c.frame
	if t.next/t.m.partSamples != t.pstart/t.m.partSamples {
		// The next frame starts in the next part's span.
		return t.flushPart()
	}
	return nil
}

// flushPart encodes the frames gathered since the last part boundary as one
// fragment and publishes it. A part holds the frames that start in its span
// of program time (part duration long, from a multiple of it), a segment
// the parts whose spans are in its own.
func (t *track) flushPart() error {
	start := t.pstart
	dur := int64(len(t.sizes)) * t.c.frame
	// The fragment sequence number follows program time; it wraps after
	// 2^32 parts (27 years of 200 ms parts).
	// Both, like the decode time, go on from an earlier run's
	// (Options.Continue).
	span := start / t.m.partSamples
	seq := uint32(span + 1 + t.m.base*t.m.pps)
	data, err := fmp4.FrameFragment(seq, trackID, t.m.baseSamples+start, uint32(t.c.frame), t.sizes, t.data)
	t.sizes, t.data = t.sizes[:0], t.data[:0]
	if err != nil {
		return err
	}
	rel := start / t.m.segSamples
	msn := t.m.base + rel
	if t.open == nil {
		t.open = &segment{msn: msn, start: start, pdt: t.epoch.Add(audio.Duration(start)),
			restart: t.m.opts.Continue.Resumed && !t.begun}
		t.begun = true
	}
	p := &part{msn: msn, index: int(span - rel*t.m.pps), start: start, dur: dur, data: data}
	t.open.parts = append(t.open.parts, p)
	t.open.dur += dur
	t.m.stats.parts.Add(1)
	if (start+dur)/t.m.segSamples != rel {
		t.completeOpen()
	}
	t.publish()
	return nil
}

// completeOpen turns the open segment into a complete one and drops the
// segments that fall out of the window.
func (t *track) completeOpen() {
	s := t.open
	t.open = nil
	n := 0
	for _, p := range s.parts {
		n += len(p.data)
	}
	s.data = make([]byte, 0, n)
	for _, p := range s.parts {
		s.data = append(s.data, p.data...)
	}
	t.done = append(t.done, s)
	t.measure(s)
	t.m.segmentDone(s)
	if over := len(t.done) - t.m.opts.Window; over > 0 {
		// Shift in place so the dropped segments are not kept alive by
		// the backing array; snapshots hold their own copies.
		n := copy(t.done, t.done[over:])
		clear(t.done[n:])
		t.done = t.done[:n]
	}
	t.m.stats.segments.Add(1)
}

// publish renders the playlist and swaps in a new snapshot, waking every
// request that waits on the old one.
func (t *track) publish() {
	s := &snapshot{
		segs:     append([]*segment(nil), t.done...),
		lastPart: -1,
		lastSeg:  -1,
		ended:    t.ended,
		changed:  make(chan struct{}),
	}
	if t.open != nil {
		o := *t.open
		o.parts = o.parts[:len(o.parts):len(o.parts)]
		s.open = &o
	}
	var last *part
	if s.open != nil {
		last = s.open.parts[len(s.open.parts)-1]
	}
	if n := len(s.segs); n > 0 {
		s.lastSeg = s.segs[n-1].msn
		if last == nil {
			last = s.segs[n-1].parts[len(s.segs[n-1].parts)-1]
		}
	}
	if last != nil {
		s.lastPart = last.msn*t.m.pps + int64(last.index)
	}
	old := t.snap.Load()
	s.playlist = t.mw.render(s.segs, s.open, s.ended, len(old.playlist))
	t.m.stats.playlistBuilds.Add(1)
	t.snap.Store(s)
	close(old.changed)
}

// close completes the open part and segment (short if need be) and ends the
// playlist.
func (t *track) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return
	}
	if len(t.sizes) > 0 {
		// Encoding our own packets cannot fail; if it did, the part is lost
		// and the playlist still ends cleanly.
		_ = t.flushPart()
	}
	if t.open != nil {
		t.completeOpen()
	}
	t.ended = true
	t.publish()
}

// measure adds a complete segment to the measured bit rates and tells the
// master playlist to render them.
func (t *track) measure(s *segment) {
	if s.dur <= 0 {
		return
	}
	n := int64(len(s.data))
	rate := n * 8 * audio.SampleRate / s.dur
	for {
		p := t.peak.Load()
		if rate <= p || t.peak.CompareAndSwap(p, rate) {
			break
		}
	}
	t.bytes.Add(n)
	t.samples.Add(s.dur)
	t.m.measured.Add(1)
}

// bitrates are the measured peak and average bit rates of the track's
// segments, ok false before the first segment is complete.
func (t *track) bitrates() (peak, avg int64, ok bool) {
	n, d := t.bytes.Load(), t.samples.Load()
	if d == 0 {
		return 0, 0, false
	}
	return t.peak.Load(), n * 8 * audio.SampleRate / d, true
}
