package hls

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
)

// The video rendition: the floor's H.264 passed through, without
// re-encoding, as one fMP4 rendition at video/ on the same program
// timeline as the audio (timescale 48 kHz, decode times program time):
//
//	video/index.m3u8             media playlist
//	video/{run}/init{g}.mp4      initialization section of configuration g
//	video/{run}/seg{msn}.m4s     media segment msn
//	video/{run}/part{n}.m4s      part n, numbered along the run
//
// A segment starts on a key frame: the first one at or after each segment
// boundary of the program (so with key frames every 2 s or more often,
// video segment msn spans what audio segment msn does). A part holds about
// a part duration of frames; one that starts with a key frame is
// INDEPENDENT=YES. Parts are numbered along the run rather than within
// their segment because where the next segment starts is known only when
// its key frame comes: the preload hint names the next part either way.
// A key frame whose SPS or PPS differ from the current ones (another
// publisher, new encoder settings) starts configuration g+1: a new
// initialization section after an EXT-X-DISCONTINUITY.

const (
	// videoDir is the video rendition's directory; an audio rendition
	// cannot take this id.
	videoDir = "video"
	// maxVideoGap is the longest step between two frames' decode times
	// taken as the stream going on; a longer one (the floor was gone)
	// ends the segment and the rendition waits for the next key frame.
	maxVideoGap = audio.SampleRate
	// maxVideoReorder bounds PTS − DTS (B-frame reordering).
	maxVideoReorder = 10 * audio.SampleRate
	// defaultFrameSamples is the frame duration assumed before one is
	// measured (30 fps).
	defaultFrameSamples = audio.SampleRate / 30
)

var (
	errVideoCodec = errors.New("not H.264: the LL-HLS video rendition carries H.264 only")
	errNoParams   = errors.New("key frame without SPS and PPS")
)

type videoTrack struct {
	m          *Muxer
	target     int64 // EXT-X-TARGETDURATION, samples
	partTarget int64 // PART-TARGET, samples: fixed at the first part

	mu      sync.Mutex // serialises write and close
	params  *avcParams
	gen     int
	inits   map[int][]byte // initialization sections of the generations listed
	fd      int64          // frame duration, samples: measured, fixed with partTarget
	pending *vframe        // the newest frame, its duration not known yet
	cur     []vframe       // frames of the part being built
	open    *segment
	openPTS int64 // PTS of the open segment's first frame
	done    []*segment
	nextMSN int64 // -1 before the first segment
	partSeq int64 // number of the next part
	lastDTS int64 // -1 before the first frame
	waitKey bool  // frames are skipped until a key frame
	epoch   time.Time
	ended   bool

	snap atomic.Pointer[snapshot]
	// listed is the video as the master playlist declares it, set once a
	// segment of the configuration is complete.
	listed atomic.Pointer[VideoInfo]
	// Measured bit rates of complete segments, as for audio, and of
	// their key frames as the I-frame playlist serves them.
	peak, bytes, samples atomic.Int64
	ipeak, ibytes        atomic.Int64
}

func newVideoTrack(m *Muxer) *videoTrack {
	t := &videoTrack{m: m, nextMSN: -1, lastDTS: -1, waitKey: true, inits: map[int][]byte{}}
	// Segments start on key frames, so one lasts a key-frame interval
	// rounded up to whole segment durations: room for intervals up to
	// twice the segment duration (4 s; Apple asks for 2 s, platforms
	// for at most 4). Longer ones are cut without a key frame.
	t.target = 2 * targetSeconds(m.segSamples) * audio.SampleRate
	t.snap.Store(&snapshot{lastPart: -1, lastSeg: -1, changed: make(chan struct{})})
	return t
}

