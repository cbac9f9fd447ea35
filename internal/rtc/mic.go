package rtc

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hraban/opus"
	"github.com/pion/rtp"

	"tolk/internal/audio"
)

// Jitter buffer sizes and limits, in 48 kHz samples unless said otherwise.
const (
	micSlots         = 64   // packets held: 1.28 s of 20 ms packets
	micMaxPayload    = 1500 // larger RTP payloads do not fit a UDP datagram
	micMaxPacket     = audio.MaxOpusSamples
	micMaxCatchUp    = 200 * time.Millisecond // Play starts its schedule again past this
	micMinFrame      = 120                    // 2.5 ms, the shortest Opus frame
	micMinTarget     = 960                    // 20 ms
	micMaxTarget     = 5760                   // 120 ms
	micInitialTarget = 1920                   // 40 ms, until arrivals have been measured
	micMaxConceal    = 4800                   // 100 ms of concealment before an underrun
	micDriftExcess   = 2880                   // 60 ms held above target for micSkipWindow ⇒ skip
	micHardExcess    = 9600                   // 200 ms above target ⇒ drop down to it at once
	micSkipWindow    = 25                     // ticks (0.5 s) over which the depth minimum is taken
	micQuietSkipGap  = 5                      // ticks between skips of quiet packets
	micStreamJump    = 96000                  // 2 s off the expected timestamp ⇒ a new stream
	micQuietDB       = -50.0                  // frames below this may be trimmed to lower latency
	micPCMCap        = audio.FrameSamples + micMaxPacket
	micMaxSteps      = audio.FrameSamples / micMinFrame
)

// MicStats counts what happened to one microphone stream since NewMic.
type MicStats struct {
	// Packets counts RTP packets with a payload (padding-only ones are not counted).
	Packets uint64
	// Late counts packets that arrived after their turn had been played or concealed.
	Late uint64
	// Duplicates counts packets received twice.
	Duplicates uint64
	// Lost counts sequence numbers that never arrived in time and were
	// recovered, concealed or skipped over.
	Lost uint64
	// FECRecovered counts lost packets rebuilt from the next packet's in-band FEC.
	FECRecovered uint64
	// Concealed counts packet-loss-concealment steps (lost or late audio).
	Concealed uint64
	// Overflow counts packets dropped because the buffer was full (nobody read it).
	Overflow uint64
	// Underruns counts times playout stopped after concealment ran out.
	Underruns uint64
	// Skipped counts packets dropped to bring the depth back to its target
	// (clock drift, or a backlog after a stall).
	Skipped uint64
	// Invalid counts payloads that are not Opus or that failed to decode.
	Invalid uint64
	// Resets counts restarts of the stream: new SSRC, timestamp or sequence
	// jump, or Reset.
	Resets uint64
	// DepthMS is the audio buffered now, decoded or not.
	DepthMS float64
	// TargetMS is the depth playout aims for when a frame is due (DepthMS is
	// measured after it), from the measured arrival jitter.
	TargetMS float64
	// LastPacket is when the last Opus packet arrived.
	LastPacket time.Time
}

// Mic is the jitter buffer and Opus decoder of one interpreter's microphone.
// Push is called on the track-reader goroutine, ReadFrame once per tick on the
// program clock goroutine (one goroutine at a time); Level, Stats and Reset
// are safe from any goroutine. Packets are kept in sequence order and decoded
// only when their turn comes, outside the lock.
type Mic struct {
	clock audio.Clock
	epoch time.Time

	mu      sync.Mutex
	active  bool // a stream is known
	started bool // playout has begun since the stream started
	playing bool // false while (re)buffering
	stalled bool // concealing a late packet until the depth is back at target
	ssrc    uint32
	highSeq int64 // extended sequence number of the newest packet
	highTS  int64 // extended RTP timestamp of the newest packet
	highDur int
	slots   [micSlots]micSlot
	data    []byte // micSlots payload buffers of micMaxPayload bytes
	jit     micJitter
	last    time.Time
	gen     uint64 // bumped by every reset so the reader drops its PCM and decoder

	// Playout position, guarded by mu, moved by ReadFrame (and by Push on overflow).
	nextSeq    int64
	lastDur    int                // samples of the last packet played, the size of a lost one
	lastEnd    int64              // RTP timestamp just after the audio played so far
	concealRun int                // samples concealed in a row
	stallRun   int                // samples concealed while stalled
	depths     [micSkipWindow]int // depth at entry of the last ticks
	ticks      int                // ticks played since playout (re)started
	sinceSkip  int                // ticks since the last skip

	// Owned by the ReadFrame goroutine.
	readGen uint64
	dec     *opus.Decoder
	pcm     [micPCMCap]float32 // decoded, not yet played
	n       int
	steps   [micMaxSteps]micStep
	out     [audio.FrameSamples]float32

	target atomic.Int64 // samples
	fifo   atomic.Int64 // len of pcm, for Stats
	// starved is set when the last frame ended in concealment with nothing
	// newer received (see Starved).
	starved atomic.Bool
	level   atomic.Uint64 // float64 bits, dBFS

	packets, late, dups, lost, fec, concealed atomic.Uint64
	overflow, underruns, skipped, invalid     atomic.Uint64
	resets                                    atomic.Uint64
}

