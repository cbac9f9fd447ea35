package speechfake

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	speech "cloud.google.com/go/speech/apiv1"
	"cloud.google.com/go/speech/apiv1/speechpb"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var lexicon = []string{"one", "two", "three"}

// open starts a server and a real Speech client stream to it, config sent.
func open(t *testing.T, cfg Config) (*Server, speechpb.Speech_StreamingRecognizeClient) {
	t.Helper()
	cfg.Lexicon = lexicon
	srv, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv, openOn(t, srv)
}

// openOn opens a real Speech client stream to srv and sends the config.
func openOn(t *testing.T, srv *Server) speechpb.Speech_StreamingRecognizeClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	c, err := speech.NewClient(ctx, srv.ClientOptions()...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = c.Close()
	})
	st, err := c.StreamingRecognize(ctx)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Send(&speechpb.StreamingRecognizeRequest{StreamingRequest: &speechpb.StreamingRecognizeRequest_StreamingConfig{
		StreamingConfig: &speechpb.StreamingRecognitionConfig{
			Config:         &speechpb.RecognitionConfig{Encoding: speechpb.RecognitionConfig_LINEAR16, SampleRateHertz: 48000, LanguageCode: "en-US", EnableWordTimeOffsets: true},
			InterimResults: true,
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func audioReq(pcm []float32) *speechpb.StreamingRecognizeRequest {
	b := make([]byte, 2*len(pcm))
	for i, v := range pcm {
		x := int16(v*32767 + 0.5)
		if v < 0 {
			x = int16(v*32767 - 0.5)
		}
		b[2*i], b[2*i+1] = byte(x), byte(uint16(x)>>8)
	}
	return &speechpb.StreamingRecognizeRequest{StreamingRequest: &speechpb.StreamingRecognizeRequest_AudioContent{AudioContent: b}}
}

// finish half-closes and returns the responses and the stream's end.
func finish(t *testing.T, st speechpb.Speech_StreamingRecognizeClient) ([]*speechpb.StreamingRecognitionResult, error) {
	t.Helper()
	_ = st.CloseSend()
	var out []*speechpb.StreamingRecognitionResult
	for {
		r, err := st.Recv()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return out, err
		}
		out = append(out, r.Results...)
	}
}

func TestRecognizesTheCodeWithOffsets(t *testing.T) {
	_, st := open(t, Config{Pause: 100 * time.Millisecond})
	// "one two" (then a pause that settles them), "three" settled at half-close.
	words := []Word{{"one", 480, 4800}, {"two", 4800, 9600}, {"three", 20000, 24000}}
	pcm, err := Render(lexicon, words, 24000+100)
	if err != nil {
		t.Fatal(err)
	}
	// Requests of odd byte counts: samples split across requests still decode.
	b := audioReq(pcm).GetAudioContent()
	for len(b) > 0 {
		n := min(len(b), 7777)
		if err := st.Send(&speechpb.StreamingRecognizeRequest{StreamingRequest: &speechpb.StreamingRecognizeRequest_AudioContent{AudioContent: b[:n]}}); err != nil {
			t.Fatal(err)
		}
		b = b[n:]
	}
	results, err := finish(t, st)
	if err != nil {
		t.Fatal(err)
	}
	var finals [][]Word
	interims := 0
	for _, r := range results {
		if !r.IsFinal {
			interims++
			continue
		}
		var ws []Word
		for _, w := range r.Alternatives[0].Words {
			ws = append(ws, Word{w.Word, int64(w.StartTime.AsDuration() * 48000 / time.Second), int64(w.EndTime.AsDuration() * 48000 / time.Second)})
		}
		finals = append(finals, ws)
	}
	if len(finals) != 2 || len(finals[0]) != 2 || len(finals[1]) != 1 || interims != 3 {
		t.Fatalf("finals %v, %d interims; want [one two] [three] and 3 interims", finals, interims)
	}
	for i, w := range append(finals[0], finals[1]...) {
		// Offsets are whole nanoseconds, truncated: within a sample.
		if w.Text != words[i].Text || w.Start < words[i].Start-1 || w.Start > words[i].Start || w.End < words[i].End-1 || w.End > words[i].End {
			t.Errorf("word %d = %+v, want %+v", i, w, words[i])
		}
	}
}

func TestRejectsOversizedRequest(t *testing.T) {
	srv, st := open(t, Config{})
	if err := st.Send(audioReq(make([]float32, 12501))); err != nil {
		t.Fatal(err)
	}
	_, err := finish(t, st)
	if status.Code(err) != codes.InvalidArgument || srv.Stats().Oversized != 1 {
		t.Fatalf("25002-byte request: %v, stats %+v", err, srv.Stats())
	}
}

func TestRejectsAudioFasterThanRealTime(t *testing.T) {
	srv, st := open(t, Config{MaxAhead: time.Second})
	chunk := make([]float32, 12000) // 250 ms
	var err error
	for range 12 { // 3 s at once
		if err = st.Send(audioReq(chunk)); err != nil {
			break
		}
	}
	_, err = finish(t, st)
	if status.Code(err) != codes.OutOfRange || srv.Stats().TooFast != 1 {
		t.Fatalf("3 s at once: %v, stats %+v", err, srv.Stats())
	}
}

func TestCapEndsStream(t *testing.T) {
	srv, st := open(t, Config{Cap: 200 * time.Millisecond})
	_, err := st.Recv()
	if status.Code(err) != codes.OutOfRange || srv.Stats().CapHits != 1 {
		t.Fatalf("after the cap: %v, stats %+v", err, srv.Stats())
	}
}

func TestInjectedFailure(t *testing.T) {
	srv, err := Start(Config{Lexicon: lexicon})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.FailNext(codes.ResourceExhausted, 1)
	if _, err := finish(t, openOn(t, srv)); status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("first stream: %v, want RESOURCE_EXHAUSTED", err)
	}
	if _, err := finish(t, openOn(t, srv)); err != nil {
		t.Fatalf("second stream: %v", err)
	}
	st := openOn(t, srv)
	if err := st.Send(audioReq(make([]float32, 4800))); err != nil {
		t.Fatal(err)
	}
	for srv.Stats().Requests == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Break(codes.Unavailable)
	if _, err := finish(t, st); status.Code(err) != codes.Unavailable {
		t.Fatalf("broken stream: %v, want UNAVAILABLE", err)
	}
	if got := srv.Stats(); got.Injected != 2 || got.Streams != 3 {
		t.Errorf("stats %+v, want 2 injected over 3 streams", got)
	}
}

func TestStallAfterStopsReading(t *testing.T) {
	srv, st := open(t, Config{MaxAhead: time.Hour})
	srv.StallAfter(300 * time.Millisecond)
	var sent atomic.Int64
	done := make(chan error, 1)
	go func() {
		// 20 s of audio in 100 ms requests, far more than flow control lets
		// through to a stream that reads nothing.
		for range 200 {
			if err := st.Send(audioReq(make([]float32, 4800))); err != nil {
				done <- err
				return
			}
			sent.Add(1)
		}
		done <- nil
	}()
	// Wait for the sends to stop going out (the context ends them at cleanup).
	for last, same := int64(-1), 0; same < 20; {
		select {
		case err := <-done:
			t.Fatalf("the client's sends ended (%v) after %d requests", err, sent.Load())
		case <-time.After(10 * time.Millisecond):
		}
		if n := sent.Load(); n == last {
			same++
		} else {
			last, same = n, 0
		}
	}
	got, n := srv.Stats(), sent.Load()
	t.Logf("the client got %d requests (%d KB) out; the server read %d", n, n*9600/1024, got.Requests)
	if got.Stalled != 1 || got.Requests != 3 {
		t.Errorf("stats %+v: want one stream stalled after reading 3 requests (300 ms)", got)
	}
	if n <= 3 || n >= 200 {
		t.Errorf("%d requests sent: want more than were read, and the rest held up by flow control", n)
	}
}

func TestMuteWithholdsAnswersAndTheEnd(t *testing.T) {
	srv, st := open(t, Config{Pause: 100 * time.Millisecond})
	srv.Mute(true)
	pcm, err := Render(lexicon, []Word{{"one", 480, 4800}, {"two", 4800, 9600}}, 12000)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(audioReq(pcm)); err != nil {
		t.Fatal(err)
	}
	_ = st.CloseSend()
	recv := make(chan error, 1)
	go func() {
		_, err := st.Recv()
		recv <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); srv.Stats().HalfClosed == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the half-close never reached the server")
		}
	}
	select {
	case err := <-recv:
		t.Fatalf("a muted stream answered or ended after the half-close: %v", err)
	default:
	}
	// Stopping the server ends the stream.
	srv.Close()
	if err := <-recv; err == nil {
		t.Error("Recv after the server stopped returned a response")
	}
	if got := srv.Stats(); got.Requests != 1 || got.Finals != 0 || got.Interims != 0 {
		t.Errorf("stats %+v: want the audio read and nothing answered", got)
	}
}

