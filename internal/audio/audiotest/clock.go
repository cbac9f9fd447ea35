// Package audiotest provides a manual clock and signal helpers for tests.
package audiotest

import (
	"sort"
	"sync"
	"time"

	"tolk/internal/audio"
)

// Clock is an audio.Clock that only moves when Advance is called.
type Clock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*timer
}

// NewClock returns a manual clock set to a fixed instant.
func NewClock() *Clock {
	return &Clock{now: time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)}
}

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// NewTimer returns a timer that fires when the clock has advanced by d.
func (c *Clock) NewTimer(d time.Duration) audio.Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &timer{c: c, ch: make(chan time.Time, 1), when: c.now.Add(d), active: true}
	c.timers = append(c.timers, t)
	return t
}

// Advance moves the clock forward by d, firing due timers in order.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	for {
		sort.Slice(c.timers, func(i, j int) bool { return c.timers[i].when.Before(c.timers[j].when) })
		var due *timer
		for _, t := range c.timers {
			if t.active && !t.when.After(end) {
				due = t
				break
			}
		}
		if due == nil {
			break
		}
		c.now = due.when
		due.active = false
		select {
		case due.ch <- c.now:
		default:
		}
	}
	c.now = end
	c.mu.Unlock()
}

// Pending reports how many timers are armed, so tests can wait for a goroutine to block.
func (c *Clock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, t := range c.timers {
		if t.active {
			n++
		}
	}
	return n
}

type timer struct {
	c      *Clock
	ch     chan time.Time
	when   time.Time
	active bool
}

func (t *timer) C() <-chan time.Time { return t.ch }

func (t *timer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.active = false
	return was
}

func (t *timer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	was := t.active
	t.when = t.c.now.Add(d)
	t.active = true
	return was
}
