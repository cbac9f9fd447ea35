package recording

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hraban/opus"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/fmp4"
	"tolk/internal/media"
)

const sec = int64(audio.SampleRate)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// tone encodes n 20 ms frames of a sine at freq Hz, as a mix would send
// them, starting at program time from.
func tone(t testing.TB, freq float64, from int64, n int) []media.Unit {
	t.Helper()
	enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.SetBitrate(64000); err != nil {
		t.Fatal(err)
	}
	out := make([]media.Unit, n)
	buf := make([]byte, 4000)
	for i := range out {
		pts := from + int64(i)*audio.FrameSamples
		k, err := enc.EncodeFloat32(audiotest.Tone(freq, 0.3, int(pts), audio.FrameSamples), buf)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = media.Unit{PTS: pts, Codec: media.Opus, Payload: append([]byte(nil), buf[:k]...)}
	}
	return out
}

var testEpoch = time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)

func fixed(t time.Time) func() (time.Time, bool) { return func() (time.Time, bool) { return t, true } }

// langs of the test runs: the floor, two interpretations; captions of two.
var (
	testAudio    = []Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}, {Tag: "de-CH", Name: "Deutsch (Schweiz)"}}
	testCaptions = []Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}}
	testFreqs    = []float64{440, 660, 880}
)

func newTestRecorder(t testing.TB, lib *Library, opts Options) *Recorder {
	t.Helper()
	if opts.Event == "" {
		opts.Event = "ev"
	}
	opts.Library = lib
	opts.Audio, opts.Captions = testAudio, testCaptions
	if opts.Epoch == nil {
		opts.Epoch = fixed(testEpoch)
	}
	if opts.Log == nil {
		opts.Log = quiet
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// feed writes n frames of every language from program time from, tick by
// tick as the mixes write them.
func feed(t testing.TB, r *Recorder, from int64, n int) map[string][]media.Unit {
	t.Helper()
	sent := map[string][]media.Unit{}
	for i, l := range testAudio {
		sent[l.Tag] = tone(t, testFreqs[i], from, n)
	}
	for k := range n {
		for _, l := range testAudio {
			r.WritePacket(l.Tag, sent[l.Tag][k])
		}
	}
	return sent
}

type probeStream struct {
	Index     int               `json:"index"`
	CodecName string            `json:"codec_name"`
	CodecType string            `json:"codec_type"`
	StartTime string            `json:"start_time"`
	Duration  string            `json:"duration"`
	Tags      map[string]string `json:"tags"`
	Dispo     map[string]int    `json:"disposition"`
}

// ffprobe lists the streams of a file as ffprobe reads them.
func ffprobe(t testing.TB, path string) []probeStream {
	t.Helper()
	audiotest.NeedTool(t, "ffprobe")
	out, err := exec.Command("ffprobe", "-v", "error", "-show_streams", "-of", "json", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	var v struct{ Streams []probeStream }
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatal(err)
	}
	return v.Streams
}

func seconds(t testing.TB, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return f
}

// decodeTrack decodes audio stream i of a file with ffmpeg, failing on any
// decoding error.
func decodeTrack(t testing.TB, path string, i int) []float32 {
	t.Helper()
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pcm, err := decodeStream(ctx, path, i)
	if err != nil {
		t.Fatal(err)
	}
	return pcm
}

func decodeStream(ctx context.Context, path string, i int) ([]float32, error) {
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", path, "-map", fmt.Sprintf("0:a:%d", i),
		"-ac", "1", "-ar", "48000", "-f", "f32le", "-")
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		return nil, fmt.Errorf("ffmpeg stream %d: %v: %s", i, err, stderr.String())
	}
	b := out.Bytes()
	pcm := make([]float32, len(b)/4)
	for k := range pcm {
		pcm[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*k:]))
	}
	return pcm, nil
}

