package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"tolk/cmd/tolk/event"
	"tolk/internal/loadgen"
	"tolk/web"
)

// edge is an nginx started from deploy/nginx/edge.conf.template in front of
// an origin, on a free loopback port.
type edge struct {
	URL string
	cmd *exec.Cmd
	out bytes.Buffer
}

// startEdge fills the shipped template with origin (host:port) and a free
// port the way its comment says (envsubst naming the two variables) and
// runs nginx with a temporary prefix. It skips the test when nginx or
// envsubst is missing, except in CI, where .ci/setup installs them.
func startEdge(t testing.TB, origin string) *edge {
	t.Helper()
	bin := edgeTool(t, "nginx", "/usr/sbin/nginx")
	envsubst := edgeTool(t, "envsubst", "/usr/bin/envsubst")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	dir := t.TempDir()
	tpl, err := os.Open(filepath.Join("..", "deploy", "nginx", "edge.conf.template"))
	if err != nil {
		t.Fatal(err)
	}
	defer tpl.Close()
	fill := exec.Command(envsubst, "${TOLK_ORIGIN} ${EDGE_LISTEN}")
	fill.Env = append(os.Environ(), "TOLK_ORIGIN="+origin, "EDGE_LISTEN="+addr)
	fill.Stdin = tpl
	conf, err := fill.Output()
	if err != nil {
		t.Fatalf("envsubst: %v", err)
	}
	if bytes.Contains(conf, []byte("${")) || !bytes.Contains(conf, []byte("$tolk_path")) {
		t.Fatalf("envsubst left the template wrong:\n%s", conf)
	}
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		t.Fatal(err)
	}
	global := "daemon off; pid " + filepath.Join(dir, "nginx.pid") + ";"
	if os.Geteuid() == 0 {
		// As root nginx's workers would run as nobody, who cannot enter the
		// test's private directory.
		global += " user root;"
	}
	e := &edge{URL: "http://" + addr}
	e.cmd = exec.Command(bin, "-e", "stderr", "-p", dir, "-c", confPath, "-g", global)
	e.cmd.Stdout, e.cmd.Stderr = &e.out, &e.out
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = e.cmd.Process.Signal(syscall.SIGTERM)
		_ = e.cmd.Wait()
		if t.Failed() {
			t.Logf("nginx said:\n%s", e.out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx does not listen on %s: %v\n%s", addr, err, e.out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func edgeTool(t testing.TB, name, fallback string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if _, err := os.Stat(fallback); err == nil {
		return fallback
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI (.ci/setup installs it)", name)
	}
	t.Skipf("%s not found: the edge tests need Debian's nginx and gettext-base (apt-get install nginx gettext-base)", name)
	return ""
}

// hlsRequests reads tolk_hls_requests_total of event by kind from /metrics.
func hlsRequests(t *testing.T, base, event string) map[string]int {
	t.Helper()
	re := regexp.MustCompile(`(?m)^tolk_hls_requests_total\{event="` + regexp.QuoteMeta(event) + `",kind="(\w+)"\} (\d+)$`)
	out := map[string]int{}
	for _, m := range re.FindAllStringSubmatch(get(t, base+"/metrics"), -1) {
		out[m[1]], _ = strconv.Atoi(m[2])
	}
	if len(out) == 0 {
		t.Fatal("/metrics has no tolk_hls_requests_total")
	}
	return out
}

type edgeAnswer struct {
	code  int
	cache string
	body  []byte
	at    time.Duration
	err   error
}

// TestEdgeCollapsesRequests runs a live event behind nginx with the shipped
// edge configuration: 50 viewers asking at once for the same blocking
// playlist reload (each with its own cache buster), the same
// preload-hinted part and the same open segment cost the origin one
// request each, counted by tolk_hls_requests_total; ffmpeg plays the
// master through the edge.
func TestEdgeCollapsesRequests(t *testing.T) {
	leakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000, aac: false}
