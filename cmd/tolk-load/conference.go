package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"tolk/internal/audio"
	"tolk/internal/ingest"
	"tolk/internal/loadgen"
	"tolk/internal/rtc"
	"tolk/internal/store"
)

// conferenceLanguages are the event's 12 languages: the floor (en) and 11
// interpreted ones, each with a booth.
var conferenceLanguages = []string{"en", "fr", "es", "de", "it", "pt", "ru", "zh", "ja", "ar", "nl", "pl"}

// conferenceConfig is the event the conference scenario runs: the floor
// arrives over SRT (FFmpeg pushing a looped speech clip), 11 booths.
func conferenceConfig(id, srtAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Conference load scenario (tolk-load --mode conference).\nid: %s\ntitle: Conference load\n", id)
	fmt.Fprintf(&b, "floor:\n  language: %s\n  source: \"srt://%s\"\nlanguages:\n", conferenceLanguages[0], srtAddr)
	for _, l := range conferenceLanguages[1:] {
		fmt.Fprintf(&b, "  - {tag: %s}\n", l)
	}
	return b.String()
}

// confOptions are the conference and soak modes' settings.
type confOptions struct {
	serve    string // the tolk binary to start; "" uses base
	base     string
	data     string
	event    string
	srt      string // the server's SRT floor address (host:port)
	edge     string // the edge template; "" for none
	edgeURL  string // a running edge instead
	perBooth int
	loopback bool
	lang     string // the language the program's epoch is read from ("": the floor's)
	pprof    bool   // start the server with its profiling listener (tolk serve --pprof)
}

// conference is a running scenario: the server (started or found), its
// floor publisher, the edge, the booths, and what measures them.
type conference struct {
	o       confOptions
	base    string
	edgeURL string
	pprof   string // the server's profiling listener, http://host:port ("": none)
	dir     string
	client  *http.Client
	api     *webrtc.API
	epoch   time.Time // program time zero as HLS dates it
	// clock is program time zero on the program clock, as the latest booth
	// pong places it (every 500 ms): the clock follows the floor, so its
	// place against the wall clock moves with the floor's arrival.
	clock  atomic.Pointer[time.Time]
	pongMu sync.Mutex
	pongs  []time.Time // every pong's epoch, oldest first
	langs  []string    // the event's renditions

	server, nginx *exec.Cmd
	serverLog     bytes.Buffer
	nginxLog      bytes.Buffer
	stopFloor     context.CancelFunc
	floorDone     chan struct{}
	booths        []*rtc.BoothClient
	stopBooths    chan struct{}
	boothsDone    sync.WaitGroup
}

// startConference brings the scenario up: the server (when o.serve names a
// binary: in a temporary data directory, on free loopback ports), the SRT
// floor, the nginx edge and two interpreters in each booth sending Opus.
func startConference(ctx context.Context, o confOptions) (c *conference, err error) {
	c = &conference{o: o, base: o.base, edgeURL: o.edgeURL, stopBooths: make(chan struct{})}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	tr := &http.Transport{MaxIdleConns: 4000, MaxIdleConnsPerHost: 4000, IdleConnTimeout: time.Minute}
	c.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	if c.dir, err = os.MkdirTemp("", "tolk-load-"); err != nil {
		return nil, err
	}
	if o.serve != "" {
		if err := c.startServer(ctx); err != nil {
			return nil, err
		}
	}
	if err := c.startFloor(); err != nil {
		return nil, err
	}
	if o.edge != "" && c.edgeURL == "" {
		if err := c.startEdge(ctx); err != nil {
			return nil, err
		}
	}
	// The program runs once the floor arrives: wait for a dated part, and
	// date the program's timeline from it (the event's first language is
	// the floor's in the scenario's config; for a running server, --lang).
	if err := poll(ctx, 60*time.Second, func() error {
		var err error
		lang := o.lang
		if lang == "" {
			lang = conferenceLanguages[0]
		}
		c.epoch, err = loadgen.Epoch(ctx, c.client, c.playlist(c.base, lang))
		return err
	}); err != nil {
		return nil, fmt.Errorf("no live program: %w%s", err, c.logs())
	}
	if c.api, err = rtc.NewAPI(rtc.Options{Loopback: o.loopback}); err != nil {
		return nil, err
	}
	if err := c.startBooths(ctx); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *conference) playlist(base, lang string) string {
	return base + "/hls/" + c.o.event + "/" + lang + "/index.m3u8"
}

// playlists are every language's media playlist through base.
func (c *conference) playlists(base string) []string {
	var out []string
	for _, l := range c.languages() {
		out = append(out, c.playlist(base, l))
	}
	return out
}

func (c *conference) languages() []string { return c.langs }

