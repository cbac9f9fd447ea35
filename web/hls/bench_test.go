package hls

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"tolk/internal/audio"
)

// opusLike has the size of a 32 kb/s 20 ms Opus packet and a CELT 20 ms TOC.
var opusLike = append([]byte{0xf8}, make([]byte, 79)...)

func BenchmarkWriteOpus(b *testing.B) {
	m, _ := newTestMuxer(b, Options{})
	defer m.Close()
	b.ReportAllocs()
	b.SetBytes(int64(len(opusLike)))
	pts := int64(0)
	for b.Loop() {
		if err := m.WriteOpus("en", pts, opusLike); err != nil {
			b.Fatal(err)
		}
		pts += audio.FrameSamples
	}
}

type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func benchmarkServe(b *testing.B, target string) {
	m, _ := newTestMuxer(b, Options{})
	defer m.Close()
	writeRange(b, m, "en", 0, audio.Samples(10*1e9)+4*audio.FrameSamples*5)
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if m.tracks["en"].snap.Load().lastPart < 51 {
		b.Fatal("parts missing")
	}
	if w := httptest.NewRecorder(); func() int { m.ServeHTTP(w, r); return w.Code }() != 200 {
		b.Fatalf("%s is not served", target)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			m.ServeHTTP(w, r)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkPlaylistGet serves the live media playlist from memory, in parallel.
func BenchmarkPlaylistGet(b *testing.B) { benchmarkServe(b, "/en/index.m3u8") }

// BenchmarkBlockingPlaylistGet asks for a part that exists: the answer is
// immediate, as it is for every client once the part is out.
func BenchmarkBlockingPlaylistGet(b *testing.B) {
	benchmarkServe(b, "/en/index.m3u8?_HLS_msn=10&_HLS_part=0")
}

// BenchmarkPartGet serves the newest part from memory, in parallel.
func BenchmarkPartGet(b *testing.B) { benchmarkServe(b, "/en/"+testRun+"/part10.1.m4s") }

// BenchmarkPlaylistGetHTTP serves the playlist over loopback HTTP/1.1 with
// keep-alive connections, the client in the same process.
func BenchmarkPlaylistGetHTTP(b *testing.B) {
	m, _ := newTestMuxer(b, Options{})
	defer m.Close()
	writeRange(b, m, "en", 0, audio.Samples(10*1e9))
	srv := httptest.NewServer(m)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	url := srv.URL + "/en/index.m3u8"
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// aacLike has the size of a 64 kb/s AAC-LC frame (1024 samples at 48 kHz).
var aacLike = append([]byte{0x21}, make([]byte, 170)...)

// BenchmarkWriteAAC: one AAC frame into the packager (a part and a playlist
// rebuilt every 9 or 10 frames).
func BenchmarkWriteAAC(b *testing.B) {
	m, _ := newTestMuxer(b, Options{})
	defer m.Close()
	if err := m.EnableAAC(64000); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(aacLike)))
	pts := int64(0)
	for b.Loop() {
		if err := m.WriteAAC("en", pts, aacLike); err != nil {
			b.Fatal(err)
		}
		pts += 1024
	}
}

// BenchmarkMasterGet serves the master playlist with both groups, rendered
// again only when a segment has been measured.
func BenchmarkMasterGet(b *testing.B) {
	m, _ := newTestMuxer(b, Options{})
	defer m.Close()
	if err := m.EnableAAC(64000); err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/master.m3u8", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.h)
		m.ServeHTTP(w, r)
	}
}
