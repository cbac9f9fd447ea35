package sphinx

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tolk/captions"
	"tolk/captions/glossary"
	"tolk/internal/audio"
	"tolk/internal/resample"
)

// ErrClosed is returned by Write after Close.
var ErrClosed = errors.New("sphinx: stream closed")

// decimation from the program rate to the decoder's 16 kHz.
const decimation = audio.SampleRate / 16000

// Stats counts what a stream lost.
type Stats struct {
	// DroppedFrames is audio the decoder fell too far behind to take.
	DroppedFrames uint64
	// DroppedInterims is interim results nobody read in time.
	DroppedInterims uint64
	// DroppedFinals is final results left unread when the stream closed.
	DroppedFinals uint64
	// Adaptations is how many glossary changes the decoder applied during
	// the stream, AdaptErrors how many of them failed to load.
	Adaptations, AdaptErrors uint64
}

// chunk is one frame waiting for the decoder.
type chunk struct {
	pts     int64
	samples *[]float32
}

// anchor ties a position in the audio given to the decoder (48 kHz samples
// since the stream started) to program time. A new anchor starts wherever the
// PTS does not continue the previous frame: a gap at the source or a frame
// dropped here.
type anchor struct {
	pos, pts int64
}

// Stream is one recognition stream with its own decoder and goroutine.
type Stream struct {
	results chan captions.Result
	queue   chan chunk
	cancel  context.CancelFunc
	ctx     context.Context
	stop    chan struct{}
	done    chan struct{}

	mu     sync.Mutex
	closed bool

	closeOnce sync.Once
	err       error // set by the goroutine before done closes

	droppedFrames, droppedInterims, droppedFinals atomic.Uint64
	// adaptations counts glossary changes applied, adaptErrors those the
	// decoder could not load.
	adaptations, adaptErrors atomic.Uint64
	// progress is the program time just after the last audio the decoder
	// consumed, -1 before any.
	progress atomic.Int64

	pool sync.Pool

	// Owned by the goroutine.
	dec       *decoder
	front     *frontEnd // nil: the audio goes to the decoder as it is
	down      *resample.Decimator
	buf16     []float32
	pcm       []int16
	fed       int64 // 48 kHz samples given to the decoder
	nextPTS   int64
	anchors   []anchor
	inUtt     bool
	lastHyp   string
	sentInter bool
	// glossary is the live vocabulary (nil: none) and applied the version
	// the decoder is adapted to.
	glossary *glossary.Live
	applied  uint64
	// adaptTime is how long the last change took (the decoder's pause, for
	// the benchmarks; read after the stream ended).
	adaptTime time.Duration
	// quiet counts the decoder frames (10 ms) in a row that were quiet:
	// a glossary change is applied outside an utterance only after
	// quietFrames of them, so that no speech onset the voice detector has
	// not yet confirmed is lost when the decoder's utterance is restarted.
	quiet int
	// noise is the room's floor, a frame peak: the lowest peak seen, rising
	// by 1 % a frame (8.6 dB a second) so that it follows a louder room.
	noise float64
}

// A frame is quiet when its peak is below quietPeak or within quietAboveNoise
// (9.5 dB) of the room's floor; quietFrames of them in a row (300 ms, longer
// than the detector's 100 ms onset confirmation and 200 ms pre-speech
// buffer) let a glossary change restart the decoder's utterance. Otherwise
// the change waits for the end of the next utterance.
const (
	quietPeak       = 100 // of 32767: -50 dBFS
	quietAboveNoise = 3
	quietFrames     = 30
)

var _ captions.Stream = (*Stream)(nil)

func newStream(parent context.Context, dec *decoder, cfg Config, fe frontEndTuning, live *glossary.Live, applied uint64) *Stream {
	ctx, cancel := context.WithCancel(parent)
	down, _ := resample.NewDecimator(decimation)
	s := &Stream{
		results:  make(chan captions.Result, cfg.ResultBuffer),
		queue:    make(chan chunk, cfg.Queue),
		ctx:      ctx,
		cancel:   cancel,
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		dec:      dec,
		down:     down,
		nextPTS:  -1,
		glossary: live,
		applied:  applied,
	}
	if fe.on() {
		s.front = newFrontEnd(fe)
	}
	if dec.adaptErr != nil {
		s.adaptErrors.Add(1)
	}
	s.pool.New = func() any { b := make([]float32, 0, audio.FrameSamples); return &b }
	s.progress.Store(-1)
	go s.run()
	return s
}

