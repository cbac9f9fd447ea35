package google

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	speech "cloud.google.com/go/speech/apiv1"
	"cloud.google.com/go/speech/apiv1/speechpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"tolk/captions"
	"tolk/internal/audio"
)

// Stats counts a stream's life; every field only grows.
type Stats struct {
	Sessions        int64 // service streams opened
	Restarts        int64 // planned restarts and streams ended by the duration cap
	Errors          int64 // streams that failed (auth, quota, unavailable, stalled, ...)
	Stalls          int64 // streams given up because their opening or a send took over StallTimeout (also in Errors)
	Unanswered      int64 // streams given up because the service answered none of AnswerTimeout of sound (also in Errors)
	Replayed        int64 // samples sent at the start of a new stream: the audio no final had settled
	DroppedFrames   int64 // frames Write could not queue
	DroppedAudio    int64 // samples forgotten unrecognized because the replay bound was reached
	DroppedResults  int64 // interim results replaced by newer ones before they were read
	Requests        int64 // audio requests sent
	MaxRequestBytes int64 // largest audio request sent
}

// Stream is one recognition stream. It implements captions.Stream.
type Stream struct {
	cfg    Config
	client *speech.Client
	lang   string
	// glossaryVersion is the version of the glossary the current service
	// stream was configured with (set by the sender, read by the session).
	glossaryVersion atomic.Uint64

	ctx    context.Context
	cancel context.CancelFunc
	in     chan piece
	stop   chan struct{} // closed by Close: finish the current stream and end
	out    chan captions.Result
	done   chan struct{} // run ended
	emitWG sync.WaitGroup

	closeOnce sync.Once
	closed    atomic.Bool

	sessions, restarts, failures, stalls, unanswered, replayed, droppedFrames, droppedAudio, droppedResults, requests, maxRequest atomic.Int64

	mu      sync.Mutex
	err     error
	pending []captions.Result // results waiting for the reader
	wake    chan struct{}

	// Owned by run.
	buf     replay
	tl      timeline
	settled int64 // program time up to which final results settled the audio
	started bool
	// quiet counts the streams in a row replaced for answering nothing
	// (AnswerTimeout doubles with each); an answer resets it.
	quiet int
}

// maxAnswerTimeout caps AnswerTimeout's doubling: past it the caption
// pipeline's own watch (a minute of sound without a result) takes over.
const maxAnswerTimeout = 60 * time.Second

// voicedRMS is the frame level (about -50 dBFS) above which audio counts
// towards AnswerTimeout.
const voicedRMS = 0.003

var _ captions.Stream = (*Stream)(nil)

// maxPending bounds results waiting for a slow reader.
const maxPending = 1024

func newStream(ctx context.Context, cfg Config, client *speech.Client, lang string) *Stream {
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		cfg: cfg, client: client, lang: lang,
		ctx: ctx, cancel: cancel,
		in:   make(chan piece, cfg.Queue),
		stop: make(chan struct{}),
		out:  make(chan captions.Result, 64),
		done: make(chan struct{}),
		wake: make(chan struct{}, 1),
		buf:  replay{max: audio.Samples(cfg.MaxReplay)},
	}
	s.emitWG.Add(1)
	go s.emitter()
	go s.run()
	return s
}

var errClosed = errors.New("google: stream closed")

// Write queues one frame for sending; it never blocks: when the queue is
// full the frame is dropped and counted.
func (s *Stream) Write(f audio.Frame) error {
	if s.closed.Load() {
		return errClosed
	}
	if err := s.ctx.Err(); err != nil {
		return err
	}
	pcm := make([]int16, len(f.Samples))
	for i, v := range f.Samples {
		pcm[i] = audio.Int16(v)
	}
	select {
	case s.in <- piece{pts: f.PTS, pcm: pcm, loud: audio.RMS(f.Samples) > voicedRMS}:
	default:
		s.droppedFrames.Add(1)
	}
	return nil
}

// Results delivers interim and final results; it is closed after Close or
// when the stream's context ends.
func (s *Stream) Results() <-chan captions.Result { return s.out }

// Close sends what is queued, waits (up to Config.Drain) for the final
// results of the current stream, and ends. Results already waiting stay
// readable up to the channel's buffer.
func (s *Stream) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
	})
	// The session ends itself within Drain of the stop; this bound is only
	// a backstop.
	t := s.cfg.Clock.NewTimer(s.cfg.Drain + time.Second)
	select {
	case <-s.done:
	case <-t.C():
	}
	t.Stop()
	s.cancel()
	<-s.done
	s.emitWG.Wait()
	return nil
}