// WriteVideo appends one video frame of the program (media.H264, AVCC, key
// frames with their SPS and PPS) to the video rendition, placed by its
// decode and presentation times (program time, 48 kHz). Frames before the
// first key frame, and after a gap until the next key frame, are skipped;
// a frame at or before the previous one's decode time is refused. The
// payload is copied.
func (m *Muxer) WriteVideo(u media.Unit) error {
	if err := m.video.write(u); err != nil {
		m.stats.videoRejected.Add(1)
		return fmt.Errorf("hls video: %w", err)
	}
	return nil
}

// Video returns the video the master playlist lists (codec, size, frame
// rate); ok is false while it lists none: no key frame with its parameter
// sets has arrived yet, or its first segment is not complete.
func (m *Muxer) Video() (VideoInfo, bool) {
	if v := m.video.listed.Load(); v != nil {
		return *v, true
	}
	return VideoInfo{}, false
}

func (t *videoTrack) write(u media.Unit) error {
	if u.Codec != media.H264 {
		return errVideoCodec
	}
	sps, pps, err := scanAVCC(u.Payload)
	if err != nil {
		return err
	}
	if u.DTS < 0 || u.PTS < u.DTS || u.PTS-u.DTS > maxVideoReorder {
		return fmt.Errorf("decode time %d, presentation time %d: negative, reversed or too far apart", u.DTS, u.PTS)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return ErrClosed
	}
	if t.lastDTS >= 0 && u.DTS <= t.lastDTS {
		return fmt.Errorf("decode time %d, previous %d: %w", u.DTS, t.lastDTS, errLate)
	}
	if u.Key && (sps == nil || pps == nil) && t.params == nil {
		return errNoParams
	}
	if u.Key && sps != nil && pps != nil && (t.params == nil || !bytes.Equal(sps, t.params.sps) || !bytes.Equal(pps, t.params.pps)) {
		p, err := newAVCParams(sps, pps)
		if err != nil {
			return err
		}
		if t.params != nil {
			// A new configuration: what was written ends here.
			t.breakStream(u.DTS)
			t.gen++
			if t.m.persist != nil {
				t.m.persist.discontinuity(t.m.discontinuity() + int64(t.gen))
			}
		}
		t.params = p
		t.inits[t.gen] = p.init
	}
	if t.params == nil {
		t.m.stats.videoSkipped.Add(1)
		return nil
	}
	if t.lastDTS >= 0 && u.DTS-t.lastDTS > maxVideoGap {
		t.breakStream(-1)
	}
	t.lastDTS = u.DTS
	if t.waitKey {
		if !u.Key {
			t.m.stats.videoSkipped.Add(1)
			return nil
		}
		t.waitKey = false
	}
	if t.epoch.IsZero() {
		t.epoch = t.m.epochFor(u.PTS)
	}
	t.m.stats.videoFrames.Add(1)
	return t.add(vframe{dts: u.DTS, pts: u.PTS, key: u.Key, data: bytes.Clone(u.Payload)})
}

// frameDur is the frame duration the cuts go by: measured, else the SPS's,
// else 30 fps.
func (t *videoTrack) frameDur() int64 {
	if t.fd > 0 {
		return t.fd
	}
	if t.params != nil && t.params.info.FrameRate > 0 {
		return int64(float64(audio.SampleRate) / t.params.info.FrameRate)
	}
	return defaultFrameSamples
}

// noteDur measures the frame duration from the frames before the first
// part: the shortest step, within 5 to 120 frames a second.
func (t *videoTrack) noteDur(d int64) {
	if t.partTarget > 0 {
		return
	}
	d = min(max(d, audio.SampleRate/120), audio.SampleRate/5)
	if t.fd == 0 || d < t.fd {
		t.fd = d
	}
}

