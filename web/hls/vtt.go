package hls

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"tolk/internal/audio"
)

// Subtitles is one caption language's WebVTT rendition: segments cut on the
// same program-time boundaries as the audio, so segment N of the subtitles
// covers the same span as segment N of every audio rendition, published as
// the audio's are. Cue times are program time, and each segment's
// X-TIMESTAMP-MAP maps them onto the audio's media timeline (fMP4 decode
// time = program time plus the continuation's, Options.Continue).
//
// Recognition settles a cue after its words were spoken, often after the
// segments it spans were published. Published segments never change, so such
// a cue goes into the first segment not yet published (its home), with its
// own times: a player behind the live edge by more than the recognizer's lag
// shows it exactly with its words, and a replay shows every cue.
type Subtitles struct {
	seg    int64 // segment length in samples
	window int
	run    string // names segments, as Options.Run does the audio's
	// cont numbers the segments after an earlier run's, as the audio's
	// (Options.Continue): segment n of the program is named cont.MSN+n.
	cont  Continuation
	epoch func() (time.Time, bool)
	clock audio.Clock
	// firstSeg is closed once the playlist lists a segment (or has ended):
	// until then a playlist request waits, because a player that meets an
	// empty live subtitle playlist gives up on it (hls.js: levelEmptyError).
	firstSeg     chan struct{}
	firstSegOnce sync.Once

	mu    sync.Mutex
	cues  []vttCue // sorted by start
	edge  int64    // segments ending at or before edge are complete
	first int64    // first segment number still listed
	ended bool

	playlist atomic.Pointer[[]byte]
	// published mirrors edge so the per-tick Advance needs no lock until a
	// segment completes.
	published atomic.Int64
}

type vttCue struct {
	start, end int64
	text       string
	home       int64 // first segment that may carry the cue: unpublished when it came
}

// NewSubtitles returns an empty rendition; epoch gives the wall-clock time of
// program time zero for EXT-X-PROGRAM-DATE-TIME (Muxer.Epoch). Segments are
// named {run}/seg{N}.vtt with opts.Run; a Run that New would refuse is
// replaced by a fresh one, so segment names always parse.
func NewSubtitles(opts Options, epoch func() (time.Time, bool)) *Subtitles {
	opts = opts.withDefaults()
	if !validRun(opts.Run) {
		opts.Run = NewRun()
	}
	if opts.Continue.MSN < 0 || opts.Continue.MSN > maxContinue || opts.Continue.Discontinuity < 0 {
		opts.Continue = Continuation{}
	}
	s := &Subtitles{seg: audio.Samples(opts.SegmentDuration), window: opts.Window, run: opts.Run, epoch: epoch,
		clock: opts.Clock, firstSeg: make(chan struct{}), cont: opts.Continue}
	s.render()
	return s
}

// Add records a final cue (program time). It appears in every unpublished
// segment it overlaps, or, when it ended before them, in the next segment
// to be published.
func (s *Subtitles) Add(start, end int64, text string) {
	text = cleanCueText(text)
	if end <= start || text == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	i := sort.Search(len(s.cues), func(i int) bool { return s.cues[i].start > start })
	s.cues = append(s.cues, vttCue{})
	copy(s.cues[i+1:], s.cues[i:])
	s.cues[i] = vttCue{start, end, text, s.edge / s.seg}
}

// Advance publishes the segments that end by program time pts (the audio's
// time, or behind it to wait for late cues).
func (s *Subtitles) Advance(pts int64) {
	done := pts / s.seg * s.seg
	if done <= s.published.Load() {
		return
	}
	s.mu.Lock()
	if done <= s.edge || s.ended {
		s.mu.Unlock()
		return
	}
	s.edge = done
	s.published.Store(done)
	last := s.edge/s.seg - 1
	if n := last - s.first + 1; n > int64(s.window) {
		s.first = last - int64(s.window) + 1
	}
	// Forget cues no segment in the window carries.
	from := s.first * s.seg
	k := 0
	for _, c := range s.cues {
		if c.end > from || c.home >= s.first {
			s.cues[k] = c
			k++
		}
	}
	s.cues = s.cues[:k]
	s.mu.Unlock()
	s.render()
	s.firstSegOnce.Do(func() { close(s.firstSeg) })
}

// Close ends the playlist (EXT-X-ENDLIST).
func (s *Subtitles) Close() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.render()
	s.firstSegOnce.Do(func() { close(s.firstSeg) })
}

