package aac

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

// Sink takes the encoded frames: frame is one raw AAC-LC frame of 1024
// samples whose first sample is at program time pts (a multiple of 1024).
// The frame is only valid during the call. The HLS muxer is one.
type Sink interface {
	WriteAAC(id string, pts int64, frame []byte) error
}

// Options configure an Encoder.
type Options struct {
	// IDs name the languages, one input and one output of the process each.
	IDs []string
	// Bitrate is the AAC bitrate of each language in bits/s (default 64000).
	Bitrate int
	// Sink receives every language's frames, from one goroutine per
	// language.
	Sink Sink
	// Clock times the pauses between restarts (default the system clock).
	Clock audio.Clock
	// Log gets a line for every restart of the process.
	Log *slog.Logger
	// FFmpeg is the program to run (default "ffmpeg" from PATH).
	FFmpeg string
}

const (
	defaultBitrate = 64000
	// maxGap is the longest hole in a language's PCM that is filled with
	// silence; a longer one restarts the process on a new start.
	maxGap = 10 * audio.SampleRate
	// exitWait bounds how long Close waits for the process to flush the
	// last frames before it is killed.
	exitWait = 5 * time.Second
	// pauses between restarts double from minPause up to maxPause; a run
	// that lasted longer than stableRun starts the doubling again.
	minPause  = 250 * time.Millisecond
	maxPause  = 5 * time.Second
	stableRun = 30 * time.Second
)

// Encoder encodes every language to AAC-LC in one FFmpeg process: each
// language's PCM goes in on a pipe of its own and comes back as ADTS on
// another (one process for all languages costs 40 % less CPU and a tenth of
// the memory of one process per language, docs/benchmarks.md). FFmpeg opens
// its inputs one after the other and reads them in step, so every language
// must be written side by side, as the mixes tick together: a language never
// written holds up the others. A supervisor restarts the
// process when it dies; every language then starts again at the next 1024
// sample boundary of program time, and the frames lost meanwhile are a gap
// that the Sink fills. Write may be called concurrently for different
// languages, never for the same one.
type Encoder struct {
	opts   Options
	inputs map[string]*input
	order  []*input

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{} // closed when the supervisor has returned

	mu      sync.Mutex
	closing bool
	cur     *run // the process running now, nil between runs

	stats counters
}

// input is one language's side of the encoder.
type input struct {
	id  string
	idx int // its place among the process's inputs and outputs

	mu  sync.Mutex
	run *run     // the run whose pipe Write feeds, nil while none
	w   *os.File // that run's pipe
	// Only Write touches these.
	pos int64 // program time of the next sample to write
	buf []byte
}

// run is one FFmpeg process.
type run struct {
	cmd    *exec.Cmd
	starts []atomic.Int64 // per input: program time of its first sample, -1 before
	kill   context.CancelFunc
	stderr *tail
}

// Stats are an Encoder's cumulative counters.
type Stats struct {
	Frames   int64         // AAC frames handed to the sink
	Refused  int64         // frames the sink refused
	Restarts int64         // processes started after the first
	Filled   int64         // samples of silence written into gaps of the PCM
	Skipped  int64         // samples dropped: before a start, repeated, or while no process ran
	CPU      time.Duration // CPU time of the processes that have exited
}

type counters struct {
	frames, refused, restarts, filled, skipped, cpu atomic.Int64
}

