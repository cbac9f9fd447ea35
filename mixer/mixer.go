// Package mixer builds the program of one language on the 20 ms tick: the
// interpreter's voice over the floor bed, which is ducked while the voice
// speaks, through a peak limiter, metered and encoded to Opus, with a bounded
// fan-out of the encoded packets and, on request, of the mixed PCM.
//
//	out = limiter( voice·g_v + floor·g_f·duck(envelope(voice)) )
package mixer

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// Encoder defaults: 64 kb/s at complexity 8 costs well under the 312 µs a
// frame may take for 64 languages on one core (see the benchmarks). Below
// 64 kb/s libopus switches to its speech modes, where complexity 7 and up
// costs four to five times as much: use 6 or less there.
const (
	DefaultBitrate    = 64000
	DefaultComplexity = 8
)

// maxPacket is the largest Opus packet libopus writes for one frame.
const maxPacket = 1275

// Source is pulled once per tick and must never block. It returns false when
// it has nothing for this tick, which counts as silence (an absent voice).
type Source interface {
	ReadFrame(pts int64) (audio.Frame, bool)
}

// Config describes one language's mix.
type Config struct {
	// Lang is the language tag of the rendition, for logs and metrics.
	Lang string
	// Floor makes this the floor rendition: no voice and no ducking, the
	// output is the floor alone (still gained, limited, metered and encoded).
	Floor bool
	// Ducking shapes the floor under the voice; zero durations and threshold
	// take their defaults, DepthDB is used as given (see DefaultDucking).
	Ducking Ducking
	// Timeline stamps the wall-clock time on every unit the mix writes (nil:
	// units carry no wall-clock time).
	Timeline *media.Timeline
	// VoiceGainDB and FloorGainDB are the fixed gains g_v and g_f.
	VoiceGainDB, FloorGainDB float64
	// Bitrate in bit/s (0 = DefaultBitrate) and Complexity 1..10
	// (0 = DefaultComplexity) of the Opus encoder.
	Bitrate, Complexity int
}

// Meters is a snapshot of the output meters.
type Meters struct {
	// PeakDB is the highest sample over the last 300 ms, in dBFS.
	PeakDB float64
	// RMSDB is the RMS level over the last 300 ms, in dBFS.
	RMSDB float64
	// ShortTermLUFS is the ITU-R BS.1770 loudness over the last 3 s.
	ShortTermLUFS float64
	// DuckDB is the ducking gain on the floor bed now (0 = full level).
	DuckDB float64
	// LimiterDB is the limiter's deepest gain reduction in the last frame
	// (0 = not limiting).
	LimiterDB float64
	// VoiceActive is true while the voice is above the threshold or the
	// floor is still held down after it.
	VoiceActive bool
	// FloorBedDB is the RMS level of the floor as it goes into the mix, after
	// its gain and the ducking, in the last frame: what listeners hear of
	// the floor under the interpreter.
	FloorBedDB float64
}

// Stats counts what happened to the mix since New.
type Stats struct {
	// Frames is the number of ticks processed.
	Frames uint64
	// PacketsDropped sums the packets lost by slow packet subscribers.
	PacketsDropped uint64
	// PCMDropped sums the frames lost by slow PCM subscribers.
	PCMDropped uint64
	// EncodeErrors counts frames the encoder refused; they are not published.
	EncodeErrors uint64
	// VoiceMissing counts ticks with a voice set that had no frame for them.
	VoiceMissing uint64
}

