package sfu_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtp"

	"tolk/internal/config"
	"tolk/internal/restream"
	"tolk/internal/sfu"
	"tolk/internal/sfu/janustest"
)

// TestJanusLoad (not in CI: TOLK_JANUS_LOAD=20,50) measures what Janus
// spends to serve one forwarded language to N WebRTC watchers (pion peers
// in this process): Janus's CPU time over 10 s of program, read from
// /proc, and that every watcher got the packets.
func TestJanusLoad(t *testing.T) {
	spec := os.Getenv("TOLK_JANUS_LOAD")
	if spec == "" {
		t.Skip("TOLK_JANUS_LOAD=N[,N…] measures Janus with N watchers")
	}
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			t.Fatalf("TOLK_JANUS_LOAD: %q", f)
		}
		t.Run(f, func(t *testing.T) { janusLoad(t, n) })
	}
}

func janusLoad(t *testing.T, n int) {
	j := janustest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	defer http.DefaultClient.CloseIdleConnections()
	srcCtx, srcStop := context.WithCancel(ctx)
	tr, wait := toneTrack(srcCtx, t, 660, 0)
	defer wait()
	defer srcStop()
	o, err := sfu.NewJanus(sfu.JanusOptions{Common: sfu.Common{ID: "janus-fr", Lang: "fr", Packets: tr},
		Janus: config.Janus{API: j.API, AdminKey: j.AdminKey, MountpointBase: 1}, Mount: config.JanusMount{Lang: "fr", ID: 1}})
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	defer o.Close()
	for o.Status().State != restream.StateConnected {
		time.Sleep(50 * time.Millisecond)
	}
	counts := make([]int, n)
	var stops []func()
	done := make(chan struct{})
	var chans []<-chan *rtp.Packet
	for i := 0; i < n; i++ {
		pkts, stop := janustest.Watch(ctx, t, j.API, 1, 100)
		stops = append(stops, stop)
		chans = append(chans, pkts)
	}
	counting := make(chan struct{})
	for i, c := range chans {
		go func() {
			for {
				select {
				case <-done:
					counting <- struct{}{}
					return
				case <-c:
					counts[i]++
				}
			}
		}()
	}
	time.Sleep(2 * time.Second) // every watcher connected and playing
	cpu0 := procCPU(t, j.Pid)
	start := time.Now()
	time.Sleep(10 * time.Second)
	cpu := procCPU(t, j.Pid) - cpu0
	wall := time.Since(start)
	close(done)
	for range chans {
		<-counting
	}
	for _, s := range stops {
		s()
	}
	least := counts[0]
	for _, c := range counts {
		least = min(least, c)
	}
	t.Logf("%d watchers: janus used %.1f %% of a core (%.3f %% per watcher); the least served watcher got %d packets in %.0f s",
		n, 100*cpu.Seconds()/wall.Seconds(), 100*cpu.Seconds()/wall.Seconds()/float64(n), least, wall.Seconds()+2)
}

// procCPU reads a process's CPU time (user and system) from /proc.
func procCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}
