package recording

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
	"tolk/internal/media"
)

// Track is one track of a run.
type Track struct {
	// ID is the track's number in the file (1 for the first).
	ID uint32
	// Kind is fmp4.Audio (a language's program, Opus) or fmp4.Text (a
	// language's captions, tx3g).
	Kind fmp4.Kind
	Lang string // BCP 47
	Name string
	// Floor marks the original language: the floor's audio and captions.
	Floor bool
}

// Packet is one recorded 20 ms Opus packet.
type Packet struct {
	// PTS is its program time (48 kHz samples since the run's program
	// time zero).
	PTS  int64
	Data []byte
}

// Fragment is one second (or less, at the ends) of a run: the program time
// its audio covers and where it lies in the file.
type Fragment struct {
	Start, End int64
	Offset     int64
	Size       int64
	// VideoBytes is how much of Size is the picture's samples.
	VideoBytes int64
}

// Reader reads one run file. It is safe for concurrent use. A run still
// being recorded can be read too: Refresh takes in the fragments written
// since.
type Reader struct {
	f    *os.File
	path string
	mu   sync.Mutex
	ix   *index
}

// OpenFile opens a run file and indexes it: every whole fragment, in one
// pass over the moof boxes (the mdat boxes are skipped). What follows the
// last whole fragment is ignored.
func OpenFile(path string) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	ix, err := scan(f, st.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Reader{f: f, path: path, ix: ix}, nil
}

// Close closes the file.
func (r *Reader) Close() error { return r.f.Close() }

// Refresh indexes the whole fragments written since the last look, for a
// run that is still being recorded; it says whether there were any.
func (r *Reader) Refresh() (bool, error) {
	st, err := r.f.Stat()
	if err != nil {
		return false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if st.Size() < r.ix.good {
		// Finalised since: the torn tail was cut off. Start again.
		ix, err := scan(r.f, st.Size())
		if err != nil {
			return false, err
		}
		r.ix = ix
		return true, nil
	}
	n := len(r.ix.frags)
	if err := r.ix.scanFrom(r.f, st.Size()); err != nil {
		return false, err
	}
	return len(r.ix.frags) > n, nil
}

// Meta returns what the file says about the run.
func (r *Reader) Meta() Meta {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ix.meta
}

// Finalized says whether the run was finalised (stopped cleanly or
// recovered): no fragment will be added.
func (r *Reader) Finalized() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ix.closed
}

// Tracks lists the run's tracks: the audio of every language (the floor
// first), then the captions.
func (r *Reader) Tracks() []Track {
	r.mu.Lock()
	defer r.mu.Unlock()
	return tracksOf(r.ix.tracks)
}

func tracksOf(infos []fmp4.TrackInfo) []Track {
	out := make([]Track, 0, len(infos))
	for _, t := range infos {
		out = append(out, Track{ID: t.ID, Kind: t.Kind, Lang: t.Tag(), Name: t.Name,
			Floor: t.Role == fmp4.RoleMain || (t.Kind == fmp4.Text && t.Enabled)})
	}
	return out
}

// Track finds the track of a kind and language.
func (r *Reader) Track(kind fmp4.Kind, lang string) (Track, bool) {
	for _, t := range r.Tracks() {
		if t.Kind == kind && t.Lang == lang {
			return t, true
		}
	}
	return Track{}, false
}

// Range is the program time the run's audio covers, [start, end); both are
// -1 for a run without media yet.
func (r *Reader) Range() (start, end int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ix.audioRange()
}

// Duration is how long the run's audio lasts.
func (r *Reader) Duration() time.Duration {
	s, e := r.Range()
	if s < 0 {
		return 0
	}
	return audio.Duration(e - s)
}

// Fragments lists the run's fragments in order. Every audio track covers
// the same program time in a fragment; fragments are cut at multiples of
// Meta.FragmentSamples, so all but the first and the last are whole.
func (r *Reader) Fragments() []Fragment {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Fragment, 0, len(r.ix.frags))
	for _, f := range r.ix.frags {
		if f.start < 0 {
			continue // captions alone (the end of a run)
		}
		out = append(out, Fragment{Start: f.start, End: f.end, Offset: f.offset, Size: f.size, VideoBytes: f.video})
	}
	return out
}