// Mix is one language's program. Process is called by one goroutine; every
// other method is safe from any goroutine.
type Mix struct {
	cfg Config
	enc *opus.Encoder

	// presence is when the voice was in the mix (voiceIn).
	presence presenceLog

	voice      atomic.Pointer[voiceRef]
	releaseNow atomic.Int64  // samples: a release requested for the next tick without voice, 0 if none
	depthDB    atomic.Uint64 // float64 bits: requested duck depth
	voiceGain  atomic.Uint64 // float64 bits: requested g_v (linear)
	floorGain  atomic.Uint64 // float64 bits: requested g_f (linear)
	packets    *media.Track[media.Unit]
	pcm        *media.Track[media.Unit]
	frames     atomic.Uint64
	dropped    atomic.Uint64
	pcmDropped atomic.Uint64
	encErrors  atomic.Uint64
	missing    atomic.Uint64

	// Published meter readings (float64 bits), written once per tick.
	mPeak, mRMS, mLUFS, mDuck, mLim, mBed atomic.Uint64
	mVoice                                atomic.Bool

	// Owned by the Process goroutine.
	duck     ducker
	lim      *limiter
	meter    meter
	gv, gf   float32 // gains applied at the end of the last frame
	out      [audio.FrameSamples]float32
	duckGain [audio.FrameSamples]float32
	padVoice [audio.FrameSamples]float32
	padFloor [audio.FrameSamples]float32
	encoded  [maxPacket]byte
}

type voiceRef struct{ src Source }

// New checks cfg, fills its defaults and starts an encoder.
func New(cfg Config) (*Mix, error) {
	cfg.Ducking = cfg.Ducking.withDefaults()
	if cfg.Bitrate == 0 {
		cfg.Bitrate = DefaultBitrate
	}
	if cfg.Complexity == 0 {
		cfg.Complexity = DefaultComplexity
	}
	if err := cfg.check(); err != nil {
		return nil, fmt.Errorf("mixer %s: %w", cfg.Lang, err)
	}
	enc, err := newEncoder(cfg.Bitrate, cfg.Complexity)
	if err != nil {
		return nil, fmt.Errorf("mixer %s: %w", cfg.Lang, err)
	}
	m := &Mix{
		cfg:     cfg,
		enc:     enc,
		packets: media.NewTrack[media.Unit](cfg.Lang + "/opus"),
		pcm:     media.NewTrack[media.Unit](cfg.Lang + "/pcm"),
		duck:    newDucker(cfg.Ducking),
		lim:     newLimiter(),
		meter:   newMeter(),
		gv:      float32(audio.DBToGain(cfg.VoiceGainDB)),
		gf:      float32(audio.DBToGain(cfg.FloorGainDB)),
	}
	m.depthDB.Store(math.Float64bits(cfg.Ducking.DepthDB))
	m.voiceGain.Store(math.Float64bits(float64(m.gv)))
	m.floorGain.Store(math.Float64bits(float64(m.gf)))
	for _, a := range []*atomic.Uint64{&m.mPeak, &m.mRMS, &m.mLUFS, &m.mBed} {
		a.Store(math.Float64bits(SilenceDB))
	}
	return m, nil
}

// newEncoder starts the program's Opus encoder: mono, 48 kHz, the audio
// application (music and speech alike).
func newEncoder(bitrate, complexity int) (*opus.Encoder, error) {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		return nil, fmt.Errorf("opus encoder: %w", err)
	}
	if err := enc.SetBitrate(bitrate); err != nil {
		return nil, fmt.Errorf("opus bitrate %d: %w", bitrate, err)
	}
	if err := enc.SetComplexity(complexity); err != nil {
		return nil, fmt.Errorf("opus complexity %d: %w", complexity, err)
	}
	return enc, nil
}

func (c Config) check() error {
	d := c.Ducking
	var errs []error
	if !(d.DepthDB >= MinDuckDB && d.DepthDB <= MaxDuckDB) {
		errs = append(errs, fmt.Errorf("duck depth %g dB is outside %g..%g", d.DepthDB, MinDuckDB, MaxDuckDB))
	}
	if d.Attack < 0 || d.Hold < 0 || d.Release < 0 {
		errs = append(errs, errors.New("duck attack, hold and release must not be negative"))
	}
	if !(d.ThresholdDB >= -100 && d.ThresholdDB < 0) {
		errs = append(errs, fmt.Errorf("duck threshold %g dBFS is outside -100..0", d.ThresholdDB))
	}
	if !(c.VoiceGainDB >= MinGainDB && c.VoiceGainDB <= MaxGainDB) || !(c.FloorGainDB >= MinGainDB && c.FloorGainDB <= MaxGainDB) {
		errs = append(errs, fmt.Errorf("gains %g/%g dB are outside %g..%g", c.VoiceGainDB, c.FloorGainDB, MinGainDB, MaxGainDB))
	}
	if c.Bitrate < 6000 || c.Bitrate > 510000 {
		errs = append(errs, fmt.Errorf("bitrate %d is outside 6000..510000", c.Bitrate))
	}
	if c.Complexity < 0 || c.Complexity > 10 {
		errs = append(errs, fmt.Errorf("complexity %d is outside 0..10", c.Complexity))
	}
	return errors.Join(errs...)
}

