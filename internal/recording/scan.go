package recording

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"tolk/internal/fmp4"
)

// Limits of what the scan reads into memory.
const (
	maxHeader = 4 << 20 // ftyp, meta and moov together
	maxMoof   = 4 << 20
)

// span is one track's samples in one fragment.
type span struct {
	track   uint32
	samples uint32
	start   int64 // decode time of the first sample
	end     int64 // decode time after the last
}

// fragment is one whole moof and mdat pair of a run file.
type fragment struct {
	offset  int64 // of the moof
	moof    int64 // size of the moof box
	size    int64 // moof and mdat together
	seq     uint32
	start   int64 // program time of the audio trafs' first sample
	end     int64 // and after their last
	spans   []span
	hasText bool
	video   int64 // bytes of video samples
}

// index is what a scan of a run file found.
type index struct {
	meta   Meta
	tracks []fmp4.TrackInfo
	header int64 // bytes of ftyp, meta and moov
	frags  []fragment
	// good is the offset just after the last whole fragment: what follows
	// is a fragment being written or torn by a crash.
	good int64
	// closed is true when an mfra follows the last fragment and ends the
	// file: the run was finalised.
	closed bool
}

// errNoHeader means the file does not hold a whole header (ftyp, meta and
// moov) yet: a run killed while it was creating its file.
var errNoHeader = errors.New("run file has no complete header")

// scanHeader reads the ftyp, the Meta and the moov at the start of r.
func scanHeader(r io.ReaderAt, size int64) (index, error) {
	var ix index
	n := min(size, maxHeader)
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, 0); err != nil && !errors.Is(err, io.EOF) {
		return ix, fmt.Errorf("read header: %w", err)
	}
	var pos int64
	haveMeta := false
	if n >= 8 && string(buf[4:8]) != "ftyp" {
		return ix, fmt.Errorf("not an MP4 file: starts with %q", buf[4:8])
	}
	for i := 0; ; i++ {
		h, err := fmp4.ParseHeader(buf[pos:])
		if errors.Is(err, fmp4.ErrShort) {
			return ix, errNoHeader
		}
		if err != nil {
			return ix, fmt.Errorf("header: %w", err)
		}
		if h.Size > uint64(n-pos) {
			if n < size && h.Size > maxHeader {
				return ix, fmt.Errorf("header box %q larger than %d bytes", h.Type, maxHeader)
			}
			return ix, errNoHeader
		}
		body := buf[pos+int64(h.Len) : pos+int64(h.Size)]
		switch {
		case i == 0 && h.Type != "ftyp":
			return ix, fmt.Errorf("not an MP4 file: starts with %q", h.Type)
		case h.Type == "uuid":
			m, ok, err := parseMeta(body)
			if err != nil {
				return ix, err
			}
			if ok {
				ix.meta, haveMeta = m, true
			}
		case h.Type == "moov":
			if !haveMeta {
				return ix, errors.New("not a tolk recording: no run meta before the moov")
			}
			tracks, err := fmp4.ParseMoov(body)
			if err != nil {
				return ix, err
			}
			for i, t := range tracks {
				if t.ID != uint32(i+1) || t.Kind == 0 || t.Timescale != fmp4.Timescale {
					return ix, fmt.Errorf("track %d: not a track tolk writes (id %d, %q, timescale %d)", i+1, t.ID, t.Entry, t.Timescale)
				}
			}
			if len(tracks) == 0 {
				return ix, errors.New("run file without tracks")
			}
			ix.tracks = tracks
			ix.header = pos + int64(h.Size)
			ix.good = ix.header
			return ix, nil
		}
		pos += int64(h.Size)
	}
}

// defaults gives the parser the trex defaults of the index's tracks.
func (ix *index) defaults(id uint32) (uint32, uint32) {
	if id >= 1 && int(id) <= len(ix.tracks) {
		t := ix.tracks[id-1]
		return t.DefaultDur, t.DefaultSize
	}
	return 0, 0
}

// scanFrom reads whole fragments from ix.good on and extends ix; it stops
// at the end of the data, at an mfra that ends the file, or at the first
// box that is not a whole, consistent moof and mdat pair (a torn write).
func (ix *index) scanFrom(r io.ReaderAt, size int64) error {
	var hdr [32]byte
	for ix.good < size && !ix.closed {
		pos := ix.good
		n, err := r.ReadAt(hdr[:min(int64(len(hdr)), size-pos)], pos)
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read at %d: %w", pos, err)
		}
		h, err := fmp4.ParseHeader(hdr[:n])
		if err != nil {
			return nil // torn or being written
		}
		switch h.Type {
		case "moof":
		case "mfra":
			if ix.isMfra(r, pos, h, size) {
				ix.closed = true
			}
			return nil
		default:
			return nil
		}
		f, ok, err := ix.readFragment(r, pos, h, size)
		if err != nil || !ok {
			return err
		}
		ix.frags = append(ix.frags, f)
		ix.good = pos + f.size
	}
	return nil
}

