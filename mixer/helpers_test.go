package mixer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"tolk/internal/audio"
)

// readWAV decodes a RIFF WAVE file of 16-bit integer or 32-bit float PCM and
// returns its first channel and its sample rate.
func readWAV(r io.Reader) ([]float32, int, error) {
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, 0, fmt.Errorf("wav header: %w", err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, 0, errors.New("wav: not a RIFF WAVE file")
	}
	var format, channels, bits uint16
	var rate uint32
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			return nil, 0, fmt.Errorf("wav: no data chunk: %w", err)
		}
		size := binary.LittleEndian.Uint32(ch[4:8])
		if size > 1<<28 {
			return nil, 0, fmt.Errorf("wav: chunk %q of %d bytes is too large", ch[0:4], size)
		}
		switch string(ch[0:4]) {
		case "fmt ":
			if size < 16 {
				return nil, 0, errors.New("wav: short fmt chunk")
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return nil, 0, fmt.Errorf("wav fmt: %w", err)
			}
			format = binary.LittleEndian.Uint16(b[0:2])
			channels = binary.LittleEndian.Uint16(b[2:4])
			rate = binary.LittleEndian.Uint32(b[4:8])
			bits = binary.LittleEndian.Uint16(b[14:16])
			if format == 0xFFFE && size >= 26 { // WAVE_FORMAT_EXTENSIBLE: sub-format GUID
				format = binary.LittleEndian.Uint16(b[24:26])
			}
		case "data":
			if channels == 0 || rate == 0 {
				return nil, 0, errors.New("wav: data before fmt")
			}
			b := make([]byte, size)
			n, err := io.ReadFull(r, b)
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, 0, fmt.Errorf("wav data: %w", err)
			}
			return decodePCM(b[:n], format, int(channels), int(bits), int(rate))
		default:
			if _, err := io.CopyN(io.Discard, r, int64(size+size%2)); err != nil {
				return nil, 0, fmt.Errorf("wav: skip %q: %w", ch[0:4], err)
			}
		}
	}
}

func decodePCM(b []byte, format uint16, channels, bits, rate int) ([]float32, int, error) {
	switch {
	case format == 1 && bits == 16:
		step := 2 * channels
		out := make([]float32, len(b)/step)
		for i := range out {
			out[i] = float32(int16(binary.LittleEndian.Uint16(b[i*step:]))) / 32768
		}
		return out, rate, nil
	case format == 3 && bits == 32:
		step := 4 * channels
		out := make([]float32, len(b)/step)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[i*step:]))
		}
		return out, rate, nil
	}
	return nil, 0, fmt.Errorf("wav: format %d with %d bits is not supported", format, bits)
}

