// Package media carries the program's media between the parts of tolk: a Unit
// is one piece of media on the program timeline, a Track delivers what one
// live producer writes to any number of readers, each a bounded queue that
// drops (and counts) what it cannot take, so that no reader ever holds up the
// producer or another reader.
package media

import (
	"sort"
	"sync"
	"sync/atomic"
)

// Track delivers values from one live producer to its readers. The zero value
// is not ready: use NewTrack.
type Track[T any] struct {
	name    string
	mu      sync.Mutex
	readers map[*Reader[T]]struct{}
	closed  bool
	written atomic.Uint64
}

// Reader is one consumer's bounded queue on a track.
type Reader[T any] struct {
	// C delivers values; it is closed when the track closes or Close is called.
	C chan T

	name     string
	track    *Track[T]
	received atomic.Uint64
	dropped  atomic.Uint64
	once     sync.Once
}

// ReaderStats is a reader's counts.
type ReaderStats struct {
	Name     string `json:"name"`
	Received uint64 `json:"received"`
	Dropped  uint64 `json:"dropped"`
}

// TrackStats is a track's counts and its readers'.
type TrackStats struct {
	Name    string        `json:"name"`
	Written uint64        `json:"written"`
	Readers []ReaderStats `json:"readers"`
}

// NewTrack returns a track; its name says what it carries in stats and logs.
func NewTrack[T any](name string) *Track[T] {
	return &Track[T]{name: name, readers: map[*Reader[T]]struct{}{}}
}

// Read attaches a reader with a queue of size values (at least 1); name says
// who reads, in stats. On a closed track the reader's channel is already
// closed.
func (t *Track[T]) Read(name string, size int) *Reader[T] {
	r := &Reader[T]{C: make(chan T, max(size, 1)), name: name, track: t}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		r.close()
		return r
	}
	t.readers[r] = struct{}{}
	return r
}

// Write offers v to every reader without blocking and returns how many
// readers dropped it because their queue was full.
func (t *Track[T]) Write(v T) (dropped int) {
	t.written.Add(1)
	t.mu.Lock()
	defer t.mu.Unlock()
	for r := range t.readers {
		select {
		case r.C <- v:
			r.received.Add(1)
		default:
			r.dropped.Add(1)
			dropped++
		}
	}
	return dropped
}

// Readers is how many readers are attached: a producer skips work that
// nobody reads.
func (t *Track[T]) Readers() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.readers)
}

// Stats returns the track's counts, readers sorted by name.
func (t *Track[T]) Stats() TrackStats {
	s := TrackStats{Name: t.name, Written: t.written.Load()}
	t.mu.Lock()
	for r := range t.readers {
		s.Readers = append(s.Readers, r.Stats())
	}
	t.mu.Unlock()
	sort.Slice(s.Readers, func(i, j int) bool { return s.Readers[i].Name < s.Readers[j].Name })
	return s
}

// Close closes every reader's channel; readers attached later get a closed
// channel.
func (t *Track[T]) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	for r := range t.readers {
		r.close()
	}
	clear(t.readers)
}

// Dropped is how many values this reader lost because its queue was full.
func (r *Reader[T]) Dropped() uint64 { return r.dropped.Load() }

// Stats returns the reader's counts.
func (r *Reader[T]) Stats() ReaderStats {
	return ReaderStats{Name: r.name, Received: r.received.Load(), Dropped: r.dropped.Load()}
}

// Close detaches the reader and closes C. It is safe to call twice.
func (r *Reader[T]) Close() {
	r.track.mu.Lock()
	defer r.track.mu.Unlock()
	if _, ok := r.track.readers[r]; ok {
		delete(r.track.readers, r)
		r.close()
	}
}

func (r *Reader[T]) close() { r.once.Do(func() { close(r.C) }) }
