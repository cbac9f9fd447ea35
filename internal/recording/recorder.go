package recording

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"tolk/internal/audio"
	"tolk/internal/fmp4"
	"tolk/internal/media"
)

// FragmentSamples is the program time of one whole fragment: one second.
const FragmentSamples = audio.SampleRate

// Defaults of Options.
const (
	// DefaultHold is how long the captions wait for late cues before they
	// are written: a recognizer settles a cue after its last word, and a
	// cue that starts before what is written is cut (see Options.Hold).
	DefaultHold = 10 * time.Second
	// DefaultQueue is how many fragments may wait for the disk (seconds).
	DefaultQueue = 30
	// maxPendingCues bounds the cues of one language waiting for the hold.
	maxPendingCues = 512
	// maxCueSamples bounds one captions sample: 24 hours would overflow
	// the 32-bit sample duration at 48 kHz.
	maxCueSamples = 3600 * audio.SampleRate
	// forecastEvery is how many fragments pass between two looks at the
	// free disk space.
	forecastEvery = 10
	// lagSamples is how far one language's packets may run ahead of
	// another's before the lagging one's gap is filled with silence: the
	// readers' queues hold a second, so a reader that far behind drops.
	lagSamples = 3 * FragmentSamples
	// lowDisk warns, even without a scheduled end, when the disk will be
	// full within this time.
	lowDisk = 15 * time.Minute
)

// RecordingClock fixes when an event's recording began (*store.Store is
// one): the wall-clock time of program time zero of the event's first run.
type RecordingClock interface {
	RecordingStart(ctx context.Context, event string, epoch time.Time) (time.Time, error)
}

// Options configure a Recorder.
type Options struct {
	Library *Library
	Event   string
	Title   string
	// Audio lists the languages whose program is recorded, the floor
	// first; Captions the languages whose final cues are.
	Audio    []Lang
	Captions []Lang
	// Video says the program may carry H.264 video (WriteVideo): the run
	// gets a video track, its avc1 sample entry made from the first key
	// frame's SPS and PPS, when a key frame comes before the first
	// fragment is written. The first fragment waits for one while the
	// audio runs up to lagSamples past its end; a run whose video starts
	// later than that holds audio and captions only.
	Video bool
	// Epoch is the wall-clock time of the run's program time zero, fixed
	// by the time the first packet comes.
	Epoch func() (time.Time, bool)
	// Clock places the run on the event's recording timeline. Without
	// one, the earliest run in the library does, or this run begins it.
	Clock RecordingClock
	// End is the event's scheduled end (zero: none): the recorder warns
	// when the disk will be full before it.
	End time.Time
	// Now is the wall clock, for the disk forecast (default time.Now).
	Now func() time.Time
	Log *slog.Logger
	// Hold is how far the captions trail the audio in the file (default
	// DefaultHold). Cues settled later than that are cut to what is not
	// written yet, or dropped and counted.
	Hold time.Duration
	// SyncEvery is how many fragments are written between two syncs to
	// disk (default 1: every second); negative never syncs before the end.
	SyncEvery int
	// Queue bounds the fragments waiting for the disk (default
	// DefaultQueue); a fragment that finds it full is dropped and counted.
	Queue int
	// Create creates the run file and DiskFree reports the free bytes of
	// the disk holding dir (default: the library's Disk).
	Create   CreateFunc
	DiskFree func(dir string) (uint64, error)
}

// Status is the recorder as the producer sees it.
type Status struct {
	// State is "off" (not recorded), "waiting" (for the first packet),
	// "recording", "stopped" or "failed" (Error says why; the live
	// outputs keep running).
	State string `json:"state"`
	Run   string `json:"run,omitempty"`
	// Bytes is the run file's size; Seconds the program time recorded.
	Bytes   int64   `json:"bytes"`
	Seconds float64 `json:"seconds"`
	// DiskFree is the free space left on the recordings' disk.
	DiskFree *uint64 `json:"disk_free_bytes,omitempty"`
	// BytesPerHour is the rate the run grows at.
	BytesPerHour float64 `json:"bytes_per_hour,omitempty"`
	// FullAt is when the disk will be full at that rate; End the event's
	// scheduled end, if the configuration has one.
	FullAt *time.Time `json:"full_at,omitempty"`
	End    *time.Time `json:"end,omitempty"`
	// Warning is "disk_full_before_end" when FullAt comes before End, or
	// "disk_low" when the disk will be full within 15 minutes.
	Warning string `json:"warning,omitempty"`
	Error   string `json:"error,omitempty"`
	// Dropped counts what the recorder lost: fragments the disk could not
	// take in time or after a failure, late packets, cues later than the
	// hold.
	Dropped uint64 `json:"dropped"`
}