// Err is the most recent failure of a service stream, nil if none failed.
func (s *Stream) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Health reports the service sessions this stream replaced and the
// failures among them, for the caption pipeline's counters.
func (s *Stream) Health() captions.Health {
	return captions.Health{Dropped: uint64(s.droppedFrames.Load()), Restarts: uint64(s.restarts.Load() + s.failures.Load()), Errors: uint64(s.failures.Load()),
		Stalls: uint64(s.stalls.Load()), Hangs: uint64(s.unanswered.Load()), LastError: s.Err()}
}

// Stats returns the counts so far.
func (s *Stream) Stats() Stats {
	return Stats{
		Sessions: s.sessions.Load(), Restarts: s.restarts.Load(), Errors: s.failures.Load(),
		Stalls: s.stalls.Load(), Unanswered: s.unanswered.Load(), Replayed: s.replayed.Load(),
		DroppedFrames: s.droppedFrames.Load(), DroppedAudio: s.droppedAudio.Load(), DroppedResults: s.droppedResults.Load(),
		Requests: s.requests.Load(), MaxRequestBytes: s.maxRequest.Load(),
	}
}

// push hands a result to the emitter. A newer interim replaces an interim
// not yet read; finals are kept (up to maxPending).
func (s *Stream) push(r captions.Result) {
	s.mu.Lock()
	n := len(s.pending)
	switch {
	case !r.Final && n > 0 && !s.pending[n-1].Final:
		s.pending[n-1] = r
		s.droppedResults.Add(1)
	case n >= maxPending:
		s.droppedResults.Add(1)
	default:
		s.pending = append(s.pending, r)
	}
	s.mu.Unlock()
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Stream) pop() (captions.Result, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return captions.Result{}, false
	}
	r := s.pending[0]
	s.pending = s.pending[1:]
	return r, true
}

// emitter delivers results to the reader so that a slow reader never holds
// up the sending of audio. When the stream ends it moves what is left into
// the channel's buffer without waiting, and closes it.
func (s *Stream) emitter() {
	defer s.emitWG.Done()
	defer close(s.out)
	for {
		for {
			r, ok := s.pop()
			if !ok {
				break
			}
			select {
			case s.out <- r:
			case <-s.ctx.Done():
				s.flushResults(r)
				return
			}
		}
		select {
		case <-s.wake:
		case <-s.ctx.Done():
			s.flushResults()
			return
		}
	}
}

func (s *Stream) flushResults(first ...captions.Result) {
	for {
		var r captions.Result
		if len(first) > 0 {
			r, first = first[0], nil
		} else {
			var ok bool
			if r, ok = s.pop(); !ok {
				return
			}
		}
		select {
		case s.out <- r:
		default:
			s.droppedResults.Add(1)
		}
	}
}

func (s *Stream) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// take moves one queued frame into the replay buffer.
func (s *Stream) take(p piece) {
	if !s.started {
		s.started = true
		s.settled = p.pts
	}
	before := s.buf.dropped
	s.buf.add(p)
	s.droppedAudio.Add(s.buf.dropped - before)
}

// run opens service streams one after the other until Close or ctx ends.
func (s *Stream) run() {
	defer close(s.done)
	attempt := 0
	for {
		res := s.session()
		if s.ctx.Err() != nil {
			return
		}
		if res.stopped {
			// A stream that failed while finishing for Close is still news.
			if res.err != nil && status.Code(res.err) != codes.OutOfRange {
				s.fail(res.err)
			}
			return
		}
		// A session that worked (the service answered, and it took a second
		// of audio at least) and then failed is replaced at once: only
		// failures in a row back off, so a service that broke one stream
		// costs no time, and one that fails every stream is not hammered.
		worked := res.responded && s.tl.off >= audio.Samples(time.Second)
		if worked {
			attempt = 0
		}
		wait := false
		switch code := status.Code(res.err); {
		case res.err == nil:
			s.restarts.Add(1)
		case code == codes.OutOfRange:
			// The duration cap; a stream that ends this way at once (audio
			// sent too fast) waits like any failure.
			s.restarts.Add(1)
			wait = res.lived < time.Second
		default:
			s.fail(res.err)
			wait = !worked
		}
		if wait {
			if !s.backoff(attempt) {
				return
			}
			attempt++
		}
	}
}

