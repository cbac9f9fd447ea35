package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/loadgen"
	"tolk/internal/rtc"
	"tolk/internal/store"
)

// smallWindow dials TCP with a receive buffer of a few kilobytes and a
// small maximum segment, so that a client that never reads fills its window
// and the server's send buffer (which the kernel sizes from the segment:
// 64 KB on loopback) after tens of kilobytes instead of megabytes.
var smallWindow = &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
		if serr == nil {
			serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_MAXSEG, 536)
		}
	})
	if err != nil {
		return err
	}
	return serr
}}

// TestStalledClientsSlowNobody runs the real binary with three kinds of
// stalled client at once — a WHEP listener that never completes its
// connection and one that connects but never reads its track or RTCP, a
// console WebSocket that never reads (its TCP window full), and LL-HLS
// connections that send blocking playlist and part requests and never read
// the answers — while a healthy WHEP listener and a healthy LL-HLS viewer
// receive every packet and part with no gap on the program timeline, the
// program clock keeps ticking, and the server counts what the stalled
// console lost (tolk_console_dropped_statuses_total).
func TestStalledClientsSlowNobody(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { // after the run's own cleanup
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "ffmpeg")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	floor, err := filepath.Abs("../../testdata/floor.wav")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "event.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
id: stall
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}, {tag: es}, {tag: de}]
hls: {part_ms: 200, segment_ms: 1000, aac: false}
captions: {backend: none}
record: false
`, floor)), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	producer, _, err := st.CreateToken(ctx, "stall", store.RoleProducer, "", "")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	r := startServe(ctx, t, bin, "--config", cfg, "--data", data, "--webrtc-loopback", "--log-level", "warn")
	defer func() {
		// Killed, not stopped: a clean stop would wait up to 5 s for the
		// stalled requests (TestServeDemo checks the clean stop).
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}()
	playlist := r.base + "/hls/stall/fr/index.m3u8"
	client := &http.Client{Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	var first loadgen.Playlist
	if err := pollUntil(ctx, 30*time.Second, func() bool {
		resp, err := client.Get(playlist)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		p, ok := loadgen.ParsePlaylist(b)
		first = p
		return ok && len(p.Parts) >= 3
	}); err != nil {
		t.Fatalf("no live playlist: %v; stderr: %s", err, r.stderr.String())
	}
	t.Logf("live playlist %v after start", time.Since(began).Round(time.Millisecond))
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}

	// The stalled clients, all at once.
	var closers []func()
	defer func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}()
	// A WHEP listener that never completes: its offer is answered, and it
	// never answers back with ICE or DTLS.
	closers = append(closers, stalledWHEP(ctx, t, api, r.base+"/whep/stall/fr", false))
	// One that connects and then never reads its track or its RTCP.
	closers = append(closers, stalledWHEP(ctx, t, api, r.base+"/whep/stall/fr", true))
	// A console that never reads, with a small window.
	dialer := websocket.Dialer{NetDialContext: smallWindow.DialContext, ReadBufferSize: 1024}
	ws, resp, err := dialer.DialContext(ctx, strings.Replace(r.base, "http", "ws", 1)+"/console/stall/ws?token="+producer, http.Header{"Origin": {r.base}})
	if err != nil {
		if resp != nil {
			t.Fatalf("console: %s", resp.Status)
		}
		t.Fatal(err)
	}
	closers = append(closers, func() { ws.Close() })
	// LL-HLS connections that ask, pipelined, for the next parts (each
	// request waits at the server until its part exists) and the blocking
	// reloads that list them, and never read a byte of the answers.
	for k := range 4 {
		c, err := smallWindow.DialContext(ctx, "tcp", strings.TrimPrefix(r.base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		closers = append(closers, func() { c.Close() })
		var req bytes.Buffer
		h := first.Hint
		for i := range 40 {
			msn, part := h.MSN+(h.Part+i)/5, (h.Part+i)%5
			run := h.URI[:strings.IndexByte(h.URI, '/')]
			fmt.Fprintf(&req, "GET /hls/stall/fr/index.m3u8?_HLS_msn=%d&_HLS_part=%d&k=%d HTTP/1.1\r\nHost: x\r\n\r\n", msn, part, k)
			fmt.Fprintf(&req, "GET /hls/stall/fr/%s/part%d.%d.m4s HTTP/1.1\r\nHost: x\r\n\r\n", run, msn, part)
		}
		if _, err := c.Write(req.Bytes()); err != nil {
			t.Fatal(err)
		}
	}

	t.Logf("stalled clients in place %v after start", time.Since(began).Round(time.Millisecond))
	// The healthy listener and viewer, from now on.
	before := metricsOf(ctx, t, client, r.base)
	healthy, err := rtc.DialWHEP(ctx, api, r.base+"/whep/stall/fr", 2048)
	if err != nil {
		t.Fatal(err)
	}
	defer healthy.Close(context.Background())
	const seconds = 5 // of program time each must receive without a gap
	var wg sync.WaitGroup
	var whepErr, hlsErr error
	var whepSpan, hlsSpan [2]int64
	var parts int
	wg.Add(2)
	go func() {
		defer wg.Done()
		whepSpan, whepErr = gaplessRTP(ctx, healthy.Packets(), seconds*audio.SampleRate)
	}()
	go func() {
		defer wg.Done()
		hlsSpan, parts, hlsErr = gaplessParts(ctx, client, playlist, seconds*audio.SampleRate)
	}()
	wg.Wait()
	if whepErr != nil {
		t.Errorf("healthy WHEP listener: %v", whepErr)
	}
	if hlsErr != nil {
		t.Errorf("healthy LL-HLS viewer: %v", hlsErr)
	}
	t.Logf("healthy WHEP listener: program time %.2f–%.2f s without a gap", seconds64(whepSpan[0]), seconds64(whepSpan[1]))
	t.Logf("healthy LL-HLS viewer: %d parts, program time %.2f–%.2f s without a gap", parts, seconds64(hlsSpan[0]), seconds64(hlsSpan[1]))

	// The stalled console's statuses were dropped and counted; the program
	// clock ticked through it all.
	var after loadgen.Metrics
	if err := pollUntil(ctx, 20*time.Second, func() bool {
		after = metricsOf(ctx, t, client, r.base)
		return after.Sum("tolk_console_dropped_statuses_total", `event="stall"`) > 0
	}); err != nil {
		t.Errorf("the stalled console's statuses were never counted as dropped (tolk_console_dropped_statuses_total %v)",
			after.Sum("tolk_console_dropped_statuses_total"))
	}
	ticks := after.Sum("tolk_ticks_total", `event="stall"`) - before.Sum("tolk_ticks_total", `event="stall"`)
	span := max(whepSpan[1]-whepSpan[0], hlsSpan[1]-hlsSpan[0])
	if ticks*audio.FrameSamples < float64(span) {
		t.Errorf("the program clock ticked %v times while the healthy clients received %.2f s of program", ticks, seconds64(span))
	}
	t.Logf("checked %v after start", time.Since(began).Round(time.Millisecond))
	t.Logf("ticks %v, late ticks %v, console statuses dropped %v, output frames dropped %v", ticks,
		after.Sum("tolk_late_ticks_total")-before.Sum("tolk_late_ticks_total"),
		after.Sum("tolk_console_dropped_statuses_total"), after.Sum("tolk_output_dropped_frames_total"))
}

func seconds64(pts int64) float64 { return float64(pts) / audio.SampleRate }

// pollUntil calls f until it is true or bound passes.
func pollUntil(ctx context.Context, bound time.Duration, f func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, bound)
	defer cancel()
	for !f() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func metricsOf(ctx context.Context, t *testing.T, client *http.Client, base string) loadgen.Metrics {
	t.Helper()
	m, err := loadgen.ScrapeMetrics(ctx, client, base)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// stalledWHEP posts a WHEP offer and, with connect, completes the
// connection but never reads the track or RTCP; without, it never even
// applies the answer. It returns what closes it.
func stalledWHEP(ctx context.Context, t *testing.T, api *webrtc.API, endpoint string, connect bool) func() {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnTrack(func(*webrtc.TrackRemote, *webrtc.RTPReceiver) { once.Do(func() { close(connected) }) })
	offer, err := rtc.Offer(ctx, pc)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(offer))
	req.Header.Set("Content-Type", "application/sdp")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("WHEP offer: %s %s", resp.Status, answer)
	}
	if connect {
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(answer)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-connected:
		case <-ctx.Done():
			t.Fatal("the stalled listener never got its track")
		}
	}
	return func() { _ = pc.Close() }
}

// gaplessRTP reads packets until they cover want samples of program time
// and fails at the first gap: a sequence number skipped or a timestamp
// other than one frame on.
func gaplessRTP(ctx context.Context, packets <-chan *rtp.Packet, want int64) ([2]int64, error) {
	var (
		span  [2]int64
		prev  *rtp.Packet
		total int64
	)
	for total < want {
		select {
		case p, ok := <-packets:
			if !ok {
				return span, fmt.Errorf("the track ended after %d samples", total)
			}
			if prev == nil {
				span[0] = int64(p.Timestamp)
			} else {
				if p.SequenceNumber != prev.SequenceNumber+1 {
					return span, fmt.Errorf("sequence %d after %d", p.SequenceNumber, prev.SequenceNumber)
				}
				if d := p.Timestamp - prev.Timestamp; d != audio.FrameSamples {
					return span, fmt.Errorf("timestamp %d after %d: a gap of %d samples", p.Timestamp, prev.Timestamp, int64(d)-audio.FrameSamples)
				}
				total += audio.FrameSamples
			}
			span[1] = int64(p.Timestamp) + audio.FrameSamples
			prev = p
		case <-ctx.Done():
			return span, fmt.Errorf("%d samples received: %w", total, ctx.Err())
		}
	}
	return span, nil
}

// gaplessParts plays a live media playlist as an LL-HLS player does: every
// part in order (those listed after the last it has, then the
// preload-hinted one, then the blocking reload that lists it), until its
// parts cover want samples of program time; it fails at the first part
// that does not start where the previous one ended.
func gaplessParts(ctx context.Context, client *http.Client, playlist string, want int64) ([2]int64, int, error) {
	var span [2]int64
	get := func(u string) ([]byte, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", u, resp.Status)
		}
		return b, err
	}
	base := playlist[:strings.LastIndexByte(playlist, '/')+1]
	n := 0
	var last loadgen.Part // the last part played
	take := func(pt loadgen.Part) error {
		if n > 0 && (pt.MSN < last.MSN || pt.MSN == last.MSN && pt.Part <= last.Part) {
			return nil // played already
		}
		part, err := get(base + pt.URI)
		if err != nil {
			return err
		}
		start, end, err := loadgen.PartSpan(part)
		if err != nil {
			return fmt.Errorf("%s: %w", pt.URI, err)
		}
		if n > 0 && start != span[1] {
			return fmt.Errorf("%s starts at %d, the part before (%s) ended at %d", pt.URI, start, last.URI, span[1])
		}
		if n == 0 {
			span[0] = start
		}
		span[1], last = end, pt
		n++
		return nil
	}
	b, err := get(playlist)
	for err == nil {
		p, ok := loadgen.ParsePlaylist(b)
		if !ok {
			return span, n, fmt.Errorf("not a live playlist:\n%s", b)
		}
		if n > 0 {
			for _, pt := range p.Parts {
				if err := take(pt); err != nil {
					return span, n, err
				}
			}
		}
		if err := take(p.Hint); err != nil {
			return span, n, err
		}
		if span[1]-span[0] >= want {
			return span, n, nil
		}
		b, err = get(fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=%d", playlist, p.Hint.MSN, p.Hint.Part))
	}
	return span, n, err
}