// readFragment reads the moof at pos and checks the mdat after it; ok is
// false when the pair is not whole or not consistent.
func (ix *index) readFragment(r io.ReaderAt, pos int64, h fmp4.Header, size int64) (fragment, bool, error) {
	f := fragment{offset: pos, moof: int64(h.Size)}
	if h.Size > maxMoof || pos+int64(h.Size)+8 > size {
		return f, false, nil
	}
	buf := make([]byte, h.Size+16)
	n, err := r.ReadAt(buf[:min(int64(len(buf)), size-pos)], pos)
	if err != nil && !errors.Is(err, io.EOF) {
		return f, false, fmt.Errorf("read at %d: %w", pos, err)
	}
	buf = buf[:n]
	moof, err := fmp4.ParseMoof(buf[h.Len:h.Size], ix.defaults)
	if err != nil {
		return f, false, nil
	}
	mh, err := fmp4.ParseHeader(buf[h.Size:])
	if err != nil || mh.Type != "mdat" || pos+int64(h.Size)+int64(mh.Size) > size {
		return f, false, nil
	}
	f.size = int64(h.Size) + int64(mh.Size)
	f.seq = moof.Seq
	dataStart := int64(h.Size) + int64(mh.Len)
	f.start, f.end = -1, -1
	for _, t := range moof.Trafs {
		if t.TrackID < 1 || int(t.TrackID) > len(ix.tracks) || len(t.Samples) == 0 {
			return f, false, nil
		}
		for _, s := range t.Samples {
			if s.Offset < dataStart || s.Offset+int64(s.Size) > f.size {
				return f, false, nil
			}
		}
		sp := span{track: t.TrackID, samples: uint32(len(t.Samples)), start: t.Start(), end: t.End()}
		f.spans = append(f.spans, sp)
		switch ix.tracks[t.TrackID-1].Kind {
		case fmp4.Text:
			f.hasText = true
			continue
		case fmp4.Video:
			// A fragment's time is its audio's: frames straddle its ends.
			for _, x := range t.Samples {
				f.video += int64(x.Size)
			}
			continue
		}
		if f.start < 0 || sp.start < f.start {
			f.start = sp.start
		}
		f.end = max(f.end, sp.end)
	}
	if len(f.spans) == 0 {
		return f, false, nil
	}
	return f, true, nil
}

// isMfra says whether the mfra at pos ends the file with an mfro that
// names it.
func (ix *index) isMfra(r io.ReaderAt, pos int64, h fmp4.Header, size int64) bool {
	if pos+int64(h.Size) != size || h.Size < 16+8 {
		return false
	}
	var tail [16]byte
	if _, err := r.ReadAt(tail[:], size-16); err != nil {
		return false
	}
	return string(tail[4:8]) == "mfro" && int64(binary.BigEndian.Uint32(tail[12:])) == int64(h.Size)
}

// scan reads a whole run file: its header and every whole fragment.
func scan(r io.ReaderAt, size int64) (*index, error) {
	ix, err := scanHeader(r, size)
	if err != nil {
		return nil, err
	}
	if err := ix.scanFrom(r, size); err != nil {
		return nil, err
	}
	return &ix, nil
}

// audioRange is the program time the run's audio covers: from the first
// fragment's start to the last one's end (-1, -1 without fragments).
func (ix *index) audioRange() (start, end int64) {
	start, end = -1, -1
	for _, f := range ix.frags {
		if f.start < 0 {
			continue
		}
		if start < 0 {
			start = f.start
		}
		end = max(end, f.end)
	}
	return start, end
}

// mfra builds the movie fragment random access box of the index's
// fragments: a tfra per track with every fragment that has the track.
func (ix *index) mfra() []byte {
	type entry struct {
		time, moof int64
		traf       uint8
	}
	entries := make([][]entry, len(ix.tracks))
	for _, f := range ix.frags {
		for i, sp := range f.spans {
			if i >= 255 {
				break
			}
			entries[sp.track-1] = append(entries[sp.track-1], entry{sp.start, f.offset, uint8(i + 1)})
		}
	}
	var b []byte
	b = append(b, 0, 0, 0, 0, 'm', 'f', 'r', 'a')
	for i, es := range entries {
		if len(es) == 0 {
			continue
		}
		start := len(b)
		b = append(b, 0, 0, 0, 0, 't', 'f', 'r', 'a', 1, 0, 0, 0)
		b = binary.BigEndian.AppendUint32(b, uint32(i+1))
		b = binary.BigEndian.AppendUint32(b, 0) // one-byte traf, trun and sample numbers
		b = binary.BigEndian.AppendUint32(b, uint32(len(es)))
		for _, e := range es {
			b = binary.BigEndian.AppendUint64(b, uint64(e.time))
			b = binary.BigEndian.AppendUint64(b, uint64(e.moof))
			b = append(b, e.traf, 1, 1)
		}
		binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start))
	}
	b = append(b, 0, 0, 0, 16, 'm', 'f', 'r', 'o', 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(b)+4))
	binary.BigEndian.PutUint32(b, uint32(len(b)))
	return b
}

// closingFragment is a fragment that carries every captions track that
// ends before the audio up to the audio's end with empty samples, or nil
// when none does.
func (ix *index) closingFragment() []byte {
	start, end := ix.audioRange()
	if start < 0 || len(ix.frags) == 0 {
		return nil
	}
	ends := make([]int64, len(ix.tracks))
	for i := range ends {
		ends[i] = start
	}
	for _, f := range ix.frags {
		for _, sp := range f.spans {
			ends[sp.track-1] = max(ends[sp.track-1], sp.end)
		}
	}
	var trafs []fmp4.Traf
	for i, t := range ix.tracks {
		if t.Kind != fmp4.Text || ends[i] >= end {
			continue
		}
		tr := fmp4.Traf{TrackID: t.ID, Start: ends[i]}
		for at := ends[i]; at < end; {
			d := min(end-at, maxCueSamples)
			s := fmp4.TextSample("")
			tr.Durs = append(tr.Durs, uint32(d))
			tr.Sizes = append(tr.Sizes, uint32(len(s)))
			tr.Data = append(tr.Data, s...)
			at += d
		}
		trafs = append(trafs, tr)
	}
	if len(trafs) == 0 {
		return nil
	}
	b, err := fmp4.MultiFragment(ix.frags[len(ix.frags)-1].seq+1, trafs)
	if err != nil {
		return nil
	}
	return b
}