// fail counts a failed service stream and makes it Err.
func (s *Stream) fail(err error) {
	s.failures.Add(1)
	if errors.Is(err, ErrStalled) {
		s.stalls.Add(1)
	}
	if errors.Is(err, ErrUnanswered) {
		s.unanswered.Add(1)
	}
	s.setErr(err)
}

// backoff waits before the next attempt while still taking frames into the
// replay buffer; false means the stream is ending.
func (s *Stream) backoff(attempt int) bool {
	d := s.cfg.BackoffMin << min(attempt, 20)
	d = min(d, s.cfg.BackoffMax)
	t := s.cfg.Clock.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return false
		case <-s.stop:
			return false
		case p := <-s.in:
			s.take(p)
		case <-t.C():
			return true
		}
	}
}

type sessionResult struct {
	err       error // nil: a planned restart
	stopped   bool  // ended for Close
	responded bool  // the service answered at least once
	lived     time.Duration
}

type received struct {
	resp *speechpb.StreamingRecognizeResponse
	err  error
}

// ErrStalled marks a service stream given up because its opening or a send
// did not return within Config.StallTimeout: the service stopped reading.
var ErrStalled = errors.New("google: stalled")

// ErrUnanswered marks a service stream given up because the service
// answered none of Config.AnswerTimeout of sound: it hung while reading.
var ErrUnanswered = errors.New("google: unanswered")

var (
	errServerEnded = errors.New("google: the service ended the stream")
	// errSendEnded: a send found the stream over; the receiver learns how.
	errSendEnded = errors.New("google: the stream is over")
)

// op is one thing the sender does on a service stream: send audio or
// half-close.
type op struct {
	req       *speechpb.StreamingRecognizeRequest
	closeSend bool
}