// TestRecorderWritesARun records 5.5 s of three languages and captions of
// two, stops, and reads the run back: the Reader returns every packet as it
// was sent and every cue; ffprobe lists every track with its language and
// name and the run's length; ffmpeg decodes each language without an error
// and hears that language's tone.
func TestRecorderWritesARun(t *testing.T) {
	defer goleak.VerifyNone(t)
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{})
	if s := r.Status(); s.State != "waiting" {
		t.Errorf("state before the first packet: %+v", s)
	}
	const frames = 275 // 5.5 s
	cues := []media.Cue{
		{Lang: "en", Start: sec / 2, End: 2 * sec, Text: "Good morning", Final: true},
		{Lang: "en", Start: 3 * sec, End: 4*sec + sec/2, Text: "and welcome\nto Geneva", Final: true},
		{Lang: "fr", Start: sec, End: 3 * sec, Text: "Bonjour à tous", Final: true},
		{Lang: "fr", Start: 2 * sec, End: 2*sec + 10, Text: "partial", Final: false},
	}
	for _, c := range cues {
		r.WriteCue(c.Lang, c)
	}
	sent := feed(t, r, 0, frames)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	st := r.Status()
	if st.State != "stopped" || st.Run != "20261103T090000Z" || st.Dropped != 0 {
		t.Errorf("status %+v", st)
	}
	path := filepath.Join(lib.Root(), "ev", st.Run+Ext)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Bytes != fi.Size()-int64(len(mfraOf(t, path))) {
		t.Errorf("status bytes %d, file %d", st.Bytes, fi.Size())
	}
	t.Logf("5.5 s of 3 languages and 2 caption tracks: %d bytes", fi.Size())

	rd, err := lib.Open("ev", st.Run)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if !rd.Finalized() {
		t.Error("not finalised after Close")
	}
	m := rd.Meta()
	if m.Event != "ev" || m.Run != st.Run || !m.Epoch.Equal(testEpoch) || m.Offset != 0 {
		t.Errorf("meta %+v", m)
	}
	tracks := rd.Tracks()
	wantTracks := []Track{
		{1, fmp4.Audio, "en", "English", true}, {2, fmp4.Audio, "fr", "Français", false},
		{3, fmp4.Audio, "de-CH", "Deutsch (Schweiz)", false},
		{4, fmp4.Text, "en", "English", true}, {5, fmp4.Text, "fr", "Français", false},
	}
	if fmt.Sprint(tracks) != fmt.Sprint(wantTracks) {
		t.Errorf("tracks %+v", tracks)
	}
	if s, e := rd.Range(); s != 0 || e != frames*audio.FrameSamples {
		t.Errorf("range %d-%d", s, e)
	}
	frags := rd.Fragments()
	if len(frags) != 6 || frags[5].Start != 5*sec || frags[5].End != frames*audio.FrameSamples {
		t.Errorf("fragments %+v", frags)
	}
	for i, l := range testAudio {
		got, err := rd.Packets(uint32(i+1), 0, 10*sec)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != frames {
			t.Fatalf("%s: %d packets", l.Tag, len(got))
		}
		for k, p := range got {
			if p.PTS != sent[l.Tag][k].PTS || !bytes.Equal(p.Data, sent[l.Tag][k].Payload) {
				t.Fatalf("%s packet %d differs", l.Tag, k)
			}
		}
		part, _ := rd.Packets(uint32(i+1), 2*sec+10, 3*sec)
		if len(part) != 50 || part[0].PTS != 2*sec {
			t.Errorf("%s: a second's packets: %d from %d", l.Tag, len(part), part[0].PTS)
		}
	}
	for i, l := range testCaptions {
		got, err := rd.Cues(uint32(4+i), 0, 10*sec)
		if err != nil {
			t.Fatal(err)
		}
		var want []media.Cue
		for _, c := range cues {
			if c.Lang == l.Tag && c.Final {
				want = append(want, c)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s cues %+v, want %+v", l.Tag, got, want)
		}
	}
	if _, err := rd.Packets(4, 0, sec); err == nil {
		t.Error("packets of a captions track")
	}

	streams := ffprobe(t, path)
	if len(streams) != 5 {
		t.Fatalf("ffprobe streams %+v", streams)
	}
	for i, s := range streams {
		wantCodec, lang := "opus", []string{"eng", "fra", "deu", "eng", "fra"}[i]
		if i >= 3 {
			wantCodec = "mov_text"
		}
		name := wantTracks[i].Name
		if s.CodecName != wantCodec || s.Tags["language"] != lang || s.Tags["handler_name"] != name {
			t.Errorf("stream %d: %s %v", i, s.CodecName, s.Tags)
		}
		if d := seconds(t, s.Duration); d < 5.49 || d > 5.51 {
			t.Errorf("stream %d lasts %s s", i, s.Duration)
		}
		if s.Dispo["default"] != map[bool]int{true: 1, false: 0}[wantTracks[i].Floor] {
			t.Errorf("stream %d disposition %v", i, s.Dispo)
		}
	}
	for i := range testAudio {
		pcm := decodeTrack(t, path, i)
		if n := len(pcm); n < frames*audio.FrameSamples-2000 || n > frames*audio.FrameSamples {
			t.Errorf("stream %d decodes to %d samples", i, n)
		}
		f, amp := audiotest.DominantFrequency(pcm[sec:], audio.SampleRate, 300, 1000, 10)
		if f < testFreqs[i]-15 || f > testFreqs[i]+15 || amp < 0.1 {
			t.Errorf("stream %d: %.0f Hz at %.2f, want %.0f Hz", i, f, amp, testFreqs[i])
		}
	}
}

