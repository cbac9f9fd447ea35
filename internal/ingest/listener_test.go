package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
)

const testKey = "s3cret-key"

// toneAmp is the peak of ffmpeg's sine source.
const toneAmp = 0.125

var probeFreqs = []float64{250, 500, 1000, 1500, 2000, 3000}

func freePort(t testing.TB, network string) int {
	t.Helper()
	for {
		p := pickPort(t, network)
		// Cases that run at once must not be handed the same port: the
		// kernel may give a port again as soon as it is closed, and two
		// listeners on one port with one stream key mix their publishers.
		portsMu.Lock()
		taken := portsGiven[p]
		portsGiven[p] = true
		portsMu.Unlock()
		if !taken {
			return p
		}
	}
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

func pickPort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// publisher is a second ffmpeg pushing a sine to the listener, as OBS or a
// studio encoder would.
type publisher struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	once sync.Once
}

func startPublisher(t testing.TB, scheme string, port int, key string, freq int) *publisher {
	t.Helper()
	return startPublisherApp(t, scheme, port, "live", key, freq)
}

func startPublisherApp(t testing.TB, scheme string, port int, app, key string, freq int) *publisher {
	t.Helper()
	args := []string{"-nostdin", "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=%d:sample_rate=48000", freq),
		"-c:a", "aac", "-b:a", "128k"}
	if scheme == "rtmp" {
		args = append(args, "-f", "flv", fmt.Sprintf("rtmp://127.0.0.1:%d/%s/%s", port, app, key))
	} else {
		args = append(args, "-f", "mpegts", fmt.Sprintf("srt://127.0.0.1:%d?mode=caller", port))
	}
	p := &publisher{cmd: exec.Command("ffmpeg", args...)}
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start publisher: %v", err)
	}
	t.Cleanup(func() {
		p.kill()
		if t.Failed() && p.out.Len() > 0 {
			t.Logf("publisher (%d Hz) said: %s", freq, strings.TrimSpace(p.out.String()))
		}
	})
	return p
}

func (p *publisher) kill() {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGCONT) // a stopped process cannot die
		p.cmd.Process.Kill()
		p.cmd.Wait()
	})
}

// awaitTone waits for frames carrying freq and checks the next second of them:
// freq dominates every frame at the publisher's level. It returns the mean
// level in dB re. the publisher's.
func awaitTone(t testing.TB, ctx context.Context, frames <-chan []float32, freq float64) float64 {
	t.Helper()
	var got [][]float32
	skipped := 0
	for len(got) < 50 {
		select {
		case f := <-frames:
			if len(got) == 0 && (dominant(f, probeFreqs...) != freq || math.Abs(dB(goertzel(f, freq)/toneAmp)) > 1) {
				skipped++ // earlier publisher, silence, codec start-up
				continue
			}
			got = append(got, f)
		case <-ctx.Done():
			t.Fatalf("waiting for %v Hz: %d frames so far, %d skipped", freq, len(got), skipped)
		}
	}
	var sum float64
	for i, f := range got {
		if d := dominant(f, probeFreqs...); d != freq {
			t.Fatalf("frame %d: dominant %v Hz, want %v", i, d, freq)
		}
		rel := dB(goertzel(f, freq) / toneAmp)
		if math.Abs(rel) > 1 {
			t.Fatalf("frame %d: %v Hz at %.2f dB re. the publisher, want within 1 dB", i, freq, rel)
		}
		// Nearly all the energy is the tone: RMS matches the sine's.
		if r := dB(audio.RMS(f) / (toneAmp / math.Sqrt2)); math.Abs(r) > 1 {
			t.Fatalf("frame %d: RMS %.2f dB re. the sine, want within 1 dB", i, r)
		}
		sum += rel
	}
	return sum / float64(len(got))
}

type logWriter struct {
	mu sync.Mutex
	t  testing.TB
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// A publisher's tone reaches the Writer; when the publisher dies or stalls, the
// supervisor restarts the listener and the next publisher is heard.
func TestListenerRestarts(t *testing.T) {
	cases := []struct {
		name, scheme, network string
		stop                  func(*publisher)
		want                  error // nil: any error
	}{
		{"rtmp-kill", "rtmp", "tcp", (*publisher).kill, ErrLeft},
		{"srt-kill", "srt", "udp", (*publisher).kill, nil},
		// SIGSTOP keeps the TCP connection open and silent.
		{"rtmp-stall", "rtmp", "tcp", func(p *publisher) { p.cmd.Process.Signal(syscall.SIGSTOP) }, ErrStalled},
	}
	// A cleanup of the parent, so it runs after the cases and their
	// publishers' cleanups.
	t.Cleanup(func() { goleak.VerifyNone(t) })
	needFFmpeg(t)
	// The cases run at once, each on its own port: they wait on real time
	// (tones, stall timeouts), not on CPU. Not t.Parallel, which -parallel
	// would hold to two at a time on two cores.
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, tc := range cases {
		wg.Go(func() {
			t.Run(tc.name, func(t *testing.T) {
				port := freePort(t, tc.network)
				url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, testKey)
				if tc.scheme == "srt" {
					url = fmt.Sprintf("srt://127.0.0.1:%d?latency=60", port)
				}
				src, err := NewListener(url, slog.New(slog.NewTextHandler(&logWriter{t: t}, nil)))
				if err != nil {
					t.Fatal(err)
				}
				// Half the production timeout: a stall is still seconds of
				// nothing from a connected publisher.
				src.(*Listener).stall = 1500 * time.Millisecond
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()
				restarts := make(chan error, 16)
				rec := &recorder{ch: make(chan []float32, 512)}
				supDone := make(chan struct{})
				go func() {
					defer close(supDone)
					Supervise(ctx, src, rec, audio.SystemClock{}, func(err error) {
						select {
						case restarts <- err:
						default:
						}
					})
				}()
				defer func() { cancel(); <-supDone }()

				bound := func() bool { return portBound(t, tc.network, port) }
				eventually(t, 10*time.Second, "listener to bind", bound)
				pub1 := startPublisher(t, tc.scheme, port, testKey, 1000)
				lvl := awaitTone(t, ctx, rec.ch, 1000)
				t.Logf("first publisher: 1 kHz at %+.2f dB", lvl)

				stopped := time.Now()
				tc.stop(pub1)
				select {
				case err := <-restarts:
					t.Logf("restart %v after the publisher stopped: %v", time.Since(stopped).Round(time.Millisecond), err)
					if tc.want != nil && !errors.Is(err, tc.want) {
						t.Errorf("run ended with %v, want %v", err, tc.want)
					}
					if err == nil || strings.Contains(err.Error(), testKey) {
						t.Errorf("run error %v: want an error without the stream key", err)
					}
				case <-ctx.Done():
					t.Fatal("no restart after the publisher stopped")
				}
				pub1.kill()
				eventually(t, 10*time.Second, "listener to bind again", bound)
				startPublisher(t, tc.scheme, port, testKey, 1500)
				lvl = awaitTone(t, ctx, rec.ch, 1500)
				t.Logf("second publisher: 1.5 kHz at %+.2f dB; %d frames dropped as bursts", lvl, src.(*Listener).Dropped())
				if rec.bad != 0 {
					t.Errorf("%d frames of the wrong size", rec.bad)
				}
			})
		})
	}
}

