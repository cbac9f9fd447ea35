package ingest

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"

	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

func TestParseEndpoint(t *testing.T) {
	good := []struct {
		in   string
		args string // ffmpeg input arguments
		str  string
	}{
		{"rtmp://0.0.0.0:1935/live/abc123", "-listen 1 -tcp_nodelay 1 -i rtmp://0.0.0.0:1935/live/abc123", "rtmp://0.0.0.0:1935/live/***"},
		{"rtmp://127.0.0.1/live/k", "-listen 1 -tcp_nodelay 1 -i rtmp://127.0.0.1:1935/live/k", "rtmp://127.0.0.1:1935/live/***"},
		{"RTMP://[::1]:19350/a.b/c-d_e~f", "-listen 1 -tcp_nodelay 1 -i rtmp://[::1]:19350/a.b/c-d_e~f", "rtmp://[::1]:19350/a.b/***"},
		{"rtmp://stage.example.org:1935/live/k", "-listen 1 -tcp_nodelay 1 -i rtmp://stage.example.org:1935/live/k", "rtmp://stage.example.org:1935/live/***"},
		{"srt://0.0.0.0:9000", "-mode listener -i srt://0.0.0.0:9000", "srt://0.0.0.0:9000"},
		{"srt://127.0.0.1:9000/?mode=listener&latency=200", "-mode listener -latency 200000 -i srt://127.0.0.1:9000", "srt://127.0.0.1:9000"},
		{"srt://127.0.0.1:9000?passphrase=0123456789abc", "-mode listener -passphrase 0123456789abc -i srt://127.0.0.1:9000", "srt://127.0.0.1:9000 (encrypted)"},
	}
	for _, tc := range good {
		e, err := parseEndpoint(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := strings.Join(e.input(), " "); got != tc.args {
			t.Errorf("%q: ffmpeg input %q, want %q", tc.in, got, tc.args)
		}
		if e.String() != tc.str {
			t.Errorf("%q: String %q, want %q", tc.in, e.String(), tc.str)
		}
	}
	bad := []struct{ in, want string }{
		{"", "scheme"},
		{"http://127.0.0.1:80/live/k", "scheme"},
		{"rtmps://127.0.0.1/live/k", "scheme"},
		{"rtmp://127.0.0.1:1935/live", "APP/KEY"},
		{"rtmp://127.0.0.1:1935/live/k/extra", "APP/KEY"},
		{"rtmp://127.0.0.1:1935//k", "app: empty"},
		{"rtmp://127.0.0.1:1935/live/", "stream key: empty"},
		{"rtmp://127.0.0.1:1935/live/a%20b", "not allowed"},
		{"rtmp://127.0.0.1:1935/live/k?x=1", "no query"},
		{"rtmp://user:pw@127.0.0.1/live/k", "only scheme"},
		{"rtmp://127.0.0.1/live/k#frag", "only scheme"},
		{"rtmp://127.0.0.1:0/live/k", "bad port"},
		{"rtmp://127.0.0.1:70000/live/k", "bad port"},
		{"rtmp://127.0.0.1:/live/k", "empty port"},
		{"rtmp://:1935/live/k", "missing host"},
		{"rtmp://-bad-.host/live/k", "bad host"},
		{"rtmp://[fe80::1%25eth0]:1935/live/k", "bad host"},
		{"srt://127.0.0.1", "needs a port"},
		{"srt://127.0.0.1:9000/path", "no path"},
		{"srt://127.0.0.1:9000?mode=caller", "only listens"},
		{"srt://127.0.0.1:9000?passphrase=short", "10 to 64"},
		{"srt://127.0.0.1:9000?passphrase=has%20a%20space", "printable"},
		{"srt://127.0.0.1:9000?latency=-1", "latency"},
		{"srt://127.0.0.1:9000?latency=99999", "latency"},
		{"srt://127.0.0.1:9000?latency=1&latency=2", "2 times"},
		{"srt://127.0.0.1:9000?streamid=x", "not supported"},
		{"rtmp://127.0.0.1/live/" + strings.Repeat("k", 3000), "longer than"},
	}
	for _, tc := range bad {
		_, err := parseEndpoint(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tc.in, err, tc.want)
		}
	}
	if _, err := NewListener("rtmp://127.0.0.1/live", nil); err == nil {
		t.Error("NewListener accepted a URL without a key")
	}
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{
		"rtmp://0.0.0.0:1935/live/abc", "rtmp://[::1]/a/b", "srt://127.0.0.1:9000?latency=120&passphrase=0123456789",
		"srt://h:1?mode=listener", "rtmp://h/a/b?c", "srt://[::]:1/", "rtmp://%41/a/b", "srt://h:9?passphrase=%00%01",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		e, err := parseEndpoint(raw)
		if err != nil {
			return
		}
		// Whatever is accepted is safe to hand to ffmpeg: no argument that
		// could be read as an option, no whitespace or control characters.
		args := e.input()
		for i, a := range args {
			if i%2 == 1 && strings.HasPrefix(a, "-") {
				t.Fatalf("%q: ffmpeg argument %q looks like an option", raw, a)
			}
			if strings.IndexFunc(a, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r > unicode.MaxASCII }) >= 0 {
				t.Fatalf("%q: ffmpeg argument %q has unsafe characters", raw, a)
			}
		}
		if e.port < 1 || e.port > 65535 {
			t.Fatalf("%q: port %d", raw, e.port)
		}
		// Secrets never show in String.
		for _, s := range e.secrets() {
			if strings.Contains(e.String(), s) && !strings.Contains(e.hostPort()+"/"+e.app, s) {
				t.Fatalf("%q: String %q shows a secret", raw, e.String())
			}
		}
		// The ffmpeg URL parses back to the same endpoint.
		u := args[len(args)-1]
		if e.scheme == "srt" {
			u += "?latency=" + strconv.FormatInt(e.latency.Milliseconds(), 10)
			if e.passphrase != "" {
				u += "&passphrase=" + url.QueryEscape(e.passphrase)
			}
		}
		back, err := parseEndpoint(u)
		if err != nil || back != e {
			t.Fatalf("%q → %q → %+v, %v; want %+v", raw, u, back, err, e)
		}
	})
}

