package aac

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// collector is a Sink that keeps every frame.
type collector struct {
	mu     sync.Mutex
	frames map[string][]frameAt
	got    chan struct{} // signalled on every frame
}

type frameAt struct {
	pts  int64
	data []byte
}

func newCollector() *collector {
	return &collector{frames: map[string][]frameAt{}, got: make(chan struct{}, 1)}
}

func (c *collector) WriteAAC(id string, pts int64, frame []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	fs := c.frames[id]
	if n := len(fs); n > 0 && pts <= fs[n-1].pts {
		return errors.New("late")
	}
	c.frames[id] = append(fs, frameAt{pts, bytes.Clone(frame)})
	select {
	case c.got <- struct{}{}:
	default:
	}
	return nil
}

func (c *collector) of(id string) []frameAt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]frameAt(nil), c.frames[id]...)
}

// adtsStream wraps raw frames in ADTS headers again, as FFmpeg reads them.
func adtsStream(frames []frameAt) []byte {
	var b []byte
	for _, f := range frames {
		n := len(f.data) + headerLen
		b = append(b, 0xff, 0xf1, 0x4c, 0x40|byte(n>>11), byte(n>>3), byte(n<<5)|0x1f, 0xfc)
		b = append(b, f.data...)
	}
	return b
}

// decode turns frames back into PCM with FFmpeg's decoder; sample i of the
// result is at program time frames[0].pts + i.
func decode(t *testing.T, frames []frameAt) []float32 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-f", "aac", "-i", "pipe:0",
		"-f", "f32le", "-ac", "1", "-ar", "48000", "pipe:1")
	cmd.Stdin = bytes.NewReader(adtsStream(frames))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	pcm := make([]float32, len(out)/4)
	for i := range pcm {
		pcm[i] = math.Float32frombits(binary.LittleEndian.Uint32(out[4*i:]))
	}
	return pcm
}

// burst is a program: silence with a 1 kHz tone from on to on+dur.
func burst(pts, on, dur int64) float32 {
	if pts < on || pts >= on+dur {
		return 0
	}
	return float32(0.5 * math.Sin(2*math.Pi*1000*float64(pts-on)/audio.SampleRate))
}

// onset is the first sample whose 1 ms mean level passes a third of the
// tone's, or -1.
func onset(pcm []float32) int64 {
	const win = 48
	var sum float64
	for i, s := range pcm {
		sum += math.Abs(float64(s))
		if i >= win {
			sum -= math.Abs(float64(pcm[i-win]))
		}
		if i >= win-1 && sum/win > 0.5*2/math.Pi/3 {
			return int64(i - win + 1)
		}
	}
	return -1
}

func newEncoder(t *testing.T, ids []string, sink Sink) *Encoder {
	t.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	e, err := New(Options{IDs: ids, Sink: sink})
	if err != nil {
		t.Fatal(err)
	}
	waitRunning(t, e)
	return e
}