// New starts the encoder's process for opts.IDs.
func New(opts Options) (*Encoder, error) {
	if len(opts.IDs) == 0 {
		return nil, errors.New("aac: no languages")
	}
	if opts.Sink == nil {
		return nil, errors.New("aac: no sink")
	}
	if opts.Bitrate == 0 {
		opts.Bitrate = defaultBitrate
	}
	if opts.Bitrate < 16000 || opts.Bitrate > 320000 {
		return nil, fmt.Errorf("aac: bitrate %d is outside 16000..320000", opts.Bitrate)
	}
	if opts.Clock == nil {
		opts.Clock = audio.SystemClock{}
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.FFmpeg == "" {
		opts.FFmpeg = "ffmpeg"
	}
	e := &Encoder{opts: opts, inputs: make(map[string]*input, len(opts.IDs)), done: make(chan struct{})}
	for _, id := range opts.IDs {
		if _, dup := e.inputs[id]; dup {
			return nil, fmt.Errorf("aac: language %q given twice", id)
		}
		in := &input{id: id, idx: len(e.order)}
		e.inputs[id] = in
		e.order = append(e.order, in)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	go e.supervise()
	return e, nil
}

// args is the command line of a process for n languages: input i reads
// 48 kHz mono float PCM from fd 3+i, output i writes ADTS to fd 3+n+i, a
// packet at a time. Probing is cut to one packet: the format is given.
// "-fflags nobuffer" must not be added: it throws away the packet read while
// probing, the first 1024 samples, and the frames would come back 1024
// samples early.
func (e *Encoder) args(n int) []string {
	a := []string{"-nostdin", "-hide_banner", "-nostats", "-loglevel", "error"}
	for i := range n {
		a = append(a, "-probesize", "32", "-analyzeduration", "0",
			"-f", "f32le", "-ar", strconv.Itoa(audio.SampleRate), "-ac", "1", "-i", "pipe:"+strconv.Itoa(3+i))
	}
	for i := range n {
		a = append(a, "-map", strconv.Itoa(i)+":a", "-c:a", "aac", "-b:a", strconv.Itoa(e.opts.Bitrate),
			"-flags", "+bitexact", "-flush_packets", "1", "-f", "adts", "pipe:"+strconv.Itoa(3+n+i))
	}
	return a
}

// supervise runs the process until Close, restarting it when it dies.
func (e *Encoder) supervise() {
	defer close(e.done)
	pause := minPause
	for first := true; ; first = false {
		if !first {
			e.stats.restarts.Add(1)
		}
		began := e.opts.Clock.Now()
		err := e.runOnce()
		if e.isClosing() {
			return
		}
		if e.opts.Clock.Now().Sub(began) > stableRun {
			pause = minPause
		}
		e.opts.Log.Warn("aac encoder stopped; restarting", "err", err, "pause", pause)
		t := e.opts.Clock.NewTimer(pause)
		select {
		case <-t.C():
		case <-e.ctx.Done():
			t.Stop()
			return
		}
		pause = min(2*pause, maxPause)
	}
}

func (e *Encoder) isClosing() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closing
}

// runOnce starts one process, feeds it through Write until it exits and
// returns why it did.
func (e *Encoder) runOnce() error {
	n := len(e.order)
	ctx, kill := context.WithCancel(e.ctx)
	defer kill()
	r := &run{starts: make([]atomic.Int64, n), kill: kill, stderr: &tail{max: 6, width: 300}}
	for i := range r.starts {
		r.starts[i].Store(-1)
	}
	var child, ours []*os.File // the ends the process gets, the ends we keep
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			if f != nil {
				f.Close()
			}
		}
	}
	for range 2 * n {
		pr, pw, err := os.Pipe()
		if err != nil {
			closeAll(child)
			closeAll(ours)
			return fmt.Errorf("aac pipe: %w", err)
		}
		if len(child) < n {
			child, ours = append(child, pr), append(ours, pw) // inputs: it reads
		} else {
			child, ours = append(child, pw), append(ours, pr) // outputs: it writes
		}
	}
	cmd := exec.CommandContext(ctx, e.opts.FFmpeg, e.args(n)...)
	cmd.ExtraFiles = child
	cmd.Stderr = r.stderr
	cmd.WaitDelay = time.Second
	r.cmd = cmd
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		closeAll(child)
		closeAll(ours)
		return errors.New("closed")
	}
	err := cmd.Start()
	e.mu.Unlock()
	closeAll(child)
	if err != nil {
		closeAll(ours)
		return fmt.Errorf("start %s: %w", e.opts.FFmpeg, err)
	}
	var readers sync.WaitGroup
	for i, in := range e.order {
		out := ours[n+i]
		readers.Add(1)
		go func() {
			defer readers.Done()
			defer out.Close()
			e.readOutput(r, i, in.id, out)
		}()
	}
	// Attach the inputs unless Close came meanwhile: then end them, so
	// the process sees the end of its input and exits.
	e.mu.Lock()
	for i, in := range e.order {
		if e.closing {
			ours[i].Close()
			continue
		}
		in.mu.Lock()
		in.run, in.w = r, ours[i]
		in.mu.Unlock()
	}
	if !e.closing {
		e.cur = r
	}
	e.mu.Unlock()
	readers.Wait()
	waitErr := cmd.Wait()
	// Detach the pipes: Write skips until the next run.
	for _, in := range e.order {
		in.mu.Lock()
		if in.w != nil {
			in.w.Close()
		}
		in.run, in.w = nil, nil
		in.mu.Unlock()
	}
	e.mu.Lock()
	e.cur = nil
	e.mu.Unlock()
	if ps := cmd.ProcessState; ps != nil {
		e.stats.cpu.Add(int64(ps.UserTime() + ps.SystemTime()))
	}
	if said := r.stderr.String(); said != "" {
		return fmt.Errorf("%v: %s", waitErr, said)
	}
	if waitErr == nil {
		return errors.New("exited")
	}
	return waitErr
}

// readOutput hands output i's frames to the sink on the program timeline:
// the first frame is the encoder's priming (the 1024 samples before the
// first one fed), dropped; frame k after it starts at the run's start plus
// k*1024. A stream that breaks kills the process, so the run restarts.
func (e *Encoder) readOutput(r *run, i int, id string, out io.Reader) {
	ar := NewReader(out)
	for k := int64(-1); ; k++ {
		frame, err := ar.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.kill()
				r.stderr.Write([]byte("\nreading output " + id + ": " + err.Error() + "\n"))
			}
			return
		}
		if k < 0 {
			continue
		}
		start := r.starts[i].Load()
		if start < 0 {
			// Output before any input: not FFmpeg's behaviour; give up
			// on this run rather than guess a time.
			r.kill()
			return
		}
		if err := e.opts.Sink.WriteAAC(id, start+k*FrameSamples, frame); err != nil {
			e.stats.refused.Add(1)
			continue
		}
		e.stats.frames.Add(1)
	}
}