// VoiceIn reports whether a voice was in the mix at any tick from from up
// to to (program time): an interpreter on air, heard or between sentences,
// not a closed gate, a cough or a cut link. Ticks the mix has not reached
// yet count as the latest; times older than it remembers (maxPresence
// changes) count as voiced.
func (m *Mix) VoiceIn(from, to int64) bool { return m.presence.during(from, to) }

// maxPresence bounds the changes a mix remembers: hundreds of handovers,
// coughs and cuts, far more than a cue looks back over.
const maxPresence = 512

// presenceLog is a mix's voice presence by program time: the ticks at
// which it changed. tick runs on the program clock and takes the lock only
// when the presence changes; during runs anywhere.
type presenceLog struct {
	// Owned by the tick goroutine.
	started, on bool

	mu      sync.Mutex
	changes []presenceChange // oldest first
	lost    bool             // older changes were forgotten
}

type presenceChange struct {
	pts int64
	on  bool
}

func (l *presenceLog) tick(pts int64, on bool) {
	if l.started && l.on == on {
		return
	}
	l.started, l.on = true, on
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.changes) == maxPresence {
		copy(l.changes, l.changes[1:])
		l.changes = l.changes[:maxPresence-1]
		l.lost = true
	}
	l.changes = append(l.changes, presenceChange{pts: pts, on: on})
}

func (l *presenceLog) during(from, to int64) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.changes) == 0 {
		return false
	}
	if from < l.changes[0].pts && l.lost {
		return true
	}
	for i, c := range l.changes {
		// c holds from c.pts up to the next change.
		end := int64(math.MaxInt64)
		if i+1 < len(l.changes) {
			end = l.changes[i+1].pts
		}
		if c.on && c.pts < to && end > from {
			return true
		}
	}
	return false
}

// Lang returns the language the mix was made for.
func (m *Mix) Lang() string { return m.cfg.Lang }

// SetVoice makes src the interpreter voice from the next tick on; nil removes
// it, and the floor then holds and releases back to full level. A floor
// rendition ignores its voice.
func (m *Mix) SetVoice(src Source) {
	if src == nil {
		m.voice.Store(nil)
		return
	}
	m.voice.Store(&voiceRef{src: src})
}

// FastRelease is how quickly the floor returns to full level after
// ReleaseNow: an interpreter who left must not leave listeners under a ducked
// floor for the whole hold and release.
const FastRelease = 150 * time.Millisecond

// ReleaseNow tells the ducker that the voice is going (the interpreter left,
// the mic closed, the booth was muted): from the first tick that mixes no
// voice, the floor skips the hold and returns to full level within
// FastRelease, unless the voice speaks again. Waiting for that tick lets the
// booth call it before it changes what the voice carries, so the release
// never trails the change.
func (m *Mix) ReleaseNow() { m.ReleaseWithin(FastRelease) }

// CutRelease is how quickly the floor returns after a cut: the interpreter's
// link went silent mid-sentence (see interpreter.CutAfter). The concealment
// that decided it was a cut has already used most of the time listeners may
// be left under a ducked floor, so the floor comes up faster than after a
// mic that was closed on purpose.
const CutRelease = 80 * time.Millisecond

// ReleaseCut is ReleaseNow after a cut link: the floor returns within
// CutRelease.
func (m *Mix) ReleaseCut() { m.ReleaseWithin(CutRelease) }

// ReleaseWithin is ReleaseNow with the time the floor takes to return to
// full level (at least one sample).
func (m *Mix) ReleaseWithin(d time.Duration) {
	m.releaseNow.Store(max(audio.Samples(d), 1))
}