`, floor)
	h := serve(t, cfg, event.Options{}, web.Options{})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	e := startEdge(t, strings.TrimPrefix(h.http.URL, "http://"))
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	fetch := func(url string) edgeAnswer {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return edgeAnswer{err: err}
		}
		resp, err := client.Do(req)
		if err != nil {
			return edgeAnswer{err: err}
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return edgeAnswer{code: resp.StatusCode, cache: resp.Header.Get("X-Cache-Status"), body: b, err: err}
	}

	// The first playlist through the edge: wait for a few parts.
	base := e.URL + "/hls/test/"
	var pl string
	for deadline := time.Now().Add(30 * time.Second); ; {
		a := fetch(base + "en/index.m3u8")
		if a.err == nil && a.code == 200 && strings.Count(string(a.body), "#EXT-X-PART:") >= 3 {
			pl = string(a.body)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no live playlist through the edge: %v %d %s", a.err, a.code, a.body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	hint := regexp.MustCompile(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(([a-z0-9]+)/part(\d+)\.(\d+)\.m4s)"`).FindStringSubmatch(pl)
	if hint == nil {
		t.Fatalf("playlist without a preload hint:\n%s", pl)
	}
	run, msn, idx := hint[2], hint[3], hint[4]
	// Ask one part beyond the hint, so that every request waits at the
	// origin, and for the segment after the open one.
	next, _ := strconv.Atoi(idx)
	blocking := fmt.Sprintf("en/index.m3u8?_HLS_msn=%s&_HLS_part=%d", msn, next+1)
	part := fmt.Sprintf("en/%s/part%s.%d.m4s", run, msn, next+1)
	if next+1 >= 5 { // 5 parts a segment: the part after the last is the next segment's first
		m, _ := strconv.Atoi(msn)
		blocking = fmt.Sprintf("en/index.m3u8?_HLS_msn=%d&_HLS_part=0", m+1)
		part = fmt.Sprintf("en/%s/part%d.0.m4s", run, m+1)
	}
	segN, _ := strconv.Atoi(msn)
	segment := fmt.Sprintf("en/%s/seg%d.m4s", run, segN)

	before := hlsRequests(t, h.http.URL, "test")
	const viewers = 50
	start := time.Now()
	answers := make([][3]edgeAnswer, viewers)
	var wg sync.WaitGroup
	for i := range viewers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each viewer's own cache buster, as players add them.
			for j, u := range []string{blocking + "&cb=" + strconv.Itoa(i), part, segment} {
				answers[i][j] = fetch(base + u)
				answers[i][j].at = time.Since(start)
			}
		}()
	}
	wg.Wait()
	after := hlsRequests(t, h.http.URL, "test")

	for j, name := range []string{"blocking playlist", "part", "segment"} {
		status := map[string]int{}
		var first, last time.Duration = time.Hour, 0
		for i := range viewers {
			a := answers[i][j]
			if a.err != nil || a.code != 200 {
				t.Fatalf("viewer %d, %s: %v %d %s", i, name, a.err, a.code, a.body)
			}
			if !bytes.Equal(a.body, answers[0][j].body) {
				t.Errorf("viewer %d got another %s than viewer 0", i, name)
			}
			status[a.cache]++
			first, last = min(first, a.at), max(last, a.at)
		}
		t.Logf("%s: %d viewers, cache %v, answered from %v to %v after the wave started", name, viewers, status, first.Round(time.Millisecond), last.Round(time.Millisecond))
	}
	if !strings.Contains(string(answers[0][0].body), strings.TrimPrefix(part, "en/")) {
		t.Errorf("the blocking reload does not list %s:\n%s", part, answers[0][0].body)
	}
	t.Logf("origin requests during the wave: %v → %v", before, after)
	for _, kind := range []string{"playlist", "part", "segment"} {
		if d := after[kind] - before[kind]; d != 1 {
			t.Errorf("%d viewers cost the origin %d %s requests, want 1", viewers, d, kind)
		}
	}

	// An error is not stored: a part far ahead is refused every time.
	for range 2 {
		if a := fetch(base + fmt.Sprintf("en/%s/part%d.0.m4s", run, segN+50)); a.code != 404 || a.cache == "HIT" {
			t.Errorf("far part: %d %q", a.code, a.cache)
		}
	}
	if a := fetch(base + fmt.Sprintf("en/index.m3u8?_HLS_msn=%d", segN+50)); a.code != 400 {
		t.Errorf("_HLS_msn far ahead through the edge: %d", a.code)
	}
	// API routes pass through uncached.
	if a := fetch(e.URL + "/api/events/test"); a.code != 200 || a.cache != "" {
		t.Errorf("event info through the edge: %d %q", a.code, a.cache)
	}

	// A real player through the edge: ffmpeg reads the master and decodes
	// two seconds of the default language.
	wav := filepath.Join(t.TempDir(), "out.wav")
	ff := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", base+"master.m3u8",
		"-map", "0:a:0", "-t", "2", "-ac", "1", "-ar", "48000", wav)
	if out, err := ff.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg through the edge: %v\n%s", err, out)
	}
	if st, err := os.Stat(wav); err != nil || st.Size() < 48000*2*3/2 {
		t.Fatalf("ffmpeg decoded too little through the edge: %v %v", st, err)
	} else {
		t.Logf("ffmpeg decoded %.2f s through the edge", float64(st.Size()-44)/96000)
	}
}

