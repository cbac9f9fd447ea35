package recording

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
)

// Lang is a track's language as the recordings list names it.
type Lang struct {
	Tag  string `json:"tag"`
	Name string `json:"name"`
	// MachineTranslated marks captions that are the floor's,
	// machine-translated (Meta.MachineTranslated); audio never is.
	MachineTranslated bool `json:"machine_translated,omitempty"`
}

// Run is one recorded run of an event, as listed.
type Run struct {
	Event string
	ID    string
	// Start and End are the wall-clock times of the first and after the
	// last recorded sample: the run's epoch plus their program times.
	Start, End time.Time
	Duration   time.Duration
	// Offset is where the run's program time zero lies on the event's
	// recording timeline (the stored cues' time), Meta.Offset.
	Offset time.Duration
	// Languages are the audio tracks, the floor first; Captions the
	// captioned languages.
	Languages []Lang
	Captions  []Lang
	// Video is true when the run holds the floor's picture (H.264).
	Video bool
	Bytes int64
	// Live is true while the run is being recorded (by this process or
	// another on the same data directory).
	Live bool
	// Finalized is true once the run was stopped cleanly or recovered.
	Finalized bool
	Path      string
}

// Library is the recordings directory of a data directory: every event's
// runs, the live ones among them, and the recovery of runs a killed process
// left behind. It is safe for concurrent use.
type Library struct {
	root string
	disk Disk
	mu   sync.Mutex
	live map[string]*Recorder // by run file path
	// summaries caches each file's scan, extended as live files grow.
	summaries map[string]*summary
}

// summary is what listing a run needs from its file, kept between
// listings: the scan's position and the audio range, not the fragments.
type summary struct {
	ix         *index
	size       int64
	start, end int64
}

// Disk is how a library's recorders make run files and read the free
// space; the zero value is the real disk. Tests give a disk that fills up.
type Disk struct {
	Create CreateFunc
	Free   func(dir string) (uint64, error)
}

// NewLibrary returns the library of recordings under root
// (DATA/recordings).
func NewLibrary(root string) *Library { return NewLibraryOn(root, Disk{}) }

// NewLibraryOn returns the library under root whose recorders write
// through disk.
func NewLibraryOn(root string, disk Disk) *Library {
	if disk.Create == nil {
		disk.Create = createFile
	}
	if disk.Free == nil {
		disk.Free = diskFree
	}
	return &Library{root: root, disk: disk, live: map[string]*Recorder{}, summaries: map[string]*summary{}}
}

// Root is the library's directory.
func (l *Library) Root() string { return l.root }

// Path is the file of an event's run.
func (l *Library) Path(event, id string) (string, error) {
	dir, err := eventDir(l.root, event)
	if err != nil {
		return "", err
	}
	if !ValidRunID(id) {
		return "", fmt.Errorf("%q is not a recording id", id)
	}
	return filepath.Join(dir, id+Ext), nil
}

// ErrNotFound means the event has no run of that id.
var ErrNotFound = errors.New("no such recording")

// Open opens one run of an event for reading.
func (l *Library) Open(event, id string) (*Reader, error) {
	path, err := l.Path(event, id)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	r, err := OpenFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	return r, err
}

// Runs lists an event's runs, oldest first. Files that cannot be read as
// runs are left out.
func (l *Library) Runs(event string) ([]Run, error) {
	dir, err := eventDir(l.root, event)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return []Run{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordings of %s: %w", event, err)
	}
	runs := []Run{}
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !ValidRunID(id) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		run, err := l.run(event, id, path)
		if err != nil {
			continue // being created, or not ours
		}
		runs = append(runs, run)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].Start.Before(runs[j].Start) })
	return runs, nil
}

