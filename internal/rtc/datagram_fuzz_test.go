package rtc

import (
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// FuzzMicDatagrams feeds whole datagrams, as a booth's or a WHIP floor's
// track reads them (header, CSRCs, extensions, padding and an Opus payload,
// all arbitrary), through rtp.Packet.Unmarshal into the microphone's jitter
// buffer, the way web/boothpeer.go does: malformed ones are skipped, the
// rest never panic and every frame read is 20 ms of finite samples.
func FuzzMicDatagrams(f *testing.F) {
	pk := micBrowser.encode(f, audiotest.Tone(440, 0.5, 0, audio.SampleRate/5))
	var seed []byte
	for i, p := range pk {
		raw, err := (&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SequenceNumber: uint16(i), Timestamp: uint32(i * audio.FrameSamples), SSRC: 7}, Payload: p}).Marshal()
		if err != nil {
			f.Fatal(err)
		}
		seed = append(seed, byte(len(raw)), 1)
		seed = append(seed, raw...)
	}
	f.Add(seed)
	// An extension header, padding and CSRCs.
	ext := &rtp.Packet{Header: rtp.Header{Version: 2, Padding: true, Extension: true, PayloadType: 111, SequenceNumber: 9, Timestamp: 960, SSRC: 7, CSRC: []uint32{1, 2}}, Payload: pk[0], PaddingSize: 4}
	_ = ext.SetExtension(1, []byte{0xaa})
	if raw, err := ext.Marshal(); err == nil {
		f.Add(append([]byte{byte(len(raw)), 2}, raw...))
	}
	f.Add([]byte{12, 0, 0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7})
	f.Add([]byte{3, 3, 0xa0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, clk := micNew(t)
		var p rtp.Packet
		tick := 0
		// Each datagram: its length, how many frames to read after it, the bytes.
		for len(data) >= 2 {
			n, reads := min(int(data[0]), len(data)-2), int(data[1]&3)
			dgram := data[2 : 2+n]
			data = data[2+n:]
			clk.Advance(20 * time.Millisecond)
			if p.Unmarshal(dgram) != nil {
				continue
			}
			m.Push(&p)
			for range reads {
				fr, ok := m.ReadFrame(int64(tick * audio.FrameSamples))
				tick++
				if ok && len(fr.Samples) != audio.FrameSamples {
					t.Fatalf("frame of %d samples", len(fr.Samples))
				}
				if ok && math.IsNaN(audio.RMS(fr.Samples)) {
					t.Fatal("NaN samples")
				}
			}
		}
	})
}
