package hls

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// A run of an event that ends without Close (kill -9, a crash, a power cut)
// leaves players at the live edge of its playlists. So that they go on
// with the next run without loading the master playlist again, the next
// run continues the numbering: its media sequence numbers start above every
// number the killed run may have shown, its first segment carries an
// EXT-X-DISCONTINUITY, and its media timestamps (tfdt) start where its
// first media sequence number says, above the killed run's. What it needs
// is a few numbers in a small state file, written (temp file, fsync,
// rename) whenever a segment completes.
//
// One numbering serves every rendition of the event (Opus, AAC, video,
// subtitles): the same media sequence number names the same span of the
// program in each, before and after a restart, so the file holds one next
// number and one discontinuity sequence, not one per rendition.

// stateVersion is the format of the state file.
const stateVersion = 1

// stateMargin is how far above the newest complete segment the saved next
// number lies: the open segment (its parts are listed), the next one (a
// preload hint names its first part once the open one completes) and one
// more for a write that lags behind by a segment.
const stateMargin = 3

// maxContinue bounds the numbers a continuation takes (Options.validate):
// far above any event's, far below where media times would overflow.
const maxContinue = 1e12

// State is the content of the state file.
type State struct {
	Version int `json:"version"`
	// NextMSN is above every media sequence number the run may have shown.
	NextMSN int64 `json:"next_msn"`
	// Discontinuity is the highest discontinuity sequence number of the
	// run's segments in any playlist: the audio's, or the video's, which
	// counts one more at each new picture configuration. The next run
	// starts above it, so no playlist's sequence goes down.
	Discontinuity int64 `json:"discontinuity"`
	// EdgeMSN is the number of the segment after the newest complete one,
	// which began at Edge (wall clock): a run that starts later continues
	// at least as many segments on, so that media time and date move
	// together across the gap.
	EdgeMSN int64     `json:"edge_msn"`
	Edge    time.Time `json:"edge"`
	// SegmentMS is the segment duration the numbers count.
	SegmentMS int64 `json:"segment_ms"`
	// Run is the run token of the run that wrote the file.
	Run string `json:"run"`
}

// Continuation says where a run's playlists start: Options.Continue.
type Continuation struct {
	// MSN is the media sequence number of the run's first segment; every
	// segment's is MSN plus its program time over the segment duration.
	MSN int64
	// Discontinuity is the discontinuity sequence number before the run:
	// the earlier run's segments had it, the run's own have one more.
	Discontinuity int64
	// Resumed says that an earlier run's playlists go on: the run's first
	// segment is a discontinuity.
	Resumed bool
}

// LoadContinuation reads the state file at path, which an earlier run of
// the event wrote, and returns where this run's playlists start: after
// it, at least as many segments after its edge as there are between then
// and now. No file: a fresh start at zero. A file that cannot be read or
// parsed returns an error together with a continuation that is still safe
// to use: numbered from the wall clock (segments since 1970), above
// anything an earlier run can have reached.
func LoadContinuation(path string, segment time.Duration, now time.Time) (Continuation, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Continuation{}, nil
	}
	var st State
	if err == nil {
		err = json.Unmarshal(b, &st)
		if err == nil && (st.Version != stateVersion || st.NextMSN < 0 || st.Discontinuity < 0 || st.EdgeMSN < 0 ||
			st.NextMSN > maxContinue || st.Discontinuity > maxContinue || st.EdgeMSN > maxContinue) {
			err = fmt.Errorf("version %d, next %d, discontinuity %d: not a state this server writes", st.Version, st.NextMSN, st.Discontinuity)
		}
	}
	if err != nil {
		c := Continuation{Resumed: true}
		if segment > 0 {
			c.MSN = now.UnixNano() / int64(segment)
		}
		return c, fmt.Errorf("hls state %s: %w", path, err)
	}
	return continueFrom(st, segment, now), nil
}

// continueFrom is the continuation after state st at wall-clock time now,
// with segments of the given duration.
func continueFrom(st State, segment time.Duration, now time.Time) Continuation {
	c := Continuation{MSN: st.NextMSN, Discontinuity: st.Discontinuity, Resumed: true}
	if segment > 0 && !st.Edge.IsZero() && now.After(st.Edge) {
		// The segments that would have been written since the edge, had
		// the run gone on.
		gap := int64(now.Sub(st.Edge) / segment)
		c.MSN = max(c.MSN, st.EdgeMSN+gap+1)
	}
	c.MSN = min(c.MSN, maxContinue)
	return c
}

// writeState writes st to path: a temporary file beside it, synced, then
// renamed over it and the directory synced, so the file is always whole.
func writeState(path string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(append(b, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		// Some file systems cannot sync a directory; the rename is then
		// as durable as they make it.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// persister keeps the state file of a Muxer: the first write happens in
// New, before any segment, and later ones on a goroutine of their own, so
// that a slow disk never holds up a rendition's writer. Writes coalesce:
// only the newest state is written.
type persister struct {
	path string

	mu    sync.Mutex
	st    State
	dirty bool

	wake chan struct{} // buffered 1: a newer state waits
	quit chan struct{}
	done chan struct{}

	writes, failures atomic.Int64
	lastErr          atomic.Pointer[error]
}

// newPersister writes st at once and starts the goroutine. A failed write
// is counted (Stats.StateFailures) and tried again with the next segment:
// the event goes on either way, at the risk that a crash before a write
// succeeds numbers the next run from an older state.
func newPersister(path string, st State) *persister {
	p := &persister{path: path, st: st, dirty: true, wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	p.flush()
	go p.run()
	return p
}

// err returns the last write error, nil if there was none.
func (p *persister) err() error {
	if e := p.lastErr.Load(); e != nil {
		return *e
	}
	return nil
}

// completed notes that segment msn, which ended at wall-clock time end, is
// complete.
func (p *persister) completed(msn int64, end time.Time) {
	p.mu.Lock()
	if next := msn + 1 + stateMargin; next > p.st.NextMSN {
		p.st.NextMSN = next
	}
	if msn+1 > p.st.EdgeMSN {
		p.st.EdgeMSN, p.st.Edge = msn+1, end
	}
	p.dirty = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// discontinuity notes that a playlist's segments reached discontinuity
// sequence number d.
func (p *persister) discontinuity(d int64) {
	p.mu.Lock()
	if d <= p.st.Discontinuity {
		p.mu.Unlock()
		return
	}
	p.st.Discontinuity = d
	p.dirty = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *persister) run() {
	defer close(p.done)
	for {
		select {
		case <-p.wake:
			p.flush()
		case <-p.quit:
			p.flush()
			return
		}
	}
}

// flush writes the state if it changed since the last write.
func (p *persister) flush() {
	p.mu.Lock()
	st, dirty := p.st, p.dirty
	p.dirty = false
	p.mu.Unlock()
	if !dirty {
		return
	}
	if err := writeState(p.path, st); err != nil {
		err = fmt.Errorf("write hls state: %w", err)
		p.failures.Add(1)
		p.lastErr.Store(&err)
		p.mu.Lock()
		p.dirty = true // the next segment tries again
		p.mu.Unlock()
		return
	}
	p.lastErr.Store(nil)
	p.writes.Add(1)
}

// close writes the last state and stops the goroutine.
func (p *persister) close() {
	close(p.quit)
	<-p.done
}