// chunkReader returns data in the chunk sizes given, cycling through them.
type chunkReader struct {
	data   []byte
	chunks []byte
	i      int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := 1
	if len(c.chunks) > 0 {
		n = int(c.chunks[c.i%len(c.chunks)])%(2*frameBytes) + 1
		c.i++
	}
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// Frames come out whole, in order and with the right values, however the
// bytes are chunked; a short tail is padded with silence.
func FuzzReadFrames(f *testing.F) {
	f.Add(uint16(960), []byte{1})
	f.Add(uint16(3000), []byte{255, 7, 13, 200})
	f.Add(uint16(1), []byte{0})
	f.Fuzz(func(t *testing.T, nSamples uint16, chunks []byte) {
		want := make([]float32, int(nSamples))
		data := make([]byte, 4*len(want))
		for i := range want {
			want[i] = float32(math.Sin(float64(i)))
			binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(want[i]))
		}
		var got []float32
		frames := 0
		err := readFrames(&chunkReader{data: data, chunks: chunks}, func(s []float32) error {
			if len(s) != audio.FrameSamples {
				t.Fatalf("frame of %d samples", len(s))
			}
			frames++
			got = append(got, s...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if wantFrames := (len(want) + audio.FrameSamples - 1) / audio.FrameSamples; frames != wantFrames {
			t.Fatalf("%d samples gave %d frames, want %d", len(want), frames, wantFrames)
		}
		for i, v := range got {
			w := float32(0)
			if i < len(want) {
				w = want[i]
			}
			if v != w {
				t.Fatalf("sample %d = %v, want %v", i, v, w)
			}
		}
	})
}

func TestReadFramesStops(t *testing.T) {
	stop := errors.New("stop")
	data := make([]byte, 10*frameBytes)
	n := 0
	err := readFrames(bytes.NewReader(data), func([]float32) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Fatalf("readFrames = %v after %d frames; want the callback's error after 3", err, n)
	}
}

func TestTail(t *testing.T) {
	tl := newTail(3, 10)
	io.WriteString(tl, "one\ntwo\r\nthree\n\n")
	io.WriteString(tl, strings.Repeat("x", 1000)+"\nfour")
	if got, want := tl.String(), "two; three; xxxxxxxxxx; four"; got != want {
		t.Fatalf("tail = %q, want %q", got, want)
	}
	var lines []string
	tl.onLine = func(l string) { lines = append(lines, l) }
	io.WriteString(tl, "\n"+barrier[:5])
	io.WriteString(tl, barrier[5:]+"\nfive\n")
	if got := strings.Join(lines, "|"); got != "four|"+barrier[:10]+"|five" {
		// Cut to width 10, the barrier is just another line here.
		t.Fatalf("lines %q", got)
	}
}

func FuzzTail(f *testing.F) {
	f.Add([]byte("a\nb\rc"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, cut uint8) {
		tl := newTail(4, 50)
		k := min(int(cut), len(data))
		tl.Write(data[:k])
		tl.Write(data[k:])
		if s := tl.String(); len(s) > 5*50+4*2 {
			t.Fatalf("tail grew to %d bytes", len(s))
		}
	})
}

// A publisher that stops sending is cut off after stallTimeout; one that has
// not started yet is waited for indefinitely.
func TestStallWatch(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	l := &Listener{clock: clock}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	var frames atomic.Int64
	done := make(chan struct{})
	go func() { defer close(done); l.watch(ctx, cancel, &frames) }()
	armed := func() bool { return clock.Pending() == 1 }
	for range 5 { // idle listener: no frames yet
		eventually(t, 5*time.Second, "watch timer", armed)
		clock.Advance(stallTimeout)
	}
	for range 5 { // live publisher
		eventually(t, 5*time.Second, "watch timer", armed)
		frames.Add(150)
		clock.Advance(stallTimeout)
	}
	eventually(t, 5*time.Second, "watch timer", armed)
	if ctx.Err() != nil {
		t.Fatal("cancelled a live run")
	}
	clock.Advance(stallTimeout) // no frames in the last period
	<-done
	if !errors.Is(context.Cause(ctx), ErrStalled) {
		t.Fatalf("cause %v, want ErrStalled", context.Cause(ctx))
	}
}

func TestDemoClip(t *testing.T) {
	c := DemoClip()
	if len(c) < 50_000 || !bytes.HasPrefix(c, []byte("OggS")) || !bytes.Contains(c[:200], []byte("OpusHead")) {
		t.Fatalf("demo clip: %d bytes, not Ogg Opus", len(c))
	}
	c[0] = 'X'
	if DemoClip()[0] != 'O' {
		t.Fatal("DemoClip returned shared memory")
	}
}

// A paced file that falls far behind (a suspended process) skips the missed
// time instead of bursting it into the Writer; a small lag is caught up.
func TestPacerLag(t *testing.T) {
	clock := audiotest.NewClock()
	p := pacer{clock: clock}
	defer p.stop()
	ctx := context.Background()
	immediate := func() int {
		n := 0
		for p.next.Sub(clock.Now()) <= 0 {
			if err := p.wait(ctx); err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if n := immediate(); n != 1 {
		t.Fatalf("%d frames at the start, want 1", n)
	}
	clock.Advance(5 * audio.FrameDuration) // within maxLag: catch up
	if n := immediate(); n != 5 {
		t.Fatalf("after 100 ms late: %d frames at once, want 5", n)
	}
	clock.Advance(time.Second) // beyond maxLag: skip
	if n := immediate(); n != 1 {
		t.Fatalf("after 1 s late: %d frames at once, want 1", n)
	}
}
