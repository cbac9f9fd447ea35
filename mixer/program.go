package mixer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
)

const (
	// FloorQueue bounds how many floor frames may wait for the clock (≈ 400 ms).
	FloorQueue = 20
	// FloorGrace is how long the clock waits for a late floor frame before it
	// ticks on the wall clock with silence.
	FloorGrace = 100 * time.Millisecond
	// SwitchFrames is the cross-fade between two floor inputs: 100 ms.
	SwitchFrames = 5
	// standbyDepth is how many frames an input that is not on the program may
	// keep queued: it is drained on every tick, so that a switch to it takes
	// its latest audio, not a backlog.
	standbyDepth = 3
	// liveWindow is how recent an input's last frame must be for it to count
	// as live (and for a switch to it to be taken).
	liveWindow = 500 * time.Millisecond
)

// ErrInputNotLive refuses a switch to an input that sends nothing: the
// program would go silent.
var ErrInputNotLive = errors.New("the input is not live")

// floorFrame is one queued 20 ms of floor, pooled to keep the clock
// allocation-free; packet is the Opus packet it came as, if it came as one.
type floorFrame struct {
	pcm    [audio.FrameSamples]float32
	packet []byte
	// clk and src place the frame on its source clock (see WriteFloorAt);
	// clk is 0 when the source does not say.
	clk uint64
	src int64
}

// ProgramStats counts the program clock's ticks and the floor it was given.
type ProgramStats struct {
	Ticks, SilentTicks, LateTicks uint64
	FloorFrames, FloorDropped     uint64
	// Switches counts the cross-fades from one floor input to another.
	Switches uint64
	// VideoFrames were written to the program's video track; VideoDropped
	// were pictures of the input on the program left out (a full queue,
	// a clock gone by, a gap waiting for the next key frame).
	VideoFrames, VideoDropped uint64
}

// InputConfig names one floor input of the program.
type InputConfig struct {
	ID, Name string
}

// Program is the event's program: one clock that ticks every mix once per
// 20 ms and advances the program timeline, and the floor selector over the
// event's floor inputs (studios, links, files). The input on the program
// drives the clock, one tick per frame, so nothing drifts from its clock;
// while it has sent nothing for FloorGrace the clock ticks on the wall clock
// with silence, so outputs never stall, and the backlog an input with a
// source clock then sends is skipped, so stalls do not add up to latency. The other inputs are drained every
// tick and metered, ready to be switched to with a cross-fade. Inputs'
// writes are safe from any goroutine; Run is the clock's goroutine.
type Program struct {
	clock    audio.Clock
	timeline *media.Timeline
	mixes    []*Mix
	onTick   func(pts int64)

	inputs []*Input
	active atomic.Int32 // index of the input on the program
	// want is the index asked for by Switch, -1 for none; the clock takes it
	// at its next tick.
	want atomic.Int32
	pool sync.Pool

	// video carries the floor's pictures (from the input on the program) on
	// the program timeline; it has no writer while the floor is audio only.
	video *media.Track[media.Unit]
	vsw   videoSwitch // owned by Run

	ticks, silentTicks, lateTicks atomic.Uint64
	videoFrames, videoDropped     atomic.Uint64
	switches                      atomic.Uint64
}

// NewProgram returns the program of mixes (the floor rendition first) on
// timeline, over the floor inputs (at least one; the first is on the
// program at the start); onTick, when set, runs after every tick with its
// program time (the captions' renditions follow the audio with it).
func NewProgram(clock audio.Clock, timeline *media.Timeline, mixes []*Mix, inputs []InputConfig, onTick func(pts int64)) (*Program, error) {
	if len(inputs) == 0 {
		return nil, errors.New("program: no floor input")
	}
	p := &Program{clock: clock, timeline: timeline, mixes: mixes, onTick: onTick,
		video: media.NewTrack[media.Unit]("video"), vsw: videoSwitch{want: -1, needKey: true}}
	p.pool.New = func() any { return new(floorFrame) }
	seen := map[string]bool{}
	for _, c := range inputs {
		if c.ID == "" || seen[c.ID] {
			return nil, fmt.Errorf("program: input id %q is empty or used twice", c.ID)
		}
		seen[c.ID] = true
		p.inputs = append(p.inputs, &Input{ID: c.ID, Name: c.Name, q: make(chan *floorFrame, FloorQueue),
			vq: make(chan videoFrame, VideoQueue), pool: &p.pool, clock: clock, quality: NewQualityMeter()})
	}
	p.want.Store(-1)
	return p, nil
}