// Recorder records one run of an event. WritePacket and WriteCue take the
// program as the live outputs send it, from the event's readers; a
// goroutine of its own writes to disk, so a slow or full disk loses
// recording and never holds up a reader. Close finalises the run.
type Recorder struct {
	opts Options
	dir  string
	log  *slog.Logger

	mu       sync.Mutex
	byTag    map[string]*audioTrack
	audio    []*audioTrack
	text     map[string]*textTrack
	texts    []*textTrack
	video    *videoTrack // nil without Options.Video, or once the run is made without video
	decided  bool        // the run's tracks are fixed (the first fragment is cut)
	start    int64       // program time where the next fragment begins; -1 before the first packet
	maxReach int64       // program time after the newest packet of any track
	seq      uint32
	closed   bool
	jobs     chan job
	done     chan struct{}

	dropped atomic.Uint64

	smu sync.Mutex
	st  Status
}

type pkt struct {
	pts  int64
	data []byte
}

type audioTrack struct {
	id    uint32
	pend  []pkt
	reach int64 // program time after the newest packet
}

// videoTrack is the run's H.264 video: frames wait here, in decode order,
// until the fragment holding their decode time is cut.
type videoTrack struct {
	id       uint32
	sps, pps []byte // of the first key frame: the sample entry's
	pend     []vframe
	last     int64 // decode time of the newest frame taken; -1 before the first
	interval int64 // between the latest two frames: the last frame's duration when its successor is missing
	// keyed is true from a key frame on: frames before one, or after a
	// frame was lost, cannot be decoded and are not taken.
	keyed bool
	// chain is the same for what the fragments hold: a frame dropped at
	// a cut breaks it until the next key frame.
	chain bool
}

type vframe struct {
	dts, pts int64
	key      bool
	data     []byte
}

// Limits of the video a recorder keeps waiting.
const (
	// maxPendingVideo bounds the frames waiting for their fragment:
	// 10 s at 60 frames a second.
	maxPendingVideo = 600
	// defaultInterval is a frame's duration before two frames have come
	// (30 frames a second).
	defaultInterval = audio.SampleRate / 30
)

type textTrack struct {
	id   uint32
	lang string
	cues []media.Cue // final cues waiting, by start
	pos  int64       // program time the track is written up to
}

// job is one fragment for the disk goroutine.
type job struct {
	specs      []fmp4.TrackSpec // the run's tracks, with the first fragment
	seq        uint32
	trafs      []fmp4.Traf
	start, end int64 // audio program time; start < 0 for captions alone
}