type micSlot struct {
	ok  bool
	fec bool // carries in-band FEC for the packet before it
	seq int64
	ts  int64
	dur int
	n   int // payload length in data
}

type micStepKind uint8

const (
	micDecode micStepKind = iota
	micFEC
	micPLC
)

// micStep is one decoder call planned under the lock and run outside it.
type micStep struct {
	kind micStepKind
	dur  int
	n    int
	buf  [micMaxPayload]byte
}

// NewMic returns an empty Mic; clock stamps packet arrivals for the jitter
// estimate.
func NewMic(clock audio.Clock) (*Mic, error) {
	dec, err := opus.NewDecoder(audio.SampleRate, 1)
	if err != nil {
		return nil, fmt.Errorf("mic: opus decoder: %w", err)
	}
	m := &Mic{clock: clock, epoch: clock.Now(), dec: dec, data: make([]byte, micSlots*micMaxPayload)}
	m.jit.reset()
	m.target.Store(micInitialTarget)
	m.level.Store(math.Float64bits(audio.SilenceDB))
	return m, nil
}

// Push stores one RTP packet of the stream. It never blocks on the reader and
// does not allocate; a full buffer drops its oldest packets.
func (m *Mic) Push(p *rtp.Packet) {
	if p == nil || len(p.Payload) == 0 {
		return // padding-only probes carry no audio
	}
	m.packets.Add(1)
	info, ok := audio.ParseOpus(p.Payload)
	if !ok || len(p.Payload) > micMaxPayload {
		m.invalid.Add(1)
		return
	}
	now := m.clock.Now()
	arrival := micSince(m.epoch, now)

	m.mu.Lock()
	defer m.mu.Unlock()
	m.last = now
	if m.active && m.isNewStream(p) {
		m.flushLocked()
		m.resets.Add(1)
	}
	if !m.active {
		m.active = true
		m.ssrc = p.SSRC
		m.highSeq, m.highTS, m.highDur = int64(p.SequenceNumber), int64(p.Timestamp), info.Samples
		m.nextSeq, m.lastDur = m.highSeq, info.Samples
	}
	seq := m.highSeq + int64(int16(p.SequenceNumber-uint16(m.highSeq)))
	ts := m.highTS + int64(int32(p.Timestamp-uint32(m.highTS)))
	s := &m.slots[seq&(micSlots-1)]
	if s.ok && s.seq == seq {
		m.dups.Add(1)
		return
	}
	// A late packet still tells how late packets come.
	m.jit.add(arrival, ts)
	m.target.Store(int64(m.jit.target(max(m.highDur, audio.FrameSamples))))
	if seq < m.nextSeq {
		if m.started || m.highSeq-seq >= micSlots {
			m.late.Add(1)
			return
		}
		m.nextSeq = seq // reordered before playout began: start earlier
	}
	if seq > m.highSeq {
		for ; seq-m.nextSeq >= micSlots; m.nextSeq++ {
			if o := m.slotLocked(m.nextSeq); o != nil {
				o.ok = false
				m.overflow.Add(1)
			}
		}
		m.highSeq, m.highTS, m.highDur = seq, ts, info.Samples
	}
	i := seq & (micSlots - 1)
	*s = micSlot{ok: true, fec: info.FEC, seq: seq, ts: ts, dur: info.Samples,
		n: copy(m.data[i*micMaxPayload:(i+1)*micMaxPayload], p.Payload)}
}