// session runs one service stream: it sends the replay buffer, then the
// frames as they come, and restarts at an utterance boundary after
// RestartAfter (or regardless after RestartGrace more).
//
// The loop never waits on the network: a sender goroutine opens the stream
// and makes one send (or the half-close) at a time, and a receiver goroutine
// reads. A send the service does not take within StallTimeout (gRPC flow
// control blocks it while the service reads nothing) ends the session, and
// the next one hears the unsettled audio again. Both goroutines end when the
// session does.
func (s *Stream) session() (res sessionResult) {
	clock := s.cfg.Clock
	opened := clock.Now()
	defer func() { res.lived = clock.Now().Sub(opened) }()
	s.sessions.Add(1)

	sctx, cancel := context.WithCancelCause(s.ctx)
	ops := make(chan op, 1)
	acks := make(chan error, 1) // one op (first the opening) is out at a time
	resps := make(chan received)
	var wg sync.WaitGroup
	wg.Add(1)
	go s.sender(sctx, &wg, ops, acks, resps)
	defer func() {
		cancel(nil)
		wg.Wait()
	}()

	// A new stream hears the audio since the last final result again, from
	// its own offset zero.
	s.buf.sent = 0
	s.tl = timeline{nextPTS: s.settled}
	if s.sessions.Load() > 1 {
		s.replayed.Add(s.buf.samples)
	}

	// stall runs while the sender is busy with an op.
	stall := clock.NewTimer(s.cfg.StallTimeout)
	defer stall.Stop()
	soft := clock.NewTimer(s.cfg.RestartAfter)
	defer soft.Stop()
	hard := clock.NewTimer(s.cfg.RestartAfter + s.cfg.RestartGrace)
	defer hard.Stop()
	var drain <-chan time.Time
	var drainTimer audio.Timer
	defer func() {
		if drainTimer != nil {
			drainTimer.Stop()
		}
	}()

	// A service that reads but answers nothing to limit of sound (and as
	// much time) is hung: the next stream hears the unsettled audio again.
	limit := min(s.cfg.AnswerTimeout<<min(s.quiet, 16), maxAnswerTimeout)
	voiced, answeredAt := int64(0), clock.Now() // sound taken since the last answer

	busy, opening := true, true
	flush := true // send the whole replay buffer, not only whole chunks
	sending := 0  // bytes of the audio request out
	wantRestart, halfClosing, closeSent, sendEnded, stopping := false, false, false, false, false
	stopCh := s.stop
	chunk := audio.Samples(s.cfg.Chunk)

	// next hands the sender what is due, if it is free.
	next := func() {
		if busy || sendEnded || closeSent {
			return
		}
		var o op
		switch u := s.buf.unsent(); {
		case u > 0 && (flush || halfClosing || u >= chunk):
			if o.req, sending = s.request(); o.req == nil {
				return
			}
			if s.buf.unsent() == 0 {
				flush = false
			}
		case halfClosing:
			o.closeSend, closeSent = true, true
		default:
			flush = false
			return
		}
		busy = true
		ops <- o
		stall.Reset(s.cfg.StallTimeout)
	}
	// halfClose sends what is left and half-closes; Drain bounds all of it
	// and the service's last answers.
	halfClose := func() {
		if halfClosing {
			return
		}
		halfClosing = true
		drainTimer = clock.NewTimer(s.cfg.Drain)
		drain = drainTimer.C()
		next()
	}
	end := func(err error) sessionResult {
		return sessionResult{err: err, responded: res.responded, stopped: stopping}
	}

	for {
		select {
		case <-s.ctx.Done():
			return sessionResult{err: s.ctx.Err(), stopped: true, responded: res.responded}
		case <-stopCh:
			stopCh = nil
			stopping = true
			// Take what Write queued before Close, then finish.
			for len(s.in) > 0 {
				s.take(<-s.in)
			}
			halfClose()
		case p := <-s.in:
			s.take(p)
			if p.loud {
				voiced += int64(len(p.pcm))
				if !halfClosing && voiced >= audio.Samples(limit) && clock.Now().Sub(answeredAt) >= limit {
					err := fmt.Errorf("%w: the service answered none of %v of sound", ErrUnanswered, limit)
					s.quiet++
					cancel(err)
					return end(err)
				}
			}
			next()
		case err := <-acks:
			busy = false
			stopTimer(stall)
			switch {
			case errors.Is(err, errSendEnded):
				sendEnded = true // the receiver reports the stream's end
				continue
			case err != nil:
				return end(err)
			case opening:
				opening = false
			case sending > 0:
				s.requests.Add(1)
				if int64(sending) > s.maxRequest.Load() {
					s.maxRequest.Store(int64(sending))
				}
				sending = 0
			}
			next()
		case <-stall.C():
			if !busy {
				continue
			}
			what := "stopped reading audio"
			if opening {
				what = "did not take the stream"
			}
			err := fmt.Errorf("%w: the service %s for %v", ErrStalled, what, s.cfg.StallTimeout)
			cancel(err)
			return end(err)
		case r := <-resps:
			if r.err != nil {
				err := r.err
				if errors.Is(err, io.EOF) {
					err = nil
					if !closeSent {
						err = errServerEnded
					}
				}
				return end(err)
			}
			res.responded = true
			voiced, answeredAt, s.quiet = 0, clock.Now(), 0
			// A glossary change restarts the stream at the end of an
			// utterance, like a planned restart.
			if s.handle(r.resp) && (wantRestart || s.cfg.Glossary.Version() != s.glossaryVersion.Load()) {
				halfClose()
			}
		case <-soft.C():
			wantRestart = true
		case <-hard.C():
			halfClose()
		case <-drain:
			// What the service did not settle is sent again on the next stream.
			return end(fmt.Errorf("google: the service did not end the stream within %v of the half-close", s.cfg.Drain))
		}
	}
}

// stopTimer stops t and empties its channel, so that a Reset does not find
// a stale tick.
func stopTimer(t audio.Timer) {
	if !t.Stop() {
		select {
		case <-t.C():
		default:
		}
	}
}

// sender works the send side of one service stream until ctx ends: it opens
// the stream, starts the receiver, sends the configuration, then does each
// op it is handed. It acknowledges the opening and every op on acks.
func (s *Stream) sender(ctx context.Context, wg *sync.WaitGroup, ops <-chan op, acks chan<- error, resps chan<- received) {
	defer wg.Done()
	rs, err := s.client.StreamingRecognize(ctx)
	if err != nil {
		acks <- fmt.Errorf("google: open stream: %w", err)
		return
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		receive(ctx, rs, resps)
	}()
	acks <- sendErr("send config", rs.Send(s.configRequest()))
	for {
		select {
		case <-ctx.Done():
			return
		case o := <-ops:
			if o.closeSend {
				acks <- sendErr("half-close", rs.CloseSend())
			} else {
				acks <- sendErr("send audio", rs.Send(o.req))
			}
		}
	}
}

// sendErr wraps a send's error; io.EOF means the stream is over and its
// status is for Recv to tell.
func sendErr(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, io.EOF):
		return errSendEnded
	}
	return fmt.Errorf("google: %s: %w", what, err)
}

