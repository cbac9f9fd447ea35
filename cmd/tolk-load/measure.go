package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"tolk/internal/loadgen"
	"tolk/internal/rtc"
)

// stepRow is one step of the conference scenario: the audience it had and
// what it cost, measured over the step's window.
type stepRow struct {
	Phase         string  `json:"phase"` // baseline, hls or whep
	HLSViewers    int     `json:"hls_viewers"`
	Via           string  `json:"hls_via,omitempty"` // edge or origin
	WHEPListeners int     `json:"whep_listeners"`
	WHEPConnected int     `json:"whep_connected"`
	WindowS       float64 `json:"window_s"`
	// CPU in cores over the window: the server process (its
	// process_cpu_seconds_total), its children (FFmpeg: the SRT ingest and
	// the AAC encoder; only when the tool started the server), nginx and
	// its workers, this tool itself (getrusage) and the whole machine.
	ServerCPU   float64 `json:"server_cpu_cores"`
	ChildrenCPU float64 `json:"server_children_cpu_cores"`
	NginxCPU    float64 `json:"nginx_cpu_cores"`
	ToolCPU     float64 `json:"tool_cpu_cores"`
	MachineCPU  float64 `json:"machine_busy_cores"`
	// OriginHLS is the growth of tolk_hls_requests_total per second;
	// ViewerReqs the viewers' own requests per second.
	OriginHLS    float64 `json:"origin_hls_requests_per_s"`
	ViewerReqs   float64 `json:"viewer_requests_per_s"`
	ViewerErrors int64   `json:"viewer_errors"`
	// Dropped is what the server's track readers dropped
	// (tolk_output_dropped_frames_total, every language and output) plus
	// floor frames dropped; LateTicks the program clock's late ticks.
	Dropped float64 `json:"server_dropped_frames"`
	// DroppedBy splits the readers' drops by output (hls, whep, booth
	// floor, recording, …); floor frames dropped are "floor".
	DroppedBy map[string]float64 `json:"server_dropped_by_output,omitempty"`
	LateTicks float64            `json:"late_ticks"`
	Ticks     float64            `json:"ticks"`
	// HLS viewers: parts received, parts skipped (a gap on their
	// timeline), parts later than the part hold-back, and part latency
	// (end of the part's body at the viewer − its program date time).
	Parts    int64   `json:"hls_parts"`
	Missed   int64   `json:"hls_missed_parts"`
	Late     int64   `json:"hls_late_parts"`
	HLSP50MS float64 `json:"hls_latency_p50_ms"`
	HLSP99MS float64 `json:"hls_latency_p99_ms"`
	// The same from the parts' program date times.
	HLSPDTP50MS float64 `json:"hls_pdt_latency_p50_ms"`
	HLSPDTP99MS float64 `json:"hls_pdt_latency_p99_ms"`
	// WHEP listeners: packets, sequence gaps, latency (arrival − the
	// program time of the RTP timestamp).
	WHEPPackets int64   `json:"whep_packets"`
	WHEPLost    int64   `json:"whep_lost_packets"`
	WHEPP50MS   float64 `json:"whep_latency_p50_ms"`
	WHEPP99MS   float64 `json:"whep_latency_p99_ms"`
	// ClockSpreadMS is how far the program clock's place against the wall
	// clock moved over the window (the booth pongs' spread): latency is
	// measured against the clock, so it moves by as much.
	ClockSpreadMS float64 `json:"program_clock_spread_ms"`
}

// sample is a reading of every CPU counter and the server's metrics.
type sample struct {
	at                    time.Time
	m                     loadgen.Metrics
	children, nginx, tool float64
	busy                  float64
}

func (c *conference) sample(ctx context.Context) (sample, error) {
	s := sample{at: time.Now()}
	var err error
	if s.m, err = loadgen.ScrapeMetrics(ctx, c.client, c.base); err != nil {
		return s, err
	}
	if c.server != nil {
		tree, _ := loadgen.TreeCPU(c.server.Process.Pid)
		own, _ := loadgen.ProcCPU(c.server.Process.Pid)
		s.children = tree - own
	}
	if c.nginx != nil {
		s.nginx, _ = loadgen.TreeCPU(c.nginx.Process.Pid)
	}
	s.tool = selfCPU()
	s.busy, _, _ = loadgen.MachineBusy()
	return s, nil
}

