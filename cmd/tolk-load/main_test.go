package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/cmd/tolk/event"
	"tolk/internal/config"
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