func mfraOf(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 16 || string(b[len(b)-12:len(b)-8]) != "mfro" {
		t.Fatal("no mfro at the end")
	}
	n := int(b[len(b)-4])<<24 | int(b[len(b)-3])<<16 | int(b[len(b)-2])<<8 | int(b[len(b)-1])
	return b[len(b)-n:]
}

// recorded makes a finished run of 5.5 s and returns its file's bytes
// without the mfra (as a killed process leaves it) and its fragments.
func recorded(t testing.TB) ([]byte, []Fragment) {
	t.Helper()
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{})
	r.WriteCue("en", media.Cue{Lang: "en", Start: sec / 2, End: 2 * sec, Text: "Good morning", Final: true})
	feed(t, r, 0, 275)
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
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b[:len(b)-len(mfraOf(t, path))], frags
}

// TestRecoverTornFragment: a run file whose last fragment was torn at any
// point (in the moof's header, in the moof, between moof and mdat, in the
// mdat), or followed by zeros, is indexed up to its last whole fragment;
// recovery cuts the rest off and finalises it, and ffprobe and ffmpeg then
// read it to that fragment's end without an error.
func TestRecoverTornFragment(t *testing.T) {
	whole, frags := recorded(t)
	last := frags[len(frags)-1]
	if last.Offset+last.Size != int64(len(whole)) {
		t.Fatalf("last fragment %+v in %d bytes", last, len(whole))
	}
	head := whole[:last.Offset]
	moof := int64(0)
	if h, err := fmp4.ParseHeader(whole[last.Offset:]); err == nil {
		moof = int64(h.Size)
	}
	cases := map[string][]byte{
		"moof header":     whole[:last.Offset+5],
		"inside moof":     whole[:last.Offset+moof/2],
		"moof only":       whole[:last.Offset+moof],
		"mdat header":     whole[:last.Offset+moof+4],
		"inside mdat":     whole[:len(whole)-100],
		"zeros after":     append(append([]byte{}, head...), make([]byte, 4096)...),
		"garbage after":   append(append([]byte{}, head...), []byte("\x00\x00\x01\x00moofjunk")...),
		"whole, no index": whole,
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ev")
			if err := os.MkdirAll(dir, 0o750); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "20261103T090000Z.mp4")
			if err := os.WriteFile(path, data, 0o640); err != nil {
				t.Fatal(err)
			}
			wantEnd, wantSize := last.Start, last.Offset
			if name == "whole, no index" {
				wantEnd, wantSize = last.End, int64(len(whole))
			}
			// Read as it is, before recovery: a reader of a live file.
			rd, err := OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if s, e := rd.Range(); s != 0 || e != wantEnd || rd.Finalized() {
				t.Errorf("before recovery: %d-%d, finalised %v", s, e, rd.Finalized())
			}
			rd.Close()

			lib := NewLibrary(filepath.Dir(dir))
			runs, err := lib.Recover("ev")
			if err != nil || len(runs) != 1 || !runs[0].Finalized || runs[0].Duration != audio.Duration(wantEnd) {
				t.Fatalf("recover: %+v, %v", runs, err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// What was whole is kept as it was; a fragment may follow that
			// carries the captions to the audio's end.
			kept := b[:len(b)-len(mfraOf(t, path))]
			if int64(len(kept)) < wantSize || !bytes.Equal(kept[:wantSize], data[:wantSize]) {
				t.Errorf("kept %d bytes, want the first %d as they were", len(kept), wantSize)
			}
			rd, err = OpenFile(path)
			if err != nil {
				t.Fatal(err)
			}
			frags := rd.Fragments()
			rd.Close()
			if s, e := frags[0].Start, frags[len(frags)-1].End; s != 0 || e != wantEnd {
				t.Errorf("recovered audio %d-%d, want 0-%d", s, e, wantEnd)
			}
			if again, err := lib.Recover("ev"); err != nil || len(again) != 0 {
				t.Errorf("second recovery: %+v, %v", again, err)
			}
			for i, s := range ffprobe(t, path) {
				if d := seconds(t, s.Duration); d < audio.Duration(wantEnd).Seconds()-0.01 || d > audio.Duration(wantEnd).Seconds()+0.01 {
					t.Errorf("stream %d lasts %s s, want %v", i, s.Duration, audio.Duration(wantEnd))
				}
			}
			for i := range testAudio {
				if pcm := decodeTrack(t, path, i); int64(len(pcm)) < wantEnd-2000 {
					t.Errorf("stream %d decodes to %d samples", i, len(pcm))
				}
			}
		})
	}
}

