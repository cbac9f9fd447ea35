// Package speechfake is a local Google Cloud Speech server for tests: a real
// gRPC server implementing StreamingRecognize that enforces the service's
// limits (25 KB of audio per request, audio at about real time, a capped
// stream duration) and "recognizes" a toy audio code, so a test knows exactly
// which words are in the audio it sends and where.
//
// The toy code: a word is a run of samples that all hold the same level,
// Level(i) for the i-th lexicon word (i from 1); silence is zero. A word ends
// where the level changes; a pause of Config.Pause settles the words heard
// since the last final result into a new final result.
package speechfake

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/speech/apiv1/speechpb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"

	"tolk/internal/grpcfake"
)

// Step is the int16 distance between the levels of two lexicon words.
const Step = 256

// Level is the sample value (in [-1, 1]) that codes lexicon word i (from 1).
func Level(i int) float32 { return float32(i*Step) / 32767 }

// Word is a word of a script: its text and where it lies, in samples at the
// rate the audio is rendered at.
type Word struct {
	Text       string
	Start, End int64
}

// Render returns n samples of silence carrying words in the toy code. Every
// word must be in lexicon; words must not overlap.
func Render(lexicon []string, words []Word, n int) ([]float32, error) {
	if len(lexicon)*Step > math.MaxInt16 {
		return nil, fmt.Errorf("speechfake: lexicon of %d words is too large", len(lexicon))
	}
	idx := make(map[string]int, len(lexicon))
	for i, w := range lexicon {
		idx[w] = i + 1
	}
	pcm := make([]float32, n)
	var last int64
	for _, w := range words {
		i, ok := idx[w.Text]
		if !ok {
			return nil, fmt.Errorf("speechfake: %q is not in the lexicon", w.Text)
		}
		if w.Start < last || w.End <= w.Start || w.End > int64(n) {
			return nil, fmt.Errorf("speechfake: word %q at %d..%d overlaps or is out of range", w.Text, w.Start, w.End)
		}
		for j := w.Start; j < w.End; j++ {
			pcm[j] = Level(i)
		}
		last = w.End
	}
	return pcm, nil
}

// Config sets the server's rules. Zero values take the real service's limits.
type Config struct {
	// Lexicon is the words the toy code can carry.
	Lexicon []string
	// Cap ends a stream with OUT_OF_RANGE this long after it opened (305 s).
	Cap time.Duration
	// MaxAhead is how far the audio received may run ahead of the wall clock
	// since the stream opened before the stream fails as too fast (10 s).
	MaxAhead time.Duration
	// Pause is the silence that settles an utterance into a final (300 ms).
	Pause time.Duration
	// MaxRequestBytes is the largest audio_content accepted (25000).
	MaxRequestBytes int
}

// Stats counts what the server saw.
type Stats struct {
	Streams         int // streams opened
	Requests        int // audio requests
	MaxRequestBytes int // largest audio_content received
	Oversized       int // streams failed for a request over MaxRequestBytes
	TooFast         int // streams failed for audio ahead of real time
	CapHits         int // streams ended by the duration cap
	Injected        int // streams failed by FailNext or Break
	Stalled         int // streams that stopped reading for StallAfter
	Muted           int // streams that stopped answering for MuteAfter
	HalfClosed      int // streams the client half-closed
	Finals          int // final results sent
	Interims        int // interim results sent
	// Unsettled counts words heard, whole or in part, but not settled in a
	// final when their stream ended (at the cap, a failure or a half-close
	// in the middle of speech): audio a client must send again.
	Unsettled int
}

// Server is a running fake. Close stops it.
type Server struct {
	speechpb.UnimplementedSpeechServer
	*grpcfake.Server // Addr, ClientOptions
	cfg              Config

	mu       sync.Mutex
	stats    Stats
	failures []codes.Code
	breakCh  chan struct{} // closed (and replaced) by Break
	breakErr codes.Code
	stall    atomic.Bool
	mute     atomic.Bool
	// stallAfter, when positive, stops the next stream that hears that much
	// audio from reading (once).
	stallAfter time.Duration
	// muteAfter, when positive, silences the next stream that hears that
	// much audio (MuteAfter).
	muteAfter time.Duration
	// configs is every stream's recognition config, in order.
	configs []*speechpb.RecognitionConfig
}