// add places frame f: the pending frame (whose duration f's decode time
// gives) joins the part being built, and f starts a new segment (a key
// frame at or after the next segment boundary, or a segment grown to the
// target duration), a new part (the part holds a part duration, to within
// half a frame) or joins the current one.
func (t *videoTrack) add(f vframe) error {
	if t.pending != nil {
		p := *t.pending
		p.dur = f.dts - p.dts
		t.noteDur(p.dur)
		t.cur = append(t.cur, p)
	}
	fd := t.frameDur()
	seg := t.m.segSamples
	newSeg := t.open == nil
	if t.open != nil {
		switch {
		case f.key && (f.pts+fd/2)/seg > (t.openPTS+fd/2)/seg:
			newSeg = true
		case f.dts-t.open.start+fd > t.target:
			newSeg = true // a key-frame interval longer than the target: cut anyway
		}
	}
	newPart := newSeg || (len(t.cur) > 0 && f.dts-t.cur[0].dts >= t.m.partSamples-fd/2)
	if newPart && len(t.cur) > 0 {
		if err := t.flushPart(newSeg); err != nil {
			return err
		}
	}
	if t.open == nil {
		restart := false
		if t.nextMSN < 0 {
			t.nextMSN = t.m.base + f.pts/seg
			restart = t.m.opts.Continue.Resumed
		}
		t.open = &segment{msn: t.nextMSN, start: f.dts, pdt: t.epoch.Add(audio.Duration(f.pts)), gen: t.gen, indep: f.key,
			restart: restart}
		t.nextMSN++
		t.openPTS = f.pts
	}
	t.pending = &f
	return nil
}

// flushPart encodes the part being built as one fragment and publishes it;
// complete ends the open segment with it.
func (t *videoTrack) flushPart(complete bool) error {
	if t.partTarget == 0 {
		t.partTarget = t.m.partSamples + t.frameDur()/2
	}
	var dur int64
	for _, f := range t.cur {
		dur += f.dur
	}
	seq := t.partSeq
	data, err := videoFragment(uint32(seq+1), t.cur, t.m.baseSamples)
	first := t.cur[0]
	clear(t.cur)
	t.cur = t.cur[:0]
	if err != nil {
		return err
	}
	t.partSeq++
	p := &part{msn: t.open.msn, index: len(t.open.parts), seq: seq, start: first.dts, dur: dur, indep: first.key, data: data}
	if len(t.open.parts) == 0 && first.key && len(data) >= 8 {
		// The fragment starts with its moof; the key frame is the first
		// sample of the mdat after it.
		moof := int64(uint32(data[0])<<24 | uint32(data[1])<<16 | uint32(data[2])<<8 | uint32(data[3]))
		t.open.iframe = min(moof+8+int64(len(first.data)), int64(len(data)))
	}
	t.open.parts = append(t.open.parts, p)
	t.open.dur += dur
	t.m.stats.parts.Add(1)
	if complete {
		t.completeOpen()
	}
	t.publish()
	return nil
}

// breakStream ends what was written: the pending frame lasts until next
// (or a frame, when next < 0), its part and segment are completed, and the
// rendition waits for a key frame.
func (t *videoTrack) breakStream(next int64) {
	if t.pending != nil {
		p := *t.pending
		p.dur = t.frameDur()
		if next > p.dts && next-p.dts <= maxVideoGap {
			p.dur = next - p.dts
		}
		t.cur = append(t.cur, p)
		t.pending = nil
	}
	if len(t.cur) > 0 {
		// Encoding our own frames cannot fail; if it did, the part is
		// lost and the segment still ends.
		if err := t.flushPart(true); err == nil {
			t.waitKey = true
			return
		}
	}
	if t.open != nil {
		if len(t.open.parts) > 0 {
			t.completeOpen()
		} else {
			t.open = nil
		}
		t.publish()
	}
	t.waitKey = true
}