func (c *conference) logs() string {
	var b strings.Builder
	if c.serverLog.Len() > 0 {
		b.WriteString("\nserver:\n" + tail(c.serverLog.String(), 2000))
	}
	if c.nginxLog.Len() > 0 {
		b.WriteString("\nnginx:\n" + tail(c.nginxLog.String(), 1000))
	}
	return b.String()
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func freePort(network string) (int, error) {
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (c *conference) startServer(ctx context.Context) error {
	hp, err := freePort("tcp")
	if err != nil {
		return err
	}
	sp, err := freePort("udp")
	if err != nil {
		return err
	}
	c.o.srt = fmt.Sprintf("127.0.0.1:%d", sp)
	c.o.data = filepath.Join(c.dir, "data")
	cfg := filepath.Join(c.dir, "conference.yaml")
	if err := os.WriteFile(cfg, []byte(conferenceConfig(c.o.event, c.o.srt)), 0o644); err != nil {
		return err
	}
	c.base = fmt.Sprintf("http://127.0.0.1:%d", hp)
	args := []string{"serve", "--config", cfg, "--data", c.o.data, "--http", strings.TrimPrefix(c.base, "http://"), "--log-level", "warn"}
	if c.o.loopback {
		args = append(args, "--webrtc-loopback")
	}
	if c.o.pprof {
		pp, err := freePort("tcp")
		if err != nil {
			return err
		}
		c.pprof = fmt.Sprintf("http://127.0.0.1:%d", pp)
		args = append(args, "--pprof", strings.TrimPrefix(c.pprof, "http://"))
	}
	c.server = exec.Command(c.o.serve, args...)
	c.server.Stdout, c.server.Stderr = &lockedWriter{w: &c.serverLog}, &lockedWriter{w: &c.serverLog}
	if err := c.server.Start(); err != nil {
		return fmt.Errorf("start %s: %w", c.o.serve, err)
	}
	return poll(ctx, 30*time.Second, func() error {
		return getJSON(ctx, c.base+"/api/events/"+c.o.event, &struct{}{})
	})
}

// heapProfile saves the server's heap profile, taken after a collection
// (gc=1, so that in-use figures are live memory), to path.
func (c *conference) heapProfile(ctx context.Context, path string) error {
	if c.pprof == "" {
		return errors.New("the server has no profiling listener (only a server this tool starts has)")
	}
	b, err := fetchBody(ctx, c, c.pprof+"/debug/pprof/heap?gc=1")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// startFloor pushes the demo speech clip, looped in real time, as AAC in
// MPEG-TS to the server's SRT listener, as a studio encoder would; FFmpeg
// is started again if it stops (the listener restarting, say).
func (c *conference) startFloor() error {
	if c.o.srt == "" {
		return errors.New("the server's SRT floor address is needed (--srt)")
	}
	clip := filepath.Join(c.dir, "floor.ogg")
	if err := os.WriteFile(clip, ingest.DemoClip(), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c.stopFloor, c.floorDone = cancel, make(chan struct{})
	go func() {
		defer close(c.floorDone)
		for ctx.Err() == nil {
			cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
				"-stream_loop", "-1", "-i", clip, "-c:a", "aac", "-b:a", "128k", "-ar", "48000",
				"-f", "mpegts", "srt://"+c.o.srt+"?mode=caller")
			_ = cmd.Run()
			sleepCtx(ctx, time.Second)
		}
	}()
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// startEdge fills deploy/nginx/edge.conf.template with envsubst (the two
// variables its comment names) and runs Debian's nginx on it with a
// temporary prefix on a free loopback port.
func (c *conference) startEdge(ctx context.Context) error {
	tpl, err := os.ReadFile(c.o.edge)
	if err != nil {
		return fmt.Errorf("edge template: %w", err)
	}
	port, err := freePort("tcp")
	if err != nil {
		return err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	fill := exec.Command("envsubst", "${TOLK_ORIGIN} ${EDGE_LISTEN}")
	fill.Env = append(os.Environ(), "TOLK_ORIGIN="+strings.TrimPrefix(c.base, "http://"), "EDGE_LISTEN="+addr)
	fill.Stdin = bytes.NewReader(tpl)
	conf, err := fill.Output()
	if err != nil {
		return fmt.Errorf("envsubst: %w", err)
	}
	prefix := filepath.Join(c.dir, "nginx")
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return err
	}
	confPath := filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(confPath, conf, 0o644); err != nil {
		return err
	}
	global := "daemon off; pid " + filepath.Join(prefix, "nginx.pid") + ";"
	if os.Geteuid() == 0 {
		global += " user root;" // nobody could not enter the private prefix
	}
	nginx := "nginx"
	if _, err := exec.LookPath(nginx); err != nil {
		nginx = "/usr/sbin/nginx"
	}
	c.nginx = exec.Command(nginx, "-e", "stderr", "-p", prefix, "-c", confPath, "-g", global)
	c.nginx.Stdout, c.nginx.Stderr = &lockedWriter{w: &c.nginxLog}, &lockedWriter{w: &c.nginxLog}
	if err := c.nginx.Start(); err != nil {
		return fmt.Errorf("nginx: %w", err)
	}
	c.edgeURL = "http://" + addr
	return poll(ctx, 10*time.Second, func() error {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
		}
		return err
	})
}

// startBooths connects perBooth interpreters to every booth; each sends a
// microphone of real Opus on a fixed 20 ms schedule and the first of each
// booth is on air.
func (c *conference) startBooths(ctx context.Context) error {
	var info struct {
		Renditions []struct {
			Tag   string
			Floor bool
		}
	}
	if err := getJSON(ctx, c.base+"/api/events/"+c.o.event, &info); err != nil {
		return err
	}
	c.langs = nil
	var booths []string
	for _, r := range info.Renditions {
		c.langs = append(c.langs, r.Tag)
		if !r.Floor {
			booths = append(booths, r.Tag)
		}
	}
	if c.o.perBooth == 0 {
		return nil
	}
	st, err := store.Open(c.o.data)
	if err != nil {
		return err
	}
	defer st.Close()
	packets, err := voicePackets()
	if err != nil {
		return err
	}
	for _, lang := range booths {
		for i := 0; i < c.o.perBooth; i++ {
			secret, _, err := st.CreateToken(ctx, c.o.event, store.RoleInterpreter, lang, fmt.Sprintf("Load %c", 'A'+i))
			if err != nil {
				return err
			}
			b, err := rtc.DialBooth(ctx, c.api, c.base, c.o.event, lang, secret, func(string, *rtp.Packet) {})
			if err != nil {
				return fmt.Errorf("booth %s: %w", lang, err)
			}
			first := len(c.booths) == 0
			go func() {
				for m := range b.Messages {
					if first {
						c.pong(m)
					}
				}
			}()
			if i == 0 {
				_ = b.Send(map[string]any{"type": "mic", "on": true})
			}
			c.booths = append(c.booths, b)
		}
	}
	// The first interpreter asks where the program clock is every 500 ms
	// (the booth protocol's ping: the pong carries the program time being
	// played and the server's wall clock).
	c.boothsDone.Add(1)
	go func() {
		defer c.boothsDone.Done()
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			_ = c.booths[0].Send(map[string]any{"type": "ping", "t": 1})
			select {
			case <-t.C:
			case <-c.stopBooths:
				return
			}
		}
	}()
	for i, b := range c.booths {
		c.boothsDone.Add(1)
		go func() {
			defer c.boothsDone.Done()
			// A fixed schedule: a sender that falls behind catches up, as a
			// network does, rather than sending less than real time.
			start := time.Now()
			for k := 0; ; k++ {
				_ = b.Speak(packets[(k+i)%len(packets)], audio.FrameDuration)
				next := start.Add(time.Duration(k+1) * audio.FrameDuration)
				select {
				case <-time.After(time.Until(next)):
				case <-c.stopBooths:
					return
				}
			}
		}()
	}
	return nil
}

// pong reads the program clock from a booth's pong.
func (c *conference) pong(m map[string]any) {
	if m["type"] != "pong" {
		return
	}
	pts, ok1 := m["pts"].(float64)
	ms, ok2 := m["server_ms"].(float64)
	if !ok1 || !ok2 || pts < 0 {
		return
	}
	e := time.UnixMilli(int64(ms)).Add(-audio.Duration(int64(pts)))
	c.clock.Store(&e)
	c.pongMu.Lock()
	c.pongs = append(c.pongs, e)
	c.pongMu.Unlock()
}

// clockSpread is how far the program clock's place against the wall clock
// moved among the pongs since the index from (max − min of their epochs),
// and the index to pass next time.
func (c *conference) clockSpread(from int) (time.Duration, int) {
	c.pongMu.Lock()
	defer c.pongMu.Unlock()
	if from >= len(c.pongs) {
		return 0, len(c.pongs)
	}
	lo, hi := c.pongs[from], c.pongs[from]
	for _, e := range c.pongs[from:] {
		if e.Before(lo) {
			lo = e
		}
		if e.After(hi) {
			hi = e
		}
	}
	return hi.Sub(lo), len(c.pongs)
}

// clockEpoch is program time zero on the program clock, as the latest pong
// placed it (HLS's epoch until the first).
func (c *conference) clockEpoch() time.Time {
	if e := c.clock.Load(); e != nil {
		return *e
	}
	return c.epoch
}

// Close stops everything the scenario started, in reverse order.
func (c *conference) Close() {
	close(c.stopBooths)
	c.boothsDone.Wait()
	for _, b := range c.booths {
		b.Close()
	}
	if c.stopFloor != nil {
		c.stopFloor()
		<-c.floorDone
	}
	for _, p := range []*exec.Cmd{c.nginx, c.server} {
		if p != nil && p.Process != nil {
			_ = p.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { _ = p.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				_ = p.Process.Kill()
				<-done
			}
		}
	}
	if c.client != nil {
		c.client.CloseIdleConnections()
	}
	if c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}

// poll calls f until it succeeds or bound passes.
func poll(ctx context.Context, bound time.Duration, f func() error) error {
	deadline := time.Now().Add(bound)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

// lockedWriter serializes a child's stdout and stderr into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.w.(*bytes.Buffer); ok && b.Len() > 1<<20 {
		b.Reset() // keep the newest megabyte or so
	}
	return l.w.Write(p)
}
