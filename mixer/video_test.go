package mixer

import (
	"math"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
)

// The clock's placing of pictures, step by step (no goroutine: the steps
// Run takes on each tick, called in order).
func TestProgramVideoPlacing(t *testing.T) {
	tl := media.NewTimeline()
	tl.Fix(time.Unix(1000, 0))
	p, err := NewProgram(audiotest.NewClock(), tl, nil, []InputConfig{{ID: "a"}, {ID: "b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.inputs[0], p.inputs[1]
	r := p.Video().Read("test", 100)
	got := func() (out []media.Unit) {
		p.moveVideo(math.MaxInt64)
		for {
			select {
			case u := <-r.C:
				out = append(out, u)
			default:
				return out
			}
		}
	}
	pic := func(in *Input, clk uint64, src int64, key bool) {
		in.WriteVideo(clk, media.Unit{Codec: media.H264, Payload: []byte{0, 0, 0, 1, 0x65}, Key: key, PTS: src, DTS: src})
	}
	const frame = audio.FrameSamples

	// Pictures wait for their clock's audio; then the first is a key frame.
	pic(a, 5, 0, false)
	pic(a, 5, 1600, true)
	if u := got(); len(u) != 0 {
		t.Fatalf("placed %d pictures before any audio of their clock", len(u))
	}
	a.place(10*frame, &floorFrame{clk: 5, src: 0}) // source 0 played at program 10 frames
	u := got()
	if len(u) != 1 || !u[0].Key || u[0].PTS != 10*frame+1600+VideoDelay {
		t.Fatalf("placed %+v, want the key frame at %d", u, 10*frame+1600+VideoDelay)
	}
	if !a.KeyFrameWanted() || a.KeyFrameWanted() {
		t.Fatal("a picture left out for want of a key frame did not ask for one, once")
	}
	if !u[0].Wall.Equal(tl.Wall(u[0].PTS)) {
		t.Errorf("wall %v, want %v", u[0].Wall, tl.Wall(u[0].PTS))
	}

	// The clock ran on silence for 3 ticks: the pictures move with the audio.
	a.place(14*frame, &floorFrame{clk: 5, src: frame})
	pic(a, 5, 3200, false)
	if u := got(); len(u) != 1 || u[0].PTS != 13*frame+3200+VideoDelay {
		t.Fatalf("after silence: %+v, want PTS %d", u, 13*frame+3200+VideoDelay)
	}

	// A little audio dropped (the clock caught up with a late source): the
	// next picture would go back 27 ms; it goes just after the last one,
	// and the chain goes on without a key frame.
	last := int64(13*frame + 3200 + VideoDelay)
	a.place(15*frame, &floorFrame{clk: 5, src: 5 * frame})
	pic(a, 5, 4800, false)
	pic(a, 5, 8000, false)
	u = got()
	if len(u) != 2 || u[0].DTS != last+1 || u[0].PTS != last+1 || u[1].PTS != 10*frame+8000+VideoDelay {
		t.Fatalf("after a small drop: %+v, want DTS %d then PTS %d", u, last+1, 10*frame+8000+VideoDelay)
	}
	if a.KeyFrameWanted() {
		t.Error("a picture moved by a small drop asked for a key frame")
	}

	// Much audio dropped: the next picture would go back past VideoNudge:
	// dropped, and so is what follows up to a key frame, which is asked for.
	a.place(16*frame, &floorFrame{clk: 5, src: 40 * frame})
	pic(a, 5, 4800, false)
	pic(a, 5, 6400, false)
	pic(a, 5, 42000, true)
	u = got()
	if len(u) != 1 || !u[0].Key || u[0].PTS != 16*frame-40*frame+42000+VideoDelay {
		t.Fatalf("after a drop: %+v, want only the key frame", u)
	}
	if !a.KeyFrameWanted() {
		t.Error("pictures left out after a gap did not ask for a key frame")
	}
	if s := p.Stats(); s.VideoDropped != 3 || s.VideoFrames != 5 { // the first, before a key frame, too
		t.Fatalf("stats %+v, want 5 written, 3 dropped", s)
	}

	// A new source clock (a new publisher): older pictures are dropped,
	// newer ones wait for its audio.
	pic(a, 5, 13600, false)
	pic(a, 6, 0, true)
	a.place(20*frame, &floorFrame{clk: 6, src: 0})
	if u := got(); len(u) != 1 || u[0].PTS != 20*frame+VideoDelay {
		t.Fatalf("new clock: %+v", u)
	}

	// Input b's pictures are drained, not written, until a switch to it;
	// then a's go on until b has a key frame.
	b.place(21*frame, &floorFrame{clk: 7, src: 0})
	pic(b, 7, 0, true)
	if u := got(); len(u) != 0 {
		t.Fatalf("an input off the program wrote %d pictures", len(u))
	}
	p.vsw.want = 1
	pic(a, 6, 1600, false)
	pic(b, 7, 1600, false)
	pic(b, 7, 3200, true)
	u = got()
	if len(u) != 2 || u[0].PTS != 20*frame+1600+VideoDelay || !u[1].Key || u[1].PTS != 21*frame+3200+VideoDelay {
		t.Fatalf("switch: %+v", u)
	}
	if !b.KeyFrameWanted() || a.KeyFrameWanted() {
		t.Error("the input switched to did not ask for a key frame, or the one leaving did")
	}
	pic(a, 6, 3200, true)
	if u := got(); len(u) != 0 {
		t.Fatalf("the input switched from still writes: %+v", u)
	}
}

// While a switch waits for the new input's key frame, the input leaving
// goes on only up to the program time now: its pictures' lead must not keep
// the new input's key frames (placed by a shorter lead) out for good.
func TestProgramVideoSwitchCapsTheLead(t *testing.T) {
	tl := media.NewTimeline()
	tl.Fix(time.Unix(1000, 0))
	p, err := NewProgram(audiotest.NewClock(), tl, nil, []InputConfig{{ID: "a"}, {ID: "b"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, b := p.inputs[0], p.inputs[1]
	r := p.Video().Read("test", 100)
	a.place(0, &floorFrame{clk: 1})
	b.place(0, &floorFrame{clk: 2})
	pic := func(in *Input, clk uint64, dts int64, key bool) {
		in.WriteVideo(clk, media.Unit{Codec: media.H264, Payload: []byte{0, 0, 0, 1, 0x65}, Key: key, PTS: dts, DTS: dts})
	}
	pic(a, 1, 0, true)
	p.moveVideo(0)
	p.vsw.want = 1
	pic(a, 1, 1000, false)
	pic(a, 1, 5000, false) // ahead of the program: held back
	p.moveVideo(3000)
	pic(b, 2, 4000, true)
	p.moveVideo(3000)
	var dts []int64
	for len(r.C) > 0 {
		dts = append(dts, (<-r.C).DTS-VideoDelay)
	}
	if len(dts) != 3 || dts[0] != 0 || dts[1] != 1000 || dts[2] != 4000 || p.vsw.on != 1 {
		t.Fatalf("written %v, on %d: want a's 0 and 1000, then b's key frame at 4000", dts, p.vsw.on)
	}
}

// After a stall the clock filled with silence, the backlog of an input with
// a source clock is skipped down to the lag it had before; frames without
// a source clock, a new clock, and a frame with nothing queued behind it
// are played.
func TestProgramSkipsTheBacklogAfterAStall(t *testing.T) {
	p, err := NewProgram(audiotest.NewClock(), media.NewTimeline(), nil, []InputConfig{{ID: "a"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := p.inputs[0]
	const frame = audio.FrameSamples
	queue := func(n int) {
		for range n {
			in.q <- &floorFrame{}
		}
	}
	if in.behind(10*frame, &floorFrame{clk: 3, src: 0}) { // the first frame sets the lag: 10 frames
		t.Fatal("the first frame is behind")
	}
	if in.behind(11*frame, &floorFrame{clk: 3, src: frame}) {
		t.Fatal("a frame on time is behind")
	}
	// Three ticks of silence, then the backlog: skipped while frames wait.
	queue(3)
	if !in.behind(15*frame, &floorFrame{clk: 3, src: 2 * frame}) {
		t.Fatal("a frame three frames late with a backlog is played")
	}
	for len(in.q) > 0 {
		<-in.q
	}
	if in.behind(15*frame, &floorFrame{clk: 3, src: 3 * frame}) {
		t.Error("a late frame with nothing behind it is skipped")
	}
	// A source that jumped ahead (a gap in its time) lowers the lag; a new
	// clock starts its own.
	if in.behind(16*frame, &floorFrame{clk: 3, src: 100 * frame}) || in.lead.off != -84*frame {
		t.Errorf("lag %d after the source jumped, want %d", in.lead.off, -84*frame)
	}
	queue(2)
	if in.behind(40*frame, &floorFrame{clk: 4, src: 0}) || in.lead.clk != 4 || in.lead.off != 40*frame {
		t.Errorf("a new clock: lead %+v", in.lead)
	}
	if in.behind(41*frame, &floorFrame{src: 0}) {
		t.Error("a frame without a source clock is skipped")
	}
}