// SetDuckDepth changes how far the floor goes down under the voice (dB, ≤ 0,
// clamped to −60..0). The depth in force glides toward it at 40 dB/s.
func (m *Mix) SetDuckDepth(db float64) {
	if math.IsNaN(db) {
		return
	}
	m.depthDB.Store(math.Float64bits(min(MaxDuckDB, max(MinDuckDB, db))))
}

// SetGains changes g_v and g_f (dB, clamped to −60..24); the change is ramped
// over the next frame.
func (m *Mix) SetGains(voiceDB, floorDB float64) {
	if !math.IsNaN(voiceDB) {
		m.voiceGain.Store(math.Float64bits(audio.DBToGain(min(MaxGainDB, max(MinGainDB, voiceDB)))))
	}
	if !math.IsNaN(floorDB) {
		m.floorGain.Store(math.Float64bits(audio.DBToGain(min(MaxGainDB, max(MinGainDB, floorDB)))))
	}
}

// Bounds of the live controls, in dB: the configuration, SetDuckDepth,
// SetGains and the producer's API hold to them.
const (
	MinDuckDB, MaxDuckDB = -60.0, 0.0
	MinGainDB, MaxGainDB = -60.0, 24.0
)

// Settings are a mix's live controls as requested (the mix glides to them).
type Settings struct {
	DuckDB      float64 // depth of the floor under the voice
	VoiceGainDB float64 // g_v
	FloorGainDB float64 // g_f
}

// Settings returns the controls in force (as last set).
func (m *Mix) Settings() Settings {
	return Settings{
		DuckDB:      math.Float64frombits(m.depthDB.Load()),
		VoiceGainDB: audio.GainToDB(math.Float64frombits(m.voiceGain.Load())),
		FloorGainDB: audio.GainToDB(math.Float64frombits(m.floorGain.Load())),
	}
}

// Process mixes, limits, meters, encodes and publishes the frame at pts.
// floor holds the floor bed for this tick (nil or short = silence for the
// missing part). It is called by one goroutine per tick, never blocks, and
// allocates only the published packet (and PCM copy when subscribed).
func (m *Mix) Process(pts int64, floor []float32) { m.process(pts, floor, nil) }

// ProcessPacket is Process for a tick whose floor arrived as exactly one
// 20 ms Opus packet. The floor rendition publishes that packet as it came:
// no re-encoding, so no generation loss and no encoder cost. Other mixes
// ignore the packet.
func (m *Mix) ProcessPacket(pts int64, floor []float32, packet []byte) { m.process(pts, floor, packet) }

func (m *Mix) process(pts int64, floor []float32, packet []byte) {
	floor = fit(floor, &m.padFloor)

	var voice []float32
	if ref := m.voice.Load(); ref != nil && !m.cfg.Floor {
		if f, ok := ref.src.ReadFrame(pts); ok {
			voice = fit(f.Samples, &m.padVoice)
		} else {
			m.missing.Add(1)
		}
	}
	m.presence.tick(pts, voice != nil)

	if voice == nil && m.releaseNow.Load() != 0 {
		if r := m.releaseNow.Swap(0); r != 0 {
			m.duck.releaseNow(r)
		}
	}
	m.duck.process(voice, math.Float64frombits(m.depthDB.Load()), m.duckGain[:])
	gv0, gf0 := m.gv, m.gf
	m.gv = float32(math.Float64frombits(m.voiceGain.Load()))
	m.gf = float32(math.Float64frombits(m.floorGain.Load()))
	bed := m.mixInto(voice, floor, gv0, gf0)
	m.mBed.Store(math.Float64bits(clampDB(audio.GainToDB(bed))))

	m.lim.process(m.out[:])
	r := m.meter.process(m.out[:])
	m.mPeak.Store(math.Float64bits(r.peakDB))
	m.mRMS.Store(math.Float64bits(r.rmsDB))
	m.mLUFS.Store(math.Float64bits(r.lufs))
	m.mDuck.Store(math.Float64bits(m.duck.gainDB))
	m.mLim.Store(math.Float64bits(audio.GainToDB(m.lim.gainMin)))
	m.mVoice.Store(m.duck.active)

	var wall time.Time
	if m.cfg.Timeline != nil {
		wall = m.cfg.Timeline.Wall(pts)
	}
	if m.pcm.Readers() > 0 {
		s := make([]float32, len(m.out))
		copy(s, m.out[:])
		m.pcmDropped.Add(uint64(m.pcm.Write(media.Unit{PTS: pts, Wall: wall, Codec: media.PCM, PCM: s})))
	}
	if packet != nil && m.cfg.Floor {
		if m.packets.Readers() > 0 {
			m.dropped.Add(uint64(m.packets.Write(media.Unit{PTS: pts, Wall: wall, Codec: media.Opus, Payload: append([]byte(nil), packet...)})))
		}
		m.frames.Add(1)
		return
	}
	n, err := m.enc.EncodeFloat32(m.out[:], m.encoded[:])
	if err != nil {
		m.encErrors.Add(1)
	} else if m.packets.Readers() > 0 {
		data := make([]byte, n)
		copy(data, m.encoded[:n])
		m.dropped.Add(uint64(m.packets.Write(media.Unit{PTS: pts, Wall: wall, Codec: media.Opus, Payload: data})))
	}
	m.frames.Add(1)
}