// New starts a recorder. Nothing is written before the first packet.
func New(opts Options) (*Recorder, error) {
	if opts.Library == nil {
		return nil, errors.New("recorder: no library")
	}
	dir, err := eventDir(opts.Library.root, opts.Event)
	if err != nil {
		return nil, err
	}
	if len(opts.Audio) == 0 {
		return nil, errors.New("recorder: no audio track")
	}
	if opts.Epoch == nil {
		return nil, errors.New("recorder: no epoch")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Hold <= 0 {
		opts.Hold = DefaultHold
	}
	if opts.SyncEvery == 0 {
		opts.SyncEvery = 1
	}
	if opts.Queue <= 0 {
		opts.Queue = DefaultQueue
	}
	if opts.Create == nil {
		opts.Create = opts.Library.disk.Create
	}
	if opts.DiskFree == nil {
		opts.DiskFree = opts.Library.disk.Free
	}
	r := &Recorder{opts: opts, dir: dir, log: opts.Log, byTag: map[string]*audioTrack{}, text: map[string]*textTrack{},
		start: -1, jobs: make(chan job, opts.Queue), done: make(chan struct{})}
	id := uint32(1)
	for _, l := range opts.Audio {
		if _, dup := r.byTag[l.Tag]; dup {
			return nil, fmt.Errorf("recorder: language %s twice", l.Tag)
		}
		t := &audioTrack{id: id}
		r.byTag[l.Tag] = t
		r.audio = append(r.audio, t)
		id++
	}
	for _, l := range opts.Captions {
		if _, dup := r.text[l.Tag]; dup {
			return nil, fmt.Errorf("recorder: captions %s twice", l.Tag)
		}
		t := &textTrack{id: id, lang: l.Tag}
		r.text[l.Tag] = t
		r.texts = append(r.texts, t)
		id++
	}
	if opts.Video {
		// The last track: the audio and captions keep their ids whether
		// or not a run has video.
		r.video = &videoTrack{id: id, last: -1, interval: defaultInterval}
	} else {
		r.decided = true
	}
	r.st = Status{State: "waiting"}
	if !opts.End.IsZero() {
		end := opts.End.UTC()
		r.st.End = &end
	}
	go r.run()
	return r, nil
}

// specs are the run file's tracks.
func (r *Recorder) specs() []fmp4.TrackSpec {
	var out []fmp4.TrackSpec
	for i, l := range r.opts.Audio {
		role := fmp4.RoleDub
		if i == 0 {
			role = fmp4.RoleMain
		}
		out = append(out, fmp4.TrackSpec{ID: r.audio[i].id, Kind: fmp4.Audio, Lang: l.Tag, Name: l.Name, Role: role, Enabled: i == 0})
	}
	for i, l := range r.opts.Captions {
		out = append(out, fmp4.TrackSpec{ID: r.texts[i].id, Kind: fmp4.Text, Lang: l.Tag, Name: l.Name, Role: fmp4.RoleCaption,
			Enabled: l.Tag == r.opts.Audio[0].Tag})
	}
	if v := r.video; v != nil {
		// The floor's picture: its language is the floor's.
		out = append(out, fmp4.TrackSpec{ID: v.id, Kind: fmp4.Video, Lang: r.opts.Audio[0].Tag, Name: "Video",
			Role: fmp4.RoleMain, Enabled: true, SPS: v.sps, PPS: v.pps})
	}
	return out
}

// WriteVideo records a frame of the program's video (H.264 in AVCC, as
// Program.Video carries it), placed by its decode time on the run's
// timeline; its presentation time becomes the sample's composition
// offset. Frames before the first key frame, and after a lost frame until
// the next key frame, are left out: the file holds only decodable
// pictures. Other codecs (VP8 from a WHIP floor) are not recorded.
func (r *Recorder) WriteVideo(u media.Unit) {
	if u.Codec != media.H264 || u.PTS < u.DTS || u.DTS < 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	v := r.video
	if v == nil || r.closed {
		return
	}
	if !v.keyed {
		if !u.Key {
			return // undecodable: wait for a key frame
		}
		if v.sps == nil {
			sps, pps, ok := paramSets(u.Payload)
			if !ok {
				r.dropped.Add(1)
				return
			}
			v.sps, v.pps = sps, pps
		}
	}
	if u.DTS <= v.last || (r.start >= 0 && u.DTS < r.start) || len(v.pend) >= maxPendingVideo {
		// Repeated, late for its fragment, or too many waiting: lost, and
		// the pictures after it until a key frame with it. (Before the
		// first fragment, a frame earlier than the run is no loss.)
		if r.seq > 0 || u.DTS >= r.start {
			r.dropped.Add(1)
		}
		v.keyed = false
		return
	}
	v.keyed = true
	if v.last >= 0 && u.DTS-v.last <= audio.SampleRate {
		v.interval = u.DTS - v.last
	}
	v.last = u.DTS
	v.pend = append(v.pend, vframe{dts: u.DTS, pts: u.PTS, key: u.Key, data: u.Payload})
	if r.start >= 0 {
		r.cutReady()
	}
}

// paramSets finds the SPS and PPS of an AVCC access unit.
func paramSets(au []byte) (sps, pps []byte, ok bool) {
	for len(au) >= 4 {
		n := int(binary.BigEndian.Uint32(au))
		if n == 0 || n > len(au)-4 {
			return nil, nil, false
		}
		nalu := au[4 : 4+n]
		switch nalu[0] & 0x1f {
		case 7:
			if sps == nil {
				sps = bytes.Clone(nalu)
			}
		case 8:
			if pps == nil {
				pps = bytes.Clone(nalu)
			}
		}
		au = au[4+n:]
	}
	return sps, pps, sps != nil && pps != nil
}

// videoReady says whether the fragment ending at b may be cut as far as
// the video goes, and fixes the run's tracks before the first fragment:
// with video if a key frame has come, without it once the audio has run
// lagSamples past b (or final, at Close). A fragment waits for a frame
// decoding at or after b, which gives its last frame a duration, unless
// the video has stopped for as long.
func (r *Recorder) videoReady(b int64, final bool) bool {
	v := r.video
	if !r.decided {
		switch {
		case v.sps != nil:
		case final || r.maxReach >= b+lagSamples:
			r.video = nil
			r.log.Info("recording: no video key frame by the first fragment; this run holds audio and captions only")
		default:
			return false
		}
		r.decided = true
		return true
	}
	return v == nil || final || v.last >= b || len(v.pend) == 0 || r.maxReach >= b+lagSamples
}

// WritePacket records a language's packet as the live outputs sent it. The
// unit is kept, not copied: a unit handed to a track is never written
// again.
func (r *Recorder) WritePacket(tag string, u media.Unit) {
	if u.Codec != media.Opus {
		return
	}
	if info, ok := audio.ParseOpus(u.Payload); !ok || info.Samples != audio.FrameSamples || u.PTS < 0 {
		r.dropped.Add(1)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.byTag[tag]
	if t == nil || r.closed {
		return
	}
	if r.start < 0 {
		r.begin(u.PTS)
	}
	if u.PTS < r.start || u.PTS < t.reach {
		r.dropped.Add(1) // late, or repeated
		return
	}
	t.pend = append(t.pend, pkt{u.PTS, u.Payload})
	t.reach = u.PTS + audio.FrameSamples
	r.maxReach = max(r.maxReach, t.reach)
	r.cutReady()
}

// begin starts the run's timeline at the first packet.
func (r *Recorder) begin(pts int64) {
	r.start = pts
	r.maxReach = pts
	for _, t := range r.audio {
		t.reach = pts
	}
	for _, t := range r.texts {
		t.pos = pts
	}
}

// WriteCue records a language's final cue (partial lines are not kept).
func (r *Recorder) WriteCue(tag string, c media.Cue) {
	if !c.Final || c.End <= c.Start {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.text[tag]
	if t == nil || r.closed {
		return
	}
	if len(t.cues) >= maxPendingCues {
		r.dropped.Add(1)
		return
	}
	i := sort.Search(len(t.cues), func(i int) bool { return t.cues[i].Start > c.Start })
	t.cues = append(t.cues, media.Cue{})
	copy(t.cues[i+1:], t.cues[i:])
	t.cues[i] = c
}

// cutReady cuts every fragment whose end all audio tracks have reached, or
// that one track has passed by lagSamples (a track that falls that far
// behind has been dropping: its gap is filled with silence).
func (r *Recorder) cutReady() {
	for {
		b := (r.start/FragmentSamples + 1) * FragmentSamples
		least := r.maxReach
		for _, t := range r.audio {
			least = min(least, t.reach)
		}
		if least < b && r.maxReach < b+lagSamples {
			return
		}
		if !r.videoReady(b, false) {
			return
		}
		if next, ok := r.jump(b); ok {
			// Every track jumped past this fragment: start again there
			// rather than write seconds of silence.
			r.start = next
			continue
		}
		r.cut(b, b-audio.Samples(r.opts.Hold), false, false)
	}
}

// jump says whether every audio track's next packet lies past the fragment
// after b, and where the fragment holding the earliest of them starts.
func (r *Recorder) jump(b int64) (int64, bool) {
	first := int64(-1)
	for _, t := range r.audio {
		if len(t.pend) == 0 || t.pend[0].pts < b+FragmentSamples {
			return 0, false
		}
		if first < 0 || t.pend[0].pts < first {
			first = t.pend[0].pts
		}
	}
	return max(first/FragmentSamples*FragmentSamples, b), true
}

// cut hands the disk a fragment: every audio track from r.start to b (gaps
// filled with silence) and the captions up to textUntil. final writes every
// cue left; wait waits for room in the queue rather than drop.
func (r *Recorder) cut(b, textUntil int64, final, wait bool) {
	j := job{seq: r.seq + 1, start: -1, end: -1}
	if b > r.start {
		j.start, j.end = r.start, b
		for _, t := range r.audio {
			j.trafs = append(j.trafs, r.audioTraf(t, r.start, b))
		}
		if r.video != nil {
			if tr, ok := r.videoTraf(r.video, r.start, b); ok {
				j.trafs = append(j.trafs, tr)
			}
		}
		r.start = b
	}
	for _, t := range r.texts {
		if tr, ok := r.textTraf(t, textUntil, final); ok {
			j.trafs = append(j.trafs, tr)
		}
	}
	if len(j.trafs) == 0 {
		return
	}
	if r.seq == 0 {
		j.specs = r.specs() // the tracks are fixed now
	}
	r.seq++
	if wait {
		r.jobs <- j // Close: the disk goroutine drains the queue
		return
	}
	select {
	case r.jobs <- j:
	default:
		r.dropped.Add(1)
		r.log.Warn("recording: the disk fell behind, a fragment is lost", "start", audio.Duration(j.start))
	}
}

func (r *Recorder) audioTraf(t *audioTrack, from, to int64) fmp4.Traf {
	n := int((to - from) / audio.FrameSamples)
	tr := fmp4.Traf{TrackID: t.id, Start: from, Dur: fmp4.FrameDur, Sizes: make([]uint32, 0, n)}
	size := 0
	for _, p := range t.pend {
		if p.pts >= to {
			break
		}
		size += len(p.data)
	}
	tr.Data = make([]byte, 0, size+len(fmp4.SilenceFrame)*4)
	add := func(p []byte) {
		tr.Sizes = append(tr.Sizes, uint32(len(p)))
		tr.Data = append(tr.Data, p...)
	}
	pos := from
	k := 0
	for ; k < len(t.pend) && t.pend[k].pts < to; k++ {
		p := t.pend[k]
		if p.pts < pos {
			r.dropped.Add(1) // overlaps what is written
			continue
		}
		for ; pos < p.pts; pos += audio.FrameSamples {
			add(fmp4.SilenceFrame)
		}
		add(p.data)
		pos = p.pts + audio.FrameSamples
	}
	for ; pos < to; pos += audio.FrameSamples {
		add(fmp4.SilenceFrame)
	}
	// Keep the rest at the front of the slice; clear what moved so the
	// packets written are not kept alive.
	rest := copy(t.pend, t.pend[k:])
	clear(t.pend[rest:])
	t.pend = t.pend[:rest]
	t.reach = max(t.reach, to)
	return tr
}

// videoTraf writes the frames that decode in [from, to): each lasts until
// the next frame's decode time (the last one, without a successor yet, as
// long as the frame before it), its composition offset its presentation
// minus decode time, key frames marked as sync samples.
func (r *Recorder) videoTraf(v *videoTrack, from, to int64) (fmp4.Traf, bool) {
	tr := fmp4.Traf{TrackID: v.id, Durs: []uint32{}}
	k := 0
	prev := int64(0) // decode time of the frame written last
	for ; k < len(v.pend) && v.pend[k].dts < to; k++ {
		f := v.pend[k]
		if f.dts < from {
			if r.seq > 0 {
				r.dropped.Add(1) // the fragment it belonged to is written
			} // else it came before the run's first audio
			v.chain = false
			continue
		}
		if !v.chain && !f.key {
			r.dropped.Add(1) // undecodable after the loss
			continue
		}
		v.chain = true
		if n := len(tr.Sizes); n == 0 {
			tr.Start = f.dts
		} else {
			tr.Durs[n-1] = uint32(frameDur(f.dts-prev, v.interval))
		}
		prev = f.dts
		tr.Durs = append(tr.Durs, 0)
		tr.Sizes = append(tr.Sizes, uint32(len(f.data)))
		tr.Data = append(tr.Data, f.data...)
		tr.CTOs = append(tr.CTOs, int32(f.pts-f.dts))
		tr.Sync = append(tr.Sync, f.key)
	}
	if n := len(tr.Sizes); n > 0 {
		d := v.interval
		if k < len(v.pend) {
			d = v.pend[k].dts - prev
		}
		tr.Durs[n-1] = uint32(frameDur(d, v.interval))
	}
	rest := copy(v.pend, v.pend[k:])
	clear(v.pend[rest:])
	v.pend = v.pend[:rest]
	return tr, len(tr.Sizes) > 0
}

// frameDur is d, or the frame interval when d is not a frame's duration
// (the video stopped for more than a second).
func frameDur(d, interval int64) int64 {
	if d <= 0 || d > audio.SampleRate {
		return interval
	}
	return d
}

// textTraf writes the captions track up to until: each cue that starts
// before it (cut to start where the track is written up to), with empty
// samples between.
func (r *Recorder) textTraf(t *textTrack, until int64, final bool) (fmp4.Traf, bool) {
	tr := fmp4.Traf{TrackID: t.id, Start: t.pos, Durs: []uint32{}}
	add := func(text string, d int64) {
		for d > 0 {
			n := min(d, maxCueSamples)
			s := fmp4.TextSample(text)
			tr.Durs = append(tr.Durs, uint32(n))
			tr.Sizes = append(tr.Sizes, uint32(len(s)))
			tr.Data = append(tr.Data, s...)
			d -= n
		}
	}
	k := 0
	for ; k < len(t.cues) && (final || t.cues[k].Start < until); k++ {
		c := t.cues[k]
		if final {
			c.End = min(c.End, until)
		}
		s := max(c.Start, t.pos)
		if c.End <= s {
			r.dropped.Add(1) // settled after its time was written
			continue
		}
		add("", s-t.pos)
		add(c.Text, c.End-s)
		t.pos = c.End
	}
	t.cues = t.cues[k:]
	if until > t.pos {
		add("", until-t.pos)
		t.pos = until
	}
	return tr, len(tr.Sizes) > 0
}

// Close writes what is left, finalises the run file and waits for the disk
// goroutine. It is safe to call twice.
func (r *Recorder) Close() error {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		if r.start >= 0 && !r.decided {
			r.videoReady(r.start, true)
		}
		if r.start >= 0 {
			end := r.maxReach
			for b := (r.start/FragmentSamples + 1) * FragmentSamples; b <= end; b += FragmentSamples {
				r.cut(b, b-audio.Samples(r.opts.Hold), false, true)
			}
			r.cut(end, end, true, true)
		}
		close(r.jobs)
	}
	r.mu.Unlock()
	<-r.done
	r.smu.Lock()
	defer r.smu.Unlock()
	if r.st.State == "failed" {
		return errors.New(r.st.Error)
	}
	return nil
}

// Status returns the recorder's state.
func (r *Recorder) Status() Status {
	r.smu.Lock()
	s := r.st
	r.smu.Unlock()
	s.Dropped = r.dropped.Load()
	return s
}

func (r *Recorder) setStatus(f func(*Status)) {
	r.smu.Lock()
	defer r.smu.Unlock()
	f(&r.st)
}

// run is the disk goroutine: it creates the run file at the first fragment,
// writes each fragment whole, syncs, watches the free space and finalises
// the file when the jobs end (Close). It ends after Close.
func (r *Recorder) run() {
	defer close(r.done)
	var (
		rf        *runFile
		failed    bool
		unsynced  int
		first     = int64(-1)
		end       int64
		fragments int
	)
	fail := func(err error) {
		failed = true
		msg := err.Error()
		if isNoSpace(err) {
			msg = "disk full: " + msg
		}
		msg = fmt.Sprintf("recording stopped at %s of the run: %s (the live outputs keep running)",
			audio.Duration(max(end-max(first, 0), 0)).Round(time.Second), msg)
		r.log.Error("recording failed", "err", msg)
		r.setStatus(func(s *Status) { s.State, s.Error = "failed", msg })
		if rf != nil {
			r.closeFile(rf)
			rf = nil
		}
	}
	for j := range r.jobs {
		if failed {
			r.dropped.Add(1)
			continue
		}
		if rf == nil {
			var err error
			if rf, err = r.create(j.specs); err != nil {
				fail(err)
				continue
			}
		}
		b, err := fmp4.MultiFragment(j.seq, j.trafs)
		if err != nil {
			fail(err)
			continue
		}
		if err := rf.append(b); err != nil {
			fail(err)
			continue
		}
		if j.start >= 0 {
			if first < 0 {
				first = j.start
			}
			end = max(end, j.end)
		}
		unsynced++
		if r.opts.SyncEvery > 0 && unsynced >= r.opts.SyncEvery {
			if err := rf.f.Sync(); err != nil {
				fail(fmt.Errorf("sync: %w", err))
				continue
			}
			unsynced = 0
		}
		fragments++
		secs := 0.0
		if first >= 0 {
			secs = audio.Duration(end - first).Seconds()
		}
		size := rf.size
		r.setStatus(func(s *Status) { s.Bytes, s.Seconds = size, secs })
		if fragments%forecastEvery == 1 {
			r.forecast(size-rf.header, secs)
		}
	}
	if rf != nil {
		r.closeFile(rf)
		if !failed {
			r.setStatus(func(s *Status) { s.State = "stopped" })
		}
	} else if !failed {
		r.setStatus(func(s *Status) { s.State = "stopped" })
	}
}

// create makes the run file once the run's epoch and place on the
// recording timeline are known.
func (r *Recorder) create(specs []fmp4.TrackSpec) (*runFile, error) {
	epoch, ok := r.opts.Epoch()
	if !ok {
		return nil, errors.New("the program has no epoch")
	}
	recStart := r.recordingStart(epoch)
	offset := int64(0)
	if d := epoch.Sub(recStart); d > 0 {
		offset = audio.Samples(d)
	}
	meta := Meta{Format: metaFormat, Version: 1, Event: r.opts.Event, Title: r.opts.Title, Epoch: epoch.UTC(),
		RecordingStart: recStart.UTC(), Offset: offset, FragmentSamples: FragmentSamples}
	for _, l := range r.opts.Captions {
		if l.MachineTranslated {
			meta.MachineTranslated = append(meta.MachineTranslated, l.Tag)
		}
	}
	rf, err := r.opts.Library.create(r, func() (*runFile, error) { return createRun(r.opts.Create, r.dir, meta, specs) })
	if err != nil {
		return nil, err
	}
	id := rf.Base()
	r.setStatus(func(s *Status) { s.State, s.Run, s.Bytes = "recording", id, rf.size })
	r.log.Info("recording", "run", id, "file", rf.path, "offset", audio.Duration(offset))
	return rf, nil
}

// recordingStart is the wall-clock time of the event's recording time
// zero: from the clock (the store) if there is one, else from the earliest
// run in the library, else this run's epoch.
func (r *Recorder) recordingStart(epoch time.Time) time.Time {
	if r.opts.Clock != nil {
		var err error
		for attempt := 0; attempt < 3; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			var t time.Time
			t, err = r.opts.Clock.RecordingStart(ctx, r.opts.Event, epoch)
			cancel()
			if err == nil {
				return t
			}
			time.Sleep(100 * time.Millisecond)
		}
		r.log.Warn("recording: the recording start is unknown, using the earliest run's", "err", err)
	}
	if t, ok := r.opts.Library.recordingStart(r.opts.Event); ok && !t.After(epoch) {
		return t
	}
	return epoch
}

func (r *Recorder) closeFile(rf *runFile) {
	defer r.opts.Library.unregister(rf.path)
	ix, err := rf.close()
	switch {
	case errors.Is(err, errEmpty):
		r.log.Info("recording: the run held no media and was removed", "run", rf.Base())
	case err != nil:
		r.log.Error("recording: finalising the run", "run", rf.Base(), "err", err)
	default:
		s, e := ix.audioRange()
		r.log.Info("recording finalised", "run", rf.Base(), "duration", audio.Duration(e-s), "bytes", ix.good)
	}
}

// forecast looks at the free space and warns when the disk will be full
// before the scheduled end (or within lowDisk without one), at the rate
// media has been written so far (size bytes for secs of program).
func (r *Recorder) forecast(size int64, secs float64) {
	free, err := r.opts.DiskFree(r.dir)
	if err != nil || secs <= 0 {
		return
	}
	rate := float64(size) / secs // bytes per second of program
	left := time.Duration(float64(free) / rate * float64(time.Second))
	fullAt := r.opts.Now().Add(left).UTC()
	warning := ""
	switch {
	case !r.opts.End.IsZero() && fullAt.Before(r.opts.End):
		warning = "disk_full_before_end"
	case left < lowDisk:
		warning = "disk_low"
	}
	var was string
	r.setStatus(func(s *Status) {
		was = s.Warning
		s.DiskFree, s.BytesPerHour, s.FullAt, s.Warning = &free, rate*3600, &fullAt, warning
	})
	if warning != "" && warning != was {
		msg := "recording: the disk will be full before the event's scheduled end"
		if warning == "disk_low" {
			msg = "recording: the disk will be full within " + lowDisk.String()
		}
		r.log.Warn(msg, "full_at", fullAt, "end", r.opts.End, "free_bytes", free, "bytes_per_hour", int64(rate*3600))
	}
}

func diskFree(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}
