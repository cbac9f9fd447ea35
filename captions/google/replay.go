package google

import (
	"encoding/binary"
	"sort"
)

// piece is a run of contiguous 16-bit samples starting at program time pts.
type piece struct {
	pts int64
	pcm []int16
	// loud says the frame is sound rather than silence (AnswerTimeout
	// counts only sound).
	loud bool
}

// replay holds the audio since the last final result: what a new stream must
// hear again so that no word is lost across a restart. It also remembers how
// much of it the current stream has been sent.
type replay struct {
	pieces  []piece
	samples int64 // total samples held
	sent    int64 // leading samples already sent on the current stream
	max     int64 // bound on samples held; the oldest are dropped beyond it
	dropped int64 // samples dropped for the bound
}

func (r *replay) add(p piece) {
	if len(p.pcm) == 0 {
		return
	}
	r.pieces = append(r.pieces, p)
	r.samples += int64(len(p.pcm))
	for r.samples > r.max && len(r.pieces) > 0 {
		n := int64(len(r.pieces[0].pcm))
		r.pieces[0] = piece{}
		r.pieces = r.pieces[1:]
		r.samples -= n
		r.sent = max(0, r.sent-n)
		r.dropped += n
	}
}

// trim forgets the audio before program time pts, which a final result settled.
func (r *replay) trim(pts int64) {
	for len(r.pieces) > 0 {
		p := r.pieces[0]
		end := p.pts + int64(len(p.pcm))
		switch {
		case end <= pts:
			r.pieces[0] = piece{}
			r.pieces = r.pieces[1:]
			r.samples -= int64(len(p.pcm))
			r.sent -= int64(len(p.pcm))
		case p.pts < pts:
			k := pts - p.pts
			r.pieces[0] = piece{pts: pts, pcm: p.pcm[k:]}
			r.samples -= k
			r.sent -= k
			r.sent = max(0, r.sent)
			return
		default:
			r.sent = max(0, r.sent)
			return
		}
	}
	r.sent = max(0, r.sent)
}

// unsent is the number of samples the current stream has not been sent.
func (r *replay) unsent() int64 { return r.samples - r.sent }

// next takes up to n unsent samples that are contiguous in program time,
// marks them sent, and returns where they start and the samples as LINEAR16
// (16-bit little-endian), the form a request carries.
func (r *replay) next(n int64) (pts int64, data []byte) {
	skip := r.sent
	var taken int64
	for _, p := range r.pieces {
		l := int64(len(p.pcm))
		if skip >= l {
			skip -= l
			continue
		}
		if data != nil && p.pts+skip != pts+taken {
			break // a gap: the next request starts a new segment
		}
		k := min(l-skip, n-taken)
		if data == nil {
			pts, data = p.pts+skip, make([]byte, 0, 2*min(n, r.unsent()))
		}
		for _, v := range p.pcm[skip : skip+k] {
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		}
		taken += k
		skip = 0
		if taken == n {
			break
		}
	}
	r.sent += taken
	return pts, data
}

// segment says that the stream's audio from offset off on is program time pts on.
type segment struct{ off, pts int64 }

// timeline maps offsets in one stream's audio (samples since the stream
// began) to program time; frames dropped before sending leave gaps in
// program time that the stream does not see.
type timeline struct {
	segs    []segment
	off     int64 // offset of the next sample sent
	nextPTS int64
}

func (t *timeline) record(pts, n int64) {
	if len(t.segs) == 0 || pts != t.nextPTS {
		t.segs = append(t.segs, segment{t.off, pts})
	}
	t.off += n
	t.nextPTS = pts + n
}

// start maps the offset of a sample that begins something (a word).
func (t *timeline) start(off int64) int64 {
	i := sort.Search(len(t.segs), func(i int) bool { return t.segs[i].off > off }) - 1
	return t.at(i, off)
}

// end maps an offset where something ends: an end on a gap belongs to the
// audio before the gap.
func (t *timeline) end(off int64) int64 {
	i := sort.Search(len(t.segs), func(i int) bool { return t.segs[i].off >= off }) - 1
	return t.at(i, off)
}

func (t *timeline) at(i int, off int64) int64 {
	if len(t.segs) == 0 {
		return t.nextPTS
	}
	i = max(i, 0)
	return t.segs[i].pts + off - t.segs[i].off
}
