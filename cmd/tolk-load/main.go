// Command tolk-load puts a running tolk server under load from this machine
// and reports what the load cost the server (its process_cpu_seconds_total
// from /metrics, before and during the load).
//
// WHEP listeners of one language:
//
//	tolk-load --base http://127.0.0.1:8080 --event demo --lang fr --listeners 200 --duration 20s
//
// Interpreters in every booth (tokens are made in the server's data dir):
//
//	tolk-load --mode booths --data ./tolk-data --event bench --per-booth 2 --duration 20s
//
// A conference: 12 languages, two interpreters in each of the 11 booths
// sending Opus, an SRT floor (FFmpeg pushing a looped speech clip), LL-HLS
// viewers through the nginx edge and WHEP listeners, in growing steps. With
// --serve the tool starts the server itself (a temporary data directory,
// free loopback ports, the event written by conferenceConfig) and nginx from
// deploy/nginx/edge.conf.template:
//
//	tolk-load --mode conference --serve ./tolk --hls-steps 100,300,1000,2000 --whep-steps 100,300,600 --step 20s --json out.json
//
// A soak: the same conference with a fixed audience for a long time, sampled
// into a CSV and a PNG chart:
//
//	tolk-load --mode soak --serve ./tolk --hls 300 --whep 100 --duration 1h --sample 1m --csv soak.csv --png soak.png
//
// With --heap-dir the server is started with its profiling listener and its
// heap profile saved at each --heap-at, for go tool pprof -diff_base.
//
// The chart of a soak's CSV (a cut run's too) drawn again:
//
//	tolk-load --mode plot --csv soak.csv --png soak.png --label "1 h, 300 HLS viewers"
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tolk/internal/rtc"
)

type report struct {
	Listeners        int     `json:"listeners"`
	Connected        int     `json:"connected"`
	DurationS        float64 `json:"duration_s"`
	PacketsPerSecond float64 `json:"packets_per_listener_per_s"`
	ServerCPUIdle    float64 `json:"server_cpu_idle_cores"`
	ServerCPULoaded  float64 `json:"server_cpu_loaded_cores"`
	PerListenerUS    float64 `json:"server_cpu_per_listener_us_per_s"`
	SetupMS          float64 `json:"mean_setup_ms"`
}

