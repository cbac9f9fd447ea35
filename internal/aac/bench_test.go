package aac

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// nullSink counts frames.
type nullSink struct{}

func (nullSink) WriteAAC(string, int64, []byte) error { return nil }

// benchSeconds of the speech fixture are fed to every language.
const benchSeconds = 20

func speech(b *testing.B) []float32 {
	b.Helper()
	audiotest.NeedTool(b, "ffmpeg")
	pcm, err := audiotest.Decode(context.Background(), "../../testdata/floor.wav")
	if err != nil {
		b.Fatal(err)
	}
	return pcm
}

// benchEncode feeds benchSeconds of speech to langs languages through
// procs encoders (all languages in one process, or one process each),
// paced at real time as the mixes tick or as fast as the pipes take it, and
// reports the encoders' CPU time per second of audio per language.
func benchEncode(b *testing.B, langs, procs int, paced bool) {
	pcm := speech(b)
	for range b.N {
		var encs []*Encoder
		var ids [][]string
		per := langs / procs
		for p := range procs {
			var ps []string
			for l := range per {
				ps = append(ps, fmt.Sprintf("l%d", p*per+l))
			}
			e, err := New(Options{IDs: ps, Sink: nullSink{}})
			if err != nil {
				b.Fatal(err)
			}
			for !e.Running() {
				time.Sleep(time.Millisecond)
			}
			encs, ids = append(encs, e), append(ids, ps)
		}
		frames := benchSeconds * 50
		var wg sync.WaitGroup
		for p, e := range encs {
			for _, id := range ids[p] {
				wg.Add(1)
				go func() {
					defer wg.Done()
					write := func(i int) bool {
						pts := int64(i * audio.FrameSamples)
						off := int(pts) % (len(pcm) - audio.FrameSamples)
						return e.Write(id, pts, pcm[off:off+audio.FrameSamples]) == nil
					}
					if paced {
						audiotest.Paced(context.Background(), frames, write)
						return
					}
					for i := range frames {
						write(i)
					}
				}()
			}
		}
		wg.Wait()
		var cpu time.Duration
		var out int64
		for _, e := range encs {
			e.Close()
			s := e.Stats()
			cpu += s.CPU
			out += s.Frames
		}
		if want := int64(langs * benchSeconds * audio.SampleRate / FrameSamples); out < want*98/100 {
			b.Fatalf("%d frames out of %d", out, want)
		}
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(langs*benchSeconds), "ms-cpu/s/lang")
		b.ReportMetric(float64(cpu.Microseconds())/1e4/float64(benchSeconds), "%core")
	}
}

// BenchmarkEncode12: 12 languages of speech at real time, one process.
func BenchmarkEncode12(b *testing.B) { benchEncode(b, 12, 1, true) }

// BenchmarkEncode12Processes: the same in 12 processes of one language.
func BenchmarkEncode12Processes(b *testing.B) { benchEncode(b, 12, 12, true) }

// BenchmarkEncode12Unpaced: 12 languages as fast as the process encodes:
// the encoder's own cost, without the wake-ups of a real-time feed.
func BenchmarkEncode12Unpaced(b *testing.B) { benchEncode(b, 12, 1, false) }

// BenchmarkEncode1: one language at real time.
func BenchmarkEncode1(b *testing.B) { benchEncode(b, 1, 1, true) }
