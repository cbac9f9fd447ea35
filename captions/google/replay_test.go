package google

import (
	"encoding/binary"
	"testing"

	"golang.org/x/text/language"

	"tolk/internal/audio"
)

func TestTimelineMapsAcrossGaps(t *testing.T) {
	tl := timeline{nextPTS: 1000}
	if got := tl.start(0); got != 1000 {
		t.Errorf("empty timeline maps 0 to %d, want 1000", got)
	}
	tl.record(1000, 960)
	tl.record(1960, 960)
	tl.record(9000, 960) // frames 2920..9000 were never sent
	for _, c := range []struct {
		off, start, end int64
	}{
		{0, 1000, 1000},
		{1919, 2919, 2919},
		{1920, 9000, 2920}, // a word starting here is after the gap; one ending here, before it
		{2000, 9080, 9080},
		{5000, 12080, 12080}, // past what was sent: extrapolated
	} {
		if s, e := tl.start(c.off), tl.end(c.off); s != c.start || e != c.end {
			t.Errorf("offset %d maps to start %d end %d, want %d %d", c.off, s, e, c.start, c.end)
		}
	}
}

func TestReplayTrimAndBound(t *testing.T) {
	r := replay{max: 3000}
	for i := range 4 {
		r.add(piece{pts: int64(i) * 1000, pcm: make([]int16, 1000)})
	}
	if r.samples != 3000 || r.dropped != 1000 || r.pieces[0].pts != 1000 {
		t.Fatalf("bound: %d held, %d dropped, first at %d", r.samples, r.dropped, r.pieces[0].pts)
	}
	pts, data := r.next(1500)
	if pts != 1000 || len(data) != 2*1500 || r.sent != 1500 {
		t.Fatalf("next: %d bytes at %d, sent %d", len(data), pts, r.sent)
	}
	r.trim(2200)
	if r.samples != 1800 || r.sent != 300 || r.pieces[0].pts != 2200 {
		t.Fatalf("trim: %d held, %d sent, first at %d", r.samples, r.sent, r.pieces[0].pts)
	}
	if pts, data := r.next(10000); pts != 2500 || len(data) != 2*1500 || r.unsent() != 0 {
		t.Fatalf("rest: %d bytes at %d, %d unsent", len(data), pts, r.unsent())
	}
}

// FuzzReplay drives the buffer with adds (with gaps), sends and trims: the
// counts stay consistent and what is sent is what was added, in order.
func FuzzReplay(f *testing.F) {
	f.Add([]byte{10, 3, 200, 7, 1, 90, 44, 0, 255})
	f.Fuzz(func(t *testing.T, ops []byte) {
		r := replay{max: 2000}
		var pts, sentEnd int64
		for i := 0; i+1 < len(ops); i += 2 {
			op, arg := ops[i]%3, int64(ops[i+1])
			switch op {
			case 0:
				pts += arg % 7 * 100 // sometimes a gap
				n := arg*3 + 1
				pcm := make([]int16, n)
				for j := range pcm {
					pcm[j] = int16(pts + int64(j))
				}
				r.add(piece{pts: pts, pcm: pcm})
				pts += n
			case 1:
				at, data := r.next(arg*5 + 1)
				if len(data)%2 != 0 {
					t.Fatalf("%d bytes: not whole samples", len(data))
				}
				n := int64(len(data) / 2)
				for j := range n {
					if v := int16(binary.LittleEndian.Uint16(data[2*j:])); v != int16(at+j) {
						t.Fatalf("sample at %d holds %d", at+j, v)
					}
				}
				if n > 0 {
					if at < sentEnd {
						t.Fatalf("sent %d again (already up to %d)", at, sentEnd)
					}
					sentEnd = at + n
				}
			case 2:
				if len(r.pieces) > 0 {
					r.trim(r.pieces[0].pts + arg*4)
				}
			}
			var held int64
			for k, p := range r.pieces {
				held += int64(len(p.pcm))
				if len(p.pcm) == 0 || k > 0 && p.pts < r.pieces[k-1].pts+int64(len(r.pieces[k-1].pcm)) {
					t.Fatalf("piece %d at %d (%d samples) out of order", k, p.pts, len(p.pcm))
				}
			}
			if held != r.samples || r.sent < 0 || r.sent > r.samples || r.samples > r.max {
				t.Fatalf("held %d, samples %d, sent %d, max %d", held, r.samples, r.sent, r.max)
			}
		}
	})
}

func BenchmarkWrite(b *testing.B) {
	s := &Stream{in: make(chan piece, 1)}
	s.ctx = b.Context()
	f := make([]float32, 960)
	for i := range f {
		f[i] = float32(i%200)/200 - 0.5
	}
	b.ReportAllocs()
	for b.Loop() {
		select {
		case <-s.in:
		default:
		}
		_ = s.Write(audio.Frame{Samples: f})
	}
}

func TestLanguageCode(t *testing.T) {
	for in, want := range map[string]string{"en-US": "en-US", "en-GB": "en-GB", "fr": "fr-FR", "de": "de-DE", "es-419": "es-419", "sr-Latn": "sr-Latn", "nl": "nl-NL"} {
		if got := languageCode(language.MustParse(in)); got != want {
			t.Errorf("languageCode(%s) = %s, want %s", in, got, want)
		}
	}
}

// BenchmarkRequest takes 100 ms of queued frames off the replay buffer as
// one audio request, as a session does in steady state.
func BenchmarkRequest(b *testing.B) {
	s := &Stream{buf: replay{max: audio.SampleRate}}
	pcm := make([]int16, audio.FrameSamples)
	var pts int64
	b.ReportAllocs()
	for b.Loop() {
		for range 5 {
			s.buf.add(piece{pts: pts, pcm: pcm})
			pts += audio.FrameSamples
		}
		if req, n := s.request(); req == nil || n != 5*2*audio.FrameSamples {
			b.Fatalf("request of %d bytes", n)
		}
		s.buf.trim(pts)
	}
}