// A publisher with the wrong app or stream key is refused before any of its
// audio is forwarded, and the key the listener expects stays out of the error.
func TestListenerRefusesWrongKey(t *testing.T) {
	for _, path := range []string{"live/wrong-key", "other/" + testKey} {
		t.Run(strings.ReplaceAll(path, "/", "_"), func(t *testing.T) {
			t.Cleanup(func() { goleak.VerifyNone(t) })
			needFFmpeg(t)
			port := freePort(t, "tcp")
			src, err := NewListener(fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, testKey), nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			rec := &recorder{}
			done := make(chan error, 1)
			go func() { done <- src.Run(ctx, rec) }()
			eventually(t, 10*time.Second, "listener to bind", func() bool { return portBound(t, "tcp", port) })
			app, key, _ := strings.Cut(path, "/")
			p := startPublisherApp(t, "rtmp", port, app, key, 1000)
			select {
			case err = <-done:
			case <-ctx.Done():
				t.Fatal("listener kept a publisher with the wrong app or key")
			}
			p.kill()
			if rec.count() != 0 {
				t.Errorf("%d frames forwarded from a refused publisher", rec.count())
			}
			if !errors.Is(err, ErrRefused) || strings.Contains(err.Error(), testKey) {
				t.Fatalf("Run = %v; want ErrRefused without the key", err)
			}
			t.Logf("%s: %v", path, err)
		})
	}
}

// Cancelling a listener that has no publisher kills ffmpeg and returns.
func TestListenerCancelIdle(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	needFFmpeg(t)
	for _, network := range []string{"tcp", "udp"} {
		port := freePort(t, network)
		url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/k", port)
		if network == "udp" {
			url = fmt.Sprintf("srt://127.0.0.1:%d", port)
		}
		src, err := NewListener(url, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- src.Run(runCtx, &recorder{}) }()
		eventually(t, 10*time.Second, "listener to bind", func() bool { return portBound(t, network, port) })
		stop()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: Run = %v, want context.Canceled", src, err)
			}
		case <-ctx.Done():
			t.Fatalf("%s: Run did not return after cancel", src)
		}
		cancel()
	}
}

// BenchmarkListenerStartup measures publisher start → first frame at the
// Writer, with and without the fast-start flags.
func BenchmarkListenerStartup(b *testing.B) {
	needFFmpeg(b)
	for _, scheme := range []string{"rtmp", "srt"} {
		for _, fast := range []bool{true, false} {
			name := scheme + "/fast"
			if !fast {
				name = scheme + "/default-probe"
			}
			b.Run(name, func(b *testing.B) {
				var total time.Duration
				for b.Loop() {
					total += startupOnce(b, scheme, fast)
				}
				b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-first-frame")
			})
		}
	}
}

type firstFrame struct {
	once sync.Once
	ch   chan time.Time
}

func (f *firstFrame) WriteFloor([]float32) { f.once.Do(func() { f.ch <- time.Now() }) }

func startupOnce(b *testing.B, scheme string, fast bool) time.Duration {
	network := map[string]string{"rtmp": "tcp", "srt": "udp"}[scheme]
	port := freePort(b, network)
	url := fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, testKey)
	if scheme == "srt" {
		url = fmt.Sprintf("srt://127.0.0.1:%d", port)
	}
	src, err := NewListener(url, nil)
	if err != nil {
		b.Fatal(err)
	}
	l := src.(*Listener)
	l.fastStart = fast
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	w := &firstFrame{ch: make(chan time.Time, 1)}
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx, w) }()
	defer func() { cancel(); <-done }()
	eventually(b, 10*time.Second, "listener to bind", func() bool { return portBound(b, network, port) })
	start := time.Now()
	pub := startPublisher(b, scheme, port, testKey, 1000)
	defer pub.kill()
	select {
	case at := <-w.ch:
		return at.Sub(start)
	case <-ctx.Done():
		b.Fatal("no frame within the timeout")
		return 0
	}
}