// Configs returns the recognition config of every stream so far, in the
// order they opened (copies).
func (s *Server) Configs() []*speechpb.RecognitionConfig {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*speechpb.RecognitionConfig, len(s.configs))
	for i, c := range s.configs {
		out[i] = proto.Clone(c).(*speechpb.RecognitionConfig)
	}
	return out
}

// checkContexts applies the service's limits on phrase hints: at most 5000
// phrases of at most 100 characters, 100 000 characters in all, boost 0..20.
func checkContexts(rc *speechpb.RecognitionConfig) error {
	n, chars := 0, 0
	for _, c := range rc.GetSpeechContexts() {
		if b := c.GetBoost(); b < 0 || b > 20 {
			return fmt.Errorf("boost %v is outside 0..20", b)
		}
		for _, p := range c.GetPhrases() {
			n++
			chars += len([]rune(p))
			if len([]rune(p)) > 100 {
				return fmt.Errorf("phrase %q is longer than 100 characters", p)
			}
		}
	}
	if n > 5000 || chars > 100000 {
		return fmt.Errorf("%d phrases of %d characters: at most 5000 and 100000", n, chars)
	}
	return nil
}

// Start listens on 127.0.0.1:0 and serves until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Cap <= 0 {
		cfg.Cap = 305 * time.Second
	}
	if cfg.MaxAhead <= 0 {
		cfg.MaxAhead = 10 * time.Second
	}
	if cfg.Pause <= 0 {
		cfg.Pause = 300 * time.Millisecond
	}
	if cfg.MaxRequestBytes <= 0 {
		cfg.MaxRequestBytes = 25000
	}
	s := &Server{cfg: cfg, breakCh: make(chan struct{})}
	g, err := grpcfake.Start(func(g *grpc.Server) { speechpb.RegisterSpeechServer(g, s) })
	if err != nil {
		return nil, fmt.Errorf("speechfake: %w", err)
	}
	s.Server = g
	return s, nil
}

// FailNext makes the next n streams fail with code as soon as they send
// their configuration.
func (s *Server) FailNext(code codes.Code, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failures = append(s.failures, code)
	}
}

// Break ends every open stream with code.
func (s *Server) Break(code codes.Code) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.breakErr = code
	close(s.breakCh)
	s.breakCh = make(chan struct{})
}

// Stall makes streams stop reading requests (on) or read again (off), so
// a client's sends back up behind gRPC flow control.
func (s *Server) Stall(on bool) { s.stall.Store(on) }

// StallAfter makes the next stream to hear d of audio stop reading there
// for good, as a service that hangs in the middle of a stream: the client's
// sends back up behind gRPC flow control until it gives the stream up.
// Streams opened later read normally. It applies once.
func (s *Server) StallAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stallAfter = d
}

// Mute makes streams read audio but send no result, and not end when the
// client half-closes (they end when the client goes away), as a service
// that has stopped answering.
func (s *Server) Mute(on bool) { s.mute.Store(on) }

// MuteAfter makes the next stream to hear d of audio stop answering there
// for good while it reads on, as a service that hangs after reading: the
// client must notice the silence. Streams opened later answer. It applies
// once.
func (s *Server) MuteAfter(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.muteAfter = d
}

// muteHere and stallHere report whether a stream that has heard heard of
// audio goes mute (MuteAfter) or stops reading (StallAfter) now.
func (s *Server) muteHere(heard time.Duration) bool {
	return s.onceAt(&s.muteAfter, &s.stats.Muted, heard)
}

func (s *Server) stallHere(heard time.Duration) bool {
	return s.onceAt(&s.stallAfter, &s.stats.Stalled, heard)
}

// onceAt is a one-time fault: true, counted in n and forgotten, the first
// time heard reaches *at.
func (s *Server) onceAt(at *time.Duration, n *int, heard time.Duration) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if *at <= 0 || heard < *at {
		return false
	}
	*at = 0
	*n++
	return true
}

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close stops the server and ends every stream.
func (s *Server) Close() { s.Stop() }

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	f(&s.stats)
	s.mu.Unlock()
}

