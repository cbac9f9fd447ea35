package loadgen

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Metrics are the samples of one read of a Prometheus text exposition,
// keyed by the series as written ("name{label=\"v\",...}").
type Metrics map[string]float64

// ScrapeMetrics reads base+"/metrics".
func ScrapeMetrics(ctx context.Context, client *http.Client, base string) (Metrics, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s", resp.Status)
	}
	return ParseMetrics(io.LimitReader(resp.Body, 16<<20))
}

// ParseMetrics reads the Prometheus text format: comments are skipped, a
// line that is not "series value" is an error.
func ParseMetrics(r io.Reader) (Metrics, error) {
	m := Metrics{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		// Label values may hold spaces: the value follows the last one.
		i := strings.LastIndexByte(line, ' ')
		if i <= 0 {
			return nil, fmt.Errorf("metrics: bad line %q", line)
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			return nil, fmt.Errorf("metrics: bad value in %q: %w", line, err)
		}
		m[strings.TrimSpace(line[:i])] = v
	}
	return m, sc.Err()
}

// Sum adds every series of the metric name whose labels contain all of
// match (each a `label="value"` pair).
func (m Metrics) Sum(name string, match ...string) float64 {
	var s float64
	for k, v := range m {
		n, labels, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		ok := true
		for _, want := range match {
			if !strings.Contains(labels, want) {
				ok = false
				break
			}
		}
		if ok {
			s += v
		}
	}
	return s
}

// SumBy is Sum split by the value of one label: series without it are
// left out.
func (m Metrics) SumBy(name, label string, match ...string) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		n, labels, _ := strings.Cut(k, "{")
		if n != name {
			continue
		}
		ok := true
		for _, want := range match {
			if !strings.Contains(labels, want) {
				ok = false
				break
			}
		}
		_, rest, found := strings.Cut(labels, label+`="`)
		if !ok || !found {
			continue
		}
		val, _, _ := strings.Cut(rest, `"`)
		out[val] += v
	}
	return out
}

// Percentile returns the p-th percentile (0..100, nearest rank) of d; d is
// sorted in place. Zero for no samples.
func Percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	k := int(float64(len(d))*p/100+0.5) - 1
	return d[min(max(k, 0), len(d)-1)]
}
