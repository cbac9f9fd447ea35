package rtc

import (
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/media"
)

// WriteUnits writes the Opus units of r to t as RTP until r is closed: the
// one RTP write loop behind every outgoing track (WHEP listeners, the booths'
// floor and relays). The timestamp is the unit's program time, so every
// track of an event carries the same clock; seq is the track's sequence
// number, kept by the caller so that a track fed by successive readers stays
// continuous. While idle returns true, units are read and not sent (nobody
// listens). onErr, when set, hears each failed write.
func WriteUnits(r *media.Reader[media.Unit], t *webrtc.TrackLocalStaticRTP, seq *uint16, idle func() bool, onErr func(error)) {
	pkt := OpusPacket()
	for u := range r.C {
		if idle != nil && idle() {
			continue
		}
		NextPacket(&pkt, seq, u)
		if err := t.WriteRTP(&pkt); err != nil && onErr != nil {
			onErr(err)
		}
	}
}

// OpusPayloadType is the RTP payload type of the Opus tolk sends.
const OpusPayloadType = 111

// OpusPacket is the RTP packet every Opus stream tolk sends starts from.
func OpusPacket() rtp.Packet {
	return rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: OpusPayloadType}}
}

// NextPacket makes pkt carry unit u as the next packet of a stream whose
// sequence number seq is kept by the caller: the timestamp is the unit's
// program time, so every stream of an event, over WebRTC or plain RTP,
// carries the same clock. The payload is the unit's, not copied.
func NextPacket(pkt *rtp.Packet, seq *uint16, u media.Unit) {
	*seq++
	pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = *seq, uint32(u.PTS), u.Payload
}

// DrainRTCP reads a sender's RTCP until its peer closes: pion's interceptors
// (NACK, receiver reports) only run on RTCP that is read.
func DrainRTCP(s *webrtc.RTPSender) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := s.Read(buf); err != nil {
			return
		}
	}
}

// LinkReport is what a peer's RTCP receiver report says of a stream we send
// it: the round trip (from the report's LSR and DLSR, RFC 3550 §6.4.1), the
// fraction of packets it lost since its previous report and its interarrival
// jitter.
type LinkReport struct {
	// RTT is valid when HasRTT: the report answers a sender report.
	RTT          time.Duration
	HasRTT       bool
	FractionLost float64
	Jitter       time.Duration
}

// ReadReports reads a sender's RTCP until its peer closes, as DrainRTCP does,
// and hands every reception report about the sender's stream to on. now is
// the clock the sender reports (pion's) are stamped with: the wall clock.
func ReadReports(s *webrtc.RTPSender, now func() time.Time, on func(LinkReport)) {
	for {
		pkts, _, err := s.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			var reports []rtcp.ReceptionReport
			switch r := p.(type) {
			case *rtcp.ReceiverReport:
				reports = r.Reports
			case *rtcp.SenderReport:
				reports = r.Reports
			}
			for _, rr := range reports {
				on(linkReport(now(), rr))
			}
		}
	}
}

// linkReport reads one reception report at time now.
func linkReport(now time.Time, rr rtcp.ReceptionReport) LinkReport {
	lr := LinkReport{
		FractionLost: float64(rr.FractionLost) / 256,
		Jitter:       time.Duration(rr.Jitter) * time.Second / OpusClockRate,
	}
	if rr.LastSenderReport != 0 {
		// Middle 32 bits of NTP time, in 1/65536 s: wraps every 18 hours,
		// which unsigned subtraction absorbs.
		d := int32(ntpMiddle(now) - rr.LastSenderReport - rr.Delay)
		switch {
		case d >= 0:
			lr.RTT, lr.HasRTT = time.Duration(d)*time.Second/65536, true
		case d > -65536/100:
			// The peer rounds its delay down to 15 µs units: on a very
			// short path the sum can come out a hair below zero.
			lr.HasRTT = true
		}
		// Further below zero is a clock step, not a reading.
	}
	return lr
}

// OpusClockRate is the RTP clock of every stream tolk sends.
const OpusClockRate = 48000

// ntpMiddle is the middle 32 bits of t as an NTP timestamp.
func ntpMiddle(t time.Time) uint32 {
	const ntpEpochOffset = 2208988800 // seconds from 1900 to 1970
	secs := uint64(t.Unix()) + ntpEpochOffset
	frac := uint64(t.Nanosecond()) << 32 / 1e9
	return uint32((secs<<32 | frac) >> 16)
}
