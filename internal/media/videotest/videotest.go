// Package videotest makes real H.264 video for tests: ffmpeg's testsrc2
// pattern encoded by libx264, read back from MPEG-TS into media units on
// the program's 48 kHz time scale.
package videotest

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mpegtscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"tolk/internal/media"
)

// Options describe the clip.
type Options struct {
	Seconds       float64 // length (default 4)
	Width, Height int     // default 1280x720
	FPS           int     // default 30
	GOP           int     // frames between key frames (default 2 s worth)
	BFrames       int     // B-frames between references (0: PTS = DTS)
}

// Clip encodes a testsrc2 clip and returns its frames in decode order, as
// AVCC H.264 units whose DTS starts at 0 (48 kHz samples); key frames carry
// SPS and PPS.
func Clip(ctx context.Context, o Options) ([]media.Unit, error) {
	if o.Seconds <= 0 {
		o.Seconds = 4
	}
	if o.Width == 0 || o.Height == 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.FPS == 0 {
		o.FPS = 30
	}
	if o.GOP == 0 {
		o.GOP = 2 * o.FPS
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", o.Width, o.Height, o.FPS),
		"-t", fmt.Sprint(o.Seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-g", fmt.Sprint(o.GOP), "-keyint_min", fmt.Sprint(o.GOP), "-sc_threshold", "0",
		"-bf", fmt.Sprint(o.BFrames), "-x264-params", "repeat-headers=1",
		"-f", "mpegts", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffmpeg: %w: %s", err, stderr.String())
	}
	return Read(bytes.NewReader(out))
}

// Read reads the first H.264 track of an MPEG-TS stream into units in
// decode order, DTS rebased to 0 and scaled to 48 kHz.
func Read(r interface{ Read([]byte) (int, error) }) ([]media.Unit, error) {
	rd := &mpegts.Reader{R: r}
	if err := rd.Initialize(); err != nil {
		return nil, fmt.Errorf("mpeg-ts: %w", err)
	}
	var track *mpegts.Track
	for _, t := range rd.Tracks() {
		if _, ok := t.Codec.(*mpegtscodecs.H264); ok {
			track = t
			break
		}
	}
	if track == nil {
		return nil, fmt.Errorf("mpeg-ts: no H.264 track")
	}
	var units []media.Unit
	var first int64
	rd.OnDataH264(track, func(pts, dts int64, au [][]byte) error {
		if len(units) == 0 {
			first = dts
		}
		payload, err := h264.AVCC(au).Marshal()
		if err != nil {
			return err
		}
		units = append(units, media.Unit{Codec: media.H264, Payload: payload, Key: h264.IsRandomAccess(au),
			PTS: (pts - first) * 48000 / 90000, DTS: (dts - first) * 48000 / 90000})
		return nil
	})
	for {
		if err := rd.Read(); err != nil {
			break
		}
	}
	if len(units) == 0 {
		return nil, fmt.Errorf("mpeg-ts: no H.264 frames")
	}
	return units, nil
}