// Packets returns the audio track's packets whose program time is in
// [from, to), in order, read from the file with one read per fragment.
func (r *Reader) Packets(track uint32, from, to int64) ([]Packet, error) {
	if err := r.checkTrack(track, fmp4.Audio); err != nil {
		return nil, err
	}
	var out []Packet
	err := r.samples(track, from, to, func(s fmp4.Sample, data []byte) error {
		out = append(out, Packet{PTS: s.Time, Data: data})
		return nil
	})
	return out, err
}

// Cues returns the captions track's cues that overlap [from, to) of
// program time, in order; the time between cues (empty samples) is left
// out.
func (r *Reader) Cues(track uint32, from, to int64) ([]media.Cue, error) {
	if err := r.checkTrack(track, fmp4.Text); err != nil {
		return nil, err
	}
	lang := ""
	for _, t := range r.Tracks() {
		if t.ID == track {
			lang = t.Lang
		}
	}
	var out []media.Cue
	err := r.samples(track, from, to, func(s fmp4.Sample, data []byte) error {
		text, err := fmp4.ParseTextSample(data)
		if err != nil {
			return err
		}
		if text != "" {
			out = append(out, media.Cue{Lang: lang, Start: s.Time, End: s.Time + int64(s.Dur), Text: text, Final: true})
		}
		return nil
	})
	return out, err
}

func (r *Reader) checkTrack(track uint32, kind fmp4.Kind) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if track < 1 || int(track) > len(r.ix.tracks) {
		return fmt.Errorf("no track %d", track)
	}
	if k := r.ix.tracks[track-1].Kind; k != kind {
		return fmt.Errorf("track %d is %s, not %s", track, k, kind)
	}
	return nil
}

// samples calls fn for every sample of track that overlaps [from, to).
func (r *Reader) samples(track uint32, from, to int64, fn func(fmp4.Sample, []byte) error) error {
	r.mu.Lock()
	ix := r.ix
	frags := ix.frags // appended to only: this prefix does not change
	margin := int64(0)
	if ix.tracks[track-1].Kind == fmp4.Text {
		// A captions traf lags its fragment's audio by the recorder's hold.
		margin = captionSearchMargin
	}
	r.mu.Unlock()
	// Only the last fragment can lack audio (captions flushed at the end):
	// the test stays monotonic.
	first := sort.Search(len(frags), func(i int) bool { return frags[i].start < 0 || frags[i].end > from-margin })
	for _, f := range frags[first:] {
		if f.start >= to+margin {
			break
		}
		for _, sp := range f.spans {
			if sp.track == track && sp.end > from && sp.start < to {
				if err := r.readSpan(ix, f, track, from, to, fn); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// captionSearchMargin is how far a captions traf may lag its fragment's
// audio (the recorder's hold, with room to spare).
const captionSearchMargin = 60 * audio.SampleRate

func (r *Reader) readSpan(ix *index, f fragment, track uint32, from, to int64, fn func(fmp4.Sample, []byte) error) error {
	buf := make([]byte, f.moof)
	if _, err := r.f.ReadAt(buf, f.offset); err != nil {
		return fmt.Errorf("read fragment at %d: %w", f.offset, err)
	}
	h, err := fmp4.ParseHeader(buf)
	if err != nil {
		return fmt.Errorf("fragment at %d: %w", f.offset, err)
	}
	moof, err := fmp4.ParseMoof(buf[h.Len:], ix.defaults)
	if err != nil {
		return fmt.Errorf("fragment at %d: %w", f.offset, err)
	}
	for _, t := range moof.Trafs {
		if t.TrackID != track {
			continue
		}
		var lo, hi int64 = -1, 0
		var want []fmp4.Sample
		for _, s := range t.Samples {
			if s.Time+int64(s.Dur) <= from || s.Time >= to {
				continue
			}
			if s.Dur == 0 && s.Time < from {
				continue
			}
			want = append(want, s)
			if lo < 0 || s.Offset < lo {
				lo = s.Offset
			}
			hi = max(hi, s.Offset+int64(s.Size))
		}
		if len(want) == 0 {
			continue
		}
		if hi > f.size {
			return errors.New("sample data outside its fragment")
		}
		data := make([]byte, hi-lo)
		if _, err := r.f.ReadAt(data, f.offset+lo); err != nil {
			return fmt.Errorf("read samples at %d: %w", f.offset+lo, err)
		}
		for _, s := range want {
			if err := fn(s, data[s.Offset-lo:s.Offset-lo+int64(s.Size):s.Offset-lo+int64(s.Size)]); err != nil {
				return err
			}
		}
	}
	return nil
}
