package ingest

import (
	"io"
	"log/slog"
	"sync/atomic"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mpegtscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// VideoWriter is a Writer that also takes the floor's pictures. A source
// that writes to one runs its ffmpeg with a second output: the first video
// stream remuxed, not re-encoded, to MPEG-TS on a pipe. Every audio frame
// and every video frame is stamped with its time on the run's source clock
// (48 kHz samples): the audio's first sample is at 0 and a picture shown at
// the same instant as an audio sample has the same time, so the program can
// put the pictures on its timeline where their sound is. Each run of a
// source (a new publisher, a new ffmpeg) has a clock of its own, named by
// an id no other run uses. Neither method may block or retain its
// arguments' slices beyond the call (a unit's payload is the writer's).
type VideoWriter interface {
	Writer
	// WriteFloorAt is WriteFloor for a frame whose first sample is at
	// source time src on source clock clk.
	WriteFloorAt(clk uint64, src int64, samples []float32)
	// WriteVideo takes one H.264 access unit (AVCC, key frames with their
	// SPS and PPS) whose PTS and DTS are on source clock clk.
	WriteVideo(clk uint64, u media.Unit)
}

// sourceClocks hands out source clock ids.
var sourceClocks atomic.Uint64

// newSourceClock returns an id no other run of any source has.
func newSourceClock() uint64 { return sourceClocks.Add(1) }

// audioTimed makes the decoded audio follow its timestamps on the source
// clock: ffmpeg pads the start with silence up to source time 0 (where the
// remuxed video's timestamps count from too), fills a gap in the input's
// audio with silence and trims an overlap, once they exceed 20 ms, so the
// n-th sample on the pipe is always source time n.
var audioTimed = []string{"-af", "aresample=async=1:min_hard_comp=0.02:first_pts=0"}

// videoOutputArgs are the second output: the first video stream copied
// (no decoding, no encoding) into MPEG-TS on fd 3. The muxer must not move
// the timestamps: no mux delay, and a first DTS below zero (B-frames) is
// written as is rather than shifting the whole stream. When the input has
// no video, the optional map selects nothing and ffmpeg falls back to its
// default pick, which is then the audio, copied (it costs a remux, and the
// reader ignores it); an output with no stream at all would fail the run.
var videoOutputArgs = []string{
	"-map", "0:v:0?", "-c", "copy", "-muxdelay", "0", "-muxpreload", "0",
	"-avoid_negative_ts", "disabled", "-f", "mpegts", "pipe:3",
}

// VideoStats counts a run's video.
type VideoStats struct {
	Frames, Keys uint64
	// Errors counts what the MPEG-TS reader could not decode.
	Errors uint64
}

// videoReader turns the MPEG-TS ffmpeg writes into media units on the run's
// source clock.
type videoReader struct {
	clk    uint64
	w      VideoWriter
	log    *slog.Logger
	source string

	dts       tsClock
	sps, pps  []byte
	stats     VideoStats
	announced bool
}

// run reads r to its end, whatever it holds: ffmpeg must never block on the
// video pipe, or the audio behind it would stop too.
func (v *videoReader) run(r io.Reader) {
	defer func() { _, _ = io.Copy(io.Discard, r) }()
	rd := &mpegts.Reader{R: r}
	if err := rd.Initialize(); err != nil {
		// ffmpeg ended before writing anything (it failed, or was stopped).
		return
	}
	var track *mpegts.Track
	var other string
	for _, t := range rd.Tracks() {
		switch t.Codec.(type) {
		case *mpegtscodecs.H264:
			if track == nil {
				track = t
			}
		case *mpegtscodecs.H265:
			other = "H.265"
		case *mpegtscodecs.MPEG4Video:
			other = "MPEG-4 Visual"
		case *mpegtscodecs.MPEG1Video:
			other = "MPEG-1/2 video"
		}
	}
	if track == nil {
		if other != "" {
			v.log.Warn("floor video is not H.264: only H.264 is passed through, the floor stays audio only",
				"source", v.source, "codec", other)
		}
		return
	}
	rd.OnDecodeError(func(error) { v.stats.Errors++ })
	rd.OnDataH264(track, func(pts, dts int64, au [][]byte) error {
		v.frame(pts, dts, au)
		return nil
	})
	for rd.Read() == nil {
	}
}

// frame hands one access unit to the writer.
func (v *videoReader) frame(pts, dts int64, au [][]byte) {
	if len(au) == 0 {
		return
	}
	key := h264.IsRandomAccess(au)
	hasSPS, hasPPS := false, false
	for _, n := range au {
		if len(n) == 0 {
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			v.sps, hasSPS = append(v.sps[:0], n...), true
		case h264.NALUTypePPS:
			v.pps, hasPPS = append(v.pps[:0], n...), true
		}
	}
	if key && (!hasSPS || !hasPPS) {
		// A key frame must carry its parameter sets (a reader may start on
		// it): put back the latest ones.
		if len(v.sps) == 0 || len(v.pps) == 0 {
			key = false
		} else {
			au = append([][]byte{v.sps, v.pps}, au...)
		}
	}
	payload, err := h264.AVCC(au).Marshal()
	if err != nil {
		v.stats.Errors++
		return
	}
	d := v.dts.decode(dts)
	p := d + signed33(pts-dts)
	if p < d {
		p = d // a broken stream: a picture is never shown before it is decoded
	}
	if !v.announced {
		v.announced = true
		v.log.Info("floor video", "source", v.source, "codec", "H.264")
	}
	v.stats.Frames++
	if key {
		v.stats.Keys++
	}
	v.w.WriteVideo(v.clk, media.Unit{Codec: media.H264, Payload: payload, Key: key,
		PTS: ticksToSamples(p), DTS: ticksToSamples(d)})
}

// MPEG-TS timestamps: 33 bits at 90 kHz.
const (
	tsBits   = 33
	tsMask   = 1<<tsBits - 1
	tsHz     = 90000
	tsHalf   = 1 << (tsBits - 1)
	tsSample = audio.SampleRate
)

// signed33 reads a 33-bit difference as signed.
func signed33(d int64) int64 {
	d &= tsMask
	if d >= tsHalf {
		d -= 1 << tsBits
	}
	return d
}

// tsClock unwraps 33-bit timestamps into a continuous count. ffmpeg writes
// a first DTS below zero (B-frames ahead of the first picture) as its
// 33-bit two's complement, so the first value is read as signed.
type tsClock struct {
	init      bool
	prev, cur int64
}

func (c *tsClock) decode(ts int64) int64 {
	ts &= tsMask
	if !c.init {
		c.init, c.prev, c.cur = true, ts, signed33(ts)
		return c.cur
	}
	c.cur += signed33(ts - c.prev)
	c.prev = ts
	return c.cur
}

// ticksToSamples converts 90 kHz ticks to 48 kHz samples, rounding down.
func ticksToSamples(t int64) int64 {
	n := t * tsSample
	q := n / tsHz
	if n%tsHz != 0 && n < 0 {
		q--
	}
	return q
}
