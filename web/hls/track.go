package hls

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

// errLate marks a packet at or before the rendition's write position.
var errLate = errors.New("packet is late or repeated")

// snapshot is an immutable view of a rendition, swapped atomically by the
// writer after every part so readers never take the writer's lock.
type snapshot struct {
	playlist []byte     // rendered media playlist; nil before the first part
	segs     []*segment // complete segments of the window, consecutive msn
	open     *segment   // segment being written, nil between segments
	lastPart int64      // program-time index (start / part duration) of the newest part, -1 before any
	lastSeg  int64      // msn of the newest complete segment, -1 before any
	ended    bool
	changed  chan struct{} // closed when a newer snapshot replaces this one
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
	init []byte

	mu     sync.Mutex // serialises write and close
	next   int64      // program time of the next expected packet, -1 before the first
	epoch  time.Time
	pstart int64    // program time of the part being built
	sizes  []uint32 // packet sizes of the part being built
	data   []byte   // packets of the part being built, back to back
	open   *segment
	done   []*segment
	ended  bool

	snap atomic.Pointer[snapshot]
}

func newTrack(m *Muxer, r AudioRendition, init []byte) *track {
	t := &track{m: m, r: r, init: init, next: -1}
	t.snap.Store(&snapshot{lastPart: -1, lastSeg: -1, changed: make(chan struct{})})
	return t
}

func floorTo(v, unit int64) int64 { return v / unit * unit }

func ceilTo(v, unit int64) int64 { return (v + unit - 1) / unit * unit }

func (t *track) write(pts int64, packet []byte) error {
	if n, err := opusSamples(packet); err != nil {
		return err
	} else if n != audio.FrameSamples {
		return fmt.Errorf("packet of %d samples, want one %d-sample frame", n, audio.FrameSamples)
	}
	if len(packet) > maxPacket {
		return fmt.Errorf("packet of %d bytes is larger than %d", len(packet), maxPacket)
	}
	if pts < 0 || pts%audio.FrameSamples != 0 {
		return fmt.Errorf("pts %d is not a non-negative multiple of %d", pts, audio.FrameSamples)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return ErrClosed
	}
	if t.next < 0 {
		// Start at the segment boundary so every segment spans the same
		// program time in every rendition.
		t.epoch = t.m.epochFor(pts)
		t.next = floorTo(pts, t.m.segSamples)
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
	restart := floorTo(pts, seg) - int64(t.m.opts.Window)*seg
	if restart > ceilTo(t.next, seg) {
		if err := t.fill(ceilTo(t.next, seg)); err != nil {
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
		if err := t.appendFrame(t.next, silenceFrame); err != nil {
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
	t.next = pts + audio.FrameSamples
	if t.next%t.m.partSamples == 0 {
		return t.flushPart()
	}
	return nil
}

// flushPart encodes the packets gathered since the last part boundary as one
// fragment and publishes it.
func (t *track) flushPart() error {
	start := t.pstart
	dur := int64(len(t.sizes)) * audio.FrameSamples
	// The fragment sequence number follows program time; it wraps after
	// 2^32 parts (27 years of 200 ms parts).
	seq := uint32(start/t.m.partSamples + 1)
	data, err := fragment(seq, start, t.sizes, t.data)
	t.sizes, t.data = t.sizes[:0], t.data[:0]
	if err != nil {
		return err
	}
	msn := start / t.m.segSamples
	if t.open == nil {
		s := msn * t.m.segSamples
		t.open = &segment{msn: msn, start: s, pdt: t.epoch.Add(audio.Duration(s))}
	}
	p := &part{msn: msn, index: int((start - t.open.start) / t.m.partSamples), start: start, dur: dur, data: data}
	t.open.parts = append(t.open.parts, p)
	t.open.dur += dur
	t.m.stats.parts.Add(1)
	if (start+dur)%t.m.segSamples == 0 {
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
		s.lastPart = last.start / t.m.partSamples
	}
	old := t.snap.Load()
	s.playlist = t.m.media.render(s.segs, s.open, s.ended, len(old.playlist))
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
