package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/web"
)

// testLimits are defaultHTTPLimits shortened so the cuts come within the test.
var testLimits = httpLimits{ReadHeader: 2 * time.Second, Read: 4 * time.Second, Write: 4 * time.Second, Idle: 3 * time.Second, MaxHeader: 64 << 10}

// raiseFiles raises the soft limit on open files to the hard one and
// returns it.
func raiseFiles() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
		_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l)
	}
	return l.Cur
}

// memAvailable is the kernel's MemAvailable in bytes (0 if unknown).
func memAvailable() uint64 {
	b, _ := os.ReadFile("/proc/meminfo")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// rss is this process's resident set in bytes.
func rss() uint64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// goMem is the heap and stacks in use after a collection.
func goMem() uint64 {
	runtime.GC()
	runtime.GC() // the second empties the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse + m.StackInuse
}

// TestIdleConnections holds 10,000 idle TCP connections (fewer if the limit
// on open files or the free memory says so) on the HTTP server tolk serve
// runs: half never send a request, half send one and then idle on keep-
// alive. The server keeps answering; its heap and stacks stay within a
// bound per connection; and the header and idle timeouts cut every one. The
// connections are held by a child process (this test binary again), so each
// process needs one descriptor per connection.
func TestIdleConnections(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	files := raiseFiles()
	n := min(10000, int(files)-256)
	if avail := memAvailable(); avail > 0 {
		// Keep to a quarter of the free memory at a generous 64 KiB each.
		n = min(n, int(avail/4/(64<<10)))
	}
	if raceEnabled {
		n = min(n, 2000) // the race detector multiplies the cost of a goroutine
	}
	if n < 100 {
		t.Skipf("room for only %d connections (open files %d, MemAvailable %d MiB)", n, files, memAvailable()>>20)
	}
	t.Logf("open files limit %d; holding %d connections", files, n)

	srv, err := web.New(web.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := newHTTPServer(srv, testLimits)
	var open, peak, arrived atomic.Int64
	var lastClose atomic.Int64 // when the server last closed one, in Unix nanoseconds
	hs.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			arrived.Add(1)
			if v := open.Add(1); v > peak.Load() {
				peak.Store(v)
			}
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
			lastClose.Store(time.Now().UnixNano())
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		_ = hs.Close()
		<-served
	}()

	memBefore, rssBefore := goMem(), rss()

	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestIdleDialer$", "-test.v")
	cmd.Env = append(os.Environ(), "TOLK_IDLE_DIAL="+ln.Addr().String(), "TOLK_IDLE_N="+strconv.Itoa(n))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Wait() }()
	lines := bufio.NewScanner(out)
	report := map[string]string{}
	next := func(want string) string {
		for lines.Scan() {
			k, v, _ := strings.Cut(lines.Text(), " ")
			if k == want {
				return v
			}
			if k == "fail" {
				t.Fatalf("dialer: %s", v)
			}
		}
		t.Fatalf("dialer ended before %q: %v", want, lines.Err())
		return ""
	}
	report["dialled"] = next("dialled")
	// Wait until every one has reached the server. On a loaded machine
	// the first may already be cut by the header timeout before the last
	// arrives: the cost is measured over those held at that moment.
	for arrived.Load() < int64(n) {
		if ctx.Err() != nil {
			t.Fatalf("%d of %d connections reached the server", arrived.Load(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	held := time.Now()
	memHeld, rssHeld := goMem(), rss()
	holding := open.Load()
	t.Logf("%d connections dialled in %v; %d held at once", n, held.Sub(start).Round(time.Millisecond), holding)
	if holding >= int64(n)/2 {
		perGo := float64(int64(memHeld)-int64(memBefore)) / float64(holding)
		perRSS := float64(int64(rssHeld)-int64(rssBefore)) / float64(holding)
		t.Logf("heap+stacks %.1f → %.1f MiB (%.1f KiB per connection), RSS %.1f → %.1f MiB (%.1f KiB per connection)",
			mib(memBefore), mib(memHeld), perGo/1024, mib(rssBefore), mib(rssHeld), perRSS/1024)
		rssBound := 128.0
		if raceEnabled {
			rssBound = 512 // the race detector's shadow memory
		}
		if perGo > 64<<10 || perRSS > rssBound*1024 {
			t.Errorf("an idle connection costs %.1f KiB of heap and stacks and %.1f KiB of RSS; want at most 64 and %.0f", perGo/1024, perRSS/1024, rssBound)
		}
	} else {
		t.Logf("too few held at once to measure their cost (the machine is too slow to dial them within the header timeout)")
	}
	// The server answers while it holds them.
	t0 := time.Now()
	resp, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	http.DefaultClient.CloseIdleConnections()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz while holding %d connections: %d", n, resp.StatusCode)
	}
	t.Logf("GET /healthz while holding them: %v", time.Since(t0).Round(time.Microsecond))

	// The timeouts cut them all: the child sees each end.
	cut := next("cut")
	var got, eof int
	fmt.Sscanf(cut, "%d %d", &got, &eof)
	last := time.Unix(0, lastClose.Load())
	t.Logf("dialer: %s; the server closed them %v after holding them all (header timeout %v, idle timeout %v); peak %d open",
		cut, last.Sub(held).Round(time.Millisecond), testLimits.ReadHeader, testLimits.Idle, peak.Load())
	if got != n || eof != n {
		t.Errorf("%d of %d connections cut by the server (%d with EOF)", got, n, eof)
	}
	for open.Load() > 0 && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	memAfter := goMem()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	t.Logf("heap+stacks after the cut: %.1f MiB (heap %.1f, stacks %.1f; %d goroutines)", mib(memAfter), mib(ms.HeapInuse), mib(ms.StackInuse), runtime.NumGoroutine())
	// What stays is the runtime's record of the goroutines that ran.
	if memAfter > memBefore && memAfter-memBefore > uint64(n)*4<<10 {
		t.Errorf("the cut connections left %.1f MiB behind", mib(memAfter-memBefore))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// TestIdleDialer is TestIdleConnections's child: it dials TOLK_IDLE_N
// connections to TOLK_IDLE_DIAL, sends a request on every other one, says
// "dialled", then waits for the server to end each and says "cut N EOFS".
func TestIdleDialer(t *testing.T) {
	addr := os.Getenv("TOLK_IDLE_DIAL")
	if addr == "" {
		t.Skip("the child of TestIdleConnections")
	}
	n, _ := strconv.Atoi(os.Getenv("TOLK_IDLE_N"))
	raiseFiles()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 30*time.Second)
		if err != nil {
			fmt.Printf("fail dial %d: %v\n", i, err)
			return
		}
		conns = append(conns, c)
		if i%2 == 1 {
			if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: tolk\r\n\r\n"); err != nil {
				fmt.Printf("fail write %d: %v\n", i, err)
				return
			}
		}
	}
	fmt.Printf("dialled %d\n", n)
	// Each read drains an answer (the keep-alive half) and then waits for
	// the server's close.
	cut, eof := 0, 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Minute))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		switch {
		case err == nil:
			cut++
			eof++ // io.Copy reports EOF as nil
		case errors.As(err, &ne) && ne.Timeout():
		default:
			cut++ // reset
		}
	}
	fmt.Printf("cut %d %d\n", cut, eof)
}