// Write queues one frame for the decoder. It never waits: when the decoder is
// behind by more than the queue, the frame is dropped and counted.
func (s *Stream) Write(f audio.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case <-s.done:
		return s.Err()
	default:
	}
	b := s.pool.Get().(*[]float32)
	*b = append((*b)[:0], f.Samples...)
	select {
	case s.queue <- chunk{pts: f.PTS, samples: b}:
	default:
		s.pool.Put(b)
		s.droppedFrames.Add(1)
	}
	return nil
}

// Results delivers interim and final results; it is closed when the stream
// ends. Interims nobody reads in time are dropped; finals wait for the reader.
// A final with no text settles an utterance whose interims turned out to be
// noise.
func (s *Stream) Results() <-chan captions.Result { return s.results }

// Close stops taking audio, decodes what is queued, delivers the last
// utterance as a final if the Results buffer has room, and waits for the
// decoder to be freed.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.stop)
	})
	<-s.done
	s.cancel()
	if errors.Is(s.err, context.Canceled) {
		return nil
	}
	return s.err
}

// Err says why the stream ended on its own (context cancelled, decoder
// failure); nil while it runs or after a clean Close.
func (s *Stream) Err() error {
	select {
	case <-s.done:
		return s.err
	default:
		return nil
	}
}

// Stats returns the loss counters.
func (s *Stream) Stats() Stats {
	return Stats{
		DroppedFrames:   s.droppedFrames.Load(),
		DroppedInterims: s.droppedInterims.Load(),
		DroppedFinals:   s.droppedFinals.Load(),
		Adaptations:     s.adaptations.Load(),
		AdaptErrors:     s.adaptErrors.Load(),
	}
}

// Progress is the program time just after the last audio the decoder has
// consumed (-1 before any): the caption pipeline restarts a stream whose
// decoder stops moving while it is given audio, which Write alone cannot
// show since it only queues.
func (s *Stream) Progress() int64 { return s.progress.Load() }

// decodeFault, when set (by tests only), runs before each frame is decoded:
// it stands for a decoder that fails or gets stuck.
var decodeFault atomic.Pointer[func(s *Stream, pts int64) error]

// Health reports the frames the decoder's queue dropped, for the caption
// pipeline's counters.
func (s *Stream) Health() captions.Health {
	return captions.Health{Dropped: s.droppedFrames.Load()}
}

func (s *Stream) run() {
	// Results closes last, so a reader that sees it closed also sees Err.
	defer close(s.results)
	defer close(s.done)
	defer s.dec.free()
	for {
		select {
		case c := <-s.queue:
			if err := s.decode(c); err != nil {
				s.err = err
				return
			}
		case <-s.stop:
			s.flush()
			return
		case <-s.ctx.Done():
			s.err = s.ctx.Err()
			return
		}
	}
}

// flush decodes what is queued and settles the open utterance.
func (s *Stream) flush() {
	for {
		select {
		case c := <-s.queue:
			if err := s.decode(c); err != nil {
				s.err = err
				return
			}
		default:
			if s.inUtt {
				s.err = s.final(true)
			}
			return
		}
	}
}

func (s *Stream) decode(c chunk) error {
	if f := decodeFault.Load(); f != nil {
		if err := (*f)(s, c.pts); err != nil {
			s.pool.Put(c.samples)
			return err
		}
	}
	if !s.inUtt && s.quiet >= quietFrames && s.glossary.Version() != s.applied {
		// Between utterances, after quiet audio and before this frame:
		// restart the decoder's utterance with the new vocabulary. Its
		// hypothesis holds no speech.
		if err := s.dec.endUtt(); err != nil {
			return err
		}
		s.adapt()
		if err := s.dec.startUtt(); err != nil {
			return err
		}
	}
	samples := *c.samples
	if c.pts != s.nextPTS {
		s.anchors = append(s.anchors, anchor{pos: s.fed, pts: c.pts})
	}
	s.nextPTS = c.pts + int64(len(samples))
	s.buf16 = s.down.Process(s.buf16[:0], samples)
	s.fed += int64(len(samples))
	s.pool.Put(c.samples)

	if s.front != nil {
		s.front.process(s.buf16)
	}
	s.pcm = s.pcm[:0]
	for _, v := range s.buf16 {
		s.pcm = append(s.pcm, audio.Int16(v))
	}
	if err := s.dec.process(s.pcm); err != nil {
		return err
	}
	s.progress.Store(s.nextPTS)
	s.countQuiet()
	speech := s.dec.inSpeech()
	switch {
	case speech && !s.inUtt:
		s.inUtt = true
		return s.interim()
	case !speech && s.inUtt:
		return s.final(false)
	case s.inUtt:
		return s.interim()
	}
	return nil
}

