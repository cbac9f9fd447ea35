package sfu_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/restream"
	"tolk/internal/sfu"
	"tolk/internal/sfu/janustest"
)

// toneTrack encodes a tone into 20 ms Opus units on the program timeline
// (PTS from pts0), written to the returned track in real time until ctx
// ends; wait waits for the writer.
func toneTrack(ctx context.Context, t *testing.T, freq float64, pts0 int64) (tr *media.Track[media.Unit], wait func()) {
	t.Helper()
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	tr = media.NewTrack[media.Unit]("tone")
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer tr.Close()
		buf := make([]byte, 1500)
		audiotest.Paced(ctx, -1, func(i int) bool {
			n, err := enc.EncodeFloat32(audiotest.Tone(freq, 0.4, i*audio.FrameSamples, audio.FrameSamples), buf)
			if err != nil {
				return false
			}
			tr.Write(media.Unit{Codec: media.Opus, PTS: pts0 + int64(i*audio.FrameSamples), Payload: append([]byte(nil), buf[:n]...)})
			return true
		})
	}()
	return tr, func() { <-done }
}

// TestJanusForward: a 660 Hz program forwarded to a Janus started for the
// test, through a mountpoint tolk creates over the Janus API (Janus picks
// its port); a pion peer watches the mountpoint through the API and decodes
// 660 Hz over two seconds of its RTP timeline. The status counts the
// packets; stopping the output destroys the mountpoint.
func TestJanusForward(t *testing.T) {
	j := janustest.Start(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer http.DefaultClient.CloseIdleConnections()
	srcCtx, srcStop := context.WithCancel(ctx)
	tr, wait := toneTrack(srcCtx, t, 660, 48000*100)
	defer wait()
	defer srcStop()

	cfg := config.Janus{API: j.API, AdminKey: j.AdminKey, Secret: "s3cret", MountpointBase: 7000}
	o, err := sfu.NewJanus(sfu.JanusOptions{Common: sfu.Common{ID: "janus-fr", Lang: "fr", Packets: tr},
		Janus: cfg, Mount: config.JanusMount{Lang: "fr", ID: 7001}, Check: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	defer o.Close()
	for o.Status().State != restream.StateConnected {
		if ctx.Err() != nil {
			t.Fatalf("never connected: %+v; janus: %s", o.Status(), j.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	pkts, stopWatch := janustest.Watch(ctx, t, j.API, 7001, 500)
	stopTap := make(chan struct{})
	tap := janustest.Tap(t, pkts, stopTap)
	span, err := tap.Span(ctx, audio.SampleRate/2, audio.SampleRate/2+2*audio.SampleRate)
	close(stopTap)
	<-tap.Done()
	stopWatch()
	if err != nil {
		t.Fatalf("no 2 s of audio from janus: %v; status %+v", err, o.Status())
	}
	f, amp := audiotest.DominantFrequency(span, audio.SampleRate, 200, 2000, 10)
	t.Logf("janus mountpoint 7001: %.0f Hz at %.3f; %d samples missing; status %+v", f, amp, tap.Missing(), o.Status())
	if f < 650 || f > 670 || amp < 0.1 {
		t.Errorf("heard %.0f Hz at %.3f, want 660 Hz", f, amp)
	}
	st := o.Status()
	if st.Packets < 100 || st.Errors != 0 || st.Protocol != "janus" {
		t.Errorf("status %+v", st)
	}

	// Janus forgets the mountpoint (a restart, an operator): the forward
	// notices at its next check and makes it again.
	jc, err := sfu.DialJanus(ctx, j.API, "")
	if err != nil {
		t.Fatal(err)
	}
	defer jc.Close()
	if err := jc.DestroyMountpoint(ctx, 7001, "s3cret"); err != nil {
		t.Fatal(err)
	}
	for st = o.Status(); st.Reconnects != 1 || st.State != restream.StateConnected; st = o.Status() {
		if ctx.Err() != nil {
			t.Fatalf("the forward never made its mountpoint again: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("after the mountpoint was destroyed: %+v", st)
	if !strings.Contains(st.LastError, "455") {
		t.Errorf("last error %q, want janus's 455 (no such mountpoint)", st.LastError)
	}
	if err := jc.MountpointInfo(ctx, 7001, "s3cret"); err != nil {
		t.Errorf("the mountpoint is not there again: %v", err)
	}
	jc.Close()

	// Janus itself is killed and comes back on the same ports a second later:
	// the forward fails while it is away, then makes its mountpoint again
	// and a new watcher hears the program.
	j.Restart(t)
	for st = o.Status(); st.Reconnects != 2 || st.State != restream.StateConnected; st = o.Status() {
		if ctx.Err() != nil {
			t.Fatalf("the forward never came back after Janus restarted: %+v; janus: %s", st, j.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("after Janus restarted: %+v", st)
	pkts, stopWatch = janustest.Watch(ctx, t, j.API, 7001, 500)
	stopTap = make(chan struct{})
	tap = janustest.Tap(t, pkts, stopTap)
	span, err = tap.Span(ctx, audio.SampleRate/2, audio.SampleRate/2+audio.SampleRate)
	close(stopTap)
	<-tap.Done()
	stopWatch()
	if err != nil {
		t.Fatalf("no audio from the restarted janus: %v; status %+v", err, o.Status())
	}
	if f, amp := audiotest.DominantFrequency(span, audio.SampleRate, 200, 2000, 10); f < 650 || f > 670 || amp < 0.1 {
		t.Errorf("after Janus restarted: heard %.0f Hz at %.3f, want 660 Hz", f, amp)
	}
	if jc, err = sfu.DialJanus(ctx, j.API, ""); err != nil {
		t.Fatal(err)
	}
	defer jc.Close()

	o.Stop()
	var je *sfu.JanusError
	if err := jc.MountpointInfo(ctx, 7001, "s3cret"); !errors.As(err, &je) || je.Code != 455 {
		t.Errorf("after stop, mountpoint info: %v, want 455 no such mountpoint", err)
	}
}

// TestJanusPreconfigured: a mountpoint in janus.plugin.streaming.jcfg, no
// API given to tolk: the forward sends RTP to the configured port, and a
// watcher decodes the program (440 Hz) from it.
func TestJanusPreconfigured(t *testing.T) {
	port := janustest.FreePort(t, "udp")
	j := janustest.Start(t, fmt.Sprintf(`tolk-en: {
	type = "rtp"
	id = 300
	media = ({ type = "audio", mid = "a", port = %d, pt = 111, codec = "opus" })
}`, port))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	defer http.DefaultClient.CloseIdleConnections()
	srcCtx, srcStop := context.WithCancel(ctx)
	tr, wait := toneTrack(srcCtx, t, 440, 0)
	defer wait()
	defer srcStop()
	o, err := sfu.NewJanus(sfu.JanusOptions{Common: sfu.Common{ID: "janus-en", Lang: "en", Packets: tr},
		Janus: config.Janus{RTPHost: "127.0.0.1", MountpointBase: 300, PortBase: port},
		Mount: config.JanusMount{Lang: "en", ID: 300, Port: port}})
	if err != nil {
		t.Fatal(err)
	}
	o.Start()
	defer o.Close()
	pkts, stopWatch := janustest.Watch(ctx, t, j.API, 300, 500)
	stopTap := make(chan struct{})
	tap := janustest.Tap(t, pkts, stopTap)
	span, err := tap.Span(ctx, audio.SampleRate/2, audio.SampleRate/2+2*audio.SampleRate)
	close(stopTap)
	<-tap.Done()
	stopWatch()
	if err != nil {
		t.Fatalf("no 2 s of audio from janus: %v; status %+v", err, o.Status())
	}
	f, amp := audiotest.DominantFrequency(span, audio.SampleRate, 200, 2000, 10)
	st := o.Status()
	t.Logf("pre-configured mountpoint 300: %.0f Hz at %.3f; status %+v", f, amp, st)
	if f < 430 || f > 450 || amp < 0.1 {
		t.Errorf("heard %.0f Hz at %.3f, want 440 Hz", f, amp)
	}
	if st.State != restream.StateConnected || st.URL != fmt.Sprintf("rtp://127.0.0.1:%d (mountpoint 300)", port) {
		t.Errorf("status %+v", st)
	}
}