// TestSlowClients: a client that sends its headers a byte at a time
// (slowloris) is cut by the header timeout, one that trickles a body by the
// read timeout; neither holds the server.
func TestSlowClients(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	srv, err := web.New(web.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	hs := newHTTPServer(srv, testLimits)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	defer func() {
		_ = hs.Close()
		<-served
	}()
	cases := []struct {
		name, head string
		limit      time.Duration
	}{
		{"headers a byte at a time", "GET /healthz HTTP/1.1\r\nHost: tolk\r\nX-Slow: ", testLimits.ReadHeader},
		{"a body a byte at a time", "POST /api/events/none/access HTTP/1.1\r\nHost: tolk\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", testLimits.Read},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			if _, err := io.WriteString(c, tc.head); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { // the server's answer and close
				defer close(done)
				_ = c.SetReadDeadline(time.Now().Add(time.Minute))
				_, _ = io.Copy(io.Discard, c)
			}()
			tick := time.NewTicker(200 * time.Millisecond)
			defer tick.Stop()
			sent := 0
		trickle:
			for {
				select {
				case <-done:
					break trickle
				case <-tick.C:
					if _, err := c.Write([]byte("a")); err != nil {
						<-done
						break trickle
					}
					sent++
				case <-time.After(time.Minute):
					t.Fatal("the slow client was never cut")
				}
			}
			t.Logf("cut after %v and %d trickled bytes (timeout %v)", time.Since(start).Round(time.Millisecond), sent, tc.limit)
		})
	}
}
