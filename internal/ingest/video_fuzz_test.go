package ingest

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts"
	mpegtscodecs "github.com/bluenviron/mediacommon/v2/pkg/formats/mpegts/codecs"

	"tolk/internal/media"
)

// sinkVideo is a VideoWriter that keeps the pictures.
type sinkVideo struct{ units []media.Unit }

func (s *sinkVideo) WriteFloor([]float32)                  {}
func (s *sinkVideo) WriteFloorAt(uint64, int64, []float32) {}
func (s *sinkVideo) WriteVideo(_ uint64, u media.Unit)     { s.units = append(s.units, u) }

// tsSeed is a small MPEG-TS with H.264 access units: a key frame without
// parameter sets after one with them, a first DTS below zero and a
// timestamp wrap.
func tsSeed(t testing.TB) []byte {
	var buf bytes.Buffer
	track := &mpegts.Track{Codec: &mpegtscodecs.H264{}}
	w := &mpegts.Writer{W: &buf, Tracks: []*mpegts.Track{track}}
	if err := w.Initialize(); err != nil {
		t.Fatal(err)
	}
	sps := []byte{0x67, 0x42, 0xc0, 0x1f, 0xd9, 0x00, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x2a}
	pps := []byte{0x68, 0xce, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00, 0x33, 0xff}
	p := []byte{0x41, 0x9a, 0x02, 0x03}
	aus := [][][]byte{{sps, pps, idr}, {p}, {idr}, {p}}
	ts := []int64{tsMask - 2999, 0, tsMask - 100, 3000}
	for i, au := range aus {
		if err := w.WriteH264(track, (ts[i]+6000)&tsMask, ts[i], au); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

func TestVideoReaderSeed(t *testing.T) {
	s := &sinkVideo{}
	(&videoReader{w: s, log: slog.New(slog.DiscardHandler)}).run(bytes.NewReader(tsSeed(t)))
	if len(s.units) != 4 {
		t.Fatalf("%d units, want 4", len(s.units))
	}
	wantDTS := []int64{-1600, 0, ticksToSamples(-101), 1600}
	for i, u := range s.units {
		if u.DTS != wantDTS[i] || u.PTS != u.DTS+3200 {
			t.Errorf("unit %d: DTS %d PTS %d, want DTS %d PTS +3200", i, u.DTS, u.PTS, wantDTS[i])
		}
	}
	if !s.units[0].Key || !s.units[2].Key || s.units[1].Key {
		t.Errorf("key frames %v %v %v", s.units[0].Key, s.units[1].Key, s.units[2].Key)
	}
	if len(s.units[2].Payload) != len(s.units[0].Payload) {
		t.Errorf("the bare key frame did not get the parameter sets back: %d bytes, the first %d",
			len(s.units[2].Payload), len(s.units[0].Payload))
	}
}

// FuzzVideoReader: whatever ffmpeg's pipe holds, the reader reads it to the
// end without panicking, and every picture it hands over is decodable AVCC
// with DTS ≤ PTS.
func FuzzVideoReader(f *testing.F) {
	f.Add(tsSeed(f))
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0x47}, 188*3))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &sinkVideo{}
		r := bytes.NewReader(data)
		(&videoReader{w: s, log: slog.New(slog.DiscardHandler)}).run(r)
		if n, _ := io.Copy(io.Discard, r); n != 0 {
			t.Fatalf("%d bytes left unread", n)
		}
		for i, u := range s.units {
			if u.DTS > u.PTS || len(u.Payload) < 5 {
				t.Fatalf("unit %d: DTS %d PTS %d, %d bytes", i, u.DTS, u.PTS, len(u.Payload))
			}
		}
	})
}
