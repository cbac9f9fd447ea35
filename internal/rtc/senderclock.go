package rtc

import (
	"sync"

	"github.com/pion/rtcp"

	"tolk/internal/audio"
)

// SenderClock puts a publisher's tracks on one source clock through its
// RTCP sender reports: each report pairs a track's RTP timestamp with the
// publisher's NTP wall clock, which all its tracks share, so an audio
// sample and a picture taken at the same instant get the same source time
// whatever their RTP timestamps' random starts and rates. Source time is in
// 48 kHz samples from the first report's NTP time. Safe for concurrent use.
type SenderClock struct {
	mu     sync.Mutex
	origin uint64 // NTP time (32.32) of the first report
	set    bool
	tracks map[uint32]srPoint
}

type srPoint struct {
	ntp  uint64
	rtp  uint32
	rate uint32
}

// NewSenderClock returns a clock with no report yet.
func NewSenderClock() *SenderClock { return &SenderClock{tracks: map[uint32]srPoint{}} }

// Report takes a sender report of the track ssrc, whose RTP clock runs at
// rate Hz.
func (c *SenderClock) Report(sr *rtcp.SenderReport, rate uint32) {
	if rate == 0 || sr.NTPTime == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.set {
		c.origin, c.set = sr.NTPTime, true
	}
	c.tracks[sr.SSRC] = srPoint{ntp: sr.NTPTime, rtp: sr.RTPTime, rate: rate}
}

// Source is the source time of RTP timestamp ts of track ssrc, once a
// report of that track has come.
func (c *SenderClock) Source(ssrc, ts uint32) (int64, bool) {
	c.mu.Lock()
	p, ok := c.tracks[ssrc]
	origin := c.origin
	c.mu.Unlock()
	if !ok {
		return 0, false
	}
	// NTP 32.32 fixed point to samples; the difference fits 63 bits for
	// any session under 68 years.
	d := int64(p.ntp - origin)
	at := (d>>32)*audio.SampleRate + (d&0xffffffff)*audio.SampleRate>>32
	rel := int64(int32(ts - p.rtp)) // RTP timestamps wrap: the nearest reading
	return at + rel*audio.SampleRate/int64(p.rate), true
}
