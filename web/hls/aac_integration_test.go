package hls

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/aac"
	"tolk/internal/audio"
)

// toneBurst is the test program: silence with a 1 kHz burst of 200 ms at
// 2.5 s plus 123 samples, off every frame grid.
const (
	burstAt  = 2*audio.SampleRate + audio.SampleRate/2 + 123
	burstLen = audio.SampleRate / 5
)

func burstSample(pts int64) float32 {
	if pts < burstAt || pts >= burstAt+burstLen {
		return 0
	}
	return float32(0.5 * math.Sin(2*math.Pi*1000*float64(pts-burstAt)/audio.SampleRate))
}

// aacTestServer is a muxer with both groups behind an HTTP server, and the
// real AAC encoder feeding it.
type aacTestServer struct {
	m   *Muxer
	enc *aac.Encoder
	srv *httptest.Server
}

func newAACTestServer(t *testing.T, renditions []AudioRendition) *aacTestServer {
	t.Helper()
	requireTool(t, "ffmpeg")
	m, err := New(Options{PartDuration: 200 * time.Millisecond, SegmentDuration: 2 * time.Second, Window: 10}, renditions)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.EnableAAC(64000); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range renditions {
		ids = append(ids, r.ID)
	}
	enc, err := aac.New(aac.Options{IDs: ids, Sink: m})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !enc.Running() {
		if time.Now().After(deadline) {
			t.Fatal("the AAC encoder did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := &aacTestServer{m: m, enc: enc, srv: httptest.NewServer(m)}
	t.Cleanup(func() {
		s.enc.Close()
		s.m.Close()
		s.srv.Close()
		http.DefaultClient.CloseIdleConnections()
	})
	return s
}

// writeProgram writes the program [from, to) of id to both groups: PCM to
// the AAC encoder, libopus packets to the Opus rendition, 20 ms at a time.
func (s *aacTestServer) writeProgram(t *testing.T, enc *opus.Encoder, id string, from, to int64, sample func(int64) float32) {
	t.Helper()
	buf := make([]byte, 1500)
	for pts := from; pts < to; pts += audio.FrameSamples {
		pcm := make([]float32, audio.FrameSamples)
		for i := range pcm {
			pcm[i] = sample(pts + int64(i))
		}
		if err := s.enc.Write(id, pts, pcm); err != nil {
			t.Error(err)
			return
		}
		n, err := enc.EncodeFloat32(pcm, buf)
		if err != nil {
			t.Error(err)
			return
		}
		if err := s.m.WriteOpus(id, pts, buf[:n]); err != nil {
			t.Error(err)
			return
		}
	}
}

// finish lets the encoder hand over its last frames, then ends the
// playlists.
func (s *aacTestServer) finish() {
	s.enc.Close()
	s.m.Close()
}

func newOpusEncoder(t *testing.T) *opus.Encoder {
	t.Helper()
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(64000); err != nil {
		t.Fatal(err)
	}
	return enc
}

// decodePlaylist decodes a media playlist with ffmpeg to 48 kHz mono PCM.
func decodePlaylist(t *testing.T, ctx context.Context, url string) []float64 {
	t.Helper()
	raw, err := run(ctx, "ffmpeg", "-v", "error", "-i", url, "-f", "s16le", "-ac", "1", "-ar", "48000", "-")
	if err != nil {
		t.Fatal(err)
	}
	pcm := make([]float64, len(raw)/2)
	for i := range pcm {
		pcm[i] = float64(int16(binary.LittleEndian.Uint16(raw[2*i:]))) / 32768
	}
	return pcm
}

// crossCorrelate returns the lag (samples b trails a by) in [-maxLag,
// maxLag] with the highest correlation over a[from:to].
func crossCorrelate(a, b []float64, from, to, maxLag int) int {
	best, bestLag := math.Inf(-1), 0
	for lag := -maxLag; lag <= maxLag; lag++ {
		var sum float64
		for i := from; i < to; i++ {
			if j := i + lag; j >= 0 && j < len(b) {
				sum += a[i] * b[j]
			}
		}
		if sum > best {
			best, bestLag = sum, lag
		}
	}
	return bestLag
}

// onsetOf is the first sample whose 1 ms mean level passes a third of a
// 0.5 sine's, or -1.
func onsetOf(pcm []float64) int {
	const win = 48
	var sum float64
	for i, x := range pcm {
		sum += math.Abs(x)
		if i >= win {
			sum -= math.Abs(pcm[i-win])
		}
		if i >= win-1 && sum/win > 0.5*2/math.Pi/3 {
			return i - win + 1
		}
	}
	return -1
}

// TestAACRenditionAlignsWithOpus: the same program encoded once by libopus
// and once by FFmpeg's AAC encoder, packaged live and read back by ffprobe
// and ffmpeg: ffprobe finds an AAC-LC and an Opus stream for every
// language (with its language), the AAC rendition's playlist lasts what was
// written, and the tone burst decoded from the AAC rendition lies within one
// AAC frame (21 ms) of the one decoded from the Opus rendition and of where
// the program has it.
func TestAACRenditionAlignsWithOpus(t *testing.T) {
	requireTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	renditions := []AudioRendition{
		{ID: "en", Name: "English", Language: "en", Default: true, Bitrate: 64000},
		{ID: "fr", Name: "Français", Language: "fr", Translation: true, Bitrate: 64000},
	}
	s := newAACTestServer(t, renditions)
	end := int64(6*audio.SampleRate + 100*audio.FrameSamples/20) // 6.1 s
	// Languages are written side by side, as the mixes tick together: the
	// process reads its inputs in step.
	var wg sync.WaitGroup
	for _, r := range renditions {
		oenc := newOpusEncoder(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.writeProgram(t, oenc, r.ID, 0, end, burstSample)
		}()
	}
	wg.Wait()
	s.finish()

	out, err := run(ctx, "ffprobe", "-v", "error", "-show_streams", "-of", "json", s.srv.URL+"/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var probe struct {
		Streams []struct {
			CodecName  string            `json:"codec_name"`
			Profile    string            `json:"profile"`
			SampleRate string            `json:"sample_rate"`
			Channels   int               `json:"channels"`
			Tags       map[string]string `json:"tags"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	seen := map[string]int{}
	for _, st := range probe.Streams {
		if st.SampleRate != "48000" || st.Channels != 1 || (st.CodecName == "aac" && st.Profile != "LC") {
			t.Errorf("stream %+v", st)
		}
		seen[st.CodecName+" "+st.Tags["language"]]++
	}
	t.Logf("ffprobe streams: %v", seen)
	for _, k := range []string{"aac en", "aac fr", "opus en", "opus fr"} {
		if seen[k] != 1 {
			t.Errorf("ffprobe found %q %d times (%v)", k, seen[k], seen)
		}
	}
	out, err = run(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration:stream=codec_name,profile",
		"-of", "json", s.srv.URL+"/fr.aac/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var media struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecName string `json:"codec_name"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &media); err != nil {
		t.Fatal(err)
	}
	d, _ := strconv.ParseFloat(media.Format.Duration, 64)
	t.Logf("fr.aac: %s, %.3f s", out, d)
	if len(media.Streams) != 1 || media.Streams[0].CodecName != "aac" || d < 6.0 || d > 6.2 {
		t.Errorf("the AAC rendition probes as %s", out)
	}

	for _, r := range renditions {
		o := decodePlaylist(t, ctx, s.srv.URL+"/"+r.ID+"/index.m3u8")
		a := decodePlaylist(t, ctx, s.srv.URL+"/"+r.ID+".aac/index.m3u8")
		// Both playlists start at program time 0: sample i is program
		// time i in each.
		ref := make([]float64, burstAt+burstLen+audio.SampleRate)
		for i := range ref {
			ref[i] = float64(burstSample(int64(i)))
		}
		want := onsetOf(ref)
		oOn, aOn := onsetOf(o), onsetOf(a)
		lag := crossCorrelate(o, a, burstAt-audio.SampleRate/10, burstAt+burstLen+audio.SampleRate/10, 2*1024)
		t.Logf("%s: burst at %d; decoded from Opus at %+d, from AAC at %+d samples; AAC trails Opus by %d samples (%.2f ms) by cross-correlation",
			r.ID, want, oOn-want, aOn-want, lag, float64(lag)*1000/audio.SampleRate)
		if lag < -1024 || lag > 1024 {
			t.Errorf("%s: the AAC rendition is %d samples off the Opus one", r.ID, lag)
		}
		if aOn < 0 || aOn-want < -1024 || aOn-want > 1024 {
			t.Errorf("%s: AAC burst at %d, the program's at %d", r.ID, aOn, want)
		}
	}
}

// TestAACRenditionSurvivesEncoderRestart: the encoder's process killed
// mid-stream is started again; the AAC rendition goes on, the hole filled
// with silent frames, and ffmpeg decodes all of it.
func TestAACRenditionSurvivesEncoderRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	renditions := []AudioRendition{{ID: "en", Name: "English", Language: "en", Default: true, Bitrate: 64000}}
	s := newAACTestServer(t, renditions)
	oenc := newOpusEncoder(t)
	tone := func(pts int64) float32 { return float32(0.3 * math.Sin(2*math.Pi*440*float64(pts)/audio.SampleRate)) }
	s.writeProgram(t, oenc, "en", 0, 2*audio.SampleRate, tone)
	// Wait for the encoder to hand over the first second, then kill it.
	deadline := time.Now().Add(20 * time.Second)
	for s.enc.Stats().Frames < 40 {
		if time.Now().After(deadline) {
			t.Fatalf("no AAC frames: %+v", s.enc.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	filled := s.m.Stats().FilledFrames
	s.enc.Kill()
	pts := int64(2 * audio.SampleRate)
	for s.enc.Stats().Restarts == 0 || !s.enc.Running() {
		if time.Now().After(deadline) {
			t.Fatal("the encoder did not restart")
		}
		s.writeProgram(t, oenc, "en", pts, pts+5*audio.FrameSamples, tone)
		pts += 5 * audio.FrameSamples
		time.Sleep(20 * time.Millisecond)
	}
	end := pts + 3*audio.SampleRate
	s.writeProgram(t, oenc, "en", pts, end, tone)
	s.finish()
	st, ms := s.enc.Stats(), s.m.Stats()
	t.Logf("encoder %+v; muxer filled %d frames", st, ms.FilledFrames-filled)
	if ms.FilledFrames-filled == 0 {
		t.Error("no gap was filled after the restart")
	}
	l := parseMedia(t, getOK(t, s.srv.URL+"/en.aac/index.m3u8"))
	var listed float64
	for i, seg := range l.segs {
		if want := strconv.Itoa(i) + ".m4s"; seg.uri[len(seg.uri)-len(want):] != want {
			t.Errorf("segment %d is %s", i, seg.uri)
		}
		listed += seg.dur
	}
	a := decodePlaylist(t, ctx, s.srv.URL+"/en.aac/index.m3u8")
	got := float64(len(a)) / audio.SampleRate
	t.Logf("AAC rendition: %d segments, %.3f s listed, %.3f s decoded, %.3f s written", len(l.segs), listed, got, float64(end)/audio.SampleRate)
	if !l.ended || got < float64(end)/audio.SampleRate-0.1 || math.Abs(got-listed) > 0.05 {
		t.Errorf("the AAC rendition decodes to %.3f s of %.3f s listed, %.3f s written", got, listed, float64(end)/audio.SampleRate)
	}
}