// mixInto writes voice·g_v + floor·g_f·duck into m.out, ramping g_v and g_f
// from their previous values across the frame, and returns the RMS of the
// floor bed (floor·g_f·duck) in the frame. voice may be nil.
func (m *Mix) mixInto(voice, floor []float32, gv0, gf0 float32) (bedRMS float64) {
	const inv = 1 / float32(audio.FrameSamples)
	dgv, dgf := (m.gv-gv0)*inv, (m.gf-gf0)*inv
	var sq float32
	for i := range m.out {
		t := float32(i + 1)
		s := floor[i] * (gf0 + dgf*t) * m.duckGain[i]
		sq += s * s
		if voice != nil {
			s += voice[i] * (gv0 + dgv*t)
		}
		// A corrupt source must not poison the limiter and encoder state.
		if !(s >= -16 && s <= 16) {
			switch {
			case s > 16:
				s = 16
			case s < -16:
				s = -16
			default:
				s = 0
			}
		}
		m.out[i] = s
	}
	return math.Sqrt(float64(sq) / float64(len(m.out)))
}

// fit returns s if it is exactly one frame, else a zero-padded copy in pad.
func fit(s []float32, pad *[audio.FrameSamples]float32) []float32 {
	if len(s) == audio.FrameSamples {
		return s
	}
	n := copy(pad[:], s)
	clear(pad[n:])
	return pad[:]
}

// Packets is the mix's track of 20 ms Opus packets (Codec Opus). A unit's PTS
// is the tick's program time; the audio in it lags its inputs by
// LookaheadSamples, and a decoder adds the codec's 312-sample pre-skip. A
// reader that falls behind loses packets (counted in Stats).
func (m *Mix) Packets() *media.Track[media.Unit] { return m.packets }

// PCM is the mix's track of output PCM (Codec PCM), each unit a fresh copy
// that its readers share and never write. The copy is made only while the
// track has a reader.
func (m *Mix) PCM() *media.Track[media.Unit] { return m.pcm }

// Meters returns the latest meter readings.
func (m *Mix) Meters() Meters {
	return Meters{
		PeakDB:        math.Float64frombits(m.mPeak.Load()),
		RMSDB:         math.Float64frombits(m.mRMS.Load()),
		ShortTermLUFS: math.Float64frombits(m.mLUFS.Load()),
		DuckDB:        math.Float64frombits(m.mDuck.Load()),
		LimiterDB:     math.Float64frombits(m.mLim.Load()),
		VoiceActive:   m.mVoice.Load(),
		FloorBedDB:    math.Float64frombits(m.mBed.Load()),
	}
}

// Stats returns the counters.
func (m *Mix) Stats() Stats {
	return Stats{
		Frames:         m.frames.Load(),
		PacketsDropped: m.dropped.Load(),
		PCMDropped:     m.pcmDropped.Load(),
		EncodeErrors:   m.encErrors.Load(),
		VoiceMissing:   m.missing.Load(),
	}
}

// Close closes every subscriber's queue. Process may still be called after
// Close; it then publishes nothing.
func (m *Mix) Close() {
	m.packets.Close()
	m.pcm.Close()
}