// interim sends the current hypothesis when it changed.
func (s *Stream) interim() error {
	h := s.dec.hyp()
	if h == s.lastHyp {
		return nil
	}
	s.lastHyp = h
	r := s.result(s.dec.segments(false), false)
	if r.Text == "" {
		return nil
	}
	select {
	case s.results <- r:
		s.sentInter = true
	default:
		s.droppedInterims.Add(1)
	}
	return nil
}

// final ends the utterance, sends its result and opens the next one. At
// closing it does not wait for the reader.
func (s *Stream) final(closing bool) error {
	if err := s.dec.endUtt(); err != nil {
		return err
	}
	r := s.result(s.dec.segments(true), true)
	send := r.Text != "" || s.sentInter
	s.inUtt, s.lastHyp, s.sentInter = false, "", false
	if send {
		if closing {
			select {
			case s.results <- r:
			default:
				s.droppedFinals.Add(1)
			}
		} else {
			select {
			case s.results <- r:
			case <-s.stop:
				// Closing: try once more without waiting below.
				select {
				case s.results <- r:
				default:
					s.droppedFinals.Add(1)
				}
			case <-s.ctx.Done():
				return s.ctx.Err()
			}
		}
	}
	if closing {
		return nil
	}
	s.prune()
	if s.glossary.Version() != s.applied {
		s.adapt()
	}
	return s.dec.startUtt()
}

// result turns decoder segments into a result on the program timeline.
func (s *Stream) result(segs []segment, final bool) captions.Result {
	r := captions.Result{Final: final}
	var text []string
	for _, g := range segs {
		w := cleanWord(g.word)
		if w == "" {
			continue
		}
		if d := s.dec.display[w]; d != "" {
			w = d
		}
		word := captions.Word{
			Text:  w,
			Start: s.programTime(int64(g.start) * frameSamples16 * decimation),
			End:   s.programTime(int64(g.end+1) * frameSamples16 * decimation),
		}
		if final {
			word.Confidence = float32(max(0, min(1, g.posterior)))
		}
		r.Words = append(r.Words, word)
		text = append(text, w)
	}
	r.Text = strings.Join(text, " ")
	if n := len(r.Words); n > 0 {
		r.Start, r.End = r.Words[0].Start, r.Words[n-1].End
	}
	return r
}

// programTime maps a position in the decoder's audio (48 kHz samples since
// the stream started) to program time, undoing the resampler's delay and
// the front end's.
func (s *Stream) programTime(pos int64) int64 {
	pos -= int64(s.down.Delay())
	if s.front != nil {
		pos -= s.front.delay()
	}
	if len(s.anchors) == 0 {
		return pos
	}
	a := s.anchors[0]
	for _, b := range s.anchors[1:] {
		if b.pos > pos {
			break
		}
		a = b
	}
	return a.pts + pos - a.pos
}

// prune forgets anchors no later result can need: after a final, the next
// utterance may reach back only by the decoder's pre-speech margin (200 ms),
// so a second is kept.
func (s *Stream) prune() {
	keep := s.fed - audio.SampleRate
	i := 0
	for i+1 < len(s.anchors) && s.anchors[i+1].pos <= keep {
		i++
	}
	s.anchors = s.anchors[i:]
}

// countQuiet updates the run of quiet decoder frames with the audio just
// decoded (s.pcm).
func (s *Stream) countQuiet() {
	for i := 0; i+frameSamples16 <= len(s.pcm); i += frameSamples16 {
		var peak int16
		for _, v := range s.pcm[i : i+frameSamples16] {
			peak = max(peak, v, -max(v, -32767))
		}
		p := float64(peak)
		if s.noise == 0 || p < s.noise {
			s.noise = max(p, 1)
		} else {
			s.noise *= 1.01
		}
		if p < quietPeak || p < quietAboveNoise*s.noise {
			s.quiet++
		} else {
			s.quiet = 0
		}
	}
}

// adapt applies the current glossary between two utterances. The audio that
// arrives meanwhile waits in the queue. A glossary the decoder cannot load
// leaves the generic model on and is not tried again until it changes.
func (s *Stream) adapt() {
	g, v := s.glossary.Get()
	s.applied = v
	start := time.Now()
	if err := s.dec.adapt(g); err != nil {
		s.adaptErrors.Add(1)
	}
	s.adaptTime = time.Since(start)
	s.adaptations.Add(1)
}
