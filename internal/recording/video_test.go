package recording

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/fmp4"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// clip is a libx264 clip of secs seconds at 30 frames a second, a key frame
// every second, with B-frames (so presentation and decode times differ).
func clip(t testing.TB, secs float64) []media.Unit {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	units, err := videotest.Clip(ctx, videotest.Options{Seconds: secs, FPS: 30, GOP: 30, BFrames: 2})
	if err != nil {
		t.Fatal(err)
	}
	return units
}

// feedAV writes n audio frames of every language and the clip's frames
// shifted by shift, as the program sends them: each video frame ahead of
// the audio of its instant by lead (the floor's audio waits for the
// clock), at most.
func feedAV(t testing.TB, r *Recorder, n int, frames []media.Unit, shift, lead int64) {
	t.Helper()
	sent := map[string][]media.Unit{}
	for i, l := range testAudio {
		sent[l.Tag] = tone(t, testFreqs[i], 0, n)
	}
	v := 0
	for k := range n {
		now := int64(k) * audio.FrameSamples
		for ; v < len(frames) && frames[v].DTS+shift <= now+lead; v++ {
			u := frames[v]
			u.DTS += shift
			u.PTS += shift
			r.WriteVideo(u)
		}
		for _, l := range testAudio {
			r.WritePacket(l.Tag, sent[l.Tag][k])
		}
	}
}

type videoProbe struct {
	CodecName string            `json:"codec_name"`
	CodecType string            `json:"codec_type"`
	Width     int               `json:"width"`
	Height    int               `json:"height"`
	StartTime string            `json:"start_time"`
	Duration  string            `json:"duration"`
	NbFrames  string            `json:"nb_frames"`
	Tags      map[string]string `json:"tags"`
}

func probeAll(t testing.TB, path string) []videoProbe {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct{ Streams []videoProbe }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Streams
}

// decodeVideo decodes the file's video with ffmpeg, failing on any error,
// and returns how many pictures came out and how many key frames ffprobe
// counts among the packets.
func decodeVideo(t testing.TB, path string) (pictures, keys int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path, "-map", "0:v:0",
		"-f", "framemd5", "-")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("ffmpeg decoding the video: %v: %s", err, stderr.String())
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			pictures++
		}
	}
	pk, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "packet=flags",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(pk), "\n") {
		if strings.HasPrefix(l, "K") {
			keys++
		}
	}
	return pictures, keys
}

// TestRecorderVideo records 5.5 s of three languages, captions of two and
// the program's H.264 video (B-frames, a key frame a second, each frame
// ahead of its audio by up to 300 ms), and reads the run back: ffprobe
// lists every language with its tags and an h264 1280x720 track whose
// start and duration are the audio's; ffmpeg decodes all 165 pictures
// without an error and every key frame is a sync sample; the Reader's
// audio range is unchanged by the video.
func TestRecorderVideo(t *testing.T) {
	defer goleak.VerifyNone(t)
	frames := clip(t, 5.5)
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{Video: true})
	r.WriteCue("en", media.Cue{Lang: "en", Start: sec / 2, End: 2 * sec, Text: "Good morning", Final: true})
	const n = 275
	feedAV(t, r, n, frames, 0, 300*audio.SampleRate/1000)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Status()
	if st.State != "stopped" || st.Dropped != 0 {
		t.Errorf("status %+v", st)
	}
	path := filepath.Join(lib.Root(), "ev", st.Run+Ext)
	fi, _ := os.Stat(path)
	t.Logf("5.5 s of 3 languages, 2 caption tracks and 720p30 video: %d bytes", fi.Size())

	rd, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tracks := rd.Tracks()
	if s, e := rd.Range(); s != 0 || e != n*audio.FrameSamples {
		t.Errorf("audio range %d-%d", s, e)
	}
	frags := rd.Fragments()
	rd.Close()
	if len(frags) != 6 || frags[2].VideoBytes <= 0 || frags[2].VideoBytes >= frags[2].Size {
		t.Errorf("fragments %+v", frags)
	}
	if len(tracks) != 6 || tracks[5].Kind != fmp4.Video || tracks[5].ID != 6 {
		t.Fatalf("tracks %+v", tracks)
	}
	runs, err := lib.Runs("ev")
	if err != nil || len(runs) != 1 || !runs[0].Video || len(runs[0].Languages) != 3 || len(runs[0].Captions) != 2 {
		t.Errorf("runs %+v, %v", runs, err)
	}

	streams := probeAll(t, path)
	if len(streams) != 6 {
		t.Fatalf("streams %+v", streams)
	}
	audioDur := seconds(t, streams[0].Duration)
	for i, s := range streams[:3] {
		if s.CodecName != "opus" || s.Tags["language"] != []string{"eng", "fra", "deu"}[i] || s.Tags["handler_name"] != testAudio[i].Name {
			t.Errorf("stream %d: %+v", i, s)
		}
	}
	v := streams[5]
	if v.CodecName != "h264" || v.Width != 1280 || v.Height != 720 {
		t.Fatalf("video stream %+v", v)
	}
	vd := seconds(t, v.Duration)
	t.Logf("audio %.3f s, video %.3f s from %s s, %s frames", audioDur, vd, v.StartTime, v.NbFrames)
	if d := vd - audioDur; d < -0.034 || d > 0.034 {
		t.Errorf("video lasts %.3f s, audio %.3f s", vd, audioDur)
	}
	pictures, keys := decodeVideo(t, path)
	if pictures != len(frames) || keys != 6 {
		t.Errorf("%d pictures (want %d), %d key frames (want 6)", pictures, len(frames), keys)
	}
}

