package restream

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/internal/aac"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
	"tolk/internal/restream/restreamtest"
)

// program feeds a push's tracks as an event does: a language's mix (a
// tone) through the real AAC encoder on a 20 ms tick, and a real H.264
// clip, looped on the program timeline, written a little ahead of the
// audio of the same instant.
type program struct {
	aacT   *aac.Tracks
	enc    *aac.Encoder
	video  *media.Track[media.Unit]
	cancel context.CancelFunc
	done   chan struct{}
}

const toneHz = 660

func startProgram(t *testing.T, clip []media.Unit) *program {
	t.Helper()
	p := &program{aacT: aac.NewTracks([]string{"fr"}, nil), video: media.NewTrack[media.Unit]("video"), done: make(chan struct{})}
	enc, err := aac.New(aac.Options{IDs: []string{"fr"}, Sink: p.aacT})
	if err != nil {
		t.Fatal(err)
	}
	p.enc = enc
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	var clipLen int64
	if n := len(clip); n > 0 {
		clipLen = clip[n-1].DTS + (clip[1].DTS - clip[0].DTS)
	}
	go func() {
		defer close(p.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var pts int64
		next, loop := 0, int64(0)
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = enc.Write("fr", pts, audiotest.Tone(toneHz, 0.3, int(pts), 960))
			pts += 960
			for len(clip) > 0 {
				u := clip[next]
				u.PTS += loop * clipLen
				u.DTS += loop * clipLen
				if u.DTS > pts+9600 { // pictures come up to 200 ms early
					break
				}
				p.video.Write(u)
				if next++; next == len(clip) {
					next, loop = 0, loop+1
				}
			}
		}
	}()
	return p
}

func (p *program) audio() *media.Track[media.Unit] {
	tr, _ := p.aacT.Track("fr")
	return tr
}

func (p *program) stop() {
	p.cancel()
	<-p.done
	p.enc.Close()
	p.aacT.Close()
	p.video.Close()
}

// waitFor polls cond until it holds or the test's deadline nears.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// probe returns the codecs of a file's streams, "h264 aac".
func probe(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels,width,height",
		"-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	return strings.TrimSpace(string(out))
}