// TestRecoverRemovesEmptyRuns: a file killed before its first fragment (or
// its header) was written holds nothing to play and is removed; a file that
// is not a recording is left alone and reported.
func TestRecoverRemovesEmptyRuns(t *testing.T) {
	whole, frags := recorded(t)
	root := t.TempDir()
	dir := filepath.Join(root, "ev")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{
		"20261103T090000Z.mp4":   whole[:frags[0].Offset],     // header only
		"20261103T090001Z.mp4":   whole[:frags[0].Offset-100], // torn header
		"20261103T090002Z.mp4":   []byte("not an mp4 at all, just text"),
		"20261103T090003Z-2.mp4": whole,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	runs, err := NewLibrary(root).Recover("ev")
	if err == nil || !strings.Contains(err.Error(), "20261103T090002Z") {
		t.Errorf("recovering a file that is not a recording: %v", err)
	}
	if len(runs) != 1 || runs[0].ID != "20261103T090003Z-2" {
		t.Errorf("recovered %+v", runs)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(left) != 2 {
		t.Errorf("left %v", left)
	}
}

// fullDisk is a run file on a disk with room for cap bytes: writes past it
// write what fits and fail with ENOSPC, as a full file system does.
type fullDisk struct {
	*os.File
	cap int64
}

func (f *fullDisk) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= f.cap {
		return f.File.WriteAt(p, off)
	}
	n := 0
	if off < f.cap {
		n, _ = f.File.WriteAt(p[:f.cap-off], off)
	}
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

// TestRecorderDiskFull: when the disk fills up, recording stops with a
// clear error, the packets keep being taken (the live outputs' readers are
// never held up) and the file keeps every whole fragment written before,
// which ffprobe reads.
func TestRecorderDiskFull(t *testing.T) {
	defer goleak.VerifyNone(t)
	whole, frags := recorded(t)
	_ = whole
	capacity := frags[2].Offset + frags[2].Size/2 // room for two fragments and a half
	var logs audiotest.LockedBuffer
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{Log: slog.New(slog.NewTextHandler(&logs, nil)),
		Create: func(path string) (File, error) {
			f, err := createFile(path)
			if err != nil {
				return nil, err
			}
			return &fullDisk{File: f.(*os.File), cap: capacity}, nil
		}})
	feed(t, r, 0, 275)
	err := r.Close()
	st := r.Status()
	t.Logf("status %+v; log:\n%s", st, logs.String())
	if err == nil || st.State != "failed" || !strings.Contains(st.Error, "disk full") || !strings.Contains(st.Error, "live outputs keep running") {
		t.Fatalf("close: %v; status %+v", err, st)
	}
	if st.Dropped < 2 {
		t.Errorf("%d fragments counted as lost after the failure", st.Dropped)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "disk full") {
		t.Errorf("no error logged:\n%s", logs.String())
	}
	path := filepath.Join(lib.Root(), "ev", st.Run+Ext)
	rd, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s, e := rd.Range(); s != 0 || e != 2*sec {
		t.Errorf("kept %d-%d", s, e)
	}
	rd.Close()
	for i, s := range ffprobe(t, path) {
		if d := seconds(t, s.Duration); d < 1.99 || d > 2.01 {
			t.Errorf("stream %d lasts %s s", i, s.Duration)
		}
	}
}

// TestRecorderGaps: a language that misses packets gets silence in their
// place, one that falls more than lagSamples behind is filled up to the
// others and its late packets are dropped and counted; every track stays
// continuous and the fragments stay aligned.
func TestRecorderGaps(t *testing.T) {
	defer goleak.VerifyNone(t)
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{})
	en := tone(t, 440, 0, 300)
	fr := tone(t, 660, 0, 300)
	de := tone(t, 880, 0, 300)
	for k := range 300 {
		r.WritePacket("en", en[k])
		if k < 60 || k >= 80 {
			r.WritePacket("de-CH", de[k]) // 20 frames lost
		}
		if k == 250 {
			for _, u := range fr[:10] { // 4.8 s late: lost
				r.WritePacket("fr", u)
			}
		}
	}
	for _, u := range fr[250:] {
		r.WritePacket("fr", u)
	}
	r.WritePacket("en", en[299]) // repeated
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if d := r.Status().Dropped; d != 11 {
		t.Errorf("dropped %d, want 11 (10 late, 1 repeated)", d)
	}
	rd, err := lib.Open("ev", r.Status().Run)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for id, check := range map[uint32]func(k int, p Packet) bool{
		1: func(k int, p Packet) bool { return bytes.Equal(p.Data, en[k].Payload) },
		2: func(k int, p Packet) bool {
			return (k < 250 && bytes.Equal(p.Data, fmp4.SilenceFrame)) || (k >= 250 && bytes.Equal(p.Data, fr[k].Payload))
		},
		3: func(k int, p Packet) bool {
			return ((k < 60 || k >= 80) && bytes.Equal(p.Data, de[k].Payload)) || (k >= 60 && k < 80 && bytes.Equal(p.Data, fmp4.SilenceFrame))
		},
	} {
		ps, err := rd.Packets(id, 0, 10*sec)
		if err != nil || len(ps) != 300 {
			t.Fatalf("track %d: %d packets, %v", id, len(ps), err)
		}
		for k, p := range ps {
			if p.PTS != int64(k)*audio.FrameSamples || !check(k, p) {
				t.Fatalf("track %d packet %d (pts %d) is not what was sent", id, k, p.PTS)
			}
		}
	}
	for _, f := range rd.Fragments() {
		if f.Start%sec != 0 || (f.End%sec != 0 && f.End != 300*audio.FrameSamples) {
			t.Errorf("fragment %+v not cut on the second", f)
		}
	}
}

