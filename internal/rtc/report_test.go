package rtc

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
)

func TestLinkReport(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 123456789, time.UTC)
	sent := now.Add(-150 * time.Millisecond)
	rr := rtcp.ReceptionReport{
		FractionLost:     64, // a quarter
		Jitter:           480,
		LastSenderReport: ntpMiddle(sent),
		Delay:            uint32(50 * 65536 / 1000), // the peer held it 50 ms
	}
	lr := linkReport(now, rr)
	if d := lr.RTT - 100*time.Millisecond; !lr.HasRTT || d < -time.Millisecond || d > time.Millisecond {
		t.Fatalf("rtt %v, want 100 ms", lr.RTT)
	}
	if lr.FractionLost != 0.25 || lr.Jitter != 10*time.Millisecond {
		t.Fatalf("loss %v jitter %v", lr.FractionLost, lr.Jitter)
	}
	// No sender report seen yet: no round trip.
	if lr := linkReport(now, rtcp.ReceptionReport{}); lr.HasRTT {
		t.Fatalf("rtt %v without LSR", lr.RTT)
	}
	// A report "from the future" (a clock step) is not a reading.
	rr.LastSenderReport = ntpMiddle(now.Add(time.Second))
	if lr := linkReport(now, rr); lr.HasRTT {
		t.Fatalf("rtt %v from a report after now", lr.RTT)
	}
	// On loopback the peer's rounding can put the sum a unit below zero.
	rr.LastSenderReport, rr.Delay = ntpMiddle(now), 1
	if lr := linkReport(now, rr); !lr.HasRTT || lr.RTT != 0 {
		t.Fatalf("rtt %v (valid %v) on a zero-length path", lr.RTT, lr.HasRTT)
	}
	// The middle 32 bits wrap every 2^16 s; a round trip across the wrap holds.
	wrap := time.Unix(int64(1)<<16*40000-2208988800, 0).Add(-20 * time.Millisecond)
	rr = rtcp.ReceptionReport{LastSenderReport: ntpMiddle(wrap)}
	if lr := linkReport(wrap.Add(60*time.Millisecond), rr); lr.RTT < 59*time.Millisecond || lr.RTT > 61*time.Millisecond {
		t.Fatalf("rtt %v across the wrap, want 60 ms", lr.RTT)
	}
}