// Video is the program's video track: the floor's frames (media.H264 or
// media.VP8 units) stamped on the program timeline so that they line up with
// every language's mix. Outputs read it like any other track.
func (p *Program) Video() *media.Track[media.Unit] { return p.video }

// Inputs lists the floor inputs, in their configured order.
func (p *Program) Inputs() []*Input { return append([]*Input(nil), p.inputs...) }

// Input returns the floor input id.
func (p *Program) Input(id string) (*Input, bool) {
	for _, in := range p.inputs {
		if in.ID == id {
			return in, true
		}
	}
	return nil, false
}

// Active is the input on the program now (or being faded to).
func (p *Program) Active() *Input {
	if w := p.want.Load(); w >= 0 {
		return p.inputs[w]
	}
	return p.inputs[p.active.Load()]
}

// Switch puts input id on the program with a SwitchFrames cross-fade from
// the next tick, never a gap. It refuses an unknown input, and an input
// that is not live: switching to it would take the floor away.
func (p *Program) Switch(id string) error {
	for i, in := range p.inputs {
		if in.ID != id {
			continue
		}
		if !in.Live() {
			return fmt.Errorf("input %q: %w", id, ErrInputNotLive)
		}
		p.want.Store(int32(i))
		return nil
	}
	return fmt.Errorf("no floor input %q", id)
}

// Stats returns the clock's counters, with the floor frames of every input.
func (p *Program) Stats() ProgramStats {
	s := ProgramStats{Ticks: p.ticks.Load(), SilentTicks: p.silentTicks.Load(), LateTicks: p.lateTicks.Load(),
		Switches: p.switches.Load()}
	for _, in := range p.inputs {
		s.FloorFrames += in.frames.Load()
		s.FloorDropped += in.dropped.Load()
	}
	s.VideoFrames = p.videoFrames.Load()
	s.VideoDropped = p.videoDropped.Load()
	if on := p.inputs[p.active.Load()]; on != nil {
		s.VideoDropped += on.vdropped.Load()
	}
	return s
}

// LastFloor is when the clock last took a frame of the input on the program
// (zero before the first).
func (p *Program) LastFloor() time.Time {
	if ns := p.inputs[p.active.Load()].taken.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Time{}
}

// fade is a cross-fade in progress from one input to another.
type fade struct {
	from, to int
	frame    int // frames of the fade done
	mix      [audio.FrameSamples]float32
}

