package audiotest

import (
	"fmt"

	"github.com/hraban/opus"

	"tolk/internal/audio"
)

// OpusPackets encodes pcm once as 20 ms Opus packets (VoIP, bitrate b/s) for
// a sender that loops them: many looping speakers cost no encoder each. A
// last partial frame is completed from the clip's start, so the loop has no
// gap.
func OpusPackets(pcm []float32, bitrate int) ([][]byte, error) {
	if len(pcm) == 0 {
		return nil, fmt.Errorf("no audio to encode")
	}
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("opus bitrate: %w", err)
	}
	buf := make([]byte, 1500)
	frame := make([]float32, audio.FrameSamples)
	var pkts [][]byte
	for k := range (len(pcm) + audio.FrameSamples - 1) / audio.FrameSamples {
		for i := range frame {
			frame[i] = pcm[(k*audio.FrameSamples+i)%len(pcm)]
		}
		n, err := enc.EncodeFloat32(frame, buf)
		if err != nil {
			return nil, fmt.Errorf("opus frame %d: %w", k, err)
		}
		pkts = append(pkts, append([]byte(nil), buf[:n]...))
	}
	return pkts, nil
}
