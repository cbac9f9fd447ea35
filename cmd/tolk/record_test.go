package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hraban/opus"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/recording"
	"tolk/internal/rtc"
	"tolk/internal/store"
)

// recRun is one run as GET /api/events/{event}/recordings lists it.
type recRun struct {
	ID        string
	Start     time.Time
	Duration  float64
	Offset    float64
	Languages []struct{ Tag, Name string }
	Captions  []struct{ Tag, Name string }
	Live      bool
}

func (r *serveRun) getJSON(ctx context.Context, t *testing.T, path, token string, v any) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// recordings lists the event's runs.
func (r *serveRun) recordings(ctx context.Context, t *testing.T, event, token string) []recRun {
	t.Helper()
	var v struct{ Recordings []recRun }
	r.getJSON(ctx, t, "/api/events/"+event+"/recordings", token, &v)
	return v.Recordings
}

// recordUntil waits until the live run has recorded at least d and
// returns the program time the server plays then.
func (r *serveRun) recordUntil(ctx context.Context, t *testing.T, event, token string, d time.Duration) float64 {
	t.Helper()
	for {
		var live *recRun
		for _, run := range r.recordings(ctx, t, event, token) {
			if run.Live {
				live = &run
			}
		}
		if live != nil && live.Duration >= d.Seconds() {
			var st struct{ PTS int64 }
			r.getJSON(ctx, t, "/api/events/"+event+"/status", token, &st)
			return audio.Duration(st.PTS).Seconds()
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the run never recorded %v; stderr: %s", d, r.stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// interpreter joins the French booth with a fake microphone that plays a
// 880 Hz tone, and takes the mic; stop ends it.
func interpreter(ctx context.Context, t *testing.T, base, event, token string) (stop func()) {
	t.Helper()
	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	c, err := rtc.DialBooth(ctx, api, base, event, "fr", token, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Send(map[string]any{"type": "mic", "on": true}); err != nil {
		t.Fatal(err)
	}
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	// A fixed real-time schedule: a ticker that drops ticks on a loaded
	// machine would leave gaps, and jumps in the tone's phase.
	pctx, done := context.WithCancel(context.Background())
	ended := make(chan struct{})
	go func() {
		defer close(ended)
		buf := make([]byte, 1500)
		audiotest.Paced(pctx, -1, func(k int) bool {
			n, err := enc.EncodeFloat32(audiotest.Tone(880, 0.4, k*audio.FrameSamples, audio.FrameSamples), buf)
			return err == nil && c.Speak(buf[:n], audio.FrameDuration) == nil
		})
	}()
	return func() {
		done()
		<-ended
		c.Close()
	}
}

type probed struct {
	CodecType string            `json:"codec_type"`
	Duration  string            `json:"duration"`
	Tags      map[string]string `json:"tags"`
}

func ffprobeStreams(ctx context.Context, t *testing.T, path string) []probed {
	t.Helper()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct{ Streams []probed }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Streams
}

// decodeAudio decodes audio stream i with ffmpeg, failing on any error it
// reports.
func decodeAudio(ctx context.Context, t *testing.T, path string, i int) []float32 {
	t.Helper()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path, "-map", fmt.Sprintf("0:a:%d", i),
		"-ac", "1", "-ar", "48000", "-f", "f32le", "-")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decoding stream %d of %s: %v: %s", i, filepath.Base(path), err, stderr.String())
	}
	b := out.Bytes()
	pcm := make([]float32, len(b)/4)
	for k := range pcm {
		pcm[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
	}
	return pcm
}

// checkRun has ffprobe and ffmpeg read a run file: every track with its
// language, lasting ran seconds within a second; every audio track decodes
// without an error; the French track carries the interpreter's tone.
func checkRun(ctx context.Context, t *testing.T, path string, ran float64) {
	t.Helper()
	streams := ffprobeStreams(ctx, t, path)
	want := []struct{ kind, lang, name string }{
		{"audio", "eng", "English"}, {"audio", "fra", "Français"}, {"subtitle", "eng", "English"},
	}
	if len(streams) != len(want) {
		t.Fatalf("%s: streams %+v", filepath.Base(path), streams)
	}
	for i, w := range want {
		s := streams[i]
		d, err := strconv.ParseFloat(s.Duration, 64)
		if s.CodecType != w.kind || s.Tags["language"] != w.lang || s.Tags["handler_name"] != w.name || err != nil || math.Abs(d-ran) > 1 {
			t.Errorf("%s stream %d: %s %v lasting %s s; want %s %s %q lasting %.2f s", filepath.Base(path), i,
				s.CodecType, s.Tags, s.Duration, w.kind, w.lang, w.name, ran)
		}
	}
	decodeAudio(ctx, t, path, 0)
	fr := decodeAudio(ctx, t, path, 1)
	// The tone is on air from soon after the booth joined to the end.
	tail := fr[max(len(fr)-2*audio.SampleRate, 0):]
	if a := audiotest.Goertzel(tail, 880, audio.SampleRate); a < 0.05 {
		t.Errorf("%s: the French track's last 2 s hold the interpreter's 880 Hz at %.3f", filepath.Base(path), a)
	}
}

// TestServeRecordsRunsAndSurvivesKill runs the real binary three times on
// one data directory, each time with a file floor (the speech fixture,
// recognized by the embedded PocketSphinx) and an interpreter on air in the
// French booth: the first run is stopped with SIGTERM, the second killed
// with SIGKILL, the third stopped again. Every run is a file whose tracks
// ffprobe lists with their languages and the program time that ran (within
// a second); the killed one, recovered by the third start, is playable to
// within about a second of where it was killed; the runs lie on the event's
// recording timeline by the wall-clock time between them.
func TestServeRecordsRunsAndSurvivesKill(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		http.DefaultClient.CloseIdleConnections()
		goleak.VerifyNone(t, ignore)
	})
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	bin := tolkBinary(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	dir := t.TempDir()
	floor, err := filepath.Abs("../../testdata/floor.wav")
	if err != nil {
		t.Fatal(err)
	}
	const event = "rec"
	cfg := filepath.Join(dir, "event.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf(`
id: %s
title: Recorded
floor: {language: en, name: English, source: "file:%s", loop: true}
languages: [{tag: fr, name: Français}]
hls: {aac: false}
captions: {languages: {fr: none}}
end: %s
`, event, floor, time.Now().Add(time.Hour).UTC().Format(time.RFC3339))), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	st, err := store.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	producer, _, err := st.CreateToken(ctx, event, store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	anne, _, err := st.CreateToken(ctx, event, store.RoleInterpreter, "fr", "Anne")
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	args := []string{"--config", cfg, "--data", data, "--webrtc-loopback"}

	// Run 1: stopped with SIGTERM.
	r1 := startServe(ctx, t, bin, args...)
	stop := interpreter(ctx, t, r1.base, event, anne)
	ran1 := r1.recordUntil(ctx, t, event, producer, 5*time.Second)
	r1.stop(t)
	stop()

	// Run 2: killed.
	r2 := startServe(ctx, t, bin, args...)
	stop = interpreter(ctx, t, r2.base, event, anne)
	ran2 := r2.recordUntil(ctx, t, event, producer, 5*time.Second)
	if err := r2.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = r2.cmd.Wait()
	stop()

	// Run 3 recovers run 2 as it starts.
	r3 := startServe(ctx, t, bin, args...)
	r3.recordUntil(ctx, t, event, producer, time.Second)
	runs := r3.recordings(ctx, t, event, producer)
	r3.stop(t)
	if len(runs) != 3 || runs[0].Live || runs[1].Live || !runs[2].Live {
		t.Fatalf("runs %+v", runs)
	}
	t.Logf("runs: %+v", runs)
	for i, run := range runs {
		if len(run.Languages) != 2 || run.Languages[0].Tag != "en" || run.Languages[1].Tag != "fr" || len(run.Captions) != 1 {
			t.Errorf("run %d: languages %+v, captions %+v", i+1, run.Languages, run.Captions)
		}
		// Each run's program time zero lies on the recording timeline by
		// the wall-clock time since the first's.
		if d := run.Start.Sub(runs[0].Start).Seconds() - run.Offset; math.Abs(d) > 0.05 {
			t.Errorf("run %d at %v, offset %.3f s: %.3f s off the recording timeline", i+1, run.Start, run.Offset, d)
		}
	}
	path := func(i int) string { return filepath.Join(data, recording.Dir, event, runs[i].ID+recording.Ext) }
	t.Logf("run 1 ran %.2f s, recorded %.2f s; run 2 ran %.2f s before SIGKILL, recovered %.2f s", ran1, runs[0].Duration, ran2, runs[1].Duration)
	checkRun(ctx, t, path(0), ran1)
	// The killed run: what was written up to its last whole second.
	if runs[1].Duration < ran2-1.5 {
		t.Errorf("the killed run kept %.2f s of %.2f s", runs[1].Duration, ran2)
	}
	checkRun(ctx, t, path(1), runs[1].Duration)
	if math.Abs(runs[1].Duration-ran2) > 1.5 {
		t.Errorf("the killed run lasts %.2f s, it ran %.2f s", runs[1].Duration, ran2)
	}
	for i := range 3 {
		rd, err := recording.OpenFile(path(i))
		if err != nil {
			t.Fatal(err)
		}
		if !rd.Finalized() {
			t.Errorf("run %d not finalised", i+1)
		}
		m := rd.Meta()
		rd.Close()
		if i > 0 && !m.RecordingStart.Equal(runs[0].Start) {
			t.Errorf("run %d: recording start %v, the first run's program time zero %v", i+1, m.RecordingStart, runs[0].Start)
		}
	}
}
