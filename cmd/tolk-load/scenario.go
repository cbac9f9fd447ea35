package main

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"tolk/internal/loadgen"
)

// conferenceReport is the conference scenario's result.
type conferenceReport struct {
	Event        string `json:"event"`
	Languages    int    `json:"languages"`
	Interpreters int    `json:"interpreters"`
	Floor        string `json:"floor"`
	Edge         bool   `json:"edge"`
	// PDTAheadMS is how far the playlists' program date times are ahead of
	// the program clock (the epoch HLS dates parts from less the one the
	// booth pongs give), read at the end of the run.
	PDTAheadMS float64   `json:"pdt_ahead_of_program_clock_ms"`
	Limits     limits    `json:"limits"`
	Steps      []stepRow `json:"steps"`
}

func numCPU() int { return runtime.NumCPU() }

func httpGet(ctx context.Context, u string) (*http.Request, error) {
	return http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
}

// runConference brings the scenario up and measures it: with the booths
// and the floor alone, then with each number of HLS viewers (through the
// edge when there is one), then with each number of WHEP listeners.
func runConference(ctx context.Context, o confOptions, hlsSteps, whepSteps []int, step time.Duration, progress io.Writer) (*conferenceReport, error) {
	c, err := startConference(ctx, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	rep := &conferenceReport{Event: o.event, Languages: len(c.languages()), Interpreters: len(c.booths),
		Floor: "srt://" + c.o.srt, Edge: c.edgeURL != ""}
	sleepCtx(ctx, 3*time.Second) // the booths settle
	if rep.Limits, err = c.measureLimits(ctx, 3*time.Second); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	fmt.Fprintf(progress, "limits: %+v\n", rep.Limits)
	hlsBase, via := c.base, "origin"
	if c.edgeURL != "" {
		hlsBase, via = c.edgeURL, "edge"
	}
	type plan struct {
		phase     string
		hls, whep int
	}
	plans := []plan{{phase: "baseline"}}
	for _, n := range hlsSteps {
		plans = append(plans, plan{phase: "hls", hls: n})
	}
	for _, n := range whepSteps {
		plans = append(plans, plan{phase: "whep", whep: n})
	}
	ramp := 2 * time.Second
	for _, p := range plans {
		a := c.attach(ctx, hlsBase, p.hls, p.whep, ramp)
		sleepCtx(ctx, ramp+2*time.Second) // every viewer arrived and at the live edge
		a.hls.Take()
		a.whep.Take()
		row := stepRow{Phase: p.phase, HLSViewers: p.hls, WHEPListeners: p.whep, WHEPConnected: len(a.listeners)}
		if p.hls > 0 {
			row.Via = via
		}
		err := c.window(ctx, step, &row)
		row.fillHLS(a.hls.Take())
		row.fillWHEP(a.whep.Take())
		a.detach()
		if err != nil {
			return rep, err
		}
		rep.Steps = append(rep.Steps, row)
		fmt.Fprintf(progress, "%s hls=%d whep=%d: server %.2f cores, tool %.2f, origin %.1f req/s, hls p50/p99 %.0f/%.0f ms, whep p50/p99 %.0f/%.0f ms\n",
			p.phase, p.hls, p.whep, row.ServerCPU, row.ToolCPU, row.OriginHLS, row.HLSP50MS, row.HLSP99MS, row.WHEPP50MS, row.WHEPP99MS)
		sleepCtx(ctx, 2*time.Second) // the last step's connections close
	}
	rep.PDTAheadMS = ms(c.epoch.Sub(c.clockEpoch()))
	return rep, nil
}

// writeTable prints the report as a text table.
func writeTable(w io.Writer, rep *conferenceReport) {
	l := rep.Limits
	fmt.Fprintf(w, "event %s: %d languages, %d interpreters, floor %s, edge %v\n", rep.Event, rep.Languages, rep.Interpreters, rep.Floor, rep.Edge)
	fmt.Fprintf(w, "limits (%d cores): a part (%d B) over loopback HTTP costs the origin %.1f µs and the client %.1f µs (%.0f req/s with 8 clients); nginx serves it from cache for %.1f µs (%.0f req/s)\n",
		l.Cores, l.PartBytes, l.OriginPartUS, l.ClientPartUS, l.OriginPartPS, l.EdgePartUS, l.EdgePartPS)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "phase\thls\twhep\tserver\tffmpeg\tnginx\ttool\tmachine\torigin req/s\tviewer req/s\terrors\tdropped\tlate ticks\tparts\tmissed\tlate\thls p50\thls p99\tvs PDT p50\tp99\twhep pkts\tlost\twhep p50\twhep p99\tclock spread\t")
	for _, r := range rep.Steps {
		fmt.Fprintf(tw, "%s\t%d\t%d/%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f\t%.1f\t%.0f\t%d\t%.0f\t%.0f\t%d\t%d\t%d\t%.0f\t%.0f\t%.0f\t%.0f\t%d\t%d\t%.1f\t%.1f\t%.0f\t\n",
			r.Phase, r.HLSViewers, r.WHEPConnected, r.WHEPListeners, r.ServerCPU, r.ChildrenCPU, r.NginxCPU, r.ToolCPU, r.MachineCPU,
			r.OriginHLS, r.ViewerReqs, r.ViewerErrors, r.Dropped, r.LateTicks, r.Parts, r.Missed, r.Late, r.HLSP50MS, r.HLSP99MS,
			r.HLSPDTP50MS, r.HLSPDTP99MS, r.WHEPPackets, r.WHEPLost, r.WHEPP50MS, r.WHEPP99MS, r.ClockSpreadMS)
	}
	tw.Flush()
	for _, r := range rep.Steps {
		if len(r.DroppedBy) > 0 {
			fmt.Fprintf(w, "dropped at %s hls=%d whep=%d, by output: %v\n", r.Phase, r.HLSViewers, r.WHEPListeners, r.DroppedBy)
		}
	}
	fmt.Fprintf(w, "CPU in cores; latency in ms from the program clock's time of the first sample (booth pongs) to its arrival: HLS the end of the part's body, WHEP the packet (every tenth); the playlists' program date times are %.0f ms ahead of the program clock\n", rep.PDTAheadMS)
}

