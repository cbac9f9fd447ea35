package mixer

import (
	"math"

	"tolk/internal/audio"
)

// Limiter constants.
const (
	// CeilingDB is the highest level any output sample reaches.
	CeilingDB = -1.0
	// LookaheadSamples is the limiter's delay (1 ms): the mix is that much
	// later than its inputs. The limiter needs it to lower the gain gradually
	// before a peak instead of cutting into it.
	LookaheadSamples = audio.SampleRate / 1000
	// limiterRelease is the time constant of the gain's recovery after a peak.
	limiterRelease = 0.060 // seconds
)

// ceiling is CeilingDB as a linear amplitude.
var ceiling = float32(audio.DBToGain(CeilingDB))

// limiter is a lookahead peak limiter. For each input sample it works out the
// gain that would keep that sample under the ceiling, takes the minimum over
// the lookahead window (so the gain is down before the peak leaves the delay
// line), lets the gain recover exponentially, and averages it over the window
// so the attack is a smooth ramp. The average of values that each are at most
// the gain a delayed sample needs is itself at most that gain: the ceiling
// holds exactly, without clipping. It is allocation-free after construction.
type limiter struct {
	delay [LookaheadSamples]float32
	dpos  int

	// Monotonic queue of (sample index, required gain) for the sliding minimum
	// over the last LookaheadSamples+1 inputs.
	qIdx  [LookaheadSamples + 1]int64
	qVal  [LookaheadSamples + 1]float32
	qHead int
	qLen  int
	n     int64

	hold float64 // recovering gain, never above the window minimum
	rel  float64 // recovery coefficient per sample

	box    [LookaheadSamples]float64
	boxPos int
	boxSum float64

	gainMin float64 // smallest gain applied in the last process call
	clamped int     // samples the gain missed by more than rounding (tests: 0)
}

func newLimiter() *limiter {
	l := &limiter{
		hold:   1,
		rel:    1 - math.Exp(-1/(limiterRelease*audio.SampleRate)),
		boxSum: LookaheadSamples,
	}
	for i := range l.box {
		l.box[i] = 1
	}
	return l
}

// idle reports whether no gain reduction is pending or recovering.
func (l *limiter) idle() bool {
	return l.hold == 1 && l.boxSum == LookaheadSamples && l.qLen == 1 && l.qVal[l.qHead] == 1
}

// process limits x in place; the output is x delayed by LookaheadSamples.
func (l *limiter) process(x []float32) {
	l.gainMin = 1
	if l.idle() && len(x) >= LookaheadSamples && audio.Peak(x) <= float64(ceiling) {
		l.pass(x)
		return
	}
	const window = LookaheadSamples + 1
	hold, rel, boxSum := l.hold, l.rel, l.boxSum
	for i, v := range x {
		a := v
		if a < 0 {
			a = -a
		}
		req := float32(1)
		if a > ceiling {
			req = ceiling / a
		}

		// Sliding minimum over the window [n-LookaheadSamples, n]: retire the
		// front once it leaves the window, drop queued gains that are no
		// smaller than req, push req.
		if l.qLen > 0 && l.qIdx[l.qHead] <= l.n-window {
			l.qHead++
			if l.qHead == window {
				l.qHead = 0
			}
			l.qLen--
		}
		for l.qLen > 0 {
			back := l.qHead + l.qLen - 1
			if back >= window {
				back -= window
			}
			if l.qVal[back] < req {
				break
			}
			l.qLen--
		}
		tail := l.qHead + l.qLen
		if tail >= window {
			tail -= window
		}
		l.qIdx[tail], l.qVal[tail] = l.n, req
		l.qLen++
		m := float64(l.qVal[l.qHead])
		l.n++

		hold += (1 - hold) * rel
		if hold > 1-1e-7 {
			hold = 1 // land exactly, so the limiter can go idle
		}
		if m < hold {
			hold = m
		}

		boxSum += hold - l.box[l.boxPos]
		l.box[l.boxPos] = hold
		l.boxPos++
		if l.boxPos == LookaheadSamples {
			l.boxPos = 0
			// Re-add from scratch once per window so rounding cannot drift.
			boxSum = 0
			for _, h := range l.box {
				boxSum += h
			}
		}
		g := boxSum / LookaheadSamples
		if g > 1 {
			g = 1
		}
		if g < l.gainMin {
			l.gainMin = g
		}

		y := l.delay[l.dpos]
		l.delay[l.dpos] = v
		l.dpos++
		if l.dpos == LookaheadSamples {
			l.dpos = 0
		}
		y *= float32(g)
		// Rounding in the running sum must not let a sample through.
		if y > ceiling || y < -ceiling {
			if y > ceiling*(1+1e-6) || y < -ceiling*(1+1e-6) {
				l.clamped++
			}
			y = min(ceiling, max(-ceiling, y))
		}
		x[i] = y
	}
	l.hold, l.boxSum = hold, boxSum
}

// pass is process for an idle limiter and a block under the ceiling: the
// gain stays 1, so the block only goes through the delay line.
func (l *limiter) pass(x []float32) {
	var tail [LookaheadSamples]float32
	n := len(x)
	copy(tail[:], x[n-LookaheadSamples:])
	copy(x[LookaheadSamples:], x[:n-LookaheadSamples])
	// The delay line is a ring starting at dpos: unroll it in order.
	k := copy(x, l.delay[l.dpos:])
	copy(x[k:LookaheadSamples], l.delay[:l.dpos])
	l.delay = tail
	l.dpos = 0
	l.n += int64(n)
	l.qHead, l.qLen = 0, 1
	l.qIdx[0], l.qVal[0] = l.n-1, 1
}
