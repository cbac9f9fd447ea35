// Package fanout delivers values from one live producer to many consumers
// through bounded queues: a consumer that falls behind loses values (counted),
// the producer never waits.
package fanout

import (
	"sync"
	"sync/atomic"
)

// Hub broadcasts values to its subscribers. The zero value is ready to use.
type Hub[T any] struct {
	mu     sync.Mutex
	subs   map[*Sub[T]]struct{}
	closed bool
}

// Sub is one consumer's bounded queue.
type Sub[T any] struct {
	// C delivers values; it is closed when the hub closes or Unsubscribe is called.
	C       chan T
	hub     *Hub[T]
	dropped atomic.Uint64
	once    sync.Once
}

// Dropped reports how many values this subscriber lost because its queue was full.
func (s *Sub[T]) Dropped() uint64 { return s.dropped.Load() }

// Unsubscribe removes the subscriber and closes C. It is safe to call twice.
func (s *Sub[T]) Unsubscribe() {
	s.hub.mu.Lock()
	defer s.hub.mu.Unlock()
	if _, ok := s.hub.subs[s]; ok {
		delete(s.hub.subs, s)
		s.close()
	}
}

func (s *Sub[T]) close() { s.once.Do(func() { close(s.C) }) }

// Subscribe adds a consumer with a queue of size values (at least 1).
// On a closed hub the returned subscriber's channel is already closed.
func (h *Hub[T]) Subscribe(size int) *Sub[T] {
	if size < 1 {
		size = 1
	}
	s := &Sub[T]{C: make(chan T, size), hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		s.close()
		return s
	}
	if h.subs == nil {
		h.subs = map[*Sub[T]]struct{}{}
	}
	h.subs[s] = struct{}{}
	return s
}

// Publish offers v to every subscriber without blocking and returns how many
// subscribers dropped it.
func (h *Hub[T]) Publish(v T) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.C <- v:
		default:
			s.dropped.Add(1)
			dropped++
		}
	}
	return dropped
}

// Len reports the number of subscribers.
func (h *Hub[T]) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Close closes every subscriber's channel; later subscribers get a closed channel.
func (h *Hub[T]) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.close()
	}
	h.subs = nil
}
