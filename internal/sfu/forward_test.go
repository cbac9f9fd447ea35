package sfu_test

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/restream"
	"tolk/internal/rtc"
	"tolk/internal/sfu"
)

// TestForwardPackets: what a Janus forward puts on the wire, read by a UDP
// socket standing for the mountpoint's port: every unit once, in order, as
// an RTP packet of payload type 111 whose timestamp is the unit's program
// time and whose sequence numbers follow one another, the payload as the
// mix made it, one SSRC.
func TestForwardPackets(t *testing.T) {
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	port := sink.LocalAddr().(*net.UDPAddr).Port
	tr := media.NewTrack[media.Unit]("fr")
	o, err := sfu.NewJanus(sfu.JanusOptions{Common: sfu.Common{ID: "janus-fr", Lang: "fr", Packets: tr},
		Janus: config.Janus{RTPHost: "127.0.0.1", MountpointBase: 1, PortBase: port},
		Mount: config.JanusMount{Lang: "fr", ID: 1, Port: port}})
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	defer o.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for tr.Readers() == 0 || o.Status().State != restream.StateConnected {
		if ctx.Err() != nil {
			t.Fatal("never connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	const n = 40
	pts0 := int64(1<<32 - 10*960) // the 32-bit timestamp wraps within the run
	for i := 0; i < n; i++ {
		tr.Write(media.Unit{Codec: media.Opus, PTS: pts0 + int64(i*960), Payload: []byte{0xfc, byte(i), 0xaa}})
		time.Sleep(time.Millisecond) // within the socket's buffer
	}
	buf := make([]byte, 1500)
	var ssrc uint32
	for i := 0; i < n; i++ {
		_ = sink.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, _, err := sink.ReadFrom(buf)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		var p rtp.Packet
		if err := p.Unmarshal(buf[:k]); err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if i == 0 {
			ssrc = p.SSRC
			if ssrc == 0 {
				t.Error("no SSRC")
			}
		}
		want := uint32(pts0 + int64(i*960))
		if p.Version != 2 || p.PayloadType != rtc.OpusPayloadType || p.Timestamp != want || p.SSRC != ssrc ||
			p.SequenceNumber != uint16(i+1) || !bytes.Equal(p.Payload, []byte{0xfc, byte(i), 0xaa}) {
			t.Fatalf("packet %d: %+v, want timestamp %d, sequence %d", i, p.Header, want, i+1)
		}
	}
	if st := o.Status(); st.Packets != n || st.Bytes != n*(12+3) || st.Dropped != 0 {
		t.Errorf("status %+v", st)
	}
}
