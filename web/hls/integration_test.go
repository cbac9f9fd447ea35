package hls

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
)

// requireTool returns the path of an external program. It skips the test
// when the program is missing on a developer machine and fails it in CI.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required in CI: %v", name, err)
	}
	t.Skipf("%s not installed: %v", name, err)
	return ""
}

// writeTone encodes a sine of freq Hz with libopus and writes d of it to
// rendition id, one 20 ms packet at a time.
func writeTone(m *Muxer, id string, freq float64, d time.Duration) error {
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		return err
	}
	if err := enc.SetBitrate(32000); err != nil {
		return err
	}
	buf := make([]byte, 1500)
	for pts := int64(0); pts < audio.Samples(d); pts += audio.FrameSamples {
		pcm := audiotest.Tone(freq, 0.5, int(pts), audio.FrameSamples)
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		if err := m.WriteOpus(id, pts, buf[:n]); err != nil {
			return err
		}
	}
	return nil
}

// goertzelPower is the power of pcm at freq Hz.
func goertzelPower(pcm []float64, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/audio.SampleRate)
	var s1, s2 float64
	for _, x := range pcm {
		s1, s2 = x+coeff*s1-s2, s1
	}
	return s1*s1 + s2*s2 - coeff*s1*s2
}

// dominantFrequency scans 100 Hz to 2 kHz in 5 Hz steps.
func dominantFrequency(pcm []float64) float64 {
	best, bestPower := 0.0, -1.0
	for f := 100.0; f <= 2000; f += 5 {
		if p := goertzelPower(pcm, f); p > bestPower {
			best, bestPower = f, p
		}
	}
	return best
}

func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

func TestFFmpegPlaysRenditions(t *testing.T) {
	ffprobe := requireTool(t, "ffprobe")
	ffmpeg := requireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	renditions := []AudioRendition{
		{ID: "en", Name: "English", Language: "en", Default: true, Bitrate: 32000},
		{ID: "fr", Name: "Français", Language: "fr", Translation: true, Bitrate: 32000},
	}
	tones := map[string]float64{"en": 440, "fr": 880}
	m, err := New(Options{PartDuration: 200 * time.Millisecond, SegmentDuration: 2 * time.Second, Window: 6}, renditions)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	defer m.Close()

	var wg sync.WaitGroup
	errs := make(chan error, len(tones))
	for id, freq := range tones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- writeTone(m, id, freq, 6100*time.Millisecond)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	// (1) ffprobe lists both renditions with their languages, live.
	out, err := run(ctx, ffprobe, "-v", "error", "-show_streams", "-of", "json", srv.URL+"/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var probe struct {
		Streams []struct {
			CodecType  string            `json:"codec_type"`
			CodecName  string            `json:"codec_name"`
			SampleRate string            `json:"sample_rate"`
			Channels   int               `json:"channels"`
			Tags       map[string]string `json:"tags"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	langs := map[string]int{}
	for _, s := range probe.Streams {
		if s.CodecType != "audio" || s.CodecName != "opus" || s.SampleRate != "48000" || s.Channels != 1 {
			t.Errorf("stream %+v", s)
		}
		langs[s.Tags["language"]]++
	}
	if len(probe.Streams) != 2 || langs["en"] != 1 || langs["fr"] != 1 {
		t.Fatalf("ffprobe streams by language %v, want en and fr once each\n%s", langs, out)
	}

	// (3) After Close every playlist is final.
	m.Close()
	for id := range tones {
		resp, err := http.Get(srv.URL + "/" + id + "/index.m3u8")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if l := parseMedia(t, body); !l.ended || len(l.segs) != 4 {
			t.Errorf("%s after close: ended %v, %d segments\n%s", id, l.ended, len(l.segs), body)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	// (2) ffmpeg decodes each rendition to the tone it was given.
	for id, freq := range tones {
		raw, err := run(ctx, ffmpeg, "-v", "error", "-i", srv.URL+"/"+id+"/index.m3u8", "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]float64, len(raw)/2)
		for i := range pcm {
			pcm[i] = float64(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
		}
		got := audio.Duration(int64(len(pcm)))
		if got < 6*time.Second || got > 6200*time.Millisecond {
			t.Errorf("%s: decoded %v, want about 6.1 s", id, got)
		}
		if len(pcm) < 5*audio.SampleRate {
			t.Fatalf("%s: only %d samples", id, len(pcm))
		}
		mid := pcm[2*audio.SampleRate : 5*audio.SampleRate] // across segment boundaries
		var rms float64
		for _, x := range mid {
			rms += x * x
		}
		rms = math.Sqrt(rms / float64(len(mid)))
		dom := dominantFrequency(mid)
		t.Logf("%s: %v decoded, dominant %.0f Hz, rms %.2f", id, got, dom, rms)
		if math.Abs(dom-freq) > 5 || rms < 0.2 {
			t.Errorf("%s: dominant %.0f Hz at rms %.2f, want %.0f Hz near 0.35", id, dom, rms, freq)
		}
	}
}