// receive hands the stream's responses to the session until the stream or
// ctx ends.
func receive(ctx context.Context, rs speechpb.Speech_StreamingRecognizeClient, resps chan<- received) {
	for {
		r, err := rs.Recv()
		select {
		case resps <- received{r, err}:
		case <-ctx.Done():
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *Stream) configRequest() *speechpb.StreamingRecognizeRequest {
	g, v := s.cfg.Glossary.Get()
	s.glossaryVersion.Store(v)
	var contexts []*speechpb.SpeechContext
	if p := g.Phrases(); len(p) > 0 {
		contexts = []*speechpb.SpeechContext{{Phrases: p, Boost: s.cfg.Boost}}
	}
	return &speechpb.StreamingRecognizeRequest{StreamingRequest: &speechpb.StreamingRecognizeRequest_StreamingConfig{
		StreamingConfig: &speechpb.StreamingRecognitionConfig{
			Config: &speechpb.RecognitionConfig{
				Encoding:              speechpb.RecognitionConfig_LINEAR16,
				SampleRateHertz:       audio.SampleRate,
				AudioChannelCount:     1,
				LanguageCode:          s.lang,
				EnableWordTimeOffsets: true,
				// Word confidences let editors find the doubtful cues.
				EnableWordConfidence:       true,
				EnableAutomaticPunctuation: s.cfg.Punctuation,
				Model:                      s.cfg.Model,
				SpeechContexts:             contexts,
			},
			InterimResults: true,
		},
	}}
}

// request takes the next unsent audio, at most MaxRequestBytes of it and
// contiguous in program time, off the replay buffer and records where it
// lies; it returns the request (nil if there is none) and its size.
func (s *Stream) request() (*speechpb.StreamingRecognizeRequest, int) {
	pts, data := s.buf.next(MaxRequestBytes / 2)
	if len(data) == 0 {
		return nil, 0
	}
	s.tl.record(pts, int64(len(data)/2))
	return &speechpb.StreamingRecognizeRequest{StreamingRequest: &speechpb.StreamingRecognizeRequest_AudioContent{AudioContent: data}}, len(data)
}

// offset converts a stream offset to samples at the program rate.
func offset(d *durationpb.Duration) int64 {
	if d == nil {
		return 0
	}
	ns := d.AsDuration()
	// Round: the service's durations are truncated to whole nanoseconds.
	return (int64(ns)*audio.SampleRate + int64(time.Second)/2) / int64(time.Second)
}

// handle turns a response into results; it reports whether a final came.
func (s *Stream) handle(resp *speechpb.StreamingRecognizeResponse) bool {
	var interim []string
	var interimEnd int64
	final := false
	for _, r := range resp.GetResults() {
		alts := r.GetAlternatives()
		if !r.GetIsFinal() {
			if len(alts) > 0 && strings.TrimSpace(alts[0].GetTranscript()) != "" {
				interim = append(interim, strings.TrimSpace(alts[0].GetTranscript()))
				interimEnd = max(interimEnd, s.tl.end(offset(r.GetResultEndTime())))
			}
			continue
		}
		final = true
		end := s.tl.end(offset(r.GetResultEndTime()))
		if len(alts) > 0 {
			if res, ok := s.finalResult(alts[0], end); ok {
				s.push(res)
			}
		}
		if end > s.settled {
			s.buf.trim(end)
			s.settled = end
		}
	}
	if len(interim) > 0 {
		s.push(captions.Result{Text: strings.Join(interim, " "), Start: s.settled, End: max(interimEnd, s.settled)})
	}
	return final
}

func (s *Stream) finalResult(alt *speechpb.SpeechRecognitionAlternative, end int64) (captions.Result, bool) {
	text := strings.TrimSpace(alt.GetTranscript())
	if text == "" {
		return captions.Result{}, false
	}
	r := captions.Result{Final: true, Text: text, Start: s.settled, End: max(end, s.settled)}
	// A model without word confidences leaves them 0: the alternative's
	// own confidence, the service's estimate for the whole transcript,
	// then stands for each word.
	byWord := false
	for _, w := range alt.GetWords() {
		byWord = byWord || w.GetConfidence() > 0
	}
	for _, w := range alt.GetWords() {
		conf := w.GetConfidence()
		if !byWord {
			conf = alt.GetConfidence()
		}
		r.Words = append(r.Words, captions.Word{
			Text:       w.GetWord(),
			Start:      s.tl.start(offset(w.GetStartTime())),
			End:        s.tl.end(offset(w.GetEndTime())),
			Confidence: conf,
		})
	}
	if n := len(r.Words); n > 0 {
		r.Start, r.End = r.Words[0].Start, r.Words[n-1].End
	}
	return r, true
}
