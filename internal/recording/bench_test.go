package recording

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
)

// speechPackets encodes the speech fixture as a mix does (64 kb/s,
// complexity 8): the packets a language's recording takes.
func speechPackets(b *testing.B) []media.Unit {
	b.Helper()
	audiotest.NeedTool(b, "ffmpeg")
	pcm, err := audiotest.Decode(context.Background(), "../../testdata/floor.wav")
	if err != nil {
		b.Fatal(err)
	}
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		b.Fatal(err)
	}
	_ = enc.SetBitrate(64000)
	_ = enc.SetComplexity(8)
	buf := make([]byte, 4000)
	var out []media.Unit
	for k := 0; (k+1)*audio.FrameSamples <= len(pcm); k++ {
		n, err := enc.EncodeFloat32(pcm[k*audio.FrameSamples:(k+1)*audio.FrameSamples], buf)
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, media.Unit{PTS: int64(k) * audio.FrameSamples, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)})
	}
	return out
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func langs(n int) []Lang {
	out := make([]Lang, n)
	for i := range out {
		out[i] = Lang{Tag: fmt.Sprintf("x-l%02d", i), Name: fmt.Sprintf("Language %d", i)}
	}
	out[0].Tag = "en"
	return out
}

// BenchmarkRecorder12: the cost of recording 12 languages, per 20 ms packet
// of one language: WritePacket from each language's reader, the cut into
// fragments, their encoding and the write to a file on disk with a sync
// every second, all of it (the disk goroutine's work included, measured as
// the process's CPU time).
func BenchmarkRecorder12(b *testing.B) {
	pkts := speechPackets(b)
	ls := langs(12)
	lib := NewLibrary(b.TempDir())
	r, err := New(Options{Library: lib, Event: "bench", Audio: ls, Captions: ls[:1], Epoch: fixed(testEpoch), Log: quiet,
		Queue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	for k := range b.N {
		u := pkts[k%len(pkts)]
		u.PTS = int64(k) * audio.FrameSamples
		for _, l := range ls {
			r.WritePacket(l.Tag, u)
		}
		if k%250 == 0 {
			r.WriteCue("en", media.Cue{Lang: "en", Start: u.PTS, End: u.PTS + 2*sec, Text: "A cue of some length, as said", Final: true})
		}
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	used := cpuTime() - cpu
	b.StopTimer()
	perPacket := used.Seconds() / float64(b.N*len(ls))
	b.ReportMetric(perPacket*1e6, "µs-cpu/packet")
	b.ReportMetric(perPacket*float64(len(ls))/audio.FrameDuration.Seconds(), "cores-for-12")
	if st := r.Status(); st.Dropped != 0 {
		b.Errorf("dropped %d", st.Dropped)
	}
}

// BenchmarkDiskPerHour records the speech fixture, encoded as the mixes
// encode it, for one language and reports the file's growth per hour.
func BenchmarkDiskPerHour(b *testing.B) {
	pkts := speechPackets(b)
	for _, c := range []struct {
		name     string
		langs    int
		captions int
	}{{"1-language", 1, 0}, {"12-languages-12-captions", 12, 12}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				ls := langs(c.langs)
				lib := NewLibrary(b.TempDir())
				r, err := New(Options{Library: lib, Event: "bench", Audio: ls, Captions: ls[:c.captions], Epoch: fixed(testEpoch),
					Log: quiet, Queue: 1 << 16})
				if err != nil {
					b.Fatal(err)
				}
				// Ten minutes: the speech looped, a cue every 3 s per
				// captioned language, as a recognizer settles them.
				const frames = 10 * 60 * 50
				for k := range frames {
					u := pkts[k%len(pkts)]
					u.PTS = int64(k) * audio.FrameSamples
					for _, l := range ls {
						r.WritePacket(l.Tag, u)
					}
					if k%150 == 0 {
						for _, l := range ls[:c.captions] {
							r.WriteCue(l.Tag, media.Cue{Lang: l.Tag, Start: u.PTS, End: u.PTS + 5*sec/2,
								Text: "Nous passons maintenant au point suivant de l'ordre du jour", Final: true})
						}
					}
				}
				if err := r.Close(); err != nil {
					b.Fatal(err)
				}
				fi, err := os.Stat(filepath.Join(lib.Root(), "bench", r.Status().Run+Ext))
				if err != nil {
					b.Fatal(err)
				}
				perHour := float64(fi.Size()) * 6
				b.ReportMetric(perHour/1e6, "MB/hour")
				b.ReportMetric(perHour/1e6/float64(c.langs), "MB/hour/language")
			}
		})
	}
}