func TestRenderRejectsBadScripts(t *testing.T) {
	for _, ws := range [][]Word{
		{{"four", 0, 10}},
		{{"one", 10, 5}},
		{{"one", 0, 10}, {"two", 5, 20}},
		{{"one", 0, 200}},
	} {
		if _, err := Render(lexicon, ws, 100); err == nil {
			t.Errorf("Render(%v) succeeded", ws)
		}
	}
}

// FuzzDecoder feeds arbitrary bytes in arbitrary splits: no panic, and the
// words reported are in order, inside the audio, and never overlap.
func FuzzDecoder(f *testing.F) {
	pcm, _ := Render(lexicon, []Word{{"one", 10, 50}, {"three", 60, 70}}, 400)
	f.Add(audioReq(pcm).GetAudioContent(), uint8(7))
	f.Add([]byte{0, 1, 2, 3, 255, 127, 0, 128}, uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		d := &decoder{lexicon: lexicon, rate: 48000, pause: 20, interim: true}
		var results []*speechpb.StreamingRecognitionResult
		step := int(split)*2 + 2
		for i := 0; i < len(data); i += step {
			results = append(results, d.feed(data[i:min(len(data), i+step)])...)
		}
		results = append(results, d.finish()...)
		var last time.Duration
		for _, r := range results {
			if !r.IsFinal {
				continue
			}
			for _, w := range r.Alternatives[0].Words {
				s, e := w.StartTime.AsDuration(), w.EndTime.AsDuration()
				if s < last || e <= s || e > time.Duration(len(data)/2)*time.Second/48000+time.Nanosecond {
					t.Fatalf("word %q at %v..%v after %v in %d bytes", w.Word, s, e, last, len(data))
				}
				last = e
			}
		}
	})
}