// isNewStream reports whether p cannot belong to the stream in the buffer:
// another SSRC, a sequence number beyond the buffer, or a timestamp far from
// where the sequence number puts it.
func (m *Mic) isNewStream(p *rtp.Packet) bool {
	if p.SSRC != m.ssrc {
		return true
	}
	d := int64(int16(p.SequenceNumber - uint16(m.highSeq)))
	if d >= micSlots {
		return true
	}
	dts := int64(int32(p.Timestamp - uint32(m.highTS)))
	off := dts - d*int64(m.highDur)
	return off > micStreamJump || off < -micStreamJump
}

// slotLocked returns the packet with extended sequence number seq, or nil.
func (m *Mic) slotLocked(seq int64) *micSlot {
	s := &m.slots[seq&(micSlots-1)]
	if s.ok && s.seq == seq {
		return s
	}
	return nil
}

func (m *Mic) payloadLocked(s *micSlot) []byte {
	i := s.seq & (micSlots - 1)
	return m.data[i*micMaxPayload : i*micMaxPayload+int64(s.n)]
}

// flushLocked forgets the stream but keeps the jitter estimate.
func (m *Mic) flushLocked() {
	for i := range m.slots {
		m.slots[i].ok = false
	}
	m.active, m.started, m.playing, m.stalled, m.stallRun = false, false, false, false, 0
	m.concealRun, m.ticks = 0, 0
	m.jit.primed = false // a new stream's timestamps have another origin
	m.gen++
}

// Reset forgets the stream and the measured jitter (a new peer or an ICE
// restart): the next packet starts a fresh stream.
func (m *Mic) Reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.flushLocked()
	m.jit.reset()
	m.target.Store(micInitialTarget)
	m.resets.Add(1)
}

// ReadFrame returns the next 20 ms of the voice stamped pts, or false when
// there is nothing to play: not started, buffering, or an underrun longer than
// concealment covers. The samples are valid until the next call.
func (m *Mic) ReadFrame(pts int64) (audio.Frame, bool) {
	f, _, ok := m.ReadPacket(pts)
	return f, ok
}

// ReadPacket is ReadFrame that also returns the Opus packet the frame was
// decoded from when the frame is exactly one whole 20 ms packet, played as it
// came (nil for concealed, recovered, re-chunked or other-sized audio), so
// that it can be forwarded without re-encoding. Both are valid until the next
// call.
func (m *Mic) ReadPacket(pts int64) (audio.Frame, []byte, bool) {
	f, packet, _, ok := m.ReadPacketAt(pts)
	return f, packet, ok
}

// Played says where a frame came from on the publisher's RTP clock: the
// extended RTP timestamp of its first sample (concealment while a late
// packet was awaited can put it a few milliseconds early) and the stream
// it belongs to, which changes when the publisher starts a new stream.
type Played struct {
	RTP    int64
	Stream uint64
}

// ReadPacketAt is ReadPacket that also says where the frame came from.
func (m *Mic) ReadPacketAt(pts int64) (audio.Frame, []byte, Played, bool) {
	m.mu.Lock()
	fresh := m.gen != m.readGen
	if fresh {
		m.readGen = m.gen
		m.n = 0
	}
	whole := m.n == 0 // no audio of an earlier packet is still to play
	k, ok := m.planLocked()
	played := Played{RTP: m.lastEnd, Stream: m.gen}
	m.mu.Unlock()

	if fresh {
		// A new stream must not inherit the old one's decoder state.
		if dec, err := opus.NewDecoder(audio.SampleRate, 1); err == nil {
			m.dec = dec
		}
	}
	if !ok {
		m.fifo.Store(int64(m.n))
		m.level.Store(math.Float64bits(audio.SilenceDB))
		m.starved.Store(false)
		return audio.Frame{}, nil, Played{}, false
	}
	decoded := true
	for i := range k {
		decoded = m.runStep(&m.steps[i]) && decoded
	}
	var packet []byte
	if st := &m.steps[0]; whole && decoded && k == 1 && st.kind == micDecode && st.dur == audio.FrameSamples {
		packet = st.buf[:st.n]
	}
	if m.n < audio.FrameSamples { // only if libopus disagreed with the TOC
		clear(m.pcm[m.n:audio.FrameSamples])
		m.n = audio.FrameSamples
	}
	// lastEnd follows the end of what is decoded: the frame starts that
	// much before it.
	played.RTP -= int64(m.n)
	copy(m.out[:], m.pcm[:audio.FrameSamples])
	m.n = copy(m.pcm[:], m.pcm[audio.FrameSamples:m.n])
	m.fifo.Store(int64(m.n))
	m.level.Store(math.Float64bits(audio.LevelDB(m.out[:])))
	return audio.Frame{PTS: pts, Samples: m.out[:]}, packet, played, true
}