// BenchmarkOpenAndRead: what the VOD packager pays on a run of 12
// languages: opening (indexing) ten minutes of it, and reading one
// language's packets for a 2 s segment.
func BenchmarkOpenAndRead(b *testing.B) {
	pkts := speechPackets(b)
	ls := langs(12)
	lib := NewLibrary(b.TempDir())
	r, err := New(Options{Library: lib, Event: "bench", Audio: ls, Epoch: fixed(testEpoch), Log: quiet, Queue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	const frames = 10 * 60 * 50
	for k := range frames {
		u := pkts[k%len(pkts)]
		u.PTS = int64(k) * audio.FrameSamples
		for _, l := range ls {
			r.WritePacket(l.Tag, u)
		}
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(lib.Root(), "bench", r.Status().Run+Ext)
	b.Run("open-10min", func(b *testing.B) {
		for range b.N {
			rd, err := OpenFile(path)
			if err != nil {
				b.Fatal(err)
			}
			rd.Close()
		}
	})
	b.Run("segment-2s", func(b *testing.B) {
		rd, err := OpenFile(path)
		if err != nil {
			b.Fatal(err)
		}
		defer rd.Close()
		b.ReportAllocs()
		b.ResetTimer()
		for k := range b.N {
			from := int64(k%290) * 2 * sec
			ps, err := rd.Packets(5, from, from+2*sec)
			if err != nil || len(ps) != 100 {
				b.Fatalf("%d packets, %v", len(ps), err)
			}
		}
	})
	b.Run("recover-10min", func(b *testing.B) {
		data, err := os.ReadFile(path)
		if err != nil {
			b.Fatal(err)
		}
		data = data[:len(data)-len(mfraOf(b, path))-100] // killed mid-fragment
		for range b.N {
			b.StopTimer()
			dir := filepath.Join(b.TempDir(), "bench")
			_ = os.MkdirAll(dir, 0o750)
			p := filepath.Join(dir, "20261103T090000Z.mp4")
			if err := os.WriteFile(p, data, 0o640); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if _, err := recoverFile(p); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkRecorderVideo: the cost of recording the program's video, per
// 720p30 frame (testsrc2 by libx264), beside one language: WriteVideo, the
// frame's place in its fragment, the fragment's encoding and its write with
// a sync a second (the process's CPU time, as for BenchmarkRecorder12; the
// language's 5/3 packets a frame are in it, about 2 µs).
func BenchmarkRecorderVideo(b *testing.B) {
	units := clip(b, 4)
	pkts := speechPackets(b)
	lib := NewLibrary(b.TempDir())
	r, err := New(Options{Library: lib, Event: "bench", Audio: langs(1), Video: true, Epoch: fixed(testEpoch), Log: quiet,
		Queue: 1 << 16})
	if err != nil {
		b.Fatal(err)
	}
	lap := units[len(units)-1].DTS + units[1].DTS - units[0].DTS
	b.ReportAllocs()
	b.ResetTimer()
	cpu := cpuTime()
	k := 0
	bytes := 0
	for i := range b.N {
		u := units[i%len(units)]
		off := int64(i/len(units)) * lap
		u.DTS += off
		u.PTS += off
		r.WriteVideo(u)
		bytes += len(u.Payload)
		for ; int64(k)*audio.FrameSamples <= u.DTS; k++ {
			p := pkts[k%len(pkts)]
			p.PTS = int64(k) * audio.FrameSamples
			r.WritePacket("en", p)
		}
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	used := cpuTime() - cpu
	b.StopTimer()
	b.ReportMetric(used.Seconds()/float64(b.N)*1e6, "µs-cpu/frame")
	b.ReportMetric(float64(bytes)/float64(b.N)*8*30/1e6, "Mb/s-at-30fps")
	if st := r.Status(); st.Dropped != 0 {
		b.Errorf("dropped %d", st.Dropped)
	}
}