func main() {
	base := flag.String("base", "http://127.0.0.1:8080", "server base URL (loopback only)")
	ev := flag.String("event", "demo", "event id (conference and soak with --serve: conference)")
	lang := flag.String("lang", "", "language (default: the event's first rendition)")
	n := flag.Int("listeners", 200, "WHEP listeners to attach (1..2000)")
	dur := flag.Duration("duration", 20*time.Second, "how long to measure with every listener attached (1s..10m; soak: up to 24h)")
	loopback := flag.Bool("loopback", true, "offer only loopback candidates")
	mode := flag.String("mode", "whep", "whep (listeners), booths (interpreters), conference (steps of viewers), soak, or plot (a soak's CSV charted again)")
	data := flag.String("data", "./tolk-data", "the server's data directory (tokens for the booths are created there)")
	perBooth := flag.Int("per-booth", 2, "interpreters per booth (booths, conference and soak modes, 0..4)")
	serveBin := flag.String("serve", "", "conference and soak: start this tolk binary with the scenario's event instead of using --base")
	srtAddr := flag.String("srt", "", "conference and soak with --base: the event's SRT floor listener (host:port) to push the floor to")
	edgeTpl := flag.String("edge-template", "deploy/nginx/edge.conf.template", "conference and soak: nginx edge template to start in front of the server (\"\" for none)")
	edgeURL := flag.String("edge", "", "conference and soak: a running edge's URL instead of starting nginx")
	hlsSteps := flag.String("hls-steps", "100,300,1000,2000", "conference: HLS viewers at each step")
	whepSteps := flag.String("whep-steps", "100,300,600", "conference: WHEP listeners at each step")
	step := flag.Duration("step", 20*time.Second, "conference: how long each step is measured (5s..10m)")
	hls := flag.Int("hls", 300, "soak: HLS viewers (0..5000)")
	whep := flag.Int("whep", 100, "soak: WHEP listeners (0..2000)")
	every := flag.Duration("sample", time.Minute, "soak: sampling interval (5s..1h)")
	csvPath := flag.String("csv", "soak.csv", "soak: CSV of the samples")
	pngPath := flag.String("png", "soak.png", "soak: PNG chart of the samples (\"\" for none)")
	label := flag.String("label", "", "soak: the chart's subtitle (default: the audience and duration)")
	heapDir := flag.String("heap-dir", "", "soak with --serve: start the server with --pprof and save its heap profiles in this directory")
	heapAtF := flag.String("heap-at", "3m,25m", "soak with --heap-dir: when to save a heap profile (durations after the first sample)")
	jsonPath := flag.String("json", "", "conference: also write the report as JSON to this file")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	conf := *mode == "conference" || *mode == "soak"
	var hSteps, wSteps []int
	var err error
	switch {
	case *mode == "plot":
		if err := replot(*csvPath, *pngPath, *label); err != nil {
			fmt.Fprintln(os.Stderr, "tolk-load:", err)
			os.Exit(1)
		}
		return
	case *mode != "whep" && *mode != "booths" && !conf:
		usage("--mode is whep, booths, conference, soak or plot")
	case *mode != "soak" && (*dur < time.Second || *dur > 10*time.Minute):
		usage("--duration must be 1s..10m")
	case *mode == "soak" && (*dur < 10*time.Second || *dur > 24*time.Hour):
		usage("--duration must be 10s..24h for a soak")
	case *mode == "soak" && (*every < 5*time.Second || *every > time.Hour):
		usage("--sample must be 5s..1h")
	case *mode == "soak" && (*hls < 0 || *hls > 5000 || *whep < 0 || *whep > 2000):
		usage("--hls must be 0..5000 and --whep 0..2000")
	case *mode == "conference" && (*step < 5*time.Second || *step > 10*time.Minute):
		usage("--step must be 5s..10m")
	case *mode == "whep" && (*n < 1 || *n > 2000):
		usage("--listeners must be 1..2000")
	case *perBooth < 0 || *perBooth > 4 || (*mode == "booths" && *perBooth < 1):
		usage("--per-booth must be 1..4 (0..4 for a conference)")
	case !strings.HasPrefix(*base, "http://127.") && !strings.HasPrefix(*base, "http://localhost") && !strings.HasPrefix(*base, "http://[::1]"):
		usage("only loopback servers are load-tested")
	case conf && *serveBin == "" && *srtAddr == "":
		usage("--serve PATH_TO_TOLK, or --srt HOST:PORT of the running server's SRT floor")
	}
	if hSteps, err = parseSteps(*hlsSteps, 5000); err != nil {
		usage("--hls-steps: " + err.Error())
	}
	if wSteps, err = parseSteps(*whepSteps, 2000); err != nil {
		usage("--whep-steps: " + err.Error())
	}
	var heapAt []time.Duration
	if *heapDir != "" {
		if *mode != "soak" || *serveBin == "" {
			usage("--heap-dir goes with --mode soak --serve")
		}
		for _, f := range strings.Split(*heapAtF, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(f))
			if err != nil || d < 0 || (len(heapAt) > 0 && d <= heapAt[len(heapAt)-1]) {
				usage("--heap-at: durations in increasing order, such as 3m,25m")
			}
			heapAt = append(heapAt, d)
		}
		if err := os.MkdirAll(*heapDir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "tolk-load:", err)
			os.Exit(1)
		}
	}
	if conf && !set["event"] && *serveBin != "" {
		*ev = "conference"
	}
	o := confOptions{serve: *serveBin, base: *base, data: *data, event: *ev, srt: *srtAddr, edge: *edgeTpl,
		edgeURL: *edgeURL, perBooth: *perBooth, loopback: *loopback, lang: *lang, pprof: *heapDir != ""}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var rep any
	switch *mode {
	case "booths":
		rep, err = runBooths(*base, *data, *ev, *perBooth, *dur)
	case "conference":
		var r *conferenceReport
		r, err = runConference(ctx, o, hSteps, wSteps, *step, os.Stderr)
		if r != nil {
			writeTable(os.Stdout, r)
			rep = r
		}
	case "soak":
		l := *label
		if l == "" {
			l = fmt.Sprintf("%d HLS viewers, %d WHEP listeners, %v, a sample every %v", *hls, *whep, *dur, *every)
		}
		_, err = runSoak(ctx, o, *hls, *whep, *dur, *every, *csvPath, *pngPath, l, *heapDir, heapAt, os.Stderr)
	default:
		rep, err = run(*base, *ev, *lang, *n, *dur, *loopback)
	}
	if rep != nil {
		out, _ := json.MarshalIndent(rep, "", "  ")
		if *jsonPath != "" {
			if werr := os.WriteFile(*jsonPath, append(out, '\n'), 0o644); werr != nil && err == nil {
				err = werr
			}
		} else {
			fmt.Println(string(out))
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tolk-load:", err)
		os.Exit(1)
	}
}

