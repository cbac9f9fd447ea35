package sphinx

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// TestPipelineRestartsCrashedAndHungDecoder: a real PocketSphinx stream whose
// decoder dies (an error) or gets stuck (it stops consuming audio while Write
// still queues it) in the middle of the speech. The caption pipeline restarts
// it, the restart is counted, and the sentences after it are captioned. The
// time from the fault to the restart is measured in audio given to the
// pipeline: the clock moves 20 ms with each frame, as on air.
func TestPipelineRestartsCrashedAndHungDecoder(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	x := readWAV48(t, "../../testdata/voice-a.wav")
	x = x[:min(len(x), 10*audio.SampleRate)]
	faultAt := int64(3 * audio.SampleRate) // inside the second sentence
	for _, mode := range []string{"crash", "hang"} {
		t.Run(mode, func(t *testing.T) {
			var faulty atomic.Pointer[Stream]
			var decoded atomic.Int64 // the newest frame any decoder took
			var fed atomic.Int64     // program time just after the audio given to the pipeline
			faultFed := int64(-1)    // fed when the fault struck, set by the decoder goroutine
			var faultOnce atomic.Bool
			hook := func(s *Stream, pts int64) error {
				// The first stream to reach faultAt is the faulty one.
				if pts < faultAt || (!faulty.CompareAndSwap(nil, s) && faulty.Load() != s) {
					decoded.Store(max(decoded.Load(), pts))
					return nil
				}
				if faultOnce.CompareAndSwap(false, true) {
					faultFed = fed.Load()
				}
				if mode == "crash" {
					return errors.New("decoder died")
				}
				// Stuck until the stream is abandoned.
				select {
				case <-s.ctx.Done():
					return s.ctx.Err()
				case <-s.stop:
					return errors.New("abandoned")
				}
			}
			decodeFault.Store(&hook)
			defer decodeFault.Store(nil)

			r := newTestRecognizer(t)
			clk := audiotest.NewClock()
			p := captions.NewPipeline("ev", "en", r, language.AmericanEnglish, nil, nil, clk)
			defer p.Close()
			sub := p.Cues().Read("test", 1000)
			finals := make(chan []captions.Cue, 1)
			go func() {
				var got []captions.Cue
				for c := range sub.C {
					if c.Final && c.Text != "" {
						got = append(got, c)
					}
				}
				finals <- got
			}()

			restartAt := int64(-1)
			for pts := int64(0); pts+audio.FrameSamples <= int64(len(x)); pts += audio.FrameSamples {
				before := p.Stats()
				fed.Store(pts + audio.FrameSamples)
				p.Write(audio.Frame{PTS: pts, Samples: append([]float32(nil), x[pts:pts+audio.FrameSamples]...)})
				clk.Advance(audio.FrameDuration)
				deadline := time.Now().Add(15 * time.Second)
				for {
					s := p.Stats()
					taken := s.Frames+s.Lost+s.Dropped > before.Frames+before.Lost+before.Dropped
					// Keep the decoder within 200 ms of the audio while it
					// works, so only the fault can look like a hang.
					working := faulty.Load() == nil || s.Restarts > 0
					if taken && (!working || decoded.Load() >= pts-10*audio.FrameSamples || s.Restarts > before.Restarts) {
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("frame at %d ms not taken: %+v", pts/48, s)
					}
					time.Sleep(time.Millisecond)
				}
				if restartAt < 0 && p.Stats().Restarts > 0 {
					restartAt = pts + audio.FrameSamples
				}
				if faultOnce.Load() && restartAt < 0 {
					// Between the fault and the restart, audio comes in real
					// time, as on air: the old decoder's teardown costs audio.
					time.Sleep(audio.FrameDuration)
				}
			}
			p.Close()
			got := <-finals
			s := p.Stats()
			faultAt := faultFed // from here on: where the pipeline was when the fault struck
			var after []string
			for _, c := range got {
				// Heard after the restart: a cue may begin in the audio the
				// new stream was given again from before it.
				if c.End > restartAt {
					after = append(after, c.Text)
				}
			}
			t.Logf("%s with %d ms of audio given: restarted after %d ms more audio; %d restarts, %d hangs, %d errors (%s); %d frames lost; captions after the restart: %q",
				mode, faultAt/48, (restartAt-faultAt)/48, s.Restarts, s.Hangs, s.Errors, s.LastError, s.Lost, after)
			if restartAt < 0 || s.Restarts != 1 || s.Errors != 1 {
				t.Fatalf("stats %+v, restart at %d", s, restartAt)
			}
			if mode == "hang" && (s.Hangs != 1 || !strings.Contains(s.LastError, "no progress")) {
				t.Fatalf("hang: stats %+v", s)
			}
			if mode == "crash" && !strings.Contains(s.LastError, "decoder died") {
				t.Fatalf("crash: stats %+v", s)
			}
			if d := restartAt - faultAt; d > audio.SampleRate {
				t.Errorf("restart %d ms of audio after the fault, want a second at most", d/48)
			}
			if len(strings.Fields(strings.Join(after, " "))) < 5 {
				t.Errorf("captions after the restart: %q", after)
			}
		})
	}
}