// TestRecorderCaptionsHold: cues are written Hold behind the audio; a cue
// settled after part of its time was written keeps the rest, one settled
// after all of it was written is dropped and counted.
func TestRecorderCaptionsHold(t *testing.T) {
	defer goleak.VerifyNone(t)
	lib := NewLibrary(t.TempDir())
	r := newTestRecorder(t, lib, Options{Hold: 5 * time.Second})
	feed(t, r, 0, 400) // 8 s: captions written up to 3 s
	r.WriteCue("en", media.Cue{Lang: "en", Start: 2 * sec, End: 4 * sec, Text: "partly late", Final: true})
	r.WriteCue("en", media.Cue{Lang: "en", Start: sec, End: 2 * sec, Text: "too late", Final: true})
	r.WriteCue("en", media.Cue{Lang: "en", Start: 5 * sec, End: 9 * sec, Text: "past the end", Final: true})
	feed(t, r, 8*sec, 25)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	rd, err := lib.Open("ev", r.Status().Run)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	got, err := rd.Cues(4, 0, 20*sec)
	if err != nil {
		t.Fatal(err)
	}
	want := []media.Cue{
		{Lang: "en", Start: 3 * sec, End: 4 * sec, Text: "partly late", Final: true},
		{Lang: "en", Start: 5 * sec, End: 8*sec + sec/2, Text: "past the end", Final: true},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || r.Status().Dropped != 1 {
		t.Errorf("cues %+v, dropped %d", got, r.Status().Dropped)
	}
}

type fakeClock struct {
	mu    sync.Mutex
	first time.Time
}

func (c *fakeClock) RecordingStart(_ context.Context, _ string, epoch time.Time) (time.Time, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.first.IsZero() {
		c.first = epoch
	}
	return c.first, nil
}

// TestRunsOnTheRecordingTimeline: a second run of the event is placed on
// the recording timeline after the first (its offset is the time between
// their program time zeros, as the stored cues are), with or without the
// store's clock; the list shows both, the second live until it stops.
func TestRunsOnTheRecordingTimeline(t *testing.T) {
	defer goleak.VerifyNone(t)
	for _, withClock := range []bool{true, false} {
		lib := NewLibrary(t.TempDir())
		var clock RecordingClock
		if withClock {
			clock = &fakeClock{}
		}
		gap := 90*time.Minute + 7*time.Millisecond
		r1 := newTestRecorder(t, lib, Options{Clock: clock})
		feed(t, r1, 0, 100)
		if err := r1.Close(); err != nil {
			t.Fatal(err)
		}
		r2 := newTestRecorder(t, lib, Options{Clock: clock, Epoch: fixed(testEpoch.Add(gap))})
		feed(t, r2, 0, 150)
		// Wait for the file: the disk goroutine creates it.
		var runs []Run
		for len(runs) < 2 {
			var err error
			if runs, err = lib.Runs("ev"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
		}
		if !runs[1].Live || runs[0].Live || !runs[0].Finalized || runs[1].Finalized {
			t.Errorf("live run %+v", runs)
		}
		if err := r2.Close(); err != nil {
			t.Fatal(err)
		}
		runs, err := lib.Runs("ev")
		if err != nil || len(runs) != 2 {
			t.Fatalf("runs %+v, %v", runs, err)
		}
		want := []struct {
			id       string
			offset   time.Duration
			start    time.Time
			duration time.Duration
		}{
			{"20261103T090000Z", 0, testEpoch, 2 * time.Second},
			{"20261103T103000Z", audio.Duration(audio.Samples(gap)), testEpoch.Add(gap), 3 * time.Second},
		}
		for i, w := range want {
			r := runs[i]
			if r.ID != w.id || r.Offset != w.offset || !r.Start.Equal(w.start) || r.Duration != w.duration ||
				!r.End.Equal(w.start.Add(w.duration)) || r.Live || !r.Finalized || len(r.Languages) != 3 ||
				r.Languages[1] != (Lang{Tag: "fr", Name: "Français"}) || len(r.Captions) != 2 || r.Bytes <= 0 {
				t.Errorf("clock %v: run %d = %+v, want %+v", withClock, i, r, w)
			}
		}
	}
}

// TestDiskForecast: the recorder reads the free space and warns when, at
// the rate the run grows, the disk will be full before the scheduled end.
func TestDiskForecast(t *testing.T) {
	defer goleak.VerifyNone(t)
	now := testEpoch.Add(time.Minute)
	for _, c := range []struct {
		end  time.Duration
		free uint64
		want string
	}{
		{48 * time.Hour, 1 << 30, "disk_full_before_end"},
		{time.Hour, 1 << 30, ""},
		{0, 1 << 30, ""},
		{0, 1 << 20, "disk_low"},
	} {
		var logs audiotest.LockedBuffer
		var end time.Time
		if c.end > 0 {
			end = now.Add(c.end)
		}
		lib := NewLibrary(t.TempDir())
		r := newTestRecorder(t, lib, Options{End: end, Now: func() time.Time { return now },
			Log:      slog.New(slog.NewTextHandler(&logs, nil)),
			DiskFree: func(string) (uint64, error) { return c.free, nil }})
		feed(t, r, 0, 100)
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		st := r.Status()
		if st.Warning != c.want || st.DiskFree == nil || *st.DiskFree != c.free || st.FullAt == nil || st.BytesPerHour <= 0 {
			t.Fatalf("end %v free %d: status %+v", c.end, c.free, st)
		}
		left := time.Duration(float64(c.free) / st.BytesPerHour * float64(time.Hour))
		if d := st.FullAt.Sub(now.Add(left)); d < -time.Second || d > time.Second {
			t.Errorf("full at %v, want %v", st.FullAt, now.Add(left))
		}
		if (c.want != "") != strings.Contains(logs.String(), "level=WARN") {
			t.Errorf("end %v free %d: log\n%s", c.end, c.free, logs.String())
		}
		t.Logf("3 languages, 2 caption tracks: %.1f MB per hour; %d bytes free: full at %v", st.BytesPerHour/1e6, c.free, st.FullAt)
	}
}

// FuzzScan: the scan of a run file takes any bytes without panicking; what
// it indexes lies inside the data, fragment after fragment.
func FuzzScan(f *testing.F) {
	lib := NewLibrary(f.TempDir())
	r, err := New(Options{Library: lib, Event: "ev", Audio: []Lang{{Tag: "en", Name: "English"}}, Captions: []Lang{{Tag: "en", Name: "English"}},
		Epoch: fixed(testEpoch), Log: quiet, Hold: time.Second})
	if err != nil {
		f.Fatal(err)
	}
	r.WriteCue("en", media.Cue{Lang: "en", Start: 0, End: sec / 2, Text: "hi", Final: true})
	for _, u := range tone(f, 440, 0, 60) {
		r.WritePacket("en", u)
	}
	if err := r.Close(); err != nil {
		f.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(lib.Root(), "ev", r.Status().Run+Ext))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)/2])
	f.Add(b[:200])
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := scan(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		at := ix.header
		for _, fr := range ix.frags {
			if fr.offset != at || fr.size <= fr.moof || fr.offset+fr.size > int64(len(data)) {
				t.Fatalf("fragment %+v after %d in %d bytes", fr, at, len(data))
			}
			at += fr.size
		}
		if ix.good != at {
			t.Fatalf("good %d, fragments end at %d", ix.good, at)
		}
	})
}