// soakRow is one sample of the soak.
type soakRow struct {
	Minutes    float64
	RSSMB      float64
	Goroutines float64
	OpenFDs    float64
	ServerCPU  float64
	ToolCPU    float64
	HLSP50MS   float64
	HLSP99MS   float64
	WHEPP50MS  float64
	WHEPP99MS  float64
	Dropped    float64 // since the soak began
	Missed     int64   // HLS parts viewers skipped, since the soak began
	Lost       int64   // WHEP packets lost, since the soak began
	Spread     float64 // the program clock's spread over the sample, ms
	// The Go runtime's memory (client_golang's go_memstats_*), MB: the
	// heap's spans in use, idle, and given back to the OS; goroutine
	// stacks; the allocator's own span and cache structures; all the
	// runtime holds from the OS (Sys); and the collections so far.
	HeapInuseMB, HeapIdleMB, HeapReleasedMB, StacksMB, MSpanMCacheMB, GoSysMB, GCs float64
	// CaptionRestarts counts the recognizer streams restarted since the
	// server started (each loads a new decoder: see docs/benchmarks.md).
	CaptionRestarts float64
}

var soakHeader = []string{"minutes", "rss_mb", "goroutines", "open_fds", "server_cpu_cores", "tool_cpu_cores",
	"hls_p50_ms", "hls_p99_ms", "whep_p50_ms", "whep_p99_ms", "dropped_frames", "hls_missed_parts", "whep_lost_packets", "clock_spread_ms",
	"heap_inuse_mb", "heap_idle_mb", "heap_released_mb", "stacks_mb", "mspan_mcache_mb", "go_sys_mb", "gc_count", "caption_restarts"}

// soakHeaderV1 is the header of CSVs written before the Go memory columns;
// readSoakCSV takes any longer prefix of soakHeader too (the columns a run
// of an earlier version wrote), the missing ones read as zero.
var soakHeaderV1 = soakHeader[:14]

func (r soakRow) record() []string {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	return []string{f(r.Minutes), f(r.RSSMB), f(r.Goroutines), f(r.OpenFDs), f(r.ServerCPU), f(r.ToolCPU),
		f(r.HLSP50MS), f(r.HLSP99MS), f(r.WHEPP50MS), f(r.WHEPP99MS), f(r.Dropped),
		strconv.FormatInt(r.Missed, 10), strconv.FormatInt(r.Lost, 10), f(r.Spread),
		f(r.HeapInuseMB), f(r.HeapIdleMB), f(r.HeapReleasedMB), f(r.StacksMB), f(r.MSpanMCacheMB), f(r.GoSysMB), f(r.GCs), f(r.CaptionRestarts)}
}

