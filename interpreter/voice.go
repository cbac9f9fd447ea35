package interpreter

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/media"
)

const (
	// crossfadeSamples is the handover cross-fade: 100 ms.
	crossfadeSamples = audio.SampleRate / 10
	// gateRamp is how fast the mic gate opens and closes (10 ms), so mute and
	// cough never click.
	gateRamp = audio.SampleRate / 100
)

// CutAfter is how long the on-air microphone may go without audio before the
// voice counts its link as cut: the packets stopped mid-sentence and no bye
// came. Until then the microphone's jitter buffer conceals what is missing
// (FEC, then Opus PLC) and the floor stays ducked under it; from the tick
// after, the voice is absent and the mix brings the floor back within
// mixer.CutRelease, skipping the ducker's hold.
//
// 100 ms is where the microphone stops concealing by itself (its underrun),
// so the voice never goes silent over a ducked floor, and it is longer than
// what random loss starves playout of: a tick is starved only when every
// packet from the one due to the newest is missing. At 10 % loss that never
// happened in 20 minutes of simulated speech; at 30 % loss (a link already
// barely intelligible) a cut came every 77 s on average, each exactly where
// the microphone had run out of concealment, so the floor comes up only
// where listeners would otherwise hear nothing over it. A shorter threshold
// pumps the floor on lossy links (at 40 ms, four packets lost in a row, seen
// within 8 s at 10 % loss, muted the voice and lifted the floor 3.5 dB); a
// longer one leaves listeners under a ducked floor with nobody speaking.
const CutAfter = 100 * time.Millisecond

// cutAfterSamples is CutAfter on the program clock.
const cutAfterSamples = int(CutAfter * audio.SampleRate / time.Second)

// starver is a Mic that tells a starved frame (concealment with nothing newer
// received: the link may be cut) from one concealing loss (see rtc.Mic).
type starver interface{ Starved() bool }

// cutReleaser is a Releaser that can bring the floor back faster after a
// cut than ReleaseNow does (see mixer.Mix.ReleaseCut, which owns how fast).
type cutReleaser interface{ ReleaseCut() }

// Mic is a member's microphone as the voice reads it, once per tick (the
// transport's jitter buffer): it never blocks.
type Mic interface {
	ReadFrame(pts int64) (audio.Frame, bool)
}

// selection is what the booth goroutine tells the voice: whose microphone is
// on air, whether it is heard, and every microphone to drain.
type selection struct {
	onAir Mic
	open  bool
	all   []Mic
}

// Voice is a booth's clean voice: the on-air microphone behind its gate, with
// a cross-fade at handover. It is the mix's voice Source, read on the program
// clock; it also publishes the clean voice (PCM for captions, Opus for booths
// that take this booth as relay).
type Voice struct {
	sel   atomic.Pointer[selection]
	last  atomic.Int64  // program time of the latest tick that read the voice
	level atomic.Uint64 // float64 bits: RMS of the latest frame, dBFS
	rel   atomic.Pointer[releaserRef]
	cuts  atomic.Uint64
	isCut atomic.Bool

	// Owned by the tick goroutine.
	cur      Mic
	fadeFrom Mic
	fadePos  int
	gain     float32
	out      [audio.FrameSamples]float32
	frames   map[Mic][]float32
	starved  int  // samples in a row the on-air microphone had no audio for
	cut      bool // the on-air microphone's link is cut: the voice is absent
	wasLive  bool // the on-air microphone has played audio since it came on air

	enc     *opus.Encoder
	encBuf  [1500]byte
	packets *media.Track[media.Unit]
	pcm     *media.Track[media.Unit]
}

type releaserRef struct{ r Releaser }

// NewVoice returns a silent voice; bitrate is the relay encoder's.
func NewVoice(bitrate int) (*Voice, error) {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("relay encoder: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("relay bitrate: %w", err)
	}
	_ = enc.SetComplexity(5)
	v := &Voice{enc: enc, frames: map[Mic][]float32{},
		packets: media.NewTrack[media.Unit]("voice/opus"), pcm: media.NewTrack[media.Unit]("voice/pcm")}
	v.sel.Store(&selection{})
	v.last.Store(-audio.FrameSamples)
	v.level.Store(math.Float64bits(audio.SilenceDB))
	return v, nil
}

// set makes s the selection from the next tick on and returns that tick's
// program time (one tick early if a tick is reading the voice just then).
func (v *Voice) set(s *selection) int64 {
	v.sel.Store(s)
	return v.last.Load() + audio.FrameSamples
}

