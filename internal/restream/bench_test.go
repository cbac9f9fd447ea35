package restream

import (
	"bufio"
	"context"
	"io"
	"sync/atomic"
	"testing"

	"github.com/bluenviron/gortmplib"
	"github.com/bluenviron/gortmplib/pkg/bytecounter"
	"github.com/bluenviron/gortmplib/pkg/codecs"
	"github.com/bluenviron/gortmplib/pkg/message"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mpegtscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"tolk/internal/aac"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// discard is an RTMP connection whose messages are encoded in full (chunks,
// headers) and thrown away: the push's own cost without the network.
type discard struct {
	w  *message.Writer
	bc *bytecounter.Writer
}

func newDiscard() *discard {
	bc := bytecounter.NewWriter(io.Discard)
	d := &discard{w: message.NewWriter(bc, bc, false), bc: bc}
	// As gortmplib's client does after the handshake.
	_ = d.w.Write(&message.SetChunkSize{Value: 65536})
	return d
}

func (d *discard) BytesReceived() uint64           { return 0 }
func (d *discard) BytesSent() uint64               { return d.bc.Count() }
func (d *discard) Read() (message.Message, error)  { return nil, io.EOF }
func (d *discard) Write(msg message.Message) error { return d.w.Write(msg) }

func benchClip(b *testing.B) []media.Unit {
	b.Helper()
	clip, err := videotest.Clip(context.Background(), videotest.Options{Seconds: 2, Width: 1280, Height: 720, FPS: 30, GOP: 60})
	if err != nil {
		b.Skip("ffmpeg:", err)
	}
	return clip
}

func rtmpDiscard(b *testing.B, pic *picture) *rtmpConn {
	d := newDiscard()
	rc := &rtmpConn{c: d, audio: &gortmplib.Track{Codec: &codecs.MPEG4Audio{Config: &aacConfig}}}
	tracks := []*gortmplib.Track{rc.audio}
	if pic != nil {
		rc.video = &gortmplib.Track{Codec: &codecs.H264{SPS: pic.sps, PPS: pic.pps}}
		tracks = append(tracks, rc.video)
	}
	rc.w = &gortmplib.Writer{Conn: d, Tracks: tracks}
	if err := rc.w.Initialize(); err != nil {
		b.Fatal(err)
	}
	return rc
}

func srtDiscard(b *testing.B) *srtConn {
	s := &srtConn{exited: make(chan struct{}), err: &tailErr{}}
	s.count = &countWriter{w: io.Discard}
	s.bw = bufio.NewWriterSize(s.count, 188*7*8)
	s.audio = &mpegts.Track{Codec: &mpegtscodecs.MPEG4Audio{Config: aacConfig}}
	s.video = &mpegts.Track{Codec: &mpegtscodecs.H264{}}
	s.w = &mpegts.Writer{W: s.bw, Tracks: []*mpegts.Track{s.video, s.audio}}
	if err := s.w.Initialize(); err != nil {
		b.Fatal(err)
	}
	return s
}

// benchSend pushes the clip's pictures (720p30, looped) each with the
// audio that releases it: one op is a picture and an AAC frame through the
// sender and the connection's muxer.
func benchSend(b *testing.B, c conn, clip []media.Unit) {
	au, _ := splitAVCC(clip[0].Payload)
	sps, pps := paramSets(au)
	s := &sender{c: c, base: 0, pic: &picture{sps: sps, pps: pps}, lastDTS: -1 << 62, lastAudio: -1 << 62, sent: new(atomic.Int64)}
	frame := make([]byte, 170) // a 64 kb/s AAC frame
	clipLen := clip[len(clip)-1].DTS + clip[1].DTS - clip[0].DTS
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		u := clip[i%len(clip)]
		loop := int64(i / len(clip))
		u.PTS += loop * clipLen
		u.DTS += loop * clipLen
		bytes += int64(len(u.Payload))
		if err := s.take(u); err != nil {
			b.Fatal(err)
		}
		if err := s.audio(media.Unit{PTS: u.DTS + aac.FrameSamples, Codec: media.AAC, Payload: frame}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(bytes)/float64(b.N), "picture-bytes/op")
}

func BenchmarkPushRTMPPicture(b *testing.B) {
	clip := benchClip(b)
	au, _ := splitAVCC(clip[0].Payload)
	sps, pps := paramSets(au)
	benchSend(b, rtmpDiscard(b, &picture{sps: sps, pps: pps}), clip)
}

func BenchmarkPushSRTPicture(b *testing.B) {
	benchSend(b, srtDiscard(b), benchClip(b))
}

// BenchmarkPushRTMPAudio: one AAC frame (21.3 ms of a language) through an
// audio-only push.
func BenchmarkPushRTMPAudio(b *testing.B) {
	s := &sender{c: rtmpDiscard(b, nil), lastDTS: -1 << 62, lastAudio: -1 << 62, sent: new(atomic.Int64)}
	frame := make([]byte, 170)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := s.audio(media.Unit{PTS: int64(i) * aac.FrameSamples, Codec: media.AAC, Payload: frame}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAACTracks: an encoded frame handed on to one push's track (a
// copy and a queue write), as the encoder's sink does for every frame.
func BenchmarkAACTracks(b *testing.B) {
	tr := aac.NewTracks([]string{"fr"}, nil)
	defer tr.Close()
	t, _ := tr.Track("fr")
	r := t.Read("bench", 1)
	frame := make([]byte, 170)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = tr.WriteAAC("fr", int64(i)*aac.FrameSamples, frame)
		select {
		case <-r.C:
		default:
		}
	}
}