// completeOpen turns the open segment into a complete one, measures it and
// drops the segments (and initialization sections) that leave the window.
func (t *videoTrack) completeOpen() {
	s := t.open
	t.open = nil
	n := 0
	for _, p := range s.parts {
		n += len(p.data)
	}
	s.data = make([]byte, 0, n)
	for _, p := range s.parts {
		s.data = append(s.data, p.data...)
	}
	t.done = append(t.done, s)
	if over := len(t.done) - t.m.opts.Window; over > 0 {
		n := copy(t.done, t.done[over:])
		clear(t.done[n:])
		t.done = t.done[:n]
		for g := range t.inits {
			if g < t.done[0].gen {
				delete(t.inits, g)
			}
		}
	}
	t.m.stats.segments.Add(1)
	t.measure(s)
	t.m.segmentDone(s)
}

func (t *videoTrack) measure(s *segment) {
	if s.dur <= 0 {
		return
	}
	n := int64(len(s.data))
	rate := n * 8 * audio.SampleRate / s.dur
	for {
		p := t.peak.Load()
		if rate <= p || t.peak.CompareAndSwap(p, rate) {
			break
		}
	}
	t.bytes.Add(n)
	t.samples.Add(s.dur)
	if s.iframe > 0 {
		rate := s.iframe * 8 * audio.SampleRate / s.dur
		for {
			p := t.ipeak.Load()
			if rate <= p || t.ipeak.CompareAndSwap(p, rate) {
				break
			}
		}
		t.ibytes.Add(s.iframe)
	}
	if s.gen == t.gen {
		info := t.params.info
		if info.FrameRate == 0 {
			info.FrameRate = float64(audio.SampleRate) / float64(t.frameDur())
		}
		if old := t.listed.Load(); old == nil || *old != info {
			t.listed.Store(&info)
		}
	}
	t.m.measured.Add(1)
}

func (t *videoTrack) bitrates() (peak, avg int64, ok bool) {
	n, d := t.bytes.Load(), t.samples.Load()
	if d == 0 {
		return 0, 0, false
	}
	return t.peak.Load(), n * 8 * audio.SampleRate / d, true
}

// publish renders the playlist and swaps in a new snapshot.
func (t *videoTrack) publish() {
	s := &snapshot{
		segs:     append([]*segment(nil), t.done...),
		lastPart: t.partSeq - 1,
		lastSeg:  -1,
		ended:    t.ended,
		changed:  make(chan struct{}),
		inits:    make(map[int][]byte, len(t.inits)),
	}
	for g, b := range t.inits {
		s.inits[g] = b
	}
	if t.open != nil && len(t.open.parts) > 0 {
		o := *t.open
		o.parts = o.parts[:len(o.parts):len(o.parts)]
		s.open = &o
	}
	if n := len(s.segs); n > 0 {
		s.lastSeg = s.segs[n-1].msn
	}
	old := t.snap.Load()
	if t.partTarget > 0 && (len(s.segs) > 0 || s.open != nil) {
		s.playlist = t.render(s, len(old.playlist))
	}
	if len(s.segs) > 0 {
		s.iframes = t.renderIFrames(s)
	}
	t.m.stats.playlistBuilds.Add(1)
	t.snap.Store(s)
	close(old.changed)
}

// close completes the pending frame, its part and segment, and ends the
// playlist.
func (t *videoTrack) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ended {
		return
	}
	t.breakStream(-1)
	t.ended = true
	t.publish()
}

