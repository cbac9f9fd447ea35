package mixer

import (
	"math"

	"tolk/internal/audio"
	"tolk/internal/media"
)

const (
	// VideoQueue bounds the pictures an input may hold for the clock (4 s at
	// 30 frames a second): what arrives while its source clock is not yet
	// placed on the program, or between two ticks.
	VideoQueue = 120
	// VideoDelay is what the mixes add to the floor on its way to every
	// language: the limiter's lookahead. A picture is placed that much later
	// than the floor sample it goes with, so it lines up with the mixes.
	VideoDelay = LookaheadSamples
	// VideoNudge is how far back (in samples, 200 ms) a picture's DTS may
	// fall behind the last one written and still go on the program, moved to
	// just after it. It falls back when the clock drops audio to catch up
	// with a late source (the source clock moves back against the
	// program's): a picture shown a little early keeps the decoder's chain,
	// where leaving it out would freeze the picture until the next key frame.
	VideoNudge = 200 * audio.SampleRate / 1000
)

// videoFrame is one picture of an input on its source clock.
type videoFrame struct {
	clk uint64
	u   media.Unit
}

// sourceMap places an input's source clock on the program timeline: the
// frame the clock took last, at program time pts, began at source time src
// on clock clk, so source time s is program time s + off. Owned by the
// clock goroutine.
type sourceMap struct {
	clk uint64
	off int64
}

// WriteFloorAt queues one 20 ms frame whose first sample is at source time
// src on source clock clk (each run of a source, a new publisher for
// instance, has a clock of its own, with a larger id than the last). The
// clock places the input's pictures by the frames it takes: see
// WriteVideo. It never blocks.
func (in *Input) WriteFloorAt(clk uint64, src int64, samples []float32) {
	in.writeFloor(samples, nil, clk, src)
}

// WriteFloorPacketAt is WriteFloorAt for a frame that came as an Opus packet
// (see WriteFloorPacket).
func (in *Input) WriteFloorPacketAt(clk uint64, src int64, samples []float32, packet []byte) {
	in.writeFloor(samples, packet, clk, src)
}

// WriteVideo queues one picture of the input (media.H264 or media.VP8)
// whose PTS and DTS are on source clock clk, the clock of the audio written
// with WriteFloorAt. Once the program clock has taken an audio frame of
// that clock it knows which program time each source time is, and puts the
// picture on the program's video track (while the input is on the program)
// at the program time of its sound: lip sync follows from the audio, through
// silence the clock inserts and frames it drops. Pictures of an older clock
// than the audio's are dropped, those of a newer one wait for its audio.
// It never blocks: a full queue drops the picture and counts it. The unit's
// payload must not be written afterwards.
func (in *Input) WriteVideo(clk uint64, u media.Unit) {
	select {
	case in.vq <- videoFrame{clk: clk, u: u}:
		in.vframes.Add(1)
	default:
		in.vdropped.Add(1)
	}
}

// KeyFrameWanted reports whether the program has been waiting for a key
// frame of the input since the last call (after a gap in its pictures, or
// to switch to it), and clears it: a source that can ask its publisher for
// one (a WebRTC PLI) polls it. Safe for concurrent use.
func (in *Input) KeyFrameWanted() bool { return in.keyWanted.Swap(false) }

// place records where the frame the clock took at pts puts the input's
// source clock. f may be nil.
func (in *Input) place(pts int64, f *floorFrame) {
	if f != nil && f.clk != 0 {
		in.smap = sourceMap{clk: f.clk, off: pts - f.src}
	}
}

// nextVideo returns the input's next picture that the clock can place (its
// program PTS and DTS set) with a DTS up to limit, or false when there is
// none yet. Pictures of a clock older than the audio's are dropped; one of
// a newer clock, or beyond limit, is kept back.
func (in *Input) nextVideo(limit int64) (media.Unit, bool) {
	for {
		if in.vhead == nil {
			select {
			case f := <-in.vq:
				in.vhead = &f
			default:
				return media.Unit{}, false
			}
		}
		f := in.vhead
		switch {
		case in.smap.clk == 0 || f.clk > in.smap.clk:
			return media.Unit{}, false
		case f.clk < in.smap.clk:
			in.vhead = nil
			in.vdropped.Add(1)
			continue
		}
		u := f.u
		u.PTS += in.smap.off + VideoDelay
		u.DTS += in.smap.off + VideoDelay
		if u.DTS > limit {
			return media.Unit{}, false
		}
		in.vhead = nil
		return u, true
	}
}

// videoSwitch is the program's choice of pictures: whose, and where the last
// one written stands. Owned by the clock goroutine.
type videoSwitch struct {
	on, want int   // the input whose pictures are on the program; the one switched to (-1: none)
	needKey  bool  // the next picture written must be a key frame
	written  bool  // a picture was written
	lastDTS  int64 // the last written picture's DTS
}

// moveVideo puts every picture the inputs can place now on the program's
// video track: those of the input on the program, until the input switched
// to has a key frame, from which on that one's. While a switch waits for
// that key frame, the input leaving goes on only up to the program time now
// (pictures come ahead of their sound: were they to keep their lead, the
// new input's key frames, placed by a shorter lead, could never pass them).
// DTS never goes back: a picture that would (its source clock moved back
// against the program's, when the clock dropped audio of it) by up to
// VideoNudge is moved to just after the last one; further back, it is
// dropped, and so is every picture up to the next key frame, which a
// decoder needs after a gap. Whenever a key frame of an input is awaited,
// the input is told (Input.KeyFrameWanted), so that a source that can asks
// its publisher for one.
func (p *Program) moveVideo(now int64) {
	vs := &p.vsw
	for i, in := range p.inputs {
		limit := int64(math.MaxInt64)
		if i == vs.on && vs.want >= 0 {
			limit = now
		}
		for {
			u, ok := in.nextVideo(limit)
			if !ok {
				break
			}
			if i != vs.on {
				if i == vs.want && !u.Key {
					in.keyWanted.Store(true)
				}
				if i != vs.want || !u.Key {
					continue // not on the program: drained, not counted
				}
				if vs.written && u.DTS <= vs.lastDTS {
					continue // behind the picture on the program: the next key frame
				}
				vs.on, vs.want, vs.needKey = i, -1, false
			}
			if vs.written && u.DTS <= vs.lastDTS && vs.lastDTS-u.DTS < VideoNudge {
				d := vs.lastDTS + 1 - u.DTS
				u.DTS += d
				u.PTS += d
			}
			switch {
			case vs.written && u.DTS <= vs.lastDTS:
				vs.needKey = true
				in.keyWanted.Store(true)
				p.videoDropped.Add(1)
				continue
			case vs.needKey && !u.Key:
				in.keyWanted.Store(true)
				p.videoDropped.Add(1)
				continue
			}
			vs.needKey, vs.written, vs.lastDTS = false, true, u.DTS
			u.Wall = p.timeline.Wall(u.PTS)
			p.video.Write(u)
			p.videoFrames.Add(1)
		}
	}
}
