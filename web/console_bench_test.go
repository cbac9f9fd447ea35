package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/internal/store"
	"tolk/web"
)

// consoleBenchEvent serves the seed conference's shape: the floor and 12
// interpreted languages, two interpreters connected in every booth (real
// pion peers), and returns it with a producer token.
func consoleBenchEvent(b *testing.B) (*boothHarness, string) {
	b.Helper()
	langs := []string{"fr", "es", "de", "it", "pt", "ru", "zh", "ja", "ko", "ar", "tr", "nl"}
	var cfg []string
	for _, l := range langs {
		cfg = append(cfg, "{tag: "+l+"}")
	}
	h := startBoothsTB(b, strings.Join(cfg, ", "), "tone")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, l := range langs {
		for _, name := range []string{"A", "B"} {
			c := dialBooth(b, ctx, h.http.URL, l, h.token(b, l, name+" "+l))
			b.Cleanup(c.close)
			c.expect(ctx, "welcome")
		}
	}
	prod, _, err := h.store.CreateToken(ctx, "test", store.RoleProducer, "", "Pat")
	if err != nil {
		b.Fatal(err)
	}
	return h, prod
}

// BenchmarkEventStatus is what the status of 13 languages and 24 connected
// interpreters costs the server: read (every mix's meters, every booth's
// state, every link) and encoded as JSON. The console hub does it once per
// 200 ms for all consoles; the API once per request.
func BenchmarkEventStatus(b *testing.B) {
	h, prod := consoleBenchEvent(b)
	req := httptest.NewRequest("GET", "/api/events/test/status", nil)
	req.Header.Set("Authorization", "Bearer "+prod)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		h.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d", rec.Code)
		}
		b.SetBytes(int64(rec.Body.Len()))
	}
}

// BenchmarkConsoleStatus is what consoles cost: N consoles connected over
// loopback WebSockets take the hub's status (13 languages, 24 interpreters)
// every 200 ms; the process's CPU time per second of that (server and the
// consoles' reading, which this process does too) is reported beside the
// same with no console, for the marginal cost of a console.
func BenchmarkConsoleStatus(b *testing.B) {
	h, prod := consoleBenchEvent(b)
	for _, n := range []int{0, 1, 10, 50} {
		b.Run(fmt.Sprintf("consoles=%d", n), func(b *testing.B) {
			u := strings.Replace(h.http.URL, "http", "ws", 1) + "/console/test/ws?token=" + prod
			got := make(chan int, 1024)
			var socks []*websocket.Conn
			for range n {
				ws, _, err := websocket.DefaultDialer.Dial(u, nil)
				if err != nil {
					b.Fatal(err)
				}
				socks = append(socks, ws)
				go func() {
					for {
						_, msg, err := ws.ReadMessage()
						if err != nil {
							return
						}
						if strings.HasPrefix(string(msg), `{"type":"status"`) {
							got <- len(msg)
						}
					}
				}()
			}
			defer func() {
				for _, ws := range socks {
					ws.Close()
				}
			}()
			for range n { // the first round
				<-got
			}
			b.ResetTimer()
			cpu0, start := cpuTime(b), time.Now()
			size := 0
			for i := 0; i < b.N; i++ {
				if n == 0 {
					time.Sleep(StatusEvery)
				}
				for range n {
					size = <-got
				}
			}
			cpu, wall := cpuTime(b)-cpu0, time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(size), "bytes/status")
			b.ReportMetric(float64(cpu.Microseconds())/wall.Seconds()/1000, "cpu-ms/s")
		})
	}
}

// StatusEvery is how often the hub sends the status.
const StatusEvery = web.StatusEvery

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkConsoleFrame is the marginal cost of one console for one status:
// the hub encodes the status once for all, so each console adds one
// WebSocket text frame of the status's size (≈ 20 KB for 13 languages and
// 24 interpreters) written to its connection, here read back by a loopback
// client in the same process. Five of these a second is what a console
// costs.
func BenchmarkConsoleFrame(b *testing.B) {
	frame := []byte(`{"type":"status","status":` + strings.Repeat(`{"tag":"fr","program_dbfs":-17.3},`, 560) + `{}}`)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		for {
			if _, _, err := ws.ReadMessage(); err != nil {
				return
			}
			if err := ws.WriteMessage(websocket.TextMessage, frame); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(srv.URL, "http", "ws", 1), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer ws.Close()
	b.SetBytes(int64(len(frame)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := ws.WriteMessage(websocket.TextMessage, []byte("n")); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil {
			b.Fatal(err)
		}
	}
}
