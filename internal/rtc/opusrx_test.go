package rtc

import (
	"testing"

	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

func encodeTone(t *testing.T, frames int, fec bool) [][]byte {
	t.Helper()
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	if fec {
		enc.SetInBandFEC(true)
		enc.SetPacketLossPerc(20)
	}
	var out [][]byte
	buf := make([]byte, 1500)
	for i := 0; i < frames; i++ {
		n, err := enc.EncodeFloat32(audiotest.Tone(440, 0.5, i*audio.FrameSamples, audio.FrameSamples), buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), buf[:n]...))
	}
	return out
}

func TestOpusReceiverLossReorderAndPadding(t *testing.T) {
	pkts := encodeTone(t, 100, true)
	var frames [][]float32
	passed := 0
	rx, err := NewOpusReceiver(func(f []float32, pkt []byte) {
		if pkt != nil {
			passed++
		}
		if len(f) != audio.FrameSamples {
			t.Fatalf("frame of %d samples", len(f))
		}
		frames = append(frames, append([]float32(nil), f...))
	})
	if err != nil {
		t.Fatal(err)
	}
	send := func(seq int) {
		rx.Packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: uint16(seq + 65500)}, Payload: pkts[seq]})
	}
	for seq := 0; seq < 100; seq++ {
		switch seq {
		case 20: // one packet lost: recovered from the next packet's FEC
		case 40, 41, 42: // three lost: concealed
		case 60:
			send(60)
			send(60)                                                      // duplicate
			rx.Packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}}) // padding only
		case 70:
			send(71)
			send(70) // arrives late: dropped
			seq++
		default:
			send(seq)
		}
	}
	// Every sequence number from 0 to 99 yields exactly one frame (the sequence
	// wraps through 65535 on the way): 20, 42 and 70 recovered from FEC, 40-41
	// concealed; the duplicate and the late 70 are dropped.
	if len(frames) != 100 {
		t.Fatalf("%d frames, want 100", len(frames))
	}
	// Every frame decoded from its own packet can be forwarded as is.
	if passed != 100-5 {
		t.Fatalf("%d frames came with their packet, want 95", passed)
	}
	if rx.Lost != 5 || rx.Recovered != 3 || rx.Concealed != 2 || rx.Late != 2 {
		t.Fatalf("lost %d recovered %d concealed %d late %d, want 5 3 2 2", rx.Lost, rx.Recovered, rx.Concealed, rx.Late)
	}
	// The recovered frame still carries the tone.
	if f, amp := audiotest.DominantFrequency(frames[20], audio.SampleRate, 200, 2000, 10); f != 440 || amp < 0.2 {
		t.Fatalf("FEC frame: %.0f Hz at %.2f", f, amp)
	}
}

func TestOpusReceiverRechunksLongFrames(t *testing.T) {
	enc, _ := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	buf := make([]byte, 4000)
	n, err := enc.EncodeFloat32(audiotest.Tone(440, 0.5, 0, 3*audio.FrameSamples), buf) // one 60 ms packet
	if err != nil {
		t.Fatal(err)
	}
	count := 0
	rx, _ := NewOpusReceiver(func(_ []float32, pkt []byte) {
		if pkt != nil {
			t.Error("a re-chunked 60 ms packet was offered for forwarding")
		}
		count++
	})
	rx.Packet(&rtp.Packet{Payload: buf[:n]})
	if count != 3 {
		t.Fatalf("a 60 ms packet gave %d frames, want 3", count)
	}
	rx.Packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: 1}, Payload: []byte{0xff, 0xff, 0xff}})
	if rx.Errors != 1 {
		t.Fatalf("a corrupt packet was not counted: %d", rx.Errors)
	}
}

func FuzzOpusReceiver(f *testing.F) {
	f.Add(uint16(1), []byte{0xfc, 0xff, 0xfe})
	f.Add(uint16(7), []byte{})
	f.Fuzz(func(t *testing.T, seq uint16, payload []byte) {
		rx, err := NewOpusReceiver(func(fr []float32, _ []byte) {
			if len(fr) != audio.FrameSamples {
				t.Fatalf("frame of %d samples", len(fr))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		rx.Packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: 0}, Payload: []byte{0xfc, 0xff, 0xfe}})
		rx.Packet(&rtp.Packet{Header: rtp.Header{SequenceNumber: seq}, Payload: payload})
	})
}
