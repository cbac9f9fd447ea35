package web_test

import (
	"net"
	"testing"
)

// BenchmarkLoopbackUDPSend is the physical limit beside the per-listener cost
// measured by tolk-load: one 160-byte datagram (an SRTP-protected 64 kb/s Opus
// frame) written to a loopback socket, with no encryption and no RTP work.
func BenchmarkLoopbackUDPSend(b *testing.B) {
	rx, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer rx.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			if _, err := rx.Read(buf); err != nil {
				return
			}
		}
	}()
	tx, err := net.DialUDP("udp4", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Close()
	pkt := make([]byte, 160)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tx.Write(pkt); err != nil {
			b.Fatal(err)
		}
	}
}
