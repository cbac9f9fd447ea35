package replay

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/recording"
)

// fastClock runs a Player as fast as it can: a timer fires as soon as it
// is set, moving the clock on by its duration, so the program's time
// passes with no waiting and what is measured is the Player's work.
type fastClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fastClock) NewTimer(time.Duration) audio.Timer {
	return &fastTimer{c: c, ch: make(chan time.Time, 1)}
}

type fastTimer struct {
	c  *fastClock
	ch chan time.Time
}

func (t *fastTimer) C() <-chan time.Time { return t.ch }

func (t *fastTimer) Stop() bool {
	select {
	case <-t.ch:
	default:
	}
	return false
}

func (t *fastTimer) Reset(d time.Duration) bool {
	t.c.mu.Lock()
	t.c.now = t.c.now.Add(d)
	now := t.c.now
	t.c.mu.Unlock()
	select {
	case t.ch <- now:
	default:
	}
	return false
}

// benchRun records a run of langs languages (speech-sized Opus packets of
// a tone, 64 kb/s) of d, captioned languages with a cue every 3 s.
func benchRun(b *testing.B, langs, captioned int, d time.Duration) *recording.Reader {
	b.Helper()
	lib := recording.NewLibrary(b.TempDir())
	var ls []recording.Lang
	for i := range langs {
		ls = append(ls, recording.Lang{Tag: fmt.Sprintf("x%02d", i)})
	}
	rec, err := recording.New(recording.Options{Library: lib, Event: "bench", Audio: ls, Captions: ls[:captioned],
		Epoch: func() (time.Time, bool) { return time.Unix(1e9, 0), true }, SyncEvery: -1, Log: quiet})
	if err != nil {
		b.Fatal(err)
	}
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		b.Fatal(err)
	}
	if err := enc.SetBitrate(64000); err != nil {
		b.Fatal(err)
	}
	for _, l := range ls[:captioned] {
		for t := int64(0); t < audio.Samples(d); t += 3 * sec {
			rec.WriteCue(l.Tag, media.Cue{Lang: l.Tag, Start: t, End: t + 2*sec, Text: "a caption of two lines,\nas subtitlers write them", Final: true})
		}
	}
	buf := make([]byte, 1500)
	for pts := int64(0); pts < audio.Samples(d); pts += audio.FrameSamples {
		n, err := enc.EncodeFloat32(audiotest.Tone(440, 0.4, int(pts), audio.FrameSamples), buf)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range ls {
			rec.WritePacket(l.Tag, media.Unit{PTS: pts, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)})
		}
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	runs, err := lib.Runs("bench")
	if err != nil || len(runs) != 1 {
		b.Fatalf("runs %v %v", runs, err)
	}
	rd, err := lib.Open("bench", runs[0].ID)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rd.Close() })
	return rd
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPlayer plays b.N seconds of program (a 20 s run, looped) with
// one reader draining each track, as an output would, and reports the
// process's CPU time per second of program per language: the clock, the
// reads of the run a second ahead (one per fragment and track, from the
// page cache), the cues, the writes to the tracks and the readers. The
// fast cases run the clock as fast as they can; realtime paces it on the
// wall clock, its 50 wake-ups a second included (b.N seconds take b.N
// seconds).
func BenchmarkPlayer(b *testing.B) {
	for _, c := range []struct {
		langs, captioned int
		realtime         bool
	}{{1, 0, false}, {12, 0, false}, {12, 12, false}, {1, 0, true}, {12, 12, true}} {
		name := fmt.Sprintf("languages-%d-captioned-%d", c.langs, c.captioned)
		if c.realtime {
			name += "-realtime"
		}
		b.Run(name, func(b *testing.B) {
			rd := benchRun(b, c.langs, c.captioned, 20*time.Second)
			ticks := int64(b.N) * 50
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var n int64
			var clock audio.Clock = &fastClock{now: time.Unix(2e9, 0)}
			if c.realtime {
				clock = audio.SystemClock{}
			}
			p, err := New(Options{Run: rd, Clock: clock, Timeline: media.NewTimeline(),
				Loop: true, Log: quiet, OnTick: func(int64) {
					if n++; n == ticks {
						cancel()
					}
				}})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			drain := func(c <-chan media.Unit) {
				defer wg.Done()
				for range c {
				}
			}
			for _, l := range p.Languages() {
				t, _ := p.Packets(l.Lang)
				wg.Add(1)
				go drain(t.Read("output", 64).C)
			}
			for _, l := range p.Captions() {
				t, _ := p.Cues(l.Lang)
				r := t.Read("output", 64)
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range r.C {
					}
				}()
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			_ = p.Play(ctx)
			wg.Wait()
			cpu := cpuTime() - cpu0
			b.StopTimer()
			perLang := float64(cpu.Microseconds()) / float64(b.N) / float64(c.langs)
			b.ReportMetric(perLang, "cpu-µs/s/lang")
			b.ReportMetric(perLang/1e4, "%core/lang")
			if st := p.Stats(); st.ReadErrors != 0 || st.Filled != 0 {
				b.Fatalf("stats %+v", st)
			}
		})
	}
}