// Run is the program clock; it returns when ctx is done.
func (p *Program) Run(ctx context.Context) {
	silence := make([]float32, audio.FrameSamples)
	var pts int64
	timer := p.clock.NewTimer(FloorGrace)
	defer timer.Stop()
	due := p.clock.Now().Add(FloorGrace)
	var fd *fade
	tick := func(floor []float32, packet []byte) {
		began := p.clock.Now()
		// Program time zero is the wall-clock time of the first tick.
		p.timeline.Fix(began.Add(-audio.Duration(pts)))
		p.timeline.Tick(pts, began)
		for _, m := range p.mixes {
			m.ProcessPacket(pts, floor, packet)
		}
		if p.onTick != nil {
			p.onTick(pts)
		}
		pts += audio.FrameSamples
		p.ticks.Add(1)
		if p.clock.Now().Sub(began) > audio.FrameDuration {
			p.lateTicks.Add(1)
		}
	}
	// program plays one frame of the active input (f nil: silence), fading
	// to another input when one was asked for, and drains the others.
	program := func(f *floorFrame) {
		cur := int(p.active.Load())
		if w := int(p.want.Swap(-1)); w >= 0 && w != cur && fd == nil {
			fd = &fade{from: cur, to: w}
			p.switches.Add(1)
			// The pictures follow at the new input's next key frame.
			p.vsw.want = w
			if w == p.vsw.on {
				p.vsw.want = -1
			}
		}
		floor, packet := silence, []byte(nil)
		if f != nil {
			floor = f.pcm[:]
			if len(f.packet) > 0 {
				packet = f.packet
			}
		}
		var next *floorFrame
		if fd != nil {
			next = p.inputs[fd.to].standby()
			in := silence
			if next != nil {
				in = next.pcm[:]
			}
			floor, packet = fd.apply(floor, in), nil // the floor rendition re-encodes the fade
		}
		for i, in := range p.inputs {
			switch {
			case i == cur:
				in.place(pts, f)
				in.previewFrame(pts, f)
			case fd != nil && i == fd.to:
				in.place(pts, next)
				in.previewFrame(pts, next)
			default:
				x := in.standby()
				in.place(pts, x)
				in.previewFrame(pts, x)
				if x != nil {
					p.pool.Put(x)
				}
			}
		}
		tick(floor, packet)
		p.moveVideo(pts)
		if next != nil {
			p.pool.Put(next)
		}
		if fd != nil && fd.frame >= SwitchFrames {
			p.active.Store(int32(fd.to))
			fd = nil
		}
	}
	for {
		q := p.inputs[p.active.Load()].q
		select {
		case <-ctx.Done():
			return
		case f := <-q:
			in := p.inputs[p.active.Load()]
			in.taken.Store(p.clock.Now().UnixNano())
			if fd == nil && in.behind(pts, f) {
				// The clock filled a stall with silence and the source's
				// backlog has come: skip it, so that the program stays as
				// late behind the source as before the stall (latency does
				// not grow with every stall, and pictures placed before it
				// stay in sync with their sound).
				p.pool.Put(f)
				in.dropped.Add(1)
				due = p.clock.Now().Add(FloorGrace)
				timer.Reset(FloorGrace)
				continue
			}
			program(f)
			p.pool.Put(f)
			due = p.clock.Now().Add(FloorGrace)
			timer.Reset(FloorGrace)
		case now := <-timer.C():
			if now.Sub(due) > audio.FrameDuration {
				p.lateTicks.Add(1)
			}
			program(nil)
			p.silentTicks.Add(1)
			due = due.Add(audio.FrameDuration)
			wait := due.Sub(p.clock.Now())
			if wait < 0 {
				// Far behind (a stalled machine): re-anchor instead of bursting.
				if wait < -10*audio.FrameDuration {
					due = p.clock.Now()
				}
				wait = 0
			}
			timer.Reset(wait)
		}
	}
}

// apply mixes one frame of the fade from a (the input leaving) to b (the
// input coming) with equal-power gains, so two unrelated programs keep
// their loudness through it.
func (f *fade) apply(a, b []float32) []float32 {
	const n = SwitchFrames * audio.FrameSamples
	for i := range f.mix {
		x := float64(f.frame*audio.FrameSamples+i+1) / n
		ga, gb := math.Cos(x*math.Pi/2), math.Sin(x*math.Pi/2)
		f.mix[i] = float32(ga)*a[i] + float32(gb)*b[i]
	}
	f.frame++
	return f.mix[:]
}

// InputStats counts one floor input's frames.
type InputStats struct {
	// Frames were queued; Dropped were refused (a full queue: the clock is
	// behind, or a malformed frame), trimmed while the input waited off
	// the program, or skipped after a stall the clock filled with silence.
	Frames, Dropped uint64
	// Last is when its latest frame arrived (zero before the first).
	Last time.Time
	// VideoFrames were the input's pictures queued; VideoDropped were
	// refused by a full queue or left behind by their source clock.
	VideoFrames, VideoDropped uint64
}

// Input is one floor input of the program: a studio, a link, a file. Its
// frames queue for the program clock and are metered as they come.
type Input struct {
	ID, Name string

	q       chan *floorFrame
	pool    *sync.Pool
	clock   audio.Clock
	qmu     sync.Mutex // one writer of the quality meter at a time
	quality *QualityMeter

	frames, dropped atomic.Uint64
	last            atomic.Int64 // unix ns of the latest frame written
	taken           atomic.Int64 // unix ns of the latest frame the clock took

	// vq holds the input's pictures for the clock (video.go); vhead is one
	// it took but cannot place yet, smap where the input's source clock
	// stands on the program. vhead and smap are the clock's.
	vq    chan videoFrame
	vhead *videoFrame
	smap  sourceMap
	// lead is the smallest lag of the program behind the input's source
	// clock (program time minus source time) seen on that clock: after a
	// stall the lag is larger, and the backlog is skipped (behind). The
	// clock's.
	lead              sourceMap
	vframes, vdropped atomic.Uint64
	keyWanted         atomic.Bool // the program awaits a key frame of the input

	// preview is the input alone, encoded while previewOn says someone
	// listens (a producer choosing what to put on the program).
	preview   *Mix
	previewOn func() bool
}