// selfCPU is this process's CPU seconds, every thread.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// fill sets the row's server-side figures from two samples.
func (r *stepRow) fill(a, b sample, event string) {
	d := b.at.Sub(a.at).Seconds()
	r.WindowS = d
	delta := func(name string, match ...string) float64 { return b.m.Sum(name, match...) - a.m.Sum(name, match...) }
	ev := `event="` + event + `"`
	r.ServerCPU = delta("process_cpu_seconds_total") / d
	r.ChildrenCPU = (b.children - a.children) / d
	r.NginxCPU = (b.nginx - a.nginx) / d
	r.ToolCPU = (b.tool - a.tool) / d
	r.MachineCPU = (b.busy - a.busy) / d
	r.OriginHLS = delta("tolk_hls_requests_total", ev) / d
	r.Dropped = delta("tolk_output_dropped_frames_total", ev) + delta("tolk_floor_dropped_frames_total", ev)
	before := a.m.SumBy("tolk_output_dropped_frames_total", "output", ev)
	for out, v := range b.m.SumBy("tolk_output_dropped_frames_total", "output", ev) {
		if d := v - before[out]; d > 0 {
			if r.DroppedBy == nil {
				r.DroppedBy = map[string]float64{}
			}
			r.DroppedBy[out] = d
		}
	}
	if d := delta("tolk_floor_dropped_frames_total", ev); d > 0 {
		if r.DroppedBy == nil {
			r.DroppedBy = map[string]float64{}
		}
		r.DroppedBy["floor"] = d
	}
	r.LateTicks = delta("tolk_late_ticks_total", ev)
	r.Ticks = delta("tolk_ticks_total", ev)
}

func (r *stepRow) fillHLS(s loadgen.HLSStats) {
	if r.WindowS > 0 {
		r.ViewerReqs = float64(s.Requests) / r.WindowS
	}
	r.ViewerErrors, r.Parts, r.Missed, r.Late = s.Errors, s.Parts, s.Missed, s.Late
	r.HLSP50MS = ms(loadgen.Percentile(s.Latency, 50))
	r.HLSP99MS = ms(loadgen.Percentile(s.Latency, 99))
	r.HLSPDTP50MS = ms(loadgen.Percentile(s.PDTLatency, 50))
	r.HLSPDTP99MS = ms(loadgen.Percentile(s.PDTLatency, 99))
}

func (r *stepRow) fillWHEP(s loadgen.WHEPStats) {
	r.WHEPPackets, r.WHEPLost = s.Packets, s.Lost
	r.WHEPP50MS = ms(loadgen.Percentile(s.Latency, 50))
	r.WHEPP99MS = ms(loadgen.Percentile(s.Latency, 99))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// window measures the scenario for d with whatever audience is attached.
func (c *conference) window(ctx context.Context, d time.Duration, row *stepRow) error {
	_, from := c.clockSpread(1 << 30)
	a, err := c.sample(ctx)
	if err != nil {
		return err
	}
	sleepCtx(ctx, d)
	b, err := c.sample(ctx)
	if err != nil {
		return err
	}
	row.fill(a, b, c.o.event)
	spread, _ := c.clockSpread(from)
	row.ClockSpreadMS = ms(spread)
	return ctx.Err()
}

// audience is a running set of HLS viewers and WHEP listeners.
type audience struct {
	hls       loadgen.HLSSink
	whep      loadgen.WHEPSink
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	listeners []*rtc.Listener
}

// attach starts hls viewers (through base) and whep listeners spread over
// the event's languages; it returns once every listener is connected (or
// failed) and the viewers have started arriving over ramp.
func (c *conference) attach(ctx context.Context, hlsBase string, hls, whep int, ramp time.Duration) *audience {
	actx, cancel := context.WithCancel(ctx)
	a := &audience{cancel: cancel}
	a.whep.Clock, a.hls.Clock = c.clockEpoch, c.clockEpoch
	if hls > 0 {
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			loadgen.HLSViewers(actx, c.client, c.playlists(hlsBase), hls, ramp, &a.hls)
		}()
	}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, 8)
	)
	langs := c.languages()
	for i := 0; i < whep; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := rtc.DialWHEP(actx, c.api, c.base+"/whep/"+c.o.event+"/"+langs[i%len(langs)], 256)
			if err != nil {
				fmt.Fprintln(os.Stderr, "listener:", err)
				return
			}
			mu.Lock()
			a.listeners = append(a.listeners, l)
			mu.Unlock()
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				a.whep.Receive(actx, l.Packets())
			}()
		}()
	}
	wg.Wait()
	return a
}

