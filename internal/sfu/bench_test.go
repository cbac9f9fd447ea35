package sfu_test

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/restream"
	"tolk/internal/rtc"
	"tolk/internal/sfu"
)

// BenchmarkJanusForward measures what forwarding one language to a Janus
// mountpoint costs tolk: a 20 ms Opus packet (160 bytes, 64 kb/s) through
// the output's reader, numbered, marshalled and sent as a UDP datagram to a
// local socket standing for Janus's RTP port. One op is one packet; a
// language is 50 packets a second.
func BenchmarkJanusForward(b *testing.B) {
	sink, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	got := make(chan struct{})
	go func() {
		defer close(got)
		buf := make([]byte, 1500)
		for {
			if _, _, err := sink.ReadFrom(buf); err != nil {
				return
			}
		}
	}()
	port := sink.LocalAddr().(*net.UDPAddr).Port
	tr := media.NewTrack[media.Unit]("bench")
	o, err := sfu.NewJanus(sfu.JanusOptions{Common: sfu.Common{ID: "janus-fr", Lang: "fr", Packets: tr},
		Janus: config.Janus{RTPHost: "127.0.0.1", MountpointBase: 1, PortBase: port},
		Mount: config.JanusMount{Lang: "fr", ID: 1, Port: port}})
	if err != nil {
		b.Fatal(err)
	}
	o.Start()
	for tr.Readers() == 0 {
		time.Sleep(time.Millisecond)
	}
	payload := make([]byte, 160)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Write(media.Unit{Codec: media.Opus, PTS: int64(i) * 960, Payload: payload})
		if i%32 == 31 { // stay within the reader's queue: nothing is dropped
			for st := o.Status(); st.Packets+st.Errors < uint64(i+1); st = o.Status() {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	for st := o.Status(); st.Packets+st.Errors < uint64(b.N); st = o.Status() {
		time.Sleep(10 * time.Microsecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st := o.Status()
	o.Close()
	sink.Close()
	<-got
	if st.Dropped != 0 || st.Errors != 0 {
		b.Fatalf("dropped %d, errors %d", st.Dropped, st.Errors)
	}
	// The process's CPU time (every thread: the writer, the output's
	// goroutine, the sink's reader, the runtime), per packet and per
	// language at 50 packets a second, as a share of one core.
	perPkt := float64(cpu.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perPkt, "cpu-ns/pkt")
	b.ReportMetric(perPkt*50/1e9*100, "%core/lang")
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWHIPPublish measures what publishing one language over WHIP
// costs: the same packets through pion (SRTP, interceptors) to a peer in
// the same process that answers the WHIP offer and reads every packet.
// The CPU counted includes that receiving peer's decryption, so it bounds
// tolk's share from above.
func BenchmarkWHIPPublish(b *testing.B) {
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		b.Fatal(err)
	}
	var received atomic.Uint64
	var (
		mu      sync.Mutex
		peers   []*webrtc.PeerConnection
		readers sync.WaitGroup
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			return
		}
		offer, _ := io.ReadAll(r.Body)
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		mu.Lock()
		peers = append(peers, pc)
		mu.Unlock()
		pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			readers.Add(1)
			go func() {
				defer readers.Done()
				buf := make([]byte, 1500)
				for {
					if _, _, err := t.Read(buf); err != nil {
						return
					}
					received.Add(1)
				}
			}()
		})
		answer, err := rtc.Answer(r.Context(), pc, string(offer))
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.Header().Set("Content-Type", "application/sdp")
		w.Header().Set("Location", "/whip/session")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	tr := media.NewTrack[media.Unit]("bench")
	o, err := sfu.NewWHIP(sfu.WHIPOptions{Common: sfu.Common{ID: "whip-fr-1", Lang: "fr", Packets: tr},
		URL: srv.URL + "/whip", Token: "bench-token", API: api})
	if err != nil {
		b.Fatal(err)
	}
	o.Start()
	for o.Status().State != restream.StateConnected {
		time.Sleep(time.Millisecond)
	}
	payload := make([]byte, 160)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tr.Write(media.Unit{Codec: media.Opus, PTS: int64(i) * 960, Payload: payload})
		if i%32 == 31 {
			for received.Load() < uint64(i+1)-16 {
				time.Sleep(10 * time.Microsecond)
			}
		}
	}
	for st := o.Status(); st.Packets+st.Errors < uint64(b.N); st = o.Status() {
		time.Sleep(10 * time.Microsecond)
	}
	b.StopTimer()
	cpu := cpuTime() - cpu0
	st := o.Status()
	o.Close()
	mu.Lock()
	for _, pc := range peers {
		pc.Close()
	}
	mu.Unlock()
	readers.Wait()
	if st.Dropped != 0 || st.Errors != 0 {
		b.Fatalf("dropped %d, errors %d", st.Dropped, st.Errors)
	}
	perPkt := float64(cpu.Nanoseconds()) / float64(b.N)
	b.ReportMetric(perPkt, "cpu-ns/pkt")
	b.ReportMetric(perPkt*50/1e9*100, "%core/lang")
}
