package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/cmd/tolk/event"
	"tolk/internal/config"
	"tolk/internal/loadgen"
	"tolk/internal/rtc"
	"tolk/web"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWHEPLoadAgainstARealServer: the load tool's WHEP mode connects every
// listener it asks for to a real server (pion peers on loopback), receives
// the language's packets and reads the server's CPU from /metrics.
func TestWHEPLoadAgainstARealServer(t *testing.T) {
	cfg, err := config.Parse([]byte(`
id: load
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev, err := event.New(cfg, event.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	srv, err := web.New(web.Options{Log: log, RTC: rtc.Options{Loopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddEvent(ev); err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	// No floor publisher: the program runs on silence, still 50 packets/s.
	rep, err := run(hs.URL, "load", "", 3, 2*time.Second, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("report %+v", rep)
	if rep.Connected != 3 || rep.PacketsPerSecond <= 0 || rep.ServerCPULoaded <= 0 {
		t.Errorf("report %+v: want 3 listeners connected, receiving, and the server's CPU read", rep)
	}
}

// TestConferenceConfig: the scenario's event is a valid configuration of
// 12 languages, 11 of them with a booth, the floor from SRT.
func TestConferenceConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(conferenceConfig("conference", "127.0.0.1:9999")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Floor.Source != "srt://127.0.0.1:9999" || cfg.Floor.Language != "en" || len(cfg.Languages) != 11 {
		t.Errorf("floor %q %q, %d languages", cfg.Floor.Source, cfg.Floor.Language, len(cfg.Languages))
	}
}

func TestParseSteps(t *testing.T) {
	got, err := parseSteps("100, 300,1000", 2000)
	if err != nil || len(got) != 3 || got[2] != 1000 {
		t.Errorf("%v %v", got, err)
	}
	if got, err := parseSteps("", 10); err != nil || got != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, bad := range []string{"x", "-1", "2001", "1,,2"} {
		if _, err := parseSteps(bad, 2000); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestSoakOutputs: a CSV row has a value for every column, and the chart
// of a few samples is a PNG.
func TestSoakOutputs(t *testing.T) {
	rows := []soakRow{{Minutes: 0.5, RSSMB: 80, Goroutines: 400, OpenFDs: 90, HLSP50MS: 350, HLSP99MS: 700},
		{Minutes: 1, RSSMB: 82, Goroutines: 402, OpenFDs: 90, HLSP50MS: 340, HLSP99MS: 720}}
	if len(rows[0].record()) != len(soakHeader) {
		t.Errorf("%d values for %d columns", len(rows[0].record()), len(soakHeader))
	}
	var c bytes.Buffer
	w := csv.NewWriter(&c)
	_ = w.Write(soakHeader)
	for _, r := range rows {
		_ = w.Write(r.record())
	}
	w.Flush()
	back, err := readSoakCSV(&c)
	if err != nil || len(back) != 2 || back[1] != rows[1] {
		t.Errorf("read back %+v, %v", back, err)
	}
	if _, err := readSoakCSV(strings.NewReader("a,b\n1,2\n")); err == nil {
		t.Error("a CSV of other columns was read")
	}
	// A CSV written before the Go memory columns is still read.
	old := strings.Join(soakHeaderV1, ",") + "\n1,260,2331,207,0.5,1.1,430,680,5,30,0,0,0,3\n"
	if back, err := readSoakCSV(strings.NewReader(old)); err != nil || len(back) != 1 || back[0].RSSMB != 260 || back[0].GoSysMB != 0 {
		t.Errorf("an older soak CSV read back %+v, %v", back, err)
	}
	if _, err := readSoakCSV(strings.NewReader(strings.Join(soakHeader[:10], ",") + "\n1,2,3,4,5,6,7,8,9,10\n")); err == nil {
		t.Error("a CSV of too few columns was read")
	}
	var b bytes.Buffer
	if err := soakPlot(rows, "test").WritePNG(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(&b); err != nil {
		t.Fatal(err)
	}
}

// TestAudienceAgainstARealServer: the simulated LL-HLS viewers and WHEP
// listeners the conference runs receive a real server's parts and packets,
// and date them on its program timeline (the epoch its playlists give).
func TestAudienceAgainstARealServer(t *testing.T) {
	floor, err := filepath.Abs("../../testdata/floor.wav")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(`
id: aud
floor: {language: en, source: "file:`+floor+`", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000, aac: false}
captions: {backend: none}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev, err := event.New(cfg, event.Options{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	srv, err := web.New(web.Options{Log: log, RTC: rtc.Options{Loopback: true}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddEvent(ev); err != nil {
		t.Fatal(err)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: 10}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	pl := hs.URL + "/hls/aud/fr/index.m3u8"
	var epoch time.Time
	if err := poll(ctx, 20*time.Second, func() error {
		var err error
		epoch, err = loadgen.Epoch(ctx, client, pl)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return epoch }
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := rtc.DialWHEP(ctx, api, hs.URL+"/whep/aud/fr", 256)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	hls := loadgen.HLSSink{Clock: clock}
	whep := loadgen.WHEPSink{Clock: clock}
	wctx, stop := context.WithTimeout(ctx, 3*time.Second)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		whep.Receive(wctx, l.Packets())
	}()
	loadgen.HLSViewers(wctx, client, []string{pl}, 3, 300*time.Millisecond, &hls)
	<-done
	h, w := hls.Take(), whep.Take()
	t.Logf("HLS: %d requests, %d parts, %d missed, p50 %v; WHEP: %d packets, %d lost, p50 %v", h.Requests, h.Parts,
		h.Missed, loadgen.Percentile(h.Latency, 50), w.Packets, w.Lost, loadgen.Percentile(w.Latency, 50))
	if h.Parts == 0 || h.Errors != 0 || len(h.Latency) != int(h.Parts) {
		t.Errorf("HLS viewers: %+v", h)
	}
	if w.Packets == 0 || len(w.Latency) == 0 {
		t.Errorf("WHEP listener: %+v", w)
	}
}
