package hls

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"

	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// benchClip is a real 720p30 clip (libx264, key frames every 2 s, about
// 7 Mb/s for testsrc2 at ultrafast) for the video benchmarks.
func benchClip(b *testing.B) []media.Unit {
	b.Helper()
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		b.Skip("ffmpeg not installed")
	}
	units, err := videotest.Clip(b.Context(), videotest.Options{Seconds: 4, FPS: 30, GOP: 60})
	if err != nil {
		b.Fatal(err)
	}
	return units
}

// BenchmarkWriteVideo: one 720p30 frame into the packager (a part every 6
// frames, a segment every 60), the clip looped on the program timeline.
func BenchmarkWriteVideo(b *testing.B) {
	units := benchClip(b)
	m, _ := newTestMuxer(b, Options{SegmentDuration: 2e9})
	defer m.Close()
	length := units[len(units)-1].DTS + (units[1].DTS - units[0].DTS)
	var bytes int64
	for _, u := range units {
		bytes += int64(len(u.Payload))
	}
	b.SetBytes(bytes / int64(len(units)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		u := units[i%len(units)]
		off := int64(i/len(units)) * length
		u.DTS += off
		u.PTS += off
		if err := m.WriteVideo(u); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// benchmarkVideoServe serves target of the video rendition from memory, in
// parallel, as the viewers' requests are served.
func benchmarkVideoServe(b *testing.B, target func(m *Muxer) string) {
	units := benchClip(b)
	m, _ := newTestMuxer(b, Options{SegmentDuration: 2e9})
	defer m.Close()
	for _, u := range units {
		if err := m.WriteVideo(u); err != nil {
			b.Fatal(err)
		}
	}
	r := httptest.NewRequest(http.MethodGet, target(m), nil)
	if w := httptest.NewRecorder(); func() int { m.ServeHTTP(w, r); return w.Code }() != 200 {
		b.Fatalf("%s is not served", r.URL)
	}
	b.ReportAllocs()
	b.ResetTimer() // the clip was encoded and packaged above
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		for pb.Next() {
			clear(w.h)
			m.ServeHTTP(w, r)
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkVideoPlaylistGet serves the live video playlist.
func BenchmarkVideoPlaylistGet(b *testing.B) {
	benchmarkVideoServe(b, func(*Muxer) string { return "/video/index.m3u8" })
}

// BenchmarkVideoBlockingPlaylistGet asks for a part that exists.
func BenchmarkVideoBlockingPlaylistGet(b *testing.B) {
	benchmarkVideoServe(b, func(*Muxer) string { return "/video/index.m3u8?_HLS_msn=1&_HLS_part=0" })
}

// BenchmarkVideoPartGet serves the newest part (≈ 200 ms of picture).
func BenchmarkVideoPartGet(b *testing.B) {
	benchmarkVideoServe(b, func(m *Muxer) string {
		return "/video/" + testRun + "/part" + strconv.FormatInt(m.video.snap.Load().lastPart, 10) + ".m4s"
	})
}

// BenchmarkVideoSegmentGet serves a complete 2 s segment.
func BenchmarkVideoSegmentGet(b *testing.B) {
	benchmarkVideoServe(b, func(*Muxer) string { return "/video/" + testRun + "/seg0.m4s" })
}

// BenchmarkVideoPartGetHTTP serves video parts over loopback HTTP/1.1 with
// keep-alive connections, the client in the same process: what one
// viewer's picture costs the origin, in bytes as much as in requests.
func BenchmarkVideoPartGetHTTP(b *testing.B) {
	units := benchClip(b)
	m, _ := newTestMuxer(b, Options{SegmentDuration: 2e9})
	defer m.Close()
	for _, u := range units {
		if err := m.WriteVideo(u); err != nil {
			b.Fatal(err)
		}
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	last := m.video.snap.Load().lastPart
	var size int64
	for n := int64(0); n <= last; n++ {
		size += int64(len(m.video.snap.Load().partBySeq(n).data))
	}
	b.SetBytes(size / (last + 1))
	b.ReportAllocs()
	b.ResetTimer()
	b.SetParallelism(4)
	var seq atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1) % (last + 1)
			resp, err := client.Get(srv.URL + "/video/" + testRun + "/part" + strconv.FormatInt(n, 10) + ".m4s")
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
