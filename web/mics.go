package web

import (
	"math"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"tolk/internal/rtc"
)

// boothLink is one connected member's microphone and the quality of its
// link, as the producer sees them.
type boothLink struct {
	mic *rtc.Mic

	mu sync.Mutex
	q  LinkQuality
	// The uplink's counts at the previous sample, for the loss since.
	lastLost, lastRecv int64
}

// LinkQuality is an interpreter's connection as RTCP and the server's own
// receiver measure it. Up is the microphone (booth → server), down the floor
// feed (server → booth, from the page's RTCP receiver reports).
type LinkQuality struct {
	// RTTMS is the round trip from the page's receiver reports; absent until
	// the first report that answers a sender report.
	RTTMS *float64 `json:"rtt_ms"`
	// Loss is the fraction of the microphone's packets lost over the last
	// sample (about a second); JitterMS its interarrival jitter (RFC 3550).
	Loss     float64 `json:"loss"`
	JitterMS float64 `json:"jitter_ms"`
	// DownLoss and DownJitterMS are the floor feed's, as the page reports.
	DownLoss     float64 `json:"down_loss"`
	DownJitterMS float64 `json:"down_jitter_ms"`
	// FloorToEarMS is how far what the interpreter hears of the floor
	// trails the program, as their page measures it (RTP timestamps are
	// program time); absent until the page reports.
	FloorToEarMS *float64 `json:"floor_to_ear_ms"`
}

func (l *boothLink) quality() LinkQuality {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.q
}

// report takes the page's receiver report about the floor feed.
func (l *boothLink) report(r rtc.LinkReport) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r.HasRTT {
		ms := round(float64(r.RTT) / float64(time.Millisecond))
		l.q.RTTMS = &ms
	}
	l.q.DownLoss = r.FractionLost
	l.q.DownJitterMS = round(float64(r.Jitter) / float64(time.Millisecond))
}

func (l *boothLink) setFloorToEar(ms float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	v := math.Round(ms)
	l.q.FloorToEarMS = &v
}

// sample reads the microphone's inbound statistics (pion's, from the RTP
// it received) and keeps the loss since the previous sample.
func (l *boothLink) sample(pc *webrtc.PeerConnection) {
	for _, s := range pc.GetStats() {
		in, ok := s.(webrtc.InboundRTPStreamStats)
		if !ok || in.Kind != "audio" {
			continue
		}
		l.mu.Lock()
		lost, recv := int64(in.PacketsLost), int64(in.PacketsReceived)
		if dl, dr := lost-l.lastLost, recv-l.lastRecv; dl >= 0 && dr >= 0 && dl+dr > 0 {
			l.q.Loss = float64(dl) / float64(dl+dr)
		}
		l.lastLost, l.lastRecv = lost, recv
		l.q.JitterMS = round(in.Jitter * 1000)
		l.mu.Unlock()
		return
	}
}

// linkRegistry is an event's connected booth members now: language →
// member → link.
type linkRegistry struct {
	mu    sync.Mutex
	links map[string]map[string]*boothLink
}

func (r *linkRegistry) add(lang, member string, l *boothLink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.links == nil {
		r.links = map[string]map[string]*boothLink{}
	}
	if r.links[lang] == nil {
		r.links[lang] = map[string]*boothLink{}
	}
	r.links[lang][member] = l
}

// remove forgets member's link if it is still l (a newer session of the
// same member keeps its own).
func (r *linkRegistry) remove(lang, member string, l *boothLink) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.links[lang][member] == l {
		delete(r.links[lang], member)
	}
}

// of returns a copy of a language's links by member.
func (r *linkRegistry) of(lang string) map[string]*boothLink {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*boothLink{}
	for k, v := range r.links[lang] {
		out[k] = v
	}
	return out
}
