package web

import (
	"sync"

	"tolk/internal/rtc"
)

// micRegistry is an event's booth microphones now: language → member → mic.
type micRegistry struct {
	mu   sync.Mutex
	mics map[string]map[string]*rtc.Mic
}

func (r *micRegistry) add(lang, member string, m *rtc.Mic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mics == nil {
		r.mics = map[string]map[string]*rtc.Mic{}
	}
	if r.mics[lang] == nil {
		r.mics[lang] = map[string]*rtc.Mic{}
	}
	r.mics[lang][member] = m
}

// remove forgets member's mic if it is still m (a newer session of the same
// member keeps its own).
func (r *micRegistry) remove(lang, member string, m *rtc.Mic) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.mics[lang][member] == m {
		delete(r.mics[lang], member)
	}
}

// of returns a copy of a language's mics by member.
func (r *micRegistry) of(lang string) map[string]*rtc.Mic {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*rtc.Mic{}
	for k, v := range r.mics[lang] {
		out[k] = v
	}
	return out
}
