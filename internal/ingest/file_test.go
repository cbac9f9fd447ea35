package ingest

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// A paced file source emits frame n only once the clock has advanced n frames.
func TestFilePacing(t *testing.T) {
	defer goleak.VerifyNone(t)
	needFFmpeg(t)
	path := makeTone(t, "tone.wav", 440, 44100, time.Second, "-ac", "2")

	clock := audiotest.NewClock()
	rec := &recorder{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- NewFile(path, false, clock).Run(ctx, rec) }()

	// waiting reports that the source is parked on its pacing timer.
	waiting := func() bool { return clock.Pending() == 1 }
	eventually(t, 10*time.Second, "first frame", func() bool { return rec.count() == 1 && waiting() })
	// Half a frame of clock time releases nothing.
	clock.Advance(audio.FrameDuration / 2)
	if !waiting() || rec.count() != 1 {
		t.Fatalf("after half a frame: %d frames, pending timers %d; want 1 and 1", rec.count(), clock.Pending())
	}
	clock.Advance(audio.FrameDuration / 2)
	var err error
	for step := 2; ; step++ {
		finished := false
		eventually(t, 10*time.Second, "next frame", func() bool {
			select {
			case err = <-done:
				finished = true
				return true
			default:
				return waiting()
			}
		})
		if finished {
			break
		}
		if got := rec.count(); got != step {
			t.Fatalf("after %d frame periods: %d frames out, want %d", step-1, got, step)
		}
		clock.Advance(audio.FrameDuration)
	}
	if !errors.Is(err, ErrEnded) {
		t.Fatalf("Run = %v, want ErrEnded", err)
	}
	// 1 s of audio resampled from 44.1 kHz is 50 frames (the resampler may
	// round up into one more).
	if n := rec.count(); n < 50 || n > 51 {
		t.Fatalf("%d frames for 1 s of audio, want 50", n)
	}
	if rec.bad != 0 {
		t.Fatalf("%d frames of the wrong size", rec.bad)
	}
}

// The decoded floor has the file's duration and level, whatever its format.
func TestFileLevelAndDuration(t *testing.T) {
	defer goleak.VerifyNone(t)
	needFFmpeg(t)
	demo := filepath.Join(t.TempDir(), "demo.ogg")
	if err := os.WriteFile(demo, DemoClip(), 0o644); err != nil {
		t.Fatal(err)
	}
	floor := filepath.Join("..", "..", "testdata", "floor.wav")
	cases := []struct {
		name, path string
		// refLevel is the file whose level the decoded audio must match.
		refLevel string
		tolDB    float64
	}{
		{"stereo-44k1-wav", makeTone(t, "tone.wav", 440, 44100, 1500*time.Millisecond, "-ac", "2"), "", 0.1},
		{"floor-16k-wav", floor, "", 0.1},
		// The demo clip is the floor through Opus at 32 kb/s.
		{"demo-ogg-opus", demo, floor, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clock := audiotest.NewClock()
			stop := make(chan struct{})
			driven := make(chan struct{})
			go func() { defer close(driven); drive(clock, stop) }()
			defer func() { close(stop); <-driven }()

			rec := &recorder{keepAll: true}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			err := NewFile(tc.path, false, clock).Run(ctx, rec)
			if !errors.Is(err, ErrEnded) {
				t.Fatalf("Run = %v, want ErrEnded", err)
			}
			got := rec.all()
			gotDur := audio.Duration(int64(len(got)))
			wantDur := probeDuration(t, tc.path)
			// At most one padded frame plus resampler rounding.
			if diff := gotDur - wantDur; diff < -5*time.Millisecond || diff > audio.FrameDuration+5*time.Millisecond {
				t.Errorf("decoded %v, file is %v", gotDur, wantDur)
			}
			ref := tc.refLevel
			if ref == "" {
				ref = tc.path
			}
			wantDB := meanVolume(t, ref)
			gotDB := dB(audio.RMS(got))
			if math.Abs(gotDB-wantDB) > tc.tolDB+0.05 { // volumedetect rounds to 0.1 dB
				t.Errorf("decoded level %.2f dBFS, file %.2f dBFS", gotDB, wantDB)
			}
			t.Logf("%s: %v (file %v), %.2f dBFS (file %.1f)", tc.name, gotDur, wantDur, gotDB, wantDB)
		})
	}
}

// A looped file keeps going past its end with no gap or dip at the seam.
func TestFileLoop(t *testing.T) {
	defer goleak.VerifyNone(t)
	needFFmpeg(t)
	// 1 kHz for exactly 1 s is a whole number of cycles, so a gapless loop is
	// one unbroken sine.
	path := makeTone(t, "tone.wav", 1000, 48000, time.Second)
	clock := audiotest.NewClock()
	stop := make(chan struct{})
	driven := make(chan struct{})
	go func() { defer close(driven); drive(clock, stop) }()
	defer func() { close(stop); <-driven }()

	const want = 175 // 3.5 loops
	rec := &recorder{ch: make(chan []float32, want)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- NewFile(path, true, clock).Run(ctx, rec) }()

	var frames [][]float32
	for len(frames) < want {
		select {
		case f := <-rec.ch:
			frames = append(frames, f)
		case err := <-done:
			t.Fatalf("looping source returned after %d frames: %v", len(frames), err)
		case <-ctx.Done():
			t.Fatalf("only %d frames before the timeout", len(frames))
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run after cancel = %v, want context.Canceled", err)
	}
	amp := 0.125 // ffmpeg's sine source peaks at 1/8
	worst := math.Inf(1)
	for i, f := range frames {
		a := goertzel(f, 1000)
		worst = math.Min(worst, dB(a))
		if math.Abs(dB(a/amp)) > 0.1 {
			t.Fatalf("frame %d (%.2f s): 1 kHz at %.2f dB re. the file, want 0 (a gap or seam)", i, float64(i)/50, dB(a/amp))
		}
	}
	t.Logf("%d frames over 3 loop seams, weakest 1 kHz frame %.3f dBFS peak", len(frames), worst)
}

func TestFileErrors(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.wav")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not audio at all ", 64)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	err := NewFile(filepath.Join(dir, "missing.wav"), true, audio.SystemClock{}).Run(ctx, &recorder{})
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "missing.wav") {
		t.Errorf("missing file: %v", err)
	}
	err = NewFile(dir, true, audio.SystemClock{}).Run(ctx, &recorder{})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: %v", err)
	}

	needFFmpeg(t)
	rec := &recorder{}
	err = NewFile(garbage, true, audio.SystemClock{}).Run(ctx, rec)
	var pe *ProcessError
	if !errors.As(err, &pe) || pe.Stderr == "" {
		t.Fatalf("garbage file: %v, want a ProcessError with ffmpeg's message", err)
	}
	if rec.count() != 0 {
		t.Errorf("garbage file produced %d frames", rec.count())
	}
	t.Logf("garbage file: %v", err)
}

// Cancelling a playing file kills ffmpeg and returns promptly.
func TestFileCancel(t *testing.T) {
	defer goleak.VerifyNone(t)
	needFFmpeg(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	rec := &recorder{}
	done := make(chan error, 1)
	go func() {
		done <- NewFile(filepath.Join("..", "..", "testdata", "floor.wav"), true, audio.SystemClock{}).Run(runCtx, rec)
	}()
	eventually(t, 10*time.Second, "frames", func() bool { return rec.count() >= 5 })
	stop()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("Run did not return after cancel")
	}
}