// detach stops the audience and waits for it.
func (a *audience) detach() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a.cancel()
	for _, l := range a.listeners {
		_ = l.Close(ctx)
	}
	a.wg.Wait()
}

// limits are the physical limits measured in the same run: what one
// request for a part costs over loopback HTTP, at the origin and at the
// edge, and so how many part requests the machine's cores could serve.
type limits struct {
	Cores int `json:"cores"`
	// OriginPartUS is the server's CPU per part request (8 clients in this
	// tool asking for the same part as fast as they can), ClientPartUS this
	// tool's CPU per request (the client side of the same loopback HTTP).
	OriginPartUS float64 `json:"origin_cpu_per_part_request_us"`
	ClientPartUS float64 `json:"client_cpu_per_part_request_us"`
	OriginPartPS float64 `json:"origin_part_requests_per_s"`
	// EdgePartUS is nginx's CPU per part request served from its cache.
	EdgePartUS float64 `json:"edge_cpu_per_part_request_us"`
	EdgePartPS float64 `json:"edge_part_requests_per_s"`
	PartBytes  int     `json:"part_bytes"`
}

// measureLimits asks for one existing part as fast as 8 clients can for d,
// from the origin and then from the edge.
func (c *conference) measureLimits(ctx context.Context, d time.Duration) (limits, error) {
	lim := limits{Cores: numCPU()}
	pl := c.playlist(c.base, c.languages()[0])
	b, err := fetchBody(ctx, c, pl)
	if err != nil {
		return lim, err
	}
	p, ok := loadgen.ParsePlaylist(b)
	if !ok || len(p.Parts) == 0 {
		return lim, fmt.Errorf("no part in %s", pl)
	}
	uri := p.Parts[len(p.Parts)-1].URI
	for _, via := range []string{"origin", "edge"} {
		base := c.base
		if via == "edge" {
			if c.edgeURL == "" {
				continue
			}
			base = c.edgeURL
		}
		u := strings.TrimSuffix(c.playlist(base, c.languages()[0]), "index.m3u8") + uri
		a, err := c.sample(ctx)
		if err != nil {
			return lim, err
		}
		var n, size int64
		var mu sync.Mutex
		wctx, cancel := context.WithTimeout(ctx, d)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var k int64
				for wctx.Err() == nil {
					if body, err := fetchBody(wctx, c, u); err == nil {
						k++
						mu.Lock()
						size = int64(len(body))
						mu.Unlock()
					}
				}
				mu.Lock()
				n += k
				mu.Unlock()
			}()
		}
		wg.Wait()
		cancel()
		s, err := c.sample(ctx)
		if err != nil {
			return lim, err
		}
		if n == 0 {
			return lim, fmt.Errorf("no part served through the %s", via)
		}
		secs := s.at.Sub(a.at).Seconds()
		lim.PartBytes = int(size)
		client := (s.tool - a.tool) / float64(n) * 1e6
		if via == "origin" {
			lim.OriginPartUS = (s.m.Sum("process_cpu_seconds_total") - a.m.Sum("process_cpu_seconds_total")) / float64(n) * 1e6
			lim.ClientPartUS = client
			lim.OriginPartPS = float64(n) / secs
		} else {
			lim.EdgePartUS = (s.nginx - a.nginx) / float64(n) * 1e6
			lim.EdgePartPS = float64(n) / secs
		}
	}
	return lim, nil
}

func fetchBody(ctx context.Context, c *conference, u string) ([]byte, error) {
	var body []byte
	req, err := httpGet(ctx, u)
	if err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, err
}