// SetPreview makes m (a floor-mode mix) the input's preview: from the next
// tick on, while on() is true, each of the input's frames, on the program
// or not, is mixed into it (silence when the input has none). Call it
// before Run.
func (in *Input) SetPreview(m *Mix, on func() bool) { in.preview, in.previewOn = m, on }

// previewFrame feeds the preview, if one is wanted now; f may be nil.
func (in *Input) previewFrame(pts int64, f *floorFrame) {
	if in.preview == nil || !in.previewOn() {
		return
	}
	if f == nil {
		in.preview.Process(pts, nil)
		return
	}
	var packet []byte
	if len(f.packet) > 0 {
		packet = f.packet
	}
	in.preview.ProcessPacket(pts, f.pcm[:], packet)
}

// WriteFloor queues one 20 ms frame of the input.
func (in *Input) WriteFloor(samples []float32) { in.WriteFloorPacket(samples, nil) }

// WriteFloorPacket queues one 20 ms frame for the clock; packet, when not
// nil, is the Opus packet it was decoded from, which the floor rendition
// forwards without re-encoding while this input is on the program. It never
// blocks: when the clock is behind, the frame is dropped and counted.
func (in *Input) WriteFloorPacket(samples []float32, packet []byte) {
	in.writeFloor(samples, packet, 0, 0)
}

func (in *Input) writeFloor(samples []float32, packet []byte, clk uint64, src int64) {
	if len(samples) != audio.FrameSamples {
		in.dropped.Add(1)
		return
	}
	in.qmu.Lock()
	in.quality.Write(samples)
	in.qmu.Unlock()
	in.last.Store(in.clock.Now().UnixNano())
	buf := in.pool.Get().(*floorFrame)
	copy(buf.pcm[:], samples)
	buf.packet = append(buf.packet[:0], packet...) // empty: no packet
	buf.clk, buf.src = clk, src
	select {
	case in.q <- buf:
		in.frames.Add(1)
	default:
		in.pool.Put(buf)
		in.dropped.Add(1)
	}
}

// standby takes the input's next frame off the program (nil if none), after
// trimming a backlog beyond standbyDepth.
func (in *Input) standby() *floorFrame {
	for len(in.q) > standbyDepth {
		select {
		case f := <-in.q:
			in.pool.Put(f)
			in.dropped.Add(1)
		default:
		}
	}
	select {
	case f := <-in.q:
		return f
	default:
		return nil
	}
}

// behind tells whether frame f, due at program time pts, is late on its
// source clock by at least a frame more than the input has been, with more
// frames queued behind it: a backlog after a stall, which the clock skips.
// Frames without a source clock are never skipped.
func (in *Input) behind(pts int64, f *floorFrame) bool {
	if f.clk == 0 {
		return false
	}
	lag := pts - f.src
	if f.clk != in.lead.clk || lag < in.lead.off {
		in.lead = sourceMap{clk: f.clk, off: lag}
		return false
	}
	return lag-in.lead.off >= audio.FrameSamples && len(in.q) > 0
}

// Live tells whether the input sent a frame within the last half second.
func (in *Input) Live() bool {
	ns := in.last.Load()
	return ns != 0 && in.clock.Now().Sub(time.Unix(0, ns)) < liveWindow
}

// Quality is the input's latest quality reading.
func (in *Input) Quality() InputQuality { return in.quality.Read() }

// Stats returns the input's counters.
func (in *Input) Stats() InputStats {
	s := InputStats{Frames: in.frames.Load(), Dropped: in.dropped.Load(),
		VideoFrames: in.vframes.Load(), VideoDropped: in.vdropped.Load()}
	if ns := in.last.Load(); ns != 0 {
		s.Last = time.Unix(0, ns)
	}
	return s
}
