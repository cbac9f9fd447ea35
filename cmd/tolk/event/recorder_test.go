package event

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"

	"go.uber.org/goleak"

	"tolk/captions/captionstest"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/fmp4"
	"tolk/internal/media"
	"tolk/internal/recording"
)

// recordedEvent runs an event on a manual clock with a WHIP floor fed frame
// by frame for n ticks, the floor's captions from a script, and the given
// recordings library; it returns the event, closed, and every packet each
// language's mix sent to its readers.
func recordedEvent(t *testing.T, yaml string, lib *recording.Library, n int) (*Event, map[string][]media.Unit) {
	t.Helper()
	return recordedEventWith(t, yaml, Options{Recordings: lib}, n)
}

// recordedEventWith is recordedEvent with more options (a translator, a
// cue store); the clock, the log and the recognizer are its own.
func recordedEventWith(t *testing.T, yaml string, opts Options, n int) (*Event, map[string][]media.Unit) {
	t.Helper()
	cfg, err := config.Parse([]byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := audiotest.NewClock()
	script := captionstest.Script(200, 300, 100, "good", "morning", "everyone")
	script = append(script, captionstest.Script(2000, 300, 100, "welcome", "back")...)
	opts.Clock, opts.Log, opts.Recognizer = clock, slog.New(slog.NewTextHandler(io.Discard, nil)), captionstest.NewScripted(script)
	ev, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	sent := map[string]*media.Reader[media.Unit]{}
	for _, r := range ev.Renditions() {
		m, _ := ev.Mix(r.Tag)
		sent[r.Tag] = m.Packets().Read("test", n+10)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the clock to arm its timer", func() bool { return clock.Pending() > 0 })
	for k := range n {
		ev.WriteFloor(audiotest.Tone(440, 0.3, k*audio.FrameSamples, audio.FrameSamples))
		want := uint64(k + 1)
		waitFor(t, "a tick", func() bool { return ev.Stats().Ticks >= want })
	}
	ev.Close()
	out := map[string][]media.Unit{}
	for tag, r := range sent {
		for u := range r.C {
			out[tag] = append(out[tag], u)
		}
	}
	return ev, out
}

const recordedYAML = `
id: rec
title: Recorded
floor: {language: en, name: English, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr, name: Français}, {tag: de}]
captions: {languages: {fr: none, de: none}}
`

// TestEventRecordsEveryLanguage: a run records every language's packets
// exactly as the mixes sent them to the other outputs, and the floor's
// final cues; the recorder is one more reader of each track.
func TestEventRecordsEveryLanguage(t *testing.T) {
	defer goleak.VerifyNone(t)
	lib := recording.NewLibrary(t.TempDir())
	const n = 175 // 3.5 s
	ev, sent := recordedEvent(t, recordedYAML, lib, n)
	st := ev.Recording()
	if st.State != "stopped" || st.Dropped != 0 || st.Run == "" {
		t.Fatalf("recording %+v", st)
	}
	runs, err := lib.Runs("rec")
	if err != nil || len(runs) != 1 || runs[0].Live || runs[0].Duration != audio.Duration(n*audio.FrameSamples) {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	want := []recording.Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}, {Tag: "de", Name: "Deutsch"}}
	if len(runs[0].Languages) != 3 || runs[0].Languages[0] != want[0] || runs[0].Languages[1] != want[1] ||
		runs[0].Languages[2] != want[2] || len(runs[0].Captions) != 1 || runs[0].Captions[0] != want[0] {
		t.Errorf("languages %+v, captions %+v", runs[0].Languages, runs[0].Captions)
	}
	rd, err := lib.Open("rec", st.Run)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for _, l := range want {
		tr, ok := rd.Track(fmp4.Audio, l.Tag)
		if !ok {
			t.Fatalf("no %s track", l.Tag)
		}
		got, err := rd.Packets(tr.ID, 0, int64(n)*audio.FrameSamples)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || len(sent[l.Tag]) != n {
			t.Fatalf("%s: %d recorded, %d sent", l.Tag, len(got), len(sent[l.Tag]))
		}
		for k := range got {
			if got[k].PTS != sent[l.Tag][k].PTS || !bytes.Equal(got[k].Data, sent[l.Tag][k].Payload) {
				t.Fatalf("%s packet %d is not the packet sent", l.Tag, k)
			}
		}
	}
	tr, _ := rd.Track(fmp4.Text, "en")
	cues, err := rd.Cues(tr.ID, 0, int64(n)*audio.FrameSamples)
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, c := range cues {
		texts = append(texts, c.Text)
	}
	if got := strings.Join(texts, " | "); got != "good morning everyone | welcome back" {
		t.Errorf("recorded captions %q (%+v)", got, cues)
	}
}

// TestEventNotRecorded: record: false records nothing; the status says off.
func TestEventNotRecorded(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	ev, _ := recordedEvent(t, recordedYAML+"record: false\n", recording.NewLibrary(dir), 10)
	if st := ev.Recording(); st.State != "off" {
		t.Errorf("recording %+v", st)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("files %v", entries)
	}
}

// smallDisk makes run files on a disk with room for capacity bytes each.
func smallDisk(capacity int64) recording.Disk {
	return recording.Disk{Create: func(path string) (recording.File, error) {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
		if err != nil {
			return nil, err
		}
		return &fullFile{File: f, capacity: capacity}, nil
	}}
}

type fullFile struct {
	*os.File
	capacity int64
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) <= f.capacity {
		return f.File.WriteAt(p, off)
	}
	n := 0
	if off < f.capacity {
		n, _ = f.File.WriteAt(p[:f.capacity-off], off)
	}
	return n, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
}

// TestEventRecordingDiskFull: when the recordings' disk fills up, the
// recording stops with a clear error in the status, and every other output
// goes on receiving every packet.
func TestEventRecordingDiskFull(t *testing.T) {
	defer goleak.VerifyNone(t)
	lib := recording.NewLibraryOn(t.TempDir(), smallDisk(20000))
	const n = 200
	ev, sent := recordedEvent(t, recordedYAML, lib, n)
	st := ev.Recording()
	if st.State != "failed" || !strings.Contains(st.Error, "disk full") || !strings.Contains(st.Error, "live outputs keep running") {
		t.Errorf("recording %+v", st)
	}
	for tag, units := range sent {
		if len(units) != n {
			t.Errorf("%s: the other outputs got %d packets of %d", tag, len(units), n)
		}
	}
}