// TestRecorderVideoRecovery: a run with video killed mid-fragment is
// recovered to its last whole fragment, and ffmpeg decodes its video and
// audio to that point without an error.
func TestRecorderVideoRecovery(t *testing.T) {
	frames := clip(t, 5.5)
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{Video: true})
	feedAV(t, r, 275, frames, 0, 200*audio.SampleRate/1000)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(lib.Root(), "ev", r.Status().Run+Ext)
	rd, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	frags := rd.Fragments()
	rd.Close()
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := frags[len(frags)-1]
	// Killed while the last fragment's mdat was being written.
	torn := whole[:last.Offset+last.Size-500]
	dir := filepath.Join(t.TempDir(), "ev")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	kept := filepath.Join(dir, filepath.Base(path))
	if err := os.WriteFile(kept, torn, 0o640); err != nil {
		t.Fatal(err)
	}
	runs, err := NewLibrary(filepath.Dir(dir)).Recover("ev")
	if err != nil || len(runs) != 1 || runs[0].Duration != audio.Duration(last.Start) || !runs[0].Video {
		t.Fatalf("recover: %+v, %v", runs, err)
	}
	streams := probeAll(t, kept)
	if len(streams) != 6 || streams[5].CodecName != "h264" {
		t.Fatalf("streams %+v", streams)
	}
	vd, ad := seconds(t, streams[5].Duration), seconds(t, streams[0].Duration)
	t.Logf("recovered: audio %.3f s, video %.3f s", ad, vd)
	if d := vd - ad; d < -0.04 || d > 0.04 {
		t.Errorf("recovered video lasts %.3f s, audio %.3f s", vd, ad)
	}
	pictures, _ := decodeVideo(t, kept)
	if pictures < 150 {
		t.Errorf("%d pictures decoded", pictures)
	}
	if pcm := decodeTrack(t, kept, 0); int64(len(pcm)) < last.Start-2000 {
		t.Errorf("floor decodes to %d samples", len(pcm))
	}
}

// TestRecorderVideoLateOrNone: a run whose video never comes, or comes
// only after the first fragment was due and waited for, holds audio and
// captions only, with the ids an audio-only run has.
func TestRecorderVideoLateOrNone(t *testing.T) {
	frames := clip(t, 2)
	for name, shift := range map[string]int64{"none": -1, "late": 5 * sec} {
		t.Run(name, func(t *testing.T) {
			lib := NewLibrary(t.TempDir())
			r := newTestRecorder(t, lib, Options{Video: true})
			var fs []media.Unit
			if shift >= 0 {
				fs = frames
			}
			feedAV(t, r, 350, fs, max(shift, 0), 0)
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(lib.Root(), "ev", r.Status().Run+Ext)
			rd, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			defer rd.Close()
			tracks := rd.Tracks()
			if len(tracks) != 5 || tracks[4].Kind != fmp4.Text {
				t.Errorf("tracks %+v", tracks)
			}
			if s, e := rd.Range(); s != 0 || e != 350*audio.FrameSamples {
				t.Errorf("range %d-%d", s, e)
			}
		})
	}
}

// FuzzWriteVideo: any access unit, key or not, at any time, is taken or
// refused without a panic, and the run still closes into a file that
// scans.
func FuzzWriteVideo(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0x67, 0x42, 0, 0, 0, 2, 0x68, 1, 0, 0, 0, 1, 0x65}, true, int64(0), int64(0))
	f.Add([]byte{0, 0, 0, 9, 1}, false, int64(100), int64(50))
	f.Fuzz(func(t *testing.T, au []byte, key bool, pts, dts int64) {
		lib := NewLibrary(t.TempDir())
		r, err := New(Options{Library: lib, Event: "ev", Audio: testAudio[:1], Video: true, Epoch: fixed(testEpoch), Log: quiet})
		if err != nil {
			t.Fatal(err)
		}
		r.WriteVideo(media.Unit{Codec: media.H264, Key: key, Payload: au, PTS: pts, DTS: dts})
		for k := range 60 {
			r.WritePacket("en", media.Unit{PTS: int64(k) * audio.FrameSamples, Codec: media.Opus, Payload: fmp4.SilenceFrame})
			if k == 10 {
				r.WriteVideo(media.Unit{Codec: media.H264, Key: key, Payload: au, PTS: pts + sec, DTS: dts + sec})
			}
		}
		_ = r.Close() // an SPS that does not parse fails the run: refused input, not a panic
	})
}
