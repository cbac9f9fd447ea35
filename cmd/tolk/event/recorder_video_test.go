package event

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/captions/captionstest"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/media/videotest"
	"tolk/internal/recording"
)

// TestEventRecordsVideo: a run whose program carries H.264 (a libx264 clip
// written to Program.Video() tick by tick, each frame a little ahead of
// its audio, as the floor ingest sends it) is recorded with the picture:
// ffprobe reads h264 1280x720 beside every language with its tags, and the
// picture lasts as long as the audio.
func TestEventRecordsVideo(t *testing.T) {
	defer goleak.VerifyNone(t)
	audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n = 200 // 4 s
	frames, err := videotest.Clip(ctx, videotest.Options{Seconds: 4, FPS: 30, GOP: 30})
	if err != nil {
		t.Fatal(err)
	}
	lib := recording.NewLibrary(t.TempDir())
	cfg, err := config.Parse([]byte(recordedYAML), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := audiotest.NewClock()
	ev, err := New(cfg, Options{Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Recognizer: captionstest.NewScripted(nil), Recordings: lib})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the clock to arm its timer", func() bool { return clock.Pending() > 0 })
	video := ev.program.Video()
	lead := int64(100 * audio.SampleRate / 1000)
	v := 0
	for k := range n {
		now := int64(k) * audio.FrameSamples
		for ; v < len(frames) && frames[v].DTS <= now+lead; v++ {
			video.Write(frames[v])
		}
		ev.WriteFloor(audiotest.Tone(440, 0.3, k*audio.FrameSamples, audio.FrameSamples))
		want := uint64(k + 1)
		waitFor(t, "a tick", func() bool { return ev.Stats().Ticks >= want })
	}
	ev.Close()
	st := ev.Recording()
	if st.State != "stopped" || st.Dropped != 0 {
		t.Fatalf("recording %+v", st)
	}
	runs, err := lib.Runs("rec")
	if err != nil || len(runs) != 1 || !runs[0].Video {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_streams", "-of", "json",
		filepath.Join(lib.Root(), "rec", st.Run+recording.Ext)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var probe struct {
		Streams []struct {
			CodecName     string `json:"codec_name"`
			Width, Height int
			Duration      string
			Tags          map[string]string
		}
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatal(err)
	}
	if len(probe.Streams) != 5 {
		t.Fatalf("streams %+v", probe.Streams)
	}
	for i, lang := range []string{"eng", "fra", "deu"} {
		if s := probe.Streams[i]; s.CodecName != "opus" || s.Tags["language"] != lang {
			t.Errorf("stream %d: %+v", i, s)
		}
	}
	vs := probe.Streams[4]
	if vs.CodecName != "h264" || vs.Width != 1280 || vs.Height != 720 {
		t.Fatalf("video %+v", vs)
	}
	ad, _ := strconv.ParseFloat(probe.Streams[0].Duration, 64)
	vd, _ := strconv.ParseFloat(vs.Duration, 64)
	t.Logf("recorded: audio %.3f s, video %.3f s", ad, vd)
	if d := vd - ad; d < -0.034 || d > 0.034 {
		t.Errorf("video lasts %.3f s, audio %.3f s", vd, ad)
	}
}