// render writes the video media playlist of snapshot s.
func (t *videoTrack) render(s *snapshot, prev int) []byte {
	run := t.m.opts.Run
	var last *part
	if s.open != nil {
		last = s.open.parts[len(s.open.parts)-1]
	} else if n := len(s.segs); n > 0 {
		last = s.segs[n-1].parts[len(s.segs[n-1].parts)-1]
	}
	edge := last.start + last.dur
	first := s.open
	if len(s.segs) > 0 {
		first = s.segs[0]
	}
	indep := true
	for _, sg := range s.segs {
		indep = indep && sg.indep
	}
	if s.open != nil {
		indep = indep && s.open.indep
	}
	b := make([]byte, 0, prev+256)
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, playlistVersion, 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, t.target/audio.SampleRate, 10)
	b = append(b, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	b = appendSeconds(b, 3*t.partTarget)
	b = append(b, "\n#EXT-X-PART-INF:PART-TARGET="...)
	b = appendSeconds(b, t.partTarget)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, first.msn, 10)
	b = append(b, '\n')
	b = t.appendDiscontinuity(b, first)
	if indep {
		b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	}
	gen := -1
	seg := func(sg *segment) {
		if sg.gen != gen {
			if gen >= 0 || sg.restart {
				b = append(b, "#EXT-X-DISCONTINUITY\n"...)
			}
			gen = sg.gen
			b = append(b, "#EXT-X-MAP:URI=\""+run+"/init"...)
			b = strconv.AppendInt(b, int64(gen), 10)
			b = append(b, ".mp4\"\n"...)
		}
		b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
		b = appendDate(b, sg.pdt)
		b = append(b, '\n')
		if sg.start+sg.dur < edge-3*t.target {
			return
		}
		for _, p := range sg.parts {
			b = append(b, "#EXT-X-PART:DURATION="...)
			b = appendSeconds(b, p.dur)
			b = append(b, ",URI=\""+run+"/part"...)
			b = strconv.AppendInt(b, p.seq, 10)
			b = append(b, ".m4s\""...)
			if p.indep {
				b = append(b, ",INDEPENDENT=YES"...)
			}
			b = append(b, '\n')
		}
	}
	for _, sg := range s.segs {
		seg(sg)
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, sg.dur)
		b = append(b, ",\n"+run+"/"...)
		b = appendSegmentName(b, sg.msn)
		b = append(b, '\n')
	}
	if s.open != nil {
		seg(s.open)
	}
	if s.ended {
		return append(b, "#EXT-X-ENDLIST\n"...)
	}
	b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""+run+"/part"...)
	b = strconv.AppendInt(b, last.seq+1, 10)
	return append(b, ".m4s\"\n"...)
}

// appendDiscontinuity writes the EXT-X-DISCONTINUITY-SEQUENCE of a
// playlist whose first segment is first: each new configuration is one
// discontinuity, and a run that continues an earlier one (Options.Continue)
// starts one more, marked on its first segment.
func (t *videoTrack) appendDiscontinuity(b []byte, first *segment) []byte {
	c := t.m.opts.Continue
	seq := c.Discontinuity + int64(first.gen)
	if c.Resumed && !first.restart {
		seq++
	}
	if seq == 0 && !c.Resumed {
		return b
	}
	b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendInt(b, seq, 10)
	return append(b, '\n')
}

// renderIFrames writes the I-frame playlist: the key frame that starts
// each complete segment, as a byte range of the segment (Apple's players
// scrub and scan with it), on the same media sequence numbers, dates and
// discontinuities as the media playlist.
func (t *videoTrack) renderIFrames(s *snapshot) []byte {
	run := t.m.opts.Run
	b := make([]byte, 0, 128+96*len(s.segs))
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, playlistVersion, 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, t.target/audio.SampleRate, 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, s.segs[0].msn, 10)
	b = append(b, '\n')
	b = t.appendDiscontinuity(b, s.segs[0])
	b = append(b, "#EXT-X-I-FRAMES-ONLY\n"...)
	gen := -1
	for _, sg := range s.segs {
		if sg.gen != gen {
			if gen >= 0 || sg.restart {
				b = append(b, "#EXT-X-DISCONTINUITY\n"...)
			}
			gen = sg.gen
			b = append(b, "#EXT-X-MAP:URI=\""+run+"/init"...)
			b = strconv.AppendInt(b, int64(gen), 10)
			b = append(b, ".mp4\"\n"...)
		}
		b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
		b = appendDate(b, sg.pdt)
		b = append(b, '\n')
		if sg.iframe == 0 {
			// A segment cut without a key frame: its span is a gap.
			b = append(b, "#EXT-X-GAP\n"...)
		}
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, sg.dur)
		b = append(b, ",\n#EXT-X-BYTERANGE:"...)
		b = strconv.AppendInt(b, max(sg.iframe, 1), 10)
		b = append(b, "@0\n"+run+"/"...)
		b = appendSegmentName(b, sg.msn)
		b = append(b, '\n')
	}
	if s.ended {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}