// speech returns a 48 kHz mono clip: testdata/name.wav of the repository if it
// is there, otherwise text spoken by flite's voice into a temporary file.
// Clips at another rate go through sox.
func speech(t testing.TB, name, voice, text string) []float32 {
	t.Helper()
	path := filepath.Join("..", "testdata", name+".wav")
	if _, err := os.Stat(path); err != nil {
		if _, err := exec.LookPath("flite"); err != nil {
			t.Skipf("no %s and no flite to speak it", path)
		}
		path = filepath.Join(t.TempDir(), name+".wav")
		if out, err := exec.Command("flite", "-voice", voice, "-t", text, "-o", path).CombinedOutput(); err != nil {
			t.Fatalf("flite: %v: %s", err, out)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	x, rate, err := readWAV(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if rate == audio.SampleRate {
		return x
	}
	if _, err := exec.LookPath("sox"); err != nil {
		t.Skipf("%s is %d Hz and there is no sox to resample it", path, rate)
	}
	conv := filepath.Join(t.TempDir(), name+"-48k.wav")
	if out, err := exec.Command("sox", "-D", path, "-r", "48000", "-c", "1", "-b", "16", conv).CombinedOutput(); err != nil {
		t.Fatalf("sox: %v: %s", err, out)
	}
	raw, err = os.ReadFile(conv)
	if err != nil {
		t.Fatal(err)
	}
	x, rate, err = readWAV(bytes.NewReader(raw))
	if err != nil || rate != audio.SampleRate {
		t.Fatalf("%s: rate %d, %v", conv, rate, err)
	}
	return x
}

// clip is a Source over a slice: frame k of the program is x[k*960:], and
// nothing past its end.
type clip struct {
	x     []float32
	start int64 // program sample where x begins
}

func (c *clip) ReadFrame(pts int64) (audio.Frame, bool) {
	i := pts - c.start
	if i < 0 || i+audio.FrameSamples > int64(len(c.x)) {
		return audio.Frame{}, false
	}
	return audio.Frame{PTS: pts, Samples: c.x[i : i+audio.FrameSamples]}, true
}

// frameAt returns frame k of x, zero past its end.
func frameAt(x []float32, k int) []float32 {
	f := make([]float32, audio.FrameSamples)
	if lo := k * audio.FrameSamples; lo < len(x) {
		copy(f, x[lo:])
	}
	return f
}

// run feeds floor to m for frames ticks and returns the mixed output PCM and
// the meters after every tick.
func run(t testing.TB, m *Mix, floor []float32, frames int) ([]float32, []Meters) {
	t.Helper()
	sub := m.SubscribePCM(4)
	defer sub.Unsubscribe()
	out := make([]float32, 0, frames*audio.FrameSamples)
	ms := make([]Meters, 0, frames)
	for k := 0; k < frames; k++ {
		m.Process(int64(k*audio.FrameSamples), frameAt(floor, k))
		f := <-sub.C
		out = append(out, f.Samples...)
		ms = append(ms, m.Meters())
	}
	return out, ms
}

// goertzel returns the amplitude of the freq component of x, through a Hann
// window so loud content elsewhere in the spectrum does not leak into it.
func goertzel(x []float32, freq float64) float64 {
	w := 2 * math.Pi * freq / audio.SampleRate
	c := 2 * math.Cos(w)
	var s1, s2, sum float64
	n := float64(len(x))
	for i, v := range x {
		h := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/n)
		sum += h
		s1, s2 = float64(v)*h+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return 2 * math.Sqrt(math.Max(p, 0)) / sum
}

// envelope returns the RMS of x in consecutive windows of win samples.
func envelope(x []float32, win int) []float64 {
	e := make([]float64, len(x)/win)
	for i := range e {
		e[i] = audio.RMS(x[i*win : (i+1)*win])
	}
	return e
}

// corr is the Pearson correlation of a and b (same length).
func corr(a, b []float64) float64 {
	n := float64(len(a))
	var sa, sb float64
	for i := range a {
		sa += a[i]
		sb += b[i]
	}
	ma, mb := sa/n, sb/n
	var ab, aa, bb float64
	for i := range a {
		da, db := a[i]-ma, b[i]-mb
		ab += da * db
		aa += da * da
		bb += db * db
	}
	return ab / math.Sqrt(aa*bb)
}

func f64(x []float32) []float64 {
	o := make([]float64, len(x))
	for i, v := range x {
		o[i] = float64(v)
	}
	return o
}

// delayed returns x shifted later by d samples (zeros in front), same length.
func delayed(x []float32, d int) []float32 {
	o := make([]float32, len(x))
	copy(o[d:], x)
	return o
}

func scale(x []float32, g float64) []float32 {
	o := make([]float32, len(x))
	for i, v := range x {
		o[i] = float32(float64(v) * g)
	}
	return o
}

func tone(freq, amp float64, n int) []float32 {
	o := make([]float32, n)
	for i := range o {
		o[i] = float32(amp * math.Sin(2*math.Pi*freq*float64(i)/audio.SampleRate))
	}
	return o
}

func FuzzReadWAV(f *testing.F) {
	var b bytes.Buffer
	b.WriteString("RIFF\x00\x00\x00\x00WAVEfmt \x10\x00\x00\x00")
	binary.Write(&b, binary.LittleEndian, []uint16{1, 1})
	binary.Write(&b, binary.LittleEndian, []uint32{48000, 96000})
	binary.Write(&b, binary.LittleEndian, []uint16{2, 16})
	b.WriteString("data\x04\x00\x00\x00\x01\x00\xff\x7f")
	f.Add(b.Bytes())
	f.Add([]byte("RIFF\x00\x00\x00\x00WAVE"))
	f.Fuzz(func(t *testing.T, data []byte) {
		x, rate, err := readWAV(bytes.NewReader(data))
		if err != nil {
			return
		}
		if rate == 0 {
			t.Fatalf("decoded %d samples at rate 0", len(x))
		}
	})
}
