package rtc

import (
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
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111}}
	for u := range r.C {
		if idle != nil && idle() {
			continue
		}
		*seq++
		pkt.SequenceNumber, pkt.Timestamp, pkt.Payload = *seq, uint32(u.PTS), u.Payload
		if err := t.WriteRTP(&pkt); err != nil && onErr != nil {
			onErr(err)
		}
	}
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