// goMemory fills the row's Go runtime columns from a scrape.
func (r *soakRow) goMemory(m loadgen.Metrics) {
	mb := func(name string) float64 { return m.Sum(name) / (1 << 20) }
	r.HeapInuseMB, r.HeapIdleMB, r.HeapReleasedMB = mb("go_memstats_heap_inuse_bytes"), mb("go_memstats_heap_idle_bytes"), mb("go_memstats_heap_released_bytes")
	r.StacksMB = mb("go_memstats_stack_inuse_bytes")
	r.MSpanMCacheMB = mb("go_memstats_mspan_inuse_bytes") + mb("go_memstats_mcache_inuse_bytes")
	r.GoSysMB = mb("go_memstats_sys_bytes")
	r.GCs = m.Sum("go_gc_duration_seconds_count")
	r.CaptionRestarts = m.Sum("tolk_caption_restarts_total")
}

// runSoak runs the conference with a fixed audience for dur, sampling the
// server every `every` into csvPath (written as it goes, so a cut run keeps
// its samples) and drawing pngPath at the end.
//
// With heapDir (and a server this tool started, whose --pprof it opened) it
// saves a heap profile of the server, after a collection, at each of heapAt
// (the first sample at or after it): heapDir/heap-{minutes}m.pb.gz.
func runSoak(ctx context.Context, o confOptions, hls, whep int, dur, every time.Duration, csvPath, pngPath, label string,
	heapDir string, heapAt []time.Duration, progress io.Writer) ([]soakRow, error) {
	c, err := startConference(ctx, o)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	f, err := os.Create(csvPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	if err := w.Write(soakHeader); err != nil {
		return nil, err
	}
	w.Flush()
	hlsBase := c.base
	if c.edgeURL != "" {
		hlsBase = c.edgeURL
	}
	a := c.attach(ctx, hlsBase, hls, whep, 2*time.Second)
	defer a.detach()
	sleepCtx(ctx, 4*time.Second)
	a.hls.Take()
	a.whep.Take()
	_, from := c.clockSpread(1 << 30)
	first, err := c.sample(ctx)
	if err != nil {
		return nil, err
	}
	var (
		rows   []soakRow
		prev   = first
		missed int64
		lost   int64
	)
	end := first.at.Add(dur)
	for time.Now().Before(end) && ctx.Err() == nil {
		sleepCtx(ctx, min(every, time.Until(end)))
		s, err := c.sample(ctx)
		if err != nil {
			return rows, err
		}
		var row stepRow
		row.fill(prev, s, c.o.event)
		h, wh := a.hls.Take(), a.whep.Take()
		row.fillHLS(h)
		row.fillWHEP(wh)
		var spread time.Duration
		spread, from = c.clockSpread(from)
		missed += h.Missed
		lost += wh.Lost
		var total stepRow
		total.fill(first, s, c.o.event)
		r := soakRow{Minutes: s.at.Sub(first.at).Minutes(), RSSMB: s.m.Sum("process_resident_memory_bytes") / (1 << 20),
			Goroutines: s.m.Sum("go_goroutines"), OpenFDs: s.m.Sum("process_open_fds"), ServerCPU: row.ServerCPU,
			ToolCPU: row.ToolCPU, HLSP50MS: row.HLSP50MS, HLSP99MS: row.HLSP99MS, WHEPP50MS: row.WHEPP50MS,
			WHEPP99MS: row.WHEPP99MS, Dropped: total.Dropped, Missed: missed, Lost: lost, Spread: ms(spread)}
		r.goMemory(s.m)
		rows = append(rows, r)
		if err := w.Write(r.record()); err != nil {
			return rows, err
		}
		w.Flush()
		fmt.Fprintf(progress, "%.1f min: rss %.1f MB (go heap in use %.1f, idle %.1f, released %.1f, sys %.1f; %.0f caption restarts), %v goroutines, %v fds, server %.2f cores, hls p50/p99 %.0f/%.0f ms, whep %.0f/%.0f ms\n",
			r.Minutes, r.RSSMB, r.HeapInuseMB, r.HeapIdleMB, r.HeapReleasedMB, r.GoSysMB, r.CaptionRestarts, r.Goroutines, r.OpenFDs, r.ServerCPU, r.HLSP50MS, r.HLSP99MS, r.WHEPP50MS, r.WHEPP99MS)
		prev = s
		for heapDir != "" && len(heapAt) > 0 && s.at.Sub(first.at) >= heapAt[0] {
			path := filepath.Join(heapDir, fmt.Sprintf("heap-%.0fm.pb.gz", s.at.Sub(first.at).Minutes()))
			if err := c.heapProfile(ctx, path); err != nil {
				fmt.Fprintln(progress, "heap profile:", err)
			} else {
				fmt.Fprintln(progress, "heap profile:", path)
			}
			heapAt = heapAt[1:]
		}
	}
	if err := w.Error(); err != nil {
		return rows, err
	}
	if pngPath != "" {
		pf, err := os.Create(pngPath)
		if err != nil {
			return rows, err
		}
		defer pf.Close()
		if err := soakPlot(rows, label).WritePNG(pf); err != nil {
			return rows, err
		}
	}
	return rows, ctx.Err()
}

// soakPlot charts the soak's samples: memory, goroutines and files, and
// latency.
func soakPlot(rows []soakRow, label string) loadgen.Plot {
	col := func(f func(soakRow) float64) []float64 {
		out := make([]float64, len(rows))
		for i, r := range rows {
			out[i] = f(r)
		}
		return out
	}
	x := col(func(r soakRow) float64 { return r.Minutes })
	memory := []loadgen.Series{{Name: "rss", Y: col(func(r soakRow) float64 { return r.RSSMB })}}
	if len(rows) > 0 && rows[len(rows)-1].GoSysMB > 0 { // CSVs before the Go columns have none
		memory = append(memory,
			loadgen.Series{Name: "go sys-released", Y: col(func(r soakRow) float64 { return r.GoSysMB - r.HeapReleasedMB })},
			loadgen.Series{Name: "go heap in use", Y: col(func(r soakRow) float64 { return r.HeapInuseMB })})
	}
	return loadgen.Plot{
		Title:  "tolk soak: " + label,
		XLabel: "minutes",
		X:      x,
		Panels: []loadgen.Panel{
			{Title: "server memory", YLabel: "MB", Series: memory},
			{Title: "goroutines and open files", Series: []loadgen.Series{
				{Name: "goroutines", Y: col(func(r soakRow) float64 { return r.Goroutines })},
				{Name: "open fds", Y: col(func(r soakRow) float64 { return r.OpenFDs })}}},
			{Title: "latency", YLabel: "ms", Series: []loadgen.Series{
				{Name: "hls p50", Y: col(func(r soakRow) float64 { return r.HLSP50MS })},
				{Name: "hls p99", Y: col(func(r soakRow) float64 { return r.HLSP99MS })},
				{Name: "whep p50", Y: col(func(r soakRow) float64 { return r.WHEPP50MS })},
				{Name: "whep p99", Y: col(func(r soakRow) float64 { return r.WHEPP99MS })}}},
		},
	}
}

// parseSteps reads a comma-separated list of counts, each 0..max.
func parseSteps(s string, maxN int) ([]int, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 || n > maxN {
			return nil, fmt.Errorf("%q is not a count of 0..%d", f, maxN)
		}
		out = append(out, n)
	}
	return out, nil
}