// iframeRates are the I-frame playlist's peak and average bit rates.
func (t *videoTrack) iframeRates() (peak, avg int64) {
	if d := t.samples.Load(); d > 0 {
		return t.ipeak.Load(), t.ibytes.Load() * 8 * audio.SampleRate / d
	}
	return 0, 0
}

// lastIndex is the index of the newest part in the open segment, -1 when
// none is open.
func (s *snapshot) openIndex() (msn int64, index int, ok bool) {
	if s.open == nil || len(s.open.parts) == 0 {
		return 0, 0, false
	}
	return s.open.msn, len(s.open.parts) - 1, true
}

// partBySeq finds part n of the video rendition.
func (s *snapshot) partBySeq(n int64) *part {
	find := func(sg *segment) *part {
		if len(sg.parts) == 0 {
			return nil
		}
		if i := n - sg.parts[0].seq; i >= 0 && i < int64(len(sg.parts)) {
			return sg.parts[i]
		}
		return nil
	}
	if s.open != nil {
		if p := find(s.open); p != nil {
			return p
		}
	}
	for i := len(s.segs) - 1; i >= 0; i-- {
		if p := find(s.segs[i]); p != nil {
			return p
		}
	}
	return nil
}

// videoResource is a parsed request path below video/.
type videoResource struct {
	kind kind
	run  string
	n    int64 // the generation of an init section, msn of a segment, number of a part
}

// parseVideoPath maps a path relative to video/ to a resource.
func parseVideoPath(p string) (videoResource, error) {
	switch p {
	case "index.m3u8":
		return videoResource{kind: kindPlaylist}, nil
	case "iframes.m3u8":
		return videoResource{kind: kindIFrames}, nil
	}
	run, file, ok := stringsCut(p, '/')
	if !ok || !validRun(run) {
		return videoResource{}, errNoResource
	}
	r := videoResource{run: run}
	var num string
	switch {
	case len(file) > 8 && file[:4] == "init" && file[len(file)-4:] == ".mp4":
		r.kind, num = kindInit, file[4:len(file)-4]
	case len(file) > 7 && file[:3] == "seg" && file[len(file)-4:] == ".m4s":
		r.kind, num = kindSegment, file[3:len(file)-4]
	case len(file) > 8 && file[:4] == "part" && file[len(file)-4:] == ".m4s":
		r.kind, num = kindPart, file[4:len(file)-4]
	default:
		return videoResource{}, errNoResource
	}
	n, ok := parseNumber(num)
	if !ok {
		return videoResource{}, errNoResource
	}
	r.n = n
	return r, nil
}

func stringsCut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// serveVideo serves the video rendition's playlist, initialization
// sections, segments and parts, with blocking reload as for audio.
func (m *Muxer) serveVideo(w http.ResponseWriter, r *http.Request, p string) {
	res, err := parseVideoPath(p)
	if err != nil {
		m.fail(w, http.StatusNotFound, "not found")
		return
	}
	t := m.video
	if res.kind != kindPlaylist && res.kind != kindIFrames && res.run != m.opts.Run {
		m.fail(w, http.StatusNotFound, "not found: named by another run")
		return
	}
	switch res.kind {
	case kindPlaylist:
		m.serveVideoPlaylist(w, r, t)
	case kindIFrames:
		if b := t.snap.Load().iframes; b != nil {
			m.write(w, r, hdrPlaylist, hdrNoCache, b)
			return
		}
		m.fail(w, http.StatusNotFound, "no complete video segment yet")
	case kindInit:
		if b := t.snap.Load().inits[int(min(res.n, 1<<30))]; b != nil {
			m.writeMediaAs(w, r, hdrVideoMP4, b)
			return
		}
		m.fail(w, http.StatusNotFound, "no initialization section "+strconv.FormatInt(res.n, 10))
	case kindSegment:
		m.serveVideoSegment(w, r, t, res.n)
	case kindPart:
		m.serveVideoPart(w, r, t, res.n)
	}
}