func (s *Subtitles) render() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b []byte
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, playlistVersion, 10)
	b = append(b, "\n#EXT-X-TARGETDURATION:"...)
	b = strconv.AppendInt(b, targetSeconds(s.seg), 10)
	b = append(b, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	b = strconv.AppendInt(b, s.cont.MSN+s.first, 10)
	b = append(b, '\n')
	// The program's first segment is the run's first: after an earlier
	// run's, a discontinuity, as in the audio playlists.
	b = appendDiscontinuity(b, s.cont.Resumed, s.cont.Discontinuity, s.first == 0)
	epoch, haveEpoch := s.epoch()
	for n := s.first; (n+1)*s.seg <= s.edge; n++ {
		if n == 0 && s.cont.Resumed {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		if haveEpoch {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = appendDate(b, epoch.Add(audio.Duration(n*s.seg)))
			b = append(b, '\n')
		}
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, s.seg)
		b = append(b, ",\n"...)
		b = append(b, s.run...)
		b = append(b, "/seg"...)
		b = strconv.AppendInt(b, s.cont.MSN+n, 10)
		b = append(b, ".vtt\n"...)
	}
	if s.ended {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	s.playlist.Store(&b)
}

// segment renders WebVTT segment n (its media sequence number less
// cont.MSN), or false if it is not published.
func (s *Subtitles) segment(n int64) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Published: segments before edge/seg (edge is a multiple of seg); no
	// product with n, which may be any 15-digit number.
	if n < s.first || n >= s.edge/s.seg {
		return nil, false
	}
	from, to := n*s.seg, (n+1)*s.seg
	var b strings.Builder
	// Cue times are program time; LOCAL 0 is program time 0, which is
	// media time cont.MSN segments on the audio's timeline (its decode
	// times are program time plus that), in 90 kHz MPEG-TS ticks.
	b.WriteString("WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:")
	// A segment is whole 20 ms frames: its 90 kHz length is exact.
	b.WriteString(strconv.FormatInt(s.cont.MSN*(s.seg*90000/audio.SampleRate), 10))
	b.WriteString(",LOCAL:00:00:00.000\n\n")
	for _, c := range s.cues {
		if c.start >= to {
			break
		}
		// Not in segments published before the cue came; in its home even
		// when it ended earlier.
		if c.home > n || (c.end <= from && c.home != n) {
			continue
		}
		fmt.Fprintf(&b, "%s --> %s\n%s\n\n", vttTime(c.start), vttTime(c.end), c.text)
	}
	return []byte(b.String()), true
}

// cleanCueText makes a cue's text safe inside a WebVTT cue: no blank line
// (which would end the cue) and nothing that reads as timing.
func cleanCueText(text string) string {
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r", ""), "\n") {
		for strings.Contains(l, "-->") {
			l = strings.ReplaceAll(l, "-->", "->")
		}
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func vttTime(pts int64) string {
	ms := pts * 1000 / audio.SampleRate
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// ServeHTTP serves "index.m3u8" and "{run}/seg{N}.vtt" (the caller strips the
// rendition's prefix); another run's segment names are not found.
func (s *Subtitles) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h["Access-Control-Allow-Origin"] = hdrAnyOrigin
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p == "index.m3u8" {
		// Before the first segment, wait for it: at most three target
		// durations (as a blocking audio request), then answer what there is.
		select {
		case <-s.firstSeg:
		default:
			t := s.clock.NewTimer(3 * audio.Duration(s.seg))
			select {
			case <-s.firstSeg:
			case <-t.C():
			case <-r.Context().Done():
			}
			t.Stop()
		}
		h["Content-Type"] = hdrPlaylist
		h["Cache-Control"] = hdrLivePlaylist
		_, _ = w.Write(*s.playlist.Load())
		return
	}
	num, ok := strings.CutPrefix(p, s.run+"/seg")
	num, ok2 := strings.CutSuffix(num, ".vtt")
	n, ok3 := parseNumber(num)
	if !ok || !ok2 || !ok3 {
		writeError(w, http.StatusNotFound, "no such subtitle resource")
		return
	}
	body, ok := s.segment(n - s.cont.MSN)
	if !ok {
		writeError(w, http.StatusNotFound, "segment not available")
		return
	}
	h.Set("Content-Type", "text/vtt; charset=utf-8")
	h["Cache-Control"] = hdrImmutable
	_, _ = w.Write(body)
}