func (l *Library) run(event, id, path string) (Run, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Run{}, err
	}
	l.mu.Lock()
	_, live := l.live[path]
	s := l.summaries[path]
	l.mu.Unlock()
	if !live && (s == nil || !s.ix.closed) {
		live = lockedElsewhere(path) // another server on this data directory
	}
	if s == nil || st.Size() < s.size || (st.Size() > s.size && s.ix.closed) {
		if s, err = summarize(path); err != nil {
			return Run{}, err
		}
	} else if st.Size() > s.size {
		if err := s.extend(path, st.Size()); err != nil {
			return Run{}, err
		}
	}
	l.mu.Lock()
	l.summaries[path] = s
	l.mu.Unlock()
	m := s.ix.meta
	r := Run{Event: event, ID: id, Offset: audio.Duration(m.Offset), Bytes: s.size, Live: live,
		Finalized: s.ix.closed, Path: path, Languages: []Lang{}, Captions: []Lang{}}
	if s.start >= 0 {
		r.Start, r.End = m.Epoch.Add(audio.Duration(s.start)), m.Epoch.Add(audio.Duration(s.end))
		r.Duration = audio.Duration(s.end - s.start)
	} else {
		r.Start, r.End = m.Epoch, m.Epoch
	}
	for _, t := range tracksOf(s.ix.tracks) {
		switch t.Kind {
		case fmp4.Audio:
			r.Languages = append(r.Languages, Lang{Tag: t.Lang, Name: t.Name})
		case fmp4.Text:
			r.Captions = append(r.Captions, Lang{Tag: t.Lang, Name: t.Name, MachineTranslated: slices.Contains(m.MachineTranslated, t.Lang)})
		case fmp4.Video:
			r.Video = true
		}
	}
	return r, nil
}

func summarize(path string) (*summary, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	ix, err := scan(f, st.Size())
	if err != nil {
		return nil, err
	}
	s := &summary{ix: ix, size: st.Size()}
	s.start, s.end = ix.audioRange()
	ix.frags = nil // keep the position, not the fragments
	return s, nil
}

// extend scans what a live file gained since the summary was made.
func (s *summary) extend(path string, size int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := s.ix.scanFrom(f, size); err != nil {
		return err
	}
	start, end := s.ix.audioRange()
	if s.start < 0 {
		s.start = start
	}
	s.end = max(s.end, end)
	s.ix.frags = nil
	s.size = size
	return nil
}

// Recover finalises the runs of an event that a killed process left
// unfinished (no run of this process is touched): each is cut after its
// last whole fragment and indexed, so players read it to the end. Runs
// that hold no media are removed. It returns the runs it finalised.
func (l *Library) Recover(event string) ([]Run, error) {
	dir, err := eventDir(l.root, event)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("recordings of %s: %w", event, err)
	}
	var out []Run
	var errs []error
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), Ext)
		if !ok || !ValidRunID(id) || !e.Type().IsRegular() {
			continue
		}
		path := filepath.Join(dir, e.Name())
		l.mu.Lock()
		_, live := l.live[path]
		l.mu.Unlock()
		if live || isFinalized(path) || lockedElsewhere(path) {
			continue
		}
		if _, err := recoverFile(path); err != nil {
			if !errors.Is(err, errEmpty) {
				errs = append(errs, fmt.Errorf("recover %s: %w", e.Name(), err))
			}
			continue
		}
		l.mu.Lock()
		delete(l.summaries, path)
		l.mu.Unlock()
		if r, err := l.run(event, id, path); err == nil {
			out = append(out, r)
		}
	}
	return out, errors.Join(errs...)
}

// isFinalized says whether the file at path ends with an mfro, as a
// finalised run does, without scanning it.
func isFinalized(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < 16 {
		return false
	}
	ix := index{}
	var tail [16]byte
	if _, err := f.ReadAt(tail[:], st.Size()-16); err != nil || string(tail[4:8]) != "mfro" {
		return false
	}
	size := int64(tail[12])<<24 | int64(tail[13])<<16 | int64(tail[14])<<8 | int64(tail[15])
	if size < 24 || size > st.Size() {
		return false
	}
	var hdr [8]byte
	if _, err := f.ReadAt(hdr[:], st.Size()-size); err != nil {
		return false
	}
	h, err := fmp4.ParseHeader(hdr[:])
	return err == nil && h.Type == "mfra" && ix.isMfra(f, st.Size()-size, h, st.Size())
}

// create runs create, which makes a run file, and registers the file as
// live, so that no listing sees the new file as a finished run.
func (l *Library) create(r *Recorder, create func() (*runFile, error)) (*runFile, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	rf, err := create()
	if err != nil {
		return nil, err
	}
	l.live[rf.path] = r
	return rf, nil
}

func (l *Library) unregister(path string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.live, path)
	delete(l.summaries, path)
}

// recordingStart is the recording start the event's earliest run file
// names, if there is one.
func (l *Library) recordingStart(event string) (time.Time, bool) {
	runs, err := l.Runs(event)
	if err != nil {
		return time.Time{}, false
	}
	for _, r := range runs {
		l.mu.Lock()
		s := l.summaries[r.Path]
		l.mu.Unlock()
		if s != nil && !s.ix.meta.RecordingStart.IsZero() {
			return s.ix.meta.RecordingStart, true
		}
	}
	return time.Time{}, false
}