// runStep decodes one planned step onto the end of the PCM FIFO. A packet that
// fails to decode is concealed instead; ok says it decoded fully.
func (m *Mic) runStep(st *micStep) (ok bool) {
	dst := m.pcm[m.n : m.n+st.dur : m.n+st.dur] // the decoder sizes FEC and PLC by cap
	var err error
	switch st.kind {
	case micDecode:
		var got int
		got, err = m.dec.DecodeFloat32(st.buf[:st.n], dst)
		if err == nil && got < st.dur {
			clear(dst[got:])
			ok = false
		} else {
			ok = err == nil
		}
	case micFEC:
		err = m.dec.DecodeFECFloat32(st.buf[:st.n], dst)
	case micPLC:
		err = m.dec.DecodePLCFloat32(dst)
	}
	if err != nil {
		m.invalid.Add(1)
		if st.kind == micPLC || m.dec.DecodePLCFloat32(dst) != nil {
			clear(dst)
		}
	}
	m.n += st.dur
	return ok
}

// planLocked moves the playout position far enough to fill one frame and
// records the decoder calls that takes in m.steps. It returns false when the
// frame cannot be played.
func (m *Mic) planLocked() (int, bool) {
	if !m.playing && !m.startLocked() {
		return 0, false
	}
	starved := false
	defer func() { m.starved.Store(starved) }()
	target := int(m.target.Load())
	m.trimLocked(m.n+m.bufferedLocked(m.nextSeq), target)
	need := audio.FrameSamples - m.n
	k := 0
	for planned := 0; planned < need && k < len(m.steps); {
		st := &m.steps[k]
		switch s := m.slotLocked(m.nextSeq); {
		case m.stalled || m.nextSeq > m.highSeq:
			// Starved: the next packet is late, not lost. Conceal without
			// moving on, so it still plays when it comes, until the buffer is
			// back at its target depth.
			st.kind, st.dur = micPLC, micRoundUp(need-planned, micMinFrame)
			over := m.concealRun+st.dur > micMaxConceal
			if m.nextSeq <= m.highSeq && (over || m.n+m.bufferedLocked(m.nextSeq) >= target) {
				// The concealment already played stands in for packets that
				// turn out to be lost, so the timeline does not stretch.
				for ; m.stallRun >= m.lastDur && m.nextSeq < m.highSeq && m.slotLocked(m.nextSeq) == nil; m.nextSeq++ {
					m.stallRun -= m.lastDur
					m.lastEnd += int64(m.lastDur)
					m.lost.Add(1)
				}
				m.stalled, m.stallRun = false, 0
				continue
			}
			if over {
				m.playing, m.stalled, m.stallRun = false, false, 0
				m.underruns.Add(1)
				m.n = 0
				return 0, false
			}
			m.stalled = true
			m.stallRun += st.dur
			m.concealRun += st.dur
			m.concealed.Add(1)
			starved = m.nextSeq > m.highSeq
		case s != nil:
			starved = false
			st.kind, st.dur = micDecode, s.dur
			st.n = copy(st.buf[:], m.payloadLocked(s))
			s.ok = false
			m.nextSeq++
			m.lastDur, m.lastEnd, m.concealRun = s.dur, s.ts+int64(s.dur), 0
		default:
			// A hole with later packets behind it: this one is lost.
			starved = false
			m.lost.Add(1)
			if next := m.slotLocked(m.nextSeq + 1); next != nil && next.fec {
				st.kind, st.dur = micFEC, m.lastDur
				if gap := int(next.ts - m.lastEnd); gap >= micMinFrame && gap <= micMaxPacket && gap%micMinFrame == 0 {
					st.dur = gap
				}
				st.n = copy(st.buf[:], m.payloadLocked(next))
				m.fec.Add(1)
				m.concealRun = 0
			} else if m.concealRun+m.lastDur > micMaxConceal {
				// Concealed long enough: jump to the next packet that came.
				for m.nextSeq++; m.nextSeq <= m.highSeq && m.slotLocked(m.nextSeq) == nil; m.nextSeq++ {
					m.lost.Add(1)
				}
				continue
			} else {
				st.kind, st.dur = micPLC, m.lastDur
				m.concealRun += st.dur
				m.concealed.Add(1)
			}
			m.nextSeq++
			m.lastEnd += int64(st.dur)
		}
		planned += st.dur
		k++
	}
	return k, true
}