// checkTone decodes a file's audio and checks that it is the language's
// tone.
func checkTone(t *testing.T, path string) {
	t.Helper()
	pcm, err := audiotest.Decode(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if len(pcm) < 48000 {
		t.Fatalf("%s: %d samples of audio", path, len(pcm))
	}
	mid := pcm[len(pcm)/2-12000 : len(pcm)/2+12000]
	f, amp := audiotest.DominantFrequency(mid, 48000, 200, 2000, 10)
	t.Logf("%s: %.1f s of audio, dominant %v Hz at %.3f", filepath.Base(path), float64(len(pcm))/48000, f, amp)
	if f != toneHz || amp < 0.1 {
		t.Fatalf("%s: dominant %v Hz at %.3f, want the language's %d Hz", path, f, amp, toneHz)
	}
}

func TestPushRTMPReconnects(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clip, err := videotest.Clip(ctx, videotest.Options{Seconds: 2, Width: 640, Height: 360, FPS: 25, GOP: 25})
	if err != nil {
		t.Fatal(err)
	}
	port := restreamtest.FreePort(t)
	srv := restreamtest.NewServer(t, port)
	srv.Start(t)
	defer srv.Stop()
	prog := startProgram(t, clip)
	defer prog.stop()
	p, err := New(Options{ID: "fr-1", Lang: "fr", Name: "YouTube FR", URL: fmt.Sprintf("rtmp://127.0.0.1:%d/live/streamkey123", port),
		Audio: prog.audio(), Video: prog.video})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Start()
	waitFor(t, "the push to connect", 30*time.Second, func() bool { return p.Status().State == StateConnected })
	st := p.Status()
	if !st.Video || st.URL != fmt.Sprintf("rtmp://127.0.0.1:%d/live/****", port) || st.Protocol != "rtmp" {
		t.Fatalf("status %+v", st)
	}
	// 2 s per connection: checkTone's middle half second is well clear of
	// each recording's start and end.
	waitFor(t, "2 s of stream", 30*time.Second, func() bool { return p.Status().SentSeconds >= 2 })
	t.Logf("connected: %+v", p.Status())

	// The platform drops the stream, and comes back.
	srv.Stop()
	waitFor(t, "the push to notice", 30*time.Second, func() bool { return p.Status().State != StateConnected })
	st = p.Status()
	t.Logf("dropped: state %s, last error %q", st.State, st.LastError)
	if strings.Contains(st.LastError, "streamkey123") {
		t.Fatalf("the last error shows the key: %q", st.LastError)
	}
	srv.Start(t)
	waitFor(t, "the push to reconnect", 30*time.Second, func() bool {
		s := p.Status()
		return s.State == StateConnected && s.Reconnects == 1
	})
	waitFor(t, "2 s more", 30*time.Second, func() bool { return p.Status().SentSeconds >= 2 })
	st = p.Status()
	t.Logf("reconnected: %+v", st)
	if st.BitrateBPS <= 0 {
		t.Errorf("bitrate %v while connected", st.BitrateBPS)
	}
	p.Stop()
	if s := p.Status(); s.State != StateStopped {
		t.Fatalf("after Stop: %+v", s)
	}
	srv.Stop()
	files := srv.Recordings(t)
	if len(files) != 2 {
		t.Fatalf("recorded %v, want one file per connection", files)
	}
	for _, path := range files {
		streams := probe(t, path)
		t.Logf("%s: %s", filepath.Base(path), strings.ReplaceAll(streams, "\n", " | "))
		if !strings.Contains(streams, "h264,640,360") || !strings.Contains(streams, "aac,48000,1") {
			t.Fatalf("%s: streams %q, want h264 640x360 and mono 48 kHz AAC", path, streams)
		}
		checkTone(t, path)
	}
}

func TestPushAudioOnly(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	defer goleak.VerifyNone(t)
	port := restreamtest.FreePort(t)
	srv := restreamtest.NewServer(t, port)
	srv.Start(t)
	defer srv.Stop()
	prog := startProgram(t, nil) // a floor without a picture: the video track stays silent
	defer prog.stop()
	p, err := New(Options{ID: "fr-1", Lang: "fr", URL: fmt.Sprintf("rtmp://127.0.0.1:%d/live/streamkey123", port),
		Audio: prog.audio(), Video: prog.video})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	waitFor(t, "the push to connect", 30*time.Second, func() bool { return p.Status().State == StateConnected })
	waitFor(t, "3 s of audio", 30*time.Second, func() bool { return p.Status().SentSeconds >= 3 })
	if st := p.Status(); st.Video {
		t.Fatalf("an audio-only push says video: %+v", st)
	}
	p.Close()
	srv.Stop()
	files := srv.Recordings(t)
	if len(files) != 1 {
		t.Fatalf("recorded %v", files)
	}
	path := files[0]
	if streams := probe(t, path); streams != "aac,48000,1" {
		t.Fatalf("streams %q, want mono 48 kHz AAC alone", streams)
	}
	checkTone(t, path)
}

// TestBackoff: a push that cannot connect fails, waits a growing, jittered,
// bounded pause on the injected clock, and tries again.
func TestBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := audiotest.NewClock()
	a := media.NewTrack[media.Unit]("fr/aac")
	defer a.Close()
	port := restreamtest.FreePort(t) // nobody listens
	p, err := New(Options{ID: "fr-1", Lang: "fr", URL: fmt.Sprintf("rtmp://127.0.0.1:%d/live/streamkey123", port),
		Audio: a, Clock: clock, Jitter: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Start()
	var wg sync.WaitGroup
	wg.Add(1)
	feed := make(chan struct{})
	go func() { // the language's audio: 3 s of it lets the connection start audio-only
		defer wg.Done()
		for pts := int64(0); ; pts += 1024 {
			select {
			case <-feed:
				return
			default:
			}
			a.Write(media.Unit{PTS: pts, Codec: media.AAC, Payload: []byte{1}})
			time.Sleep(time.Millisecond)
		}
	}()
	defer func() { close(feed); wg.Wait() }()
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		waitFor(t, "a failure", 20*time.Second, func() bool { return p.Status().State == StateFailed })
		st := p.Status()
		if st.LastError == "" || strings.Contains(st.LastError, "streamkey123") {
			t.Fatalf("attempt %d: last error %q", i, st.LastError)
		}
		clock.Advance(want - time.Millisecond)
		time.Sleep(50 * time.Millisecond)
		if s := p.Status().State; s != StateFailed {
			t.Fatalf("attempt %d: %s before the %v pause is over", i, s, want)
		}
		clock.Advance(time.Millisecond)
		waitFor(t, "the next attempt", 20*time.Second, func() bool { return p.Status().State != StateFailed })
	}
}

// TestPushSRT: a push to srt:// reaches a real SRT receiver (FFmpeg with
// libsrt listening) with the picture and the language.
func TestPushSRT(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	audiotest.NeedTool(t, "ffprobe")
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clip, err := videotest.Clip(ctx, videotest.Options{Seconds: 2, Width: 640, Height: 360, FPS: 25, GOP: 25})
	if err != nil {
		t.Fatal(err)
	}
	port := restreamtest.FreePort(t)
	out := filepath.Join(t.TempDir(), "srt.ts")
	recv := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
		"-i", fmt.Sprintf("srt://127.0.0.1:%d?mode=listener&streamid=fr", port), "-c", "copy", "-f", "mpegts", out)
	var stderr strings.Builder
	recv.Stderr = &stderr
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- recv.Wait() }()
	prog := startProgram(t, clip)
	defer prog.stop()
	p, err := New(Options{ID: "fr-1", Lang: "fr", URL: fmt.Sprintf("srt://127.0.0.1:%d?streamid=fr", port),
		Audio: prog.audio(), Video: prog.video})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	waitFor(t, "4 s over SRT", 40*time.Second, func() bool { s := p.Status(); return s.State == StateConnected && s.SentSeconds >= 4 })
	st := p.Status()
	t.Logf("srt push: %+v", st)
	if st.Protocol != "srt" || !st.Video || strings.Contains(st.URL, "=fr") {
		t.Fatalf("status %+v", st)
	}
	p.Close() // FFmpeg ends its SRT session; the receiver sees the end
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = recv.Process.Signal(os.Interrupt)
		<-done
	}
	streams := probe(t, out)
	t.Logf("received: %s", strings.ReplaceAll(streams, "\n", " | "))
	if !strings.Contains(streams, "h264,640,360") || !strings.Contains(streams, "aac,48000,1") {
		t.Fatalf("received %q (%s)", streams, stderr.String())
	}
	checkTone(t, out)
}