// readSoakCSV reads the samples a soak wrote (a cut run's too).
func readSoakCSV(r io.Reader) ([]soakRow, error) {
	recs, err := csv.NewReader(r).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || len(recs[0]) < len(soakHeaderV1) || len(recs[0]) > len(soakHeader) ||
		strings.Join(recs[0], ",") != strings.Join(soakHeader[:len(recs[0])], ",") {
		return nil, fmt.Errorf("not a soak CSV: the first line must be %s", strings.Join(soakHeader, ","))
	}
	var rows []soakRow
	for i, rec := range recs[1:] {
		v := make([]float64, len(soakHeader))
		for k, f := range rec {
			if v[k], err = strconv.ParseFloat(f, 64); err != nil {
				return nil, fmt.Errorf("line %d, %s: %w", i+2, soakHeader[k], err)
			}
		}
		rows = append(rows, soakRow{Minutes: v[0], RSSMB: v[1], Goroutines: v[2], OpenFDs: v[3], ServerCPU: v[4],
			ToolCPU: v[5], HLSP50MS: v[6], HLSP99MS: v[7], WHEPP50MS: v[8], WHEPP99MS: v[9], Dropped: v[10],
			Missed: int64(v[11]), Lost: int64(v[12]), Spread: v[13], HeapInuseMB: v[14], HeapIdleMB: v[15],
			HeapReleasedMB: v[16], StacksMB: v[17], MSpanMCacheMB: v[18], GoSysMB: v[19], GCs: v[20], CaptionRestarts: v[21]})
	}
	return rows, nil
}

// replot draws the chart of a soak's CSV again.
func replot(csvPath, pngPath, label string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	rows, err := readSoakCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", csvPath, err)
	}
	out, err := os.Create(pngPath)
	if err != nil {
		return err
	}
	if err := soakPlot(rows, label).WritePNG(out); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