// startLocked begins playout once the buffer holds the target depth, from the
// oldest packet there; sequence numbers passed over are lost.
func (m *Mic) startLocked() bool {
	if !m.active {
		return false
	}
	first := m.nextSeq
	for ; first <= m.highSeq && m.slotLocked(first) == nil; first++ {
	}
	if first > m.highSeq || m.bufferedLocked(first) < int(m.target.Load()) {
		return false
	}
	if m.started {
		m.lost.Add(uint64(first - m.nextSeq))
	}
	s := m.slotLocked(first)
	m.nextSeq = first
	m.lastDur, m.lastEnd = s.dur, s.ts
	m.started, m.playing, m.stalled, m.stallRun = true, true, false, 0
	m.concealRun, m.ticks = 0, 0
	m.n = 0
	return true
}

// bufferedLocked sums the audio from sequence number from to the newest
// packet; a missing packet counts as long as the last one played, since FEC
// or concealment will fill it.
func (m *Mic) bufferedLocked(from int64) int {
	d := 0
	for seq := from; seq <= m.highSeq; seq++ {
		if s := m.slotLocked(seq); s != nil {
			d += s.dur
		} else {
			d += max(m.lastDur, micMinFrame)
		}
	}
	return d
}

// trimLocked skips packets when the depth has stayed above the target: at
// once after a backlog, one packet per window when the sender's clock runs
// fast, and in quiet moments down to the target (after a jitter burst, or
// when the target has come down). The depth kept is the smallest of the last
// window, so the margin for jitter seen there is kept too.
func (m *Mic) trimLocked(depth, target int) {
	if depth-target > micHardExcess {
		for depth > target+audio.FrameSamples && m.nextSeq <= m.highSeq {
			depth -= m.skipLocked()
		}
		m.ticks = 0
		return
	}
	m.depths[m.ticks%micSkipWindow] = depth
	m.ticks++
	m.sinceSkip++
	if m.ticks < micSkipWindow || m.nextSeq > m.highSeq {
		return
	}
	excess := slices.Min(m.depths[:]) - target
	quiet := math.Float64frombits(m.level.Load()) < micQuietDB
	if (excess > micDriftExcess && m.sinceSkip >= micSkipWindow) ||
		(quiet && excess >= audio.FrameSamples && m.sinceSkip >= micQuietSkipGap) {
		d := m.skipLocked()
		for i := range m.depths {
			m.depths[i] -= d
		}
		m.sinceSkip = 0
	}
}

// skipLocked drops the packet due next and returns its duration.
func (m *Mic) skipLocked() int {
	dur := m.lastDur
	if s := m.slotLocked(m.nextSeq); s != nil {
		dur = s.dur
		s.ok = false
		m.lastEnd = s.ts + int64(dur)
	} else {
		m.lastEnd += int64(dur)
	}
	m.nextSeq++
	m.skipped.Add(1)
	return max(dur, micMinFrame)
}

// Starved reports whether the last frame ReadFrame returned ended in
// concealment of audio that has not arrived while no later packet had
// arrived either: the stream may have stopped (a cut link), which loss alone
// does not look like, since a lost packet is concealed with later ones
// already waiting behind it. A frame that played a packet, rebuilt one from
// FEC or concealed a hole clears it, and so does a false ReadFrame (the
// caller sees that for itself).
func (m *Mic) Starved() bool { return m.starved.Load() }

// Level returns the RMS of the last frame ReadFrame returned, in dBFS
// (−120 when it returned nothing).
func (m *Mic) Level() float64 { return math.Float64frombits(m.level.Load()) }

// Stats returns the counters and the current depth.
func (m *Mic) Stats() MicStats {
	m.mu.Lock()
	depth := int(m.fifo.Load())
	if m.active {
		first := m.nextSeq
		if !m.playing {
			for ; first <= m.highSeq && m.slotLocked(first) == nil; first++ {
			}
		}
		depth += m.bufferedLocked(first)
	}
	last := m.last
	m.mu.Unlock()
	return MicStats{
		Packets:      m.packets.Load(),
		Late:         m.late.Load(),
		Duplicates:   m.dups.Load(),
		Lost:         m.lost.Load(),
		FECRecovered: m.fec.Load(),
		Concealed:    m.concealed.Load(),
		Overflow:     m.overflow.Load(),
		Underruns:    m.underruns.Load(),
		Skipped:      m.skipped.Load(),
		Invalid:      m.invalid.Load(),
		Resets:       m.resets.Load(),
		DepthMS:      micMS(depth),
		TargetMS:     micMS(int(m.target.Load())),
		LastPacket:   last,
	}
}