// nullConn takes everything.
type nullConn struct{ n uint64 }

func (c *nullConn) writeVideo(pts, dts time.Duration, au [][]byte) error {
	c.n++
	return nil
}
func (c *nullConn) writeAudio(pts time.Duration, frame []byte) error { c.n++; return nil }
func (c *nullConn) sent() uint64                                     { return c.n }
func (c *nullConn) close() error                                     { return nil }

// FuzzSender: whatever units come (malformed AVCC, parameter sets or none,
// times out of order, other codecs), the sender neither panics nor sends a
// picture before its start or out of decode order.
func FuzzSender(f *testing.F) {
	f.Add([]byte{0, 0, 0, 2, 0x67, 1, 0, 0, 0, 2, 0x68, 2, 0, 0, 0, 2, 0x65, 3}, int64(0), int64(1600), true, uint8(media.H264))
	f.Add([]byte{0, 0, 0, 9, 0x65}, int64(-5), int64(-10), true, uint8(media.H264))
	f.Add([]byte{1, 2, 3}, int64(1024), int64(0), false, uint8(media.AAC))
	f.Fuzz(func(t *testing.T, payload []byte, pts, dts int64, key bool, codec uint8) {
		var sps, pps []byte
		if au, err := splitAVCC(payload); err == nil {
			sps, pps = paramSets(au)
		}
		for _, pic := range []*picture{nil, {sps: sps, pps: pps}} {
			s := &sender{c: &nullConn{}, base: 100, pic: pic, lastDTS: -1 << 62, lastAudio: -1 << 62, sent: new(atomic.Int64)}
			for i := int64(0); i < 3; i++ {
				u := media.Unit{PTS: pts + i*1600, DTS: dts + i*1600, Key: key, Codec: media.Codec(codec % 6), Payload: payload}
				if err := s.take(u); err != nil && err != errRestart {
					t.Fatalf("take: %v", err)
				}
				_ = s.audio(media.Unit{PTS: pts + i*1024, Codec: media.AAC, Payload: payload})
			}
			if s.lastDTS != -1<<62 && s.lastDTS < s.base {
				t.Fatalf("a picture before the start: %d < %d", s.lastDTS, s.base)
			}
			if len(s.pending) > maxPending {
				t.Fatalf("%d pictures pending", len(s.pending))
			}
		}
	})
}

// avcc builds an AVCC access unit of the given NAL units.
func avcc(nalus ...[]byte) []byte {
	var b []byte
	for _, n := range nalus {
		b = append(b, byte(len(n)>>24), byte(len(n)>>16), byte(len(n)>>8), byte(len(n)))
		b = append(b, n...)
	}
	return b
}