// TestEdgeLoad measures the origin's HLS request rate with N simulated
// LL-HLS viewers at the live edge, straight to the origin and through the
// edge (figures in docs/benchmarks.md). Each viewer does what an LL-HLS
// player does: a blocking reload for the next part, then the part. Not in
// CI: TOLK_EDGE_LOAD=1 runs it, TOLK_EDGE_VIEWERS lists the viewer counts.
func TestEdgeLoad(t *testing.T) {
	if os.Getenv("TOLK_EDGE_LOAD") == "" {
		t.Skip("set TOLK_EDGE_LOAD=1 to measure the origin's request rate with and without the edge")
	}
	leakCheck(t)
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000, aac: false}
`, floor)
	h := serve(t, cfg, event.Options{}, web.Options{})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	e := startEdge(t, strings.TrimPrefix(h.http.URL, "http://"))
	counts := []int{100, 300, 1000}
	if v := os.Getenv("TOLK_EDGE_VIEWERS"); v != "" {
		counts = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil {
				t.Fatal(err)
			}
			counts = append(counts, n)
		}
	}
	const window = 10 * time.Second
	t.Logf("%-8s %-7s %14s %16s %14s %8s", "viewers", "via", "viewer req/s", "origin req/s", "per viewer", "errors")
	for _, n := range counts {
		for _, via := range []string{"origin", "edge"} {
			base := h.http.URL
			if via == "edge" {
				base = e.URL
			}
			before := hlsRequests(t, h.http.URL, "test")
			done, errs := viewerLoad(t, base+"/hls/test/", n, window)
			after := hlsRequests(t, h.http.URL, "test")
			origin := 0
			for k, v := range after {
				origin += v - before[k]
			}
			rate := float64(origin) / window.Seconds()
			t.Logf("%-8d %-7s %14.0f %16.1f %14.3f %8d", n, via, float64(done)/window.Seconds(), rate, rate/float64(n), errs)
		}
	}
}

// viewerLoad runs n LL-HLS viewers (loadgen's, which tolk-load runs too)
// against base for d and returns the requests they made and how many failed.
func viewerLoad(t *testing.T, base string, n int, d time.Duration) (done, errs int) {
	t.Helper()
	tr := &http.Transport{MaxIdleConnsPerHost: n + 10, MaxIdleConns: n + 10}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var sink loadgen.HLSSink
	// Viewers arrive over the first second.
	loadgen.HLSViewers(ctx, client, []string{base + "en/index.m3u8"}, n, time.Second, &sink)
	s := sink.Take()
	return int(s.Requests), int(s.Errors)
}