// usage reports a bad command line and exits with status 2.
func usage(msg string) {
	fmt.Fprintln(os.Stderr, "tolk-load:", msg)
	os.Exit(2)
}

func run(base, ev, lang string, n int, dur time.Duration, loopback bool) (*report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), dur+5*time.Minute)
	defer cancel()
	if lang == "" {
		var info struct {
			Renditions []struct{ Tag string }
		}
		if err := getJSON(ctx, base+"/api/events/"+ev, &info); err != nil {
			return nil, err
		}
		if len(info.Renditions) == 0 {
			return nil, errors.New("event has no renditions")
		}
		lang = info.Renditions[0].Tag
	}
	// Baseline: the server's own cost with no listener.
	idle, err := cpuRate(ctx, base, 3*time.Second)
	if err != nil {
		return nil, err
	}
	api, err := rtc.NewAPI(rtc.Options{Loopback: loopback})
	if err != nil {
		return nil, err
	}
	var (
		mu        sync.Mutex
		listeners []*rtc.Listener
		setup     time.Duration
		packets   atomic.Int64
		wg        sync.WaitGroup
		sem       = make(chan struct{}, 8)
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			t0 := time.Now()
			l, err := rtc.DialWHEP(ctx, api, base+"/whep/"+ev+"/"+lang, 256)
			if err != nil {
				fmt.Fprintln(os.Stderr, "listener:", err)
				return
			}
			mu.Lock()
			listeners = append(listeners, l)
			setup += time.Since(t0)
			mu.Unlock()
		}()
	}
	wg.Wait()
	// Count packets while measuring the server.
	stop := make(chan struct{})
	var counters sync.WaitGroup
	for _, l := range listeners {
		counters.Add(1)
		go func(l *rtc.Listener) {
			defer counters.Done()
			for {
				select {
				case <-l.Packets():
					packets.Add(1)
				case <-stop:
					return
				}
			}
		}(l)
	}
	time.Sleep(time.Second) // let every session settle before measuring
	packets.Store(0)
	loaded, err := cpuRate(ctx, base, dur)
	got := packets.Load()
	close(stop)
	counters.Wait()
	for _, l := range listeners {
		_ = l.Close(ctx)
	}
	if err != nil {
		return nil, err
	}
	rep := &report{
		Listeners:       n,
		Connected:       len(listeners),
		DurationS:       dur.Seconds(),
		ServerCPUIdle:   idle,
		ServerCPULoaded: loaded,
	}
	if c := len(listeners); c > 0 {
		rep.PacketsPerSecond = float64(got) / float64(c) / dur.Seconds()
		rep.PerListenerUS = (loaded - idle) / float64(c) * 1e6
		rep.SetupMS = float64(setup.Milliseconds()) / float64(c)
	}
	return rep, nil
}

// cpuRate samples the server's process_cpu_seconds_total over d and returns cores used.
func cpuRate(ctx context.Context, base string, d time.Duration) (float64, error) {
	a, err := cpuSeconds(ctx, base)
	if err != nil {
		return 0, err
	}
	t0 := time.Now()
	time.Sleep(d)
	b, err := cpuSeconds(ctx, base)
	if err != nil {
		return 0, err
	}
	return (b - a) / time.Since(t0).Seconds(), nil
}

func cpuSeconds(ctx context.Context, base string) (float64, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New("metrics: no process_cpu_seconds_total")
}

func getJSON(ctx context.Context, url string, v any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}