// TestRunLockedElsewhere: a run file another server records into (it holds
// the file's lock) is listed as live and left alone by recovery.
func TestRunLockedElsewhere(t *testing.T) {
	whole, _ := recorded(t)
	root := t.TempDir()
	dir := filepath.Join(root, "ev")
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "20261103T090000Z.mp4")
	torn := whole[:len(whole)-100]
	if err := os.WriteFile(path, torn, 0o640); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	lib := NewLibrary(root)
	if runs, err := lib.Recover("ev"); err != nil || len(runs) != 0 {
		t.Errorf("recovered a run being recorded: %+v, %v", runs, err)
	}
	if b, _ := os.ReadFile(path); !bytes.Equal(b, torn) {
		t.Error("the file being recorded was changed")
	}
	if runs, err := lib.Runs("ev"); err != nil || len(runs) != 1 || !runs[0].Live {
		t.Errorf("runs %+v, %v", runs, err)
	}
	f.Close() // the other server ends: its lock goes with it
	if runs, err := lib.Recover("ev"); err != nil || len(runs) != 1 || runs[0].Live {
		t.Errorf("after the other server ended: %+v, %v", runs, err)
	}
}

// TestMachineTranslatedCaptionsKept: captions marked machine-translated,
// one of them in a language without audio, keep their mark in the run's
// meta and in the library's listing; the audio and the other captions have
// none.
func TestMachineTranslatedCaptionsKept(t *testing.T) {
	lib := NewLibrary(t.TempDir())
	r, err := New(Options{Library: lib, Event: "ev", Audio: []Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}},
		Captions: []Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français", MachineTranslated: true},
			{Tag: "ja", Name: "日本語", MachineTranslated: true}},
		Epoch: fixed(testEpoch), Log: quiet, Hold: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	r.WriteCue("ja", media.Cue{Lang: "ja", Start: 0, End: sec / 2, Text: "こんにちは", Final: true})
	for _, u := range tone(t, 440, 0, 60) {
		r.WritePacket("en", u)
		r.WritePacket("fr", u)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	runs, err := lib.Runs("ev")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	want := []Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français", MachineTranslated: true},
		{Tag: "ja", Name: "日本語", MachineTranslated: true}}
	if !slices.Equal(runs[0].Captions, want) || slices.ContainsFunc(runs[0].Languages, func(l Lang) bool { return l.MachineTranslated }) {
		t.Errorf("captions %+v, languages %+v; want captions %+v", runs[0].Captions, runs[0].Languages, want)
	}
	rd, err := lib.Open("ev", runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rd.Close() }()
	if got := rd.Meta().MachineTranslated; !slices.Equal(got, []string{"fr", "ja"}) {
		t.Errorf("meta machine_translated %q", got)
	}
	tr, ok := rd.Track(fmp4.Text, "ja")
	if !ok {
		t.Fatal("no ja caption track")
	}
	cues, err := rd.Cues(tr.ID, 0, sec)
	if err != nil || len(cues) != 1 || cues[0].Text != "こんにちは" {
		t.Errorf("ja cues %+v, %v", cues, err)
	}
}