// Write feeds a language's PCM at program time pts (48 kHz samples since
// the program's time zero). A hole since the last frame is filled with
// silence, samples already written are skipped, and PCM that comes while
// no process runs is dropped and counted. Write blocks while the process's
// pipe is full; the caller reads from a bounded, dropping queue.
func (e *Encoder) Write(id string, pts int64, pcm []float32) error {
	in := e.inputs[id]
	if in == nil {
		return fmt.Errorf("aac: unknown language %q", id)
	}
	in.mu.Lock()
	r, w := in.run, in.w
	in.mu.Unlock()
	if r == nil {
		e.stats.skipped.Add(int64(len(pcm)))
		return nil
	}
	if r.starts[in.idx].Load() < 0 {
		// A run starts each language on the next 1024-sample boundary,
		// so frames keep to one grid across restarts. The reader loads
		// the start only after bytes written below come out encoded.
		start := ceilTo(pts, FrameSamples)
		r.starts[in.idx].Store(start)
		in.pos = start
	}
	gap := int64(0)
	switch {
	case pts < in.pos:
		skip := in.pos - pts
		if skip >= int64(len(pcm)) {
			e.stats.skipped.Add(int64(len(pcm)))
			return nil
		}
		e.stats.skipped.Add(skip)
		pcm, pts = pcm[skip:], in.pos
	case pts > in.pos:
		gap = pts - in.pos
		if gap > maxGap {
			r.kill() // restarts on a new start
			return fmt.Errorf("aac %s: a hole of %v in the PCM", id, audio.Duration(gap))
		}
		e.stats.filled.Add(gap)
	}
	in.buf = appendPCM(in.buf[:0], gap, pcm)
	in.pos = pts + int64(len(pcm))
	if _, err := w.Write(in.buf); err != nil {
		// The process died or the run ended: the supervisor restarts it.
		return nil
	}
	return nil
}

// appendPCM writes gap samples of silence and then pcm as little-endian
// float32.
func appendPCM(b []byte, gap int64, pcm []float32) []byte {
	b = append(b, make([]byte, 4*gap)...)
	for _, s := range pcm {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(s))
	}
	return b
}

func ceilTo(v, unit int64) int64 {
	if v <= 0 {
		return v / unit * unit
	}
	return (v + unit - 1) / unit * unit
}

// Running reports whether a process is running and takes Write's PCM.
func (e *Encoder) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur != nil
}

// Kill ends the running process as a crash would, for tests and for an
// operator's restart; the supervisor starts another.
func (e *Encoder) Kill() {
	e.mu.Lock()
	r := e.cur
	e.mu.Unlock()
	if r != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
	}
}

// Close ends the inputs, lets the process encode and hand over what it
// holds (killing it after a few seconds), and waits for every goroutine.
// Write calls must have returned. Close is idempotent.
func (e *Encoder) Close() error {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		<-e.done
		return nil
	}
	e.closing = true
	e.mu.Unlock()
	for _, in := range e.order {
		in.mu.Lock()
		if in.w != nil {
			in.w.Close() // end of input: the process flushes and exits
			in.w = nil
		}
		in.mu.Unlock()
	}
	t := e.opts.Clock.NewTimer(exitWait)
	defer t.Stop()
	select {
	case <-e.done:
	case <-t.C():
		e.cancel()
		<-e.done
	}
	e.cancel()
	return nil
}

// Stats returns the counters.
func (e *Encoder) Stats() Stats {
	c := &e.stats
	return Stats{
		Frames:   c.frames.Load(),
		Refused:  c.refused.Load(),
		Restarts: c.restarts.Load(),
		Filled:   c.filled.Load(),
		Skipped:  c.skipped.Load(),
		CPU:      time.Duration(c.cpu.Load()),
	}
}

// tail keeps the last lines the process wrote to stderr, each cut to width
// bytes, so a chatty process cannot grow memory.
type tail struct {
	mu      sync.Mutex
	lines   []string
	max     int
	width   int
	partial []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, b := range p {
		if b == '\n' || b == '\r' {
			if line := strings.TrimSpace(string(t.partial)); line != "" {
				if len(t.lines) == t.max {
					t.lines = append(t.lines[:0], t.lines[1:]...)
				}
				t.lines = append(t.lines, line)
			}
			t.partial = t.partial[:0]
			continue
		}
		if len(t.partial) < t.width {
			t.partial = append(t.partial, b)
		}
	}
	return len(p), nil
}

// String returns the kept lines joined by "; ".
func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "; ")
}
