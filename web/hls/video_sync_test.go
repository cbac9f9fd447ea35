package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media/videotest"
)

// TestVideoLinesUpWithAudio: a flash-and-beep clip's pictures (with
// B-frames) are packaged beside a beep written at each flash's program
// time; ffmpeg, reading the video rendition and the audio rendition from
// the HLS tree, finds every flash where its beep starts, to within a frame.
func TestVideoLinesUpWithAudio(t *testing.T) {
	requireTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	src := filepath.Join(dir, "flash.mp4")
	if err := videotest.FlashBeep(ctx, src, 6, 30, 2); err != nil {
		t.Fatal(err)
	}
	ts, err := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-i", src, "-map", "0:v", "-c", "copy", "-f", "mpegts", "pipe:1").Output()
	if err != nil {
		t.Fatal(err)
	}
	units, err := videotest.Read(bytes.NewReader(ts))
	if err != nil {
		t.Fatal(err)
	}
	units = shift(units, sec(0.5))
	flashes, err := videotest.Flashes(ctx, units)
	if err != nil || len(flashes) < 4 {
		t.Fatalf("flashes %v: %v", flashes, err)
	}
	// Each flash is one picture: keep the first of a run.
	var at []int64
	for _, f := range flashes {
		if len(at) == 0 || f-at[len(at)-1] > sec(0.5) {
			at = append(at, f)
		}
	}
	renditions := []AudioRendition{{ID: "en", Name: "English", Language: "en", Default: true, Bitrate: 64000}}
	m, err := New(Options{PartDuration: 200 * time.Millisecond, SegmentDuration: 2 * time.Second, Window: 10}, renditions)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(m)
	defer srv.Close()
	defer http.DefaultClient.CloseIdleConnections()
	enc := newOpusEncoder(t)
	buf := make([]byte, 1500)
	end := units[len(units)-1].PTS + sec(0.5)
	for pts := int64(0); pts < end; pts += audio.FrameSamples {
		pcm := make([]float32, audio.FrameSamples)
		for i := range pcm {
			for _, f := range at {
				if d := pts + int64(i) - f; d >= 0 && d < sec(0.1) {
					pcm[i] = float32(0.5 * math.Sin(2*math.Pi*1000*float64(d)/audio.SampleRate))
				}
			}
		}
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		if err := m.WriteOpus("en", pts, buf[:n]); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range units {
		if err := m.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	m.Close()

	// The pictures as ffmpeg reads them from the video rendition: their
	// times are the fragments' decode times plus composition offsets.
	out, err := run(ctx, "ffprobe", "-v", "error", "-f", "lavfi", "movie='"+strings.ReplaceAll(srv.URL+"/video/index.m3u8", ":", `\:`)+"',signalstats",
		"-show_entries", "frame=pts_time:frame_tags=lavfi.signalstats.YAVG", "-of", "json")
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Frames []struct {
			PTS  string            `json:"pts_time"`
			Tags map[string]string `json:"tags"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	var seen []float64
	for _, f := range res.Frames {
		y, _ := strconv.ParseFloat(f.Tags["lavfi.signalstats.YAVG"], 64)
		pt, err := strconv.ParseFloat(f.PTS, 64)
		if err != nil || y < 128 {
			continue
		}
		if len(seen) == 0 || pt-seen[len(seen)-1] > 0.5 {
			seen = append(seen, pt)
		}
	}
	pcm := decodePlaylist(t, ctx, srv.URL+"/en/index.m3u8")
	var beeps []float64
	for from := 0; from < len(pcm); {
		i := onsetOf(pcm[from:])
		if i < 0 {
			break
		}
		beeps = append(beeps, float64(from+i)/audio.SampleRate)
		from += i + int(sec(0.5))
	}
	t.Logf("flashes written at %v s; read from the video rendition at %v s; beeps decoded at %v s", seconds(at), seen, beeps)
	if len(seen) != len(at) || len(beeps) != len(at) {
		t.Fatalf("%d flashes written, %d read, %d beeps", len(at), len(seen), len(beeps))
	}
	for i := range at {
		d := seen[i] - beeps[i]
		t.Logf("flash %d: picture %+.1f ms from its beep", i, d*1000)
		if math.Abs(d) > 1.0/30 {
			t.Errorf("flash %d: picture at %.3f s, beep at %.3f s", i, seen[i], beeps[i])
		}
	}
}

func seconds(v []int64) []string {
	var s []string
	for _, x := range v {
		s = append(s, fmt.Sprintf("%.3f", float64(x)/audio.SampleRate))
	}
	return s
}
