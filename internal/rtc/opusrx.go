package rtc

import (
	"fmt"

	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
)

// maxConcealed is the longest gap (in packets) that is filled with loss
// concealment; a longer gap is a restart of the stream and is not filled.
const maxConcealed = 10

// OpusReceiver turns an Opus RTP stream into 20 ms mono frames: it drops
// duplicates and late packets, recovers a single lost packet from in-band FEC,
// conceals longer losses and re-chunks any Opus frame size into 20 ms.
type OpusReceiver struct {
	dec     *opus.Decoder
	emit    func(frame []float32, packet []byte)
	started bool
	lastSeq uint16
	lastDur int // samples in the last decoded packet
	pcm     []float32
	scratch []float32

	// Counters, read only by the goroutine that calls Packet.
	Lost, Concealed, Recovered, Late, Errors uint64
}

// NewOpusReceiver calls emit with every complete 20 ms frame; emit must not
// retain it. packet is the Opus packet the frame was decoded from when the
// frame is exactly that one packet (nil for concealed, recovered or re-chunked
// audio), so it can be forwarded without re-encoding.
func NewOpusReceiver(emit func(frame []float32, packet []byte)) (*OpusReceiver, error) {
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("opus decoder: %w", err)
	}
	return &OpusReceiver{dec: dec, emit: emit, lastDur: audio.FrameSamples, scratch: make([]float32, 5760)}, nil
}

// Packet feeds one RTP packet.
func (r *OpusReceiver) Packet(p *rtp.Packet) {
	if len(p.Payload) == 0 {
		return // padding-only probes carry no audio
	}
	if r.started {
		d := int16(p.SequenceNumber - r.lastSeq)
		switch {
		case d <= 0:
			r.Late++
			return
		case d > 1 && int(d)-1 <= maxConcealed:
			missing := int(d) - 1
			r.Lost += uint64(missing)
			for i := 0; i < missing; i++ {
				buf := r.scratch[:r.lastDur]
				var err error
				if i == missing-1 {
					err = r.dec.DecodeFECFloat32(p.Payload, buf)
					if err == nil {
						r.Recovered++
					}
				}
				if i < missing-1 || err != nil {
					if err = r.dec.DecodePLCFloat32(buf); err != nil {
						r.Errors++
						continue
					}
					r.Concealed++
				}
				r.push(buf)
			}
		case d > 1:
			r.Lost += uint64(d) - 1
		}
	}
	r.started = true
	r.lastSeq = p.SequenceNumber
	n, err := r.dec.DecodeFloat32(p.Payload, r.scratch)
	if err != nil {
		r.Errors++
		return
	}
	r.lastDur = n
	if n == audio.FrameSamples && len(r.pcm) == 0 {
		r.emit(r.scratch[:n], p.Payload)
		return
	}
	r.push(r.scratch[:n])
}

func (r *OpusReceiver) push(s []float32) {
	r.pcm = append(r.pcm, s...)
	for len(r.pcm) >= audio.FrameSamples {
		r.emit(r.pcm[:audio.FrameSamples], nil)
		r.pcm = r.pcm[:copy(r.pcm, r.pcm[audio.FrameSamples:])]
	}
}