// ReadFrame implements mixer.Source. It never blocks.
func (v *Voice) ReadFrame(pts int64) (audio.Frame, bool) {
	// Stored before the selection is read, so a selection set after this
	// load is stamped no later than the tick that first mixes it.
	v.last.Store(pts)
	s := v.sel.Load()
	clear(v.frames)
	live := false // the on-air microphone played audio that arrived
	for _, r := range s.all {
		if f, ok := r.ReadFrame(pts); ok && len(f.Samples) == audio.FrameSamples {
			v.frames[r] = f.Samples
			if r == s.onAir {
				st, ok := r.(starver)
				live = !ok || !st.Starved()
			}
		}
	}
	if s.onAir != v.cur {
		// Handover: fade from the previous voice to the new one. The fade
		// starts wherever the last one was, so a quick back-and-forth is smooth.
		if v.cur != nil && s.onAir != nil {
			v.fadeFrom, v.fadePos = v.cur, 0
		} else {
			v.fadeFrom = nil
		}
		v.cur = s.onAir
		v.starved, v.cut, v.wasLive = 0, false, false
	}
	target := float32(0)
	if s.open && s.onAir != nil {
		target = 1
	}
	if v.watchCut(target == 1, live) {
		// Absent for the mix, so its floor comes back; silent for the
		// voice's subscribers, as the interpreter is still on air: a
		// recognizer hears the sentence end, a relay booth silence.
		v.fadeFrom = nil
		v.level.Store(math.Float64bits(audio.SilenceDB))
		clear(v.out[:])
		v.publish(pts)
		return audio.Frame{}, false
	}
	if v.cur == nil || (target == 0 && v.gain == 0) {
		v.fadeFrom = nil
		v.level.Store(math.Float64bits(audio.SilenceDB))
		return audio.Frame{}, false
	}
	in := v.frames[v.cur]
	var from []float32
	if v.fadeFrom != nil {
		from = v.frames[v.fadeFrom]
	}
	for i := range v.out {
		var x float32
		if in != nil {
			x = in[i]
		}
		if v.fadeFrom != nil {
			// Equal-power cross-fade keeps the loudness steady through it.
			t := float64(v.fadePos) / crossfadeSamples
			gin, gout := float32(math.Sin(t*math.Pi/2)), float32(math.Cos(t*math.Pi/2))
			x *= gin
			if from != nil {
				x += from[i] * gout
			}
			v.fadePos++
			if v.fadePos >= crossfadeSamples {
				v.fadeFrom = nil
			}
		}
		switch {
		case v.gain < target:
			v.gain = min(target, v.gain+1.0/gateRamp)
		case v.gain > target:
			v.gain = max(target, v.gain-1.0/gateRamp)
		}
		v.out[i] = x * v.gain
	}
	v.level.Store(math.Float64bits(audio.LevelDB(v.out[:])))
	v.publish(pts)
	return audio.Frame{PTS: pts, Samples: v.out[:]}, true
}

// watchCut follows the on-air microphone through one tick (heard: its gate
// is open; live: it played audio that arrived) and reports whether the voice
// is absent because its link is cut. The first cut tick tells the mix to
// bring the floor back; audio that arrives again ends the cut, and the voice
// fades back in through the gate.
func (v *Voice) watchCut(heard, live bool) bool {
	switch {
	case !heard:
		// A closed gate or nobody on air is the booth's business: it releases
		// the floor itself when it should.
		v.starved, v.cut = 0, false
	case live:
		v.starved, v.cut, v.wasLive = 0, false, true
	default:
		v.starved += audio.FrameSamples
		// A microphone that has not been heard yet is starting, not cut.
		if !v.cut && v.wasLive && v.starved > cutAfterSamples {
			v.cut = true
			v.gain = 0 // audio that comes back ramps in, without a click
			v.cuts.Add(1)
			if ref := v.rel.Load(); ref != nil {
				if cr, ok := ref.r.(cutReleaser); ok {
					cr.ReleaseCut()
				} else {
					ref.r.ReleaseNow()
				}
			}
		}
	}
	v.isCut.Store(v.cut)
	return v.cut
}

// setReleaser makes r the mix told to bring its floor back on a cut.
func (v *Voice) setReleaser(r Releaser) {
	if r == nil {
		v.rel.Store(nil)
		return
	}
	v.rel.Store(&releaserRef{r: r})
}

// Cuts counts the times the on-air microphone's link went silent for longer
// than CutAfter while its gate was open.
func (v *Voice) Cuts() uint64 { return v.cuts.Load() }

// Cut reports whether the on-air microphone's link is cut now: its gate is
// open but no audio has come for longer than CutAfter.
func (v *Voice) Cut() bool { return v.isCut.Load() }

// LevelDB is the clean voice's level over the latest tick (RMS, dBFS; -120
// while nobody is heard): the voice meter the producer watches.
func (v *Voice) LevelDB() float64 { return math.Float64frombits(v.level.Load()) }

// publish hands the clean voice to its subscribers, encoding only when a
// booth listens to it as relay.
func (v *Voice) publish(pts int64) {
	if v.pcm.Readers() > 0 {
		v.pcm.Write(media.Unit{PTS: pts, Codec: media.PCM, PCM: append([]float32(nil), v.out[:]...)})
	}
	if v.packets.Readers() > 0 {
		if n, err := v.enc.EncodeFloat32(v.out[:], v.encBuf[:]); err == nil {
			v.packets.Write(media.Unit{PTS: pts, Codec: media.Opus, Payload: append([]byte(nil), v.encBuf[:n]...)})
		}
	}
}

// Packets is the clean voice as Opus (relay), encoded only while the track
// has a reader.
func (v *Voice) Packets() *media.Track[media.Unit] { return v.packets }

// PCM is the clean voice as PCM (captions), copied only while the track has a
// reader.
func (v *Voice) PCM() *media.Track[media.Unit] { return v.pcm }

// Close ends the subscriptions.
func (v *Voice) Close() {
	v.packets.Close()
	v.pcm.Close()
}