type recvd struct {
	req *speechpb.StreamingRecognizeRequest
	err error
}

// StreamingRecognize serves one stream.
func (s *Server) StreamingRecognize(st speechpb.Speech_StreamingRecognizeServer) error {
	ctx := st.Context()
	s.count(func(c *Stats) { c.Streams++ })
	first, err := st.Recv()
	if err != nil {
		return err
	}
	sc := first.GetStreamingConfig()
	if sc == nil || sc.GetConfig() == nil {
		return status.Error(codes.InvalidArgument, "the first request must carry streaming_config")
	}
	rc := sc.GetConfig()
	if rc.GetEncoding() != speechpb.RecognitionConfig_LINEAR16 || rc.GetSampleRateHertz() < 8000 || rc.GetSampleRateHertz() > 48000 {
		return status.Error(codes.InvalidArgument, "only LINEAR16 at 8000..48000 Hz is supported")
	}
	if rc.GetLanguageCode() == "" {
		return status.Error(codes.InvalidArgument, "language_code is required")
	}
	if err := checkContexts(rc); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	s.configs = append(s.configs, proto.Clone(rc).(*speechpb.RecognitionConfig))
	breakCh := s.breakCh
	var inject codes.Code
	if len(s.failures) > 0 {
		inject = s.failures[0]
		s.failures = s.failures[1:]
		s.stats.Injected++
	}
	s.mu.Unlock()
	if inject != codes.OK {
		return status.Errorf(inject, "injected failure: %s", inject)
	}

	rate := int64(rc.GetSampleRateHertz())
	dec := &decoder{lexicon: s.cfg.Lexicon, rate: rate, pause: int64(s.cfg.Pause) * rate / int64(time.Second), interim: sc.GetInterimResults(),
		wordConfidence: rc.GetEnableWordConfidence()}
	opened := time.Now()
	capTimer := time.NewTimer(s.cfg.Cap)
	defer capTimer.Stop()

	reqs := make(chan recvd)
	go func() {
		for {
			r, err := st.Recv()
			select {
			case reqs <- recvd{r, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	defer func() { s.count(func(c *Stats) { c.Unsettled += dec.unsettled() }) }()

	var odd []byte      // a trailing byte of a request that split a sample
	stalled := false    // stopped reading for StallAfter
	muted := false      // stopped answering for MuteAfter
	halfClosed := false // muted and half-closed: waits for the client to go
	for {
		in := reqs
		var recheck <-chan time.Time
		switch {
		case stalled || halfClosed:
			in = nil
		case s.stall.Load():
			in, recheck = nil, time.After(10*time.Millisecond)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-breakCh:
			s.mu.Lock()
			code := s.breakErr
			s.stats.Injected++
			s.mu.Unlock()
			return status.Errorf(code, "injected failure: %s", code)
		case <-capTimer.C:
			s.count(func(c *Stats) { c.CapHits++ })
			return status.Errorf(codes.OutOfRange, "Exceeded maximum allowed stream duration of %d seconds.", int(s.cfg.Cap/time.Second))
		case <-recheck:
		case r := <-in:
			if errors.Is(r.err, io.EOF) {
				s.count(func(c *Stats) { c.HalfClosed++ })
				if s.mute.Load() {
					halfClosed = true
					continue
				}
				return s.send(st, dec.finish())
			}
			if r.err != nil {
				return r.err
			}
			data := r.req.GetAudioContent()
			if r.req.GetStreamingConfig() != nil {
				return status.Error(codes.InvalidArgument, "streaming_config may only be sent first")
			}
			s.count(func(c *Stats) {
				c.Requests++
				c.MaxRequestBytes = max(c.MaxRequestBytes, len(data))
			})
			if len(data) > s.cfg.MaxRequestBytes {
				s.count(func(c *Stats) { c.Oversized++ })
				return status.Errorf(codes.InvalidArgument, "audio_content of %d bytes exceeds the limit of %d", len(data), s.cfg.MaxRequestBytes)
			}
			if len(odd) > 0 {
				data = append(odd, data...)
				odd = nil
			}
			if len(data)%2 == 1 {
				odd = []byte{data[len(data)-1]}
				data = data[:len(data)-1]
			}
			results := dec.feed(data)
			heard := time.Duration(dec.n) * time.Second / time.Duration(rate)
			if heard > time.Since(opened)+s.cfg.MaxAhead {
				s.count(func(c *Stats) { c.TooFast++ })
				return status.Error(codes.OutOfRange, "Audio data is being streamed too fast. Please stream audio data approximately at real time.")
			}
			if !muted {
				muted = s.muteHere(heard)
			}
			if muted {
				results = nil
			}
			if err := s.send(st, results); err != nil {
				return err
			}
			stalled = s.stallHere(heard)
		}
	}
}

func (s *Server) send(st speechpb.Speech_StreamingRecognizeServer, results []*speechpb.StreamingRecognitionResult) error {
	if s.mute.Load() {
		return nil
	}
	for _, r := range results {
		s.count(func(c *Stats) {
			if r.IsFinal {
				c.Finals++
			} else {
				c.Interims++
			}
		})
		if err := st.Send(&speechpb.StreamingRecognizeResponse{Results: []*speechpb.StreamingRecognitionResult{r}}); err != nil {
			return err
		}
	}
	return nil
}

type heardWord struct {
	text       string
	start, end int64
}

// decoder reads the toy code from one stream's samples.
type decoder struct {
	lexicon []string
	rate    int64
	pause   int64
	interim bool
	// wordConfidence gives each word of a final result a confidence, as
	// the service does only when asked; the alternative has one always.
	wordConfidence bool

	n        int64 // samples read
	code     int   // level of the current run, 0 for silence
	runStart int64
	words    []heardWord // words since the last final
}

func (d *decoder) level(v int16) int {
	c := int(math.Round(float64(v) / Step))
	if c < 1 || c > len(d.lexicon) {
		return 0
	}
	return c
}

func (d *decoder) feed(data []byte) []*speechpb.StreamingRecognitionResult {
	var out []*speechpb.StreamingRecognitionResult
	for i := 0; i+1 < len(data); i += 2 {
		c := d.level(int16(uint16(data[i]) | uint16(data[i+1])<<8))
		if c != d.code {
			if d.code != 0 {
				d.words = append(d.words, heardWord{d.lexicon[d.code-1], d.runStart, d.n})
				if d.interim {
					out = append(out, d.result(false, d.n))
				}
			}
			d.code, d.runStart = c, d.n
		}
		d.n++
		if d.code == 0 && len(d.words) > 0 && d.n-d.runStart == d.pause {
			out = append(out, d.result(true, d.n))
			d.words = nil
		}
	}
	return out
}

// unsettled is the number of words heard, whole or in part, not settled.
func (d *decoder) unsettled() int {
	n := len(d.words)
	if d.code != 0 {
		n++
	}
	return n
}

// finish settles the words heard completely when the client half-closes;
// a word cut off by the end of the audio is not reported.
func (d *decoder) finish() []*speechpb.StreamingRecognitionResult {
	if len(d.words) == 0 {
		return nil
	}
	r := d.result(true, d.words[len(d.words)-1].end)
	d.words = nil
	return []*speechpb.StreamingRecognitionResult{r}
}

func (d *decoder) dur(n int64) *durationpb.Duration {
	return durationpb.New(time.Duration(n * int64(time.Second) / d.rate))
}

func (d *decoder) result(final bool, end int64) *speechpb.StreamingRecognitionResult {
	texts := make([]string, len(d.words))
	for i, w := range d.words {
		texts[i] = w.text
	}
	alt := &speechpb.SpeechRecognitionAlternative{Transcript: strings.Join(texts, " ")}
	r := &speechpb.StreamingRecognitionResult{IsFinal: final, ResultEndTime: d.dur(end), Stability: 0.5}
	if final {
		alt.Confidence = 0.9
		r.Stability = 0
		for _, w := range d.words {
			wi := &speechpb.WordInfo{Word: w.text, StartTime: d.dur(w.start), EndTime: d.dur(w.end)}
			if d.wordConfidence {
				wi.Confidence = 0.9
			}
			alt.Words = append(alt.Words, wi)
		}
	}
	r.Alternatives = []*speechpb.SpeechRecognitionAlternative{alt}
	return r
}