// TestSenderOrderAndRestarts: pictures wait for the language's audio to
// reach their decode time; a picture on an audio-only connection, or a key
// frame with other parameter sets, asks for a new connection.
func TestSenderOrderAndRestarts(t *testing.T) {
	sps, pps := []byte{0x67, 1, 2}, []byte{0x68, 3}
	key := func(dts int64, sps []byte) media.Unit {
		return media.Unit{PTS: dts, DTS: dts, Key: true, Codec: media.H264, Payload: avcc(sps, pps, []byte{0x65, 9})}
	}
	inter := func(dts int64) media.Unit {
		return media.Unit{PTS: dts, DTS: dts, Codec: media.H264, Payload: avcc([]byte{0x41, 9})}
	}
	aacAt := func(pts int64) media.Unit { return media.Unit{PTS: pts, Codec: media.AAC, Payload: []byte{1, 2}} }

	c := &nullConn{}
	s := &sender{c: c, base: 48000, pic: &picture{sps: sps, pps: pps}, lastDTS: -1 << 62, lastAudio: -1 << 62, sent: new(atomic.Int64)}
	for _, u := range []media.Unit{key(48000, sps), inter(49600), inter(51200)} {
		if err := s.take(u); err != nil {
			t.Fatal(err)
		}
	}
	if c.n != 0 || len(s.pending) != 3 {
		t.Fatalf("pictures went out before their audio: sent %d, pending %d", c.n, len(s.pending))
	}
	if err := s.audio(aacAt(49600)); err != nil { // releases the pictures up to 49600
		t.Fatal(err)
	}
	if c.n != 3 || len(s.pending) != 1 || s.lastDTS != 49600 || s.sent.Load() != 1600 {
		t.Fatalf("after audio at 49600: sent %d, pending %d, last DTS %d, sent media %d", c.n, len(s.pending), s.lastDTS, s.sent.Load())
	}
	if err := s.take(inter(49600)); err != nil || len(s.pending) != 1 {
		t.Fatalf("a picture out of decode order was queued (%v, pending %d)", err, len(s.pending))
	}
	if err := s.audio(aacAt(40000)); err != nil || c.n != 3 {
		t.Fatalf("audio before the start went out (%v, sent %d)", err, c.n)
	}
	if err := s.take(key(52800, []byte{0x67, 7, 7})); err != nil {
		t.Fatal(err)
	}
	if err := s.audio(aacAt(53000)); err != errRestart {
		t.Fatalf("new parameter sets: %v, want a new connection", err)
	}

	a := &sender{c: &nullConn{}, base: 0, lastDTS: -1 << 62, lastAudio: -1 << 62, sent: new(atomic.Int64)}
	if err := a.take(inter(1600)); err != nil {
		t.Fatalf("a picture that is no key frame on an audio-only connection: %v", err)
	}
	if err := a.take(key(3200, sps)); err != errRestart {
		t.Fatalf("a key frame on an audio-only connection: %v, want a new connection", err)
	}
}

// TestPushCaptions: the language's final cues reach the RTMP server as
// CEA-608 captions in the pictures, which FFmpeg's decoder reads back.
func TestPushCaptions(t *testing.T) {
	audiotest.NeedTool(t, "ffmpeg")
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	clip, err := videotest.Clip(ctx, videotest.Options{Seconds: 2, Width: 640, Height: 360, FPS: 25, GOP: 25})
	if err != nil {
		t.Fatal(err)
	}
	port := restreamtest.FreePort(t)
	srv := restreamtest.NewServer(t, port)
	srv.Start(t)
	defer srv.Stop()
	prog := startProgram(t, clip)
	defer prog.stop()
	cues := media.NewTrack[media.Cue]("fr/cues")
	defer cues.Close()
	p, err := New(Options{ID: "fr-1", Lang: "fr", URL: fmt.Sprintf("rtmp://127.0.0.1:%d/live/streamkey123", port),
		Audio: prog.audio(), Video: prog.video, Captions: cues})
	if err != nil {
		t.Fatal(err)
	}
	p.Start()
	waitFor(t, "the push to connect", 30*time.Second, func() bool { return p.Status().State == StateConnected })
	// A cue a second; each goes out from the next picture on.
	for i := 0; i < 5; i++ {
		time.Sleep(time.Second)
		cues.Write(media.Cue{Lang: "fr", Start: 0, End: 1 << 40, Text: fmt.Sprintf("Bonjour à tous, phrase %d. Ça marche très bien", i), Final: true})
	}
	waitFor(t, "7 s", 30*time.Second, func() bool { return p.Status().SentSeconds >= 7 })
	p.Close()
	srv.Stop()
	files := srv.Recordings(t)
	if len(files) != 1 {
		t.Fatalf("recorded %v", files)
	}
	srt := filepath.Join(t.TempDir(), "cc.srt")
	if out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i",
		"movie="+files[0]+"[out0+subcc]", "-map", "0:1", srt).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading the captions: %v: %s", err, out)
	}
	b, err := os.ReadFile(srt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("captions read back:\n%s", b)
	for i := 0; i < 5; i++ {
		if !strings.Contains(string(b), fmt.Sprintf("phrase %d", i)) {
			t.Errorf("phrase %d missing", i)
		}
	}
	if !strings.Contains(string(b), "Bonjour \u00e0 tous") && !strings.Contains(string(b), "Bonjour a tous") {
		t.Errorf("the first words are not read back")
	}
}