func (m *Muxer) serveVideoPlaylist(w http.ResponseWriter, r *http.Request, t *videoTrack) {
	q, err := parseReload(r.URL.RawQuery)
	if err != nil {
		m.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	// As the audio's (servePlaylist): a continuing run answers once it
	// lists a whole segment.
	listed := func(s *snapshot) bool { return s.playlist != nil && (m.base == 0 || s.lastSeg >= 0 || s.ended) }
	if !q.hasMSN {
		s, res := m.await(r, &t.snap, listed)
		m.finishPlaylist(w, r, s, res, hdrLivePlaylist)
		return
	}
	if s := t.snap.Load(); s.playlist != nil && !s.ended {
		newest := s.lastSeg
		if msn, idx, ok := s.openIndex(); ok {
			newest = msn
			if q.hasPart && q.msn == msn && q.part > int64(idx)+m.advanceParts() {
				m.fail(w, http.StatusBadRequest, "_HLS_part is too far ahead of the playlist")
				return
			}
		}
		if q.msn > newest+2 {
			m.fail(w, http.StatusBadRequest, "_HLS_msn is more than two segments ahead of the playlist")
			return
		}
	}
	ready := func(s *snapshot) bool {
		if !listed(s) {
			return false
		}
		if s.lastSeg >= q.msn {
			return true
		}
		msn, idx, ok := s.openIndex()
		return q.hasPart && ok && (msn > q.msn || (msn == q.msn && int64(idx) >= q.part))
	}
	s, res := m.await(r, &t.snap, ready)
	cache := hdrNoCache
	if res == waitReady && ready(s) {
		cache = m.blockedCache
	}
	m.finishPlaylist(w, r, s, res, cache)
}

func (m *Muxer) serveVideoSegment(w http.ResponseWriter, r *http.Request, t *videoTrack, msn int64) {
	get := func(s *snapshot) []byte {
		if seg := s.segment(msn); seg != nil && seg.data != nil {
			return seg.data
		}
		return nil
	}
	s := t.snap.Load()
	if b := get(s); b != nil {
		m.writeMediaAs(w, r, hdrVideoMP4, b)
		return
	}
	// Wait only for the segment being written or the next one.
	open, _, ok := s.openIndex()
	if s.ended || !ok || msn <= s.lastSeg || msn < open || msn > open+1 {
		m.fail(w, http.StatusNotFound, "no segment "+strconv.FormatInt(msn, 10))
		return
	}
	s, res := m.await(r, &t.snap, func(s *snapshot) bool { return s.lastSeg >= msn })
	m.finishMediaAs(w, r, hdrVideoMP4, res, func() []byte { return get(s) })
}

func (m *Muxer) serveVideoPart(w http.ResponseWriter, r *http.Request, t *videoTrack, n int64) {
	get := func(s *snapshot) []byte {
		if p := s.partBySeq(n); p != nil {
			return p.data
		}
		return nil
	}
	s := t.snap.Load()
	if b := get(s); b != nil {
		m.writeMediaAs(w, r, hdrVideoMP4, b)
		return
	}
	// Wait for the preload-hinted part and a few beyond it.
	if s.ended || s.lastPart < 0 || n <= s.lastPart || n > s.lastPart+m.advanceParts() {
		m.fail(w, http.StatusNotFound, "no part "+strconv.FormatInt(n, 10))
		return
	}
	s, res := m.await(r, &t.snap, func(s *snapshot) bool { return s.lastPart >= n })
	m.finishMediaAs(w, r, hdrVideoMP4, res, func() []byte { return get(s) })
}