func micMS(n int) float64 { return float64(n) * 1000 / audio.SampleRate }

func micRoundUp(n, step int) int { return (n + step - 1) / step * step }

// micSince converts the time since epoch to 48 kHz samples.
func micSince(epoch, now time.Time) int64 {
	return now.Sub(epoch).Microseconds() * (audio.SampleRate / 1000) / 1000
}

// Jitter estimate: a histogram of each packet's delay relative to the fastest
// recent packet, with exponential forgetting; the target depth covers its
// 95th percentile. The fastest packet is taken over the last one to two
// seconds so that clock drift does not read as delay.
const (
	micJitterBin      = 240 // 5 ms
	micJitterBins     = 24  // up to 120 ms; the last bin holds everything above
	micJitterForget   = 0.996
	micJitterQuantile = 0.95
	micJitterWindow   = audio.SampleRate // 1 s
)

type micJitter struct {
	hist            [micJitterBins]float64
	curMin, prevMin int64
	winStart        int64
	primed          bool
}

func (j *micJitter) reset() {
	*j = micJitter{}
	j.hist[micInitialTarget/micJitterBin-audio.FrameSamples/micJitterBin-1] = 1
}

// add records a packet with RTP timestamp ts that arrived at arrival (both in samples).
func (j *micJitter) add(arrival, ts int64) {
	transit := arrival - ts
	switch {
	case !j.primed:
		j.curMin, j.prevMin, j.winStart, j.primed = transit, transit, arrival, true
	case arrival-j.winStart >= micJitterWindow:
		j.prevMin, j.curMin, j.winStart = j.curMin, transit, arrival
	}
	j.curMin = min(j.curMin, transit)
	bin := min((transit-min(j.curMin, j.prevMin))/micJitterBin, micJitterBins-1)
	for i := range j.hist {
		j.hist[i] *= micJitterForget
	}
	j.hist[bin] += 1 - micJitterForget
}

// target returns the depth that covers the jitter quantile for packets of
// packetDur samples.
func (j *micJitter) target(packetDur int) int {
	var sum float64
	for _, h := range j.hist {
		sum += h
	}
	var acc float64
	edge := micJitterBins * micJitterBin
	for i, h := range j.hist {
		if acc += h; acc >= micJitterQuantile*sum {
			edge = (i + 1) * micJitterBin
			break
		}
	}
	return min(max(packetDur+edge, micMinTarget), micMaxTarget)
}

// Play paces the stream out of the jitter buffer: every 20 ms of clock it
// reads the next frame and hands it to emit with its Opus packet when it is
// one played as it came (see ReadPacket), until quit is closed. This is how a
// pushed stream (the floor over WHIP) gets the same buffering, FEC and
// concealment as a microphone the program pulls. A late wake-up catches up
// frame by frame; one far behind (a stalled machine) starts the schedule
// again instead of bursting.
func (m *Mic) Play(clock audio.Clock, quit <-chan struct{}, emit func(samples []float32, packet []byte)) {
	m.PlayAt(clock, quit, func(samples []float32, packet []byte, _ Played) { emit(samples, packet) })
}

// PlayAt is Play that also says where each frame came from (see Played).
func (m *Mic) PlayAt(clock audio.Clock, quit <-chan struct{}, emit func(samples []float32, packet []byte, at Played)) {
	due := clock.Now().Add(audio.FrameDuration)
	t := clock.NewTimer(audio.FrameDuration)
	defer t.Stop()
	var pts int64
	for {
		select {
		case <-quit:
			return
		case <-t.C():
		}
		now := clock.Now()
		if now.Sub(due) > micMaxCatchUp {
			due = now
		}
		for !due.After(now) {
			if f, packet, at, ok := m.ReadPacketAt(pts); ok {
				emit(f.Samples, packet, at)
			}
			pts += audio.FrameSamples
			due = due.Add(audio.FrameDuration)
		}
		t.Reset(due.Sub(now))
	}
}