func waitRunning(t *testing.T, e *Encoder) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !e.Running() {
		if time.Now().After(deadline) {
			t.Fatal("the encoder did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// feed writes the program's 20 ms frames [from, to) to every language.
func feed(t *testing.T, e *Encoder, ids []string, from, to, on, dur int64) {
	t.Helper()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for pts := from; pts < to; pts += audio.FrameSamples {
				pcm := make([]float32, audio.FrameSamples)
				for i := range pcm {
					pcm[i] = burst(pts+int64(i), on, dur)
				}
				if err := e.Write(id, pts, pcm); err != nil {
					t.Errorf("write %s at %d: %v", id, pts, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestEncoderKeepsProgramTime: PCM that starts off the 1024-sample grid
// comes back as frames on it, consecutive, and a tone burst decoded from
// them starts where it started in the PCM: the priming frame is dropped and
// every frame's time is exact. Two languages share the process.
func TestEncoderKeepsProgramTime(t *testing.T) {
	ids := []string{"en", "fr"}
	c := newCollector()
	e := newEncoder(t, ids, c)
	from := int64(7 * audio.FrameSamples) // 6720: not a multiple of 1024
	on, dur := int64(48000+333), int64(24000)
	feed(t, e, ids, from, from+3*audio.SampleRate, on, dur)
	ref := make([]float32, 3*audio.SampleRate)
	for i := range ref {
		ref[i] = burst(from+int64(i), on, dur)
	}
	want := from + onset(ref) // where the detector finds the burst in the PCM itself
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		fs := c.of(id)
		if len(fs) < 3*audio.SampleRate/FrameSamples-2 {
			t.Fatalf("%s: %d frames for 3 s", id, len(fs))
		}
		if want := ceilTo(from, FrameSamples); fs[0].pts != want {
			t.Errorf("%s: first frame at %d, want %d", id, fs[0].pts, want)
		}
		for i := 1; i < len(fs); i++ {
			if fs[i].pts != fs[i-1].pts+FrameSamples {
				t.Fatalf("%s: frame %d at %d after %d", id, i, fs[i].pts, fs[i-1].pts)
			}
		}
		pcm := decode(t, fs)
		if len(pcm) != len(fs)*FrameSamples {
			t.Errorf("%s: decoded %d samples from %d frames", id, len(pcm), len(fs))
		}
		got := fs[0].pts + onset(pcm)
		t.Logf("%s: %d frames, burst at %d (found at %d in the PCM) decoded at %d (%+d samples)", id, len(fs), on, want, got, got-want)
		if d := got - want; d < -24 || d > 24 {
			t.Errorf("%s: burst decoded at %d, %d samples from the PCM's %d", id, got, d, want)
		}
	}
	if s := e.Stats(); s.Restarts != 0 || s.Refused != 0 || s.CPU <= 0 {
		t.Errorf("stats %+v", s)
	}
}

// TestEncoderRestartsAfterKill: the process killed mid-stream is started
// again; frames go on on the same grid after a gap, never back in time.
func TestEncoderRestartsAfterKill(t *testing.T) {
	ids := []string{"en"}
	c := newCollector()
	e := newEncoder(t, ids, c)
	defer e.Close()
	// Real-time pace is not needed: the pipe paces the writer.
	feed(t, e, ids, 0, audio.SampleRate, -1, 0)
	waitFrames(t, c, "en", 20)
	e.Kill()
	deadline := time.Now().Add(20 * time.Second)
	pts := int64(audio.SampleRate)
	for e.Stats().Restarts == 0 || len(c.of("en")) < 80 {
		if time.Now().After(deadline) {
			t.Fatalf("no frames after the kill: stats %+v, %d frames", e.Stats(), len(c.of("en")))
		}
		feed(t, e, ids, pts, pts+audio.FrameSamples*5, -1, 0)
		pts += audio.FrameSamples * 5
		time.Sleep(20 * time.Millisecond)
	}
	fs := c.of("en")
	gaps := 0
	for i := 1; i < len(fs); i++ {
		if fs[i].pts%FrameSamples != 0 || fs[i].pts <= fs[i-1].pts {
			t.Fatalf("frame %d at %d after %d", i, fs[i].pts, fs[i-1].pts)
		}
		if fs[i].pts != fs[i-1].pts+FrameSamples {
			gaps++
			t.Logf("gap of %v at %d", audio.Duration(fs[i].pts-fs[i-1].pts-FrameSamples), fs[i-1].pts+FrameSamples)
		}
	}
	s := e.Stats()
	t.Logf("stats %+v", s)
	if s.Restarts != 1 || gaps > 1 {
		t.Errorf("%d restarts, %d gaps", s.Restarts, gaps)
	}
}

func waitFrames(t *testing.T, c *collector, id string, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for len(c.of(id)) < n {
		select {
		case <-c.got:
		case <-deadline:
			t.Fatalf("%s: %d frames, want %d", id, len(c.of(id)), n)
		}
	}
}

// TestEncoderWithoutFFmpeg: a missing program is retried, Write drops and
// counts, Close returns.
func TestEncoderWithoutFFmpeg(t *testing.T) {
	e, err := New(Options{IDs: []string{"en"}, Sink: newCollector(), FFmpeg: "/nonexistent/ffmpeg"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Write("en", 0, make([]float32, 960)); err != nil {
		t.Fatal(err)
	}
	if err := e.Write("xx", 0, nil); err == nil {
		t.Error("an unknown language was accepted")
	}
	e.Close()
	if s := e.Stats(); s.Skipped != 960 || s.Frames != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestNewValidates(t *testing.T) {
	for name, o := range map[string]Options{
		"no ids":  {Sink: newCollector()},
		"no sink": {IDs: []string{"en"}},
		"twice":   {IDs: []string{"en", "en"}, Sink: newCollector()},
		"bitrate": {IDs: []string{"en"}, Sink: newCollector(), Bitrate: 1000},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestReaderReadsFFmpegADTS: the reader takes FFmpeg's own ADTS and refuses
// other formats and cut streams.
func TestReaderReadsFFmpegADTS(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg not installed")
	}
	adts := func(args ...string) []byte {
		a := append([]string{"-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=f=440:r=48000:d=0.5"}, args...)
		out, err := exec.Command("ffmpeg", append(a, "-c:a", "aac", "-f", "adts", "pipe:1")...).Output()
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	good := adts("-ac", "1")
	r := NewReader(bytes.NewReader(good))
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n, err)
		}
		n++
	}
	if n < 23 {
		t.Errorf("%d frames in 0.5 s", n)
	}
	for name, b := range map[string][]byte{
		"stereo": adts("-ac", "2"),
		"44.1":   adts("-ac", "1", "-ar", "44100"),
	} {
		if _, err := NewReader(bytes.NewReader(b)).Next(); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := NewReader(bytes.NewReader(good[:20])).Next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("cut frame: %v", err)
	}
}

// FuzzReader: any bytes give frames no longer than a frame can be, or an
// error, never a panic.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0xff, 0xf1, 0x4c, 0x40, 0x01, 0x7f, 0xfc, 0x01, 0x18, 0x20, 0x07})
	f.Add([]byte{0xff, 0xf0, 0x4c, 0x40, 0x01, 0x7f, 0xfc, 0, 0, 0x01, 0x18, 0x20, 0x07})
	f.Add([]byte{0xff, 0xf1, 0x4c, 0x80, 0x01, 0x7f, 0xfc})
	f.Fuzz(func(t *testing.T, b []byte) {
		r := NewReader(bytes.NewReader(b))
		total := 0
		for {
			p, err := r.Next()
			if err != nil {
				return
			}
			if len(p) == 0 || len(p) > maxFrame {
				t.Fatalf("payload of %d bytes", len(p))
			}
			total += len(p)
			if total > len(b) {
				t.Fatalf("%d payload bytes from %d", total, len(b))
			}
		}
	})
}
