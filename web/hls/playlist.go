package hls

import (
	"fmt"
	"strconv"
	"time"

	"tolk/internal/audio"
)

const (
	// playlistVersion is the protocol version: fMP4 with EXT-X-MAP needs 6,
	// 7 keeps every attribute we write unambiguous for older parsers.
	playlistVersion = 7
	// audioGroup is the Opus AUDIO group (named before there was another),
	// aacGroup the AAC-LC one: the same languages under the same names in
	// each.
	audioGroup = "audio"
	aacGroup   = "aac"
	// The video variants' AUDIO groups: the same languages, each with a
	// URI (the variant's own playlist is the video's), so they cannot be
	// the audio-only variants' groups, whose default has none.
	audioVideoGroup = "audio-v"
	aacVideoGroup   = "aac-v"
	subtitleGroup   = "subs"
	// fragmentOverhead is the measured size of one part's moof and mdat
	// header (≈ 120 bytes); it is added to BANDWIDTH.
	fragmentOverhead = 128
)

// segment is one media segment of a rendition. Once published it is never
// modified, so readers share it without locks.
type segment struct {
	msn   int64
	start int64 // program time of the first sample, 48 kHz samples
	dur   int64 // samples
	pdt   time.Time
	parts []*part
	data  []byte // the parts back to back; nil while the segment is open
	// gen is the video configuration (initialization section) of the
	// segment; indep says it starts with a key frame. Audio: 0 and false.
	gen   int
	indep bool
	// iframe is the length of the segment's first fragment up to the end
	// of its key frame (moof, mdat header, the key frame): the byte range
	// of the I-frame playlist. 0 when the segment starts without one.
	iframe int64
	// restart marks the first segment of a run that continues an earlier
	// run's playlists (Continuation.Resumed): an EXT-X-DISCONTINUITY.
	restart bool
}

// part is one LL-HLS partial segment, an fMP4 fragment.
type part struct {
	msn   int64
	index int
	start int64
	dur   int64
	data  []byte
	// seq numbers a video part along the run; indep marks one that starts
	// with a key frame. Audio parts leave them zero.
	seq   int64
	indep bool
}

func segmentName(msn int64) string { return string(appendSegmentName(nil, msn)) }

func partName(msn int64, index int) string { return string(appendPartName(nil, msn, index)) }

// appendSegmentName and appendPartName write the names into a playlist being
// rendered without a string per line.
func appendSegmentName(b []byte, msn int64) []byte {
	b = append(b, "seg"...)
	b = strconv.AppendInt(b, msn, 10)
	return append(b, ".m4s"...)
}

func appendPartName(b []byte, msn int64, index int) []byte {
	b = append(b, "part"...)
	b = strconv.AppendInt(b, msn, 10)
	b = append(b, '.')
	b = strconv.AppendInt(b, int64(index), 10)
	return append(b, ".m4s"...)
}

// appendSeconds writes a sample count as seconds: with millisecond
// precision when that is exact (every Opus duration, 20 ms frames), else
// with microseconds, cut rather than rounded so that a part never lists
// longer than the PART-TARGET written the same way (AAC's 1024-sample
// frames: 0.213333).
func appendSeconds(b []byte, samples int64) []byte {
	us := samples * 1000000 / audio.SampleRate
	b = strconv.AppendInt(b, us/1000000, 10)
	b = append(b, '.')
	frac, digits := us%1000000, 6
	if frac%1000 == 0 {
		frac, digits = frac/1000, 3
	}
	for d, lim := digits-1, int64(10); d > 0; d, lim = d-1, lim*10 {
		if frac < lim {
			b = append(b, "00000"[:d]...)
			break
		}
	}
	return strconv.AppendInt(b, frac, 10)
}

// targetSeconds is the EXT-X-TARGETDURATION of segments of seg samples.
func targetSeconds(seg int64) int64 { return (seg + audio.SampleRate - 1) / audio.SampleRate }

// appendDate writes an EXT-X-PROGRAM-DATE-TIME value.
func appendDate(b []byte, t time.Time) []byte {
	return t.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z07:00")
}

// mediaWriter renders a rendition's media playlist; it is built once per
// codec of a Muxer and called by the writer after every new part.
type mediaWriter struct {
	head []byte // tags before EXT-X-MEDIA-SEQUENCE
	tail []byte // the EXT-X-MAP, after the tags that follow EXT-X-MEDIA-SEQUENCE
	// disc is the discontinuity sequence before the run; resumed says the
	// run continues an earlier one (Options.Continue).
	disc       int64
	resumed    bool
	target     int64 // target duration, samples
	partsPerSg int64
	dir        []byte // "{run}/": media URIs are relative to the playlist
}

// newMediaWriter is the writer of c's playlists. A part holds the frames
// that start in its span, so the longest lasts the span rounded up to whole
// frames: that is the PART-TARGET (0.2 s for Opus, 0.213333 s for AAC with
// 200 ms parts). Segments of AAC are up to a frame longer than the nominal
// duration, which still rounds to the same target duration.
func newMediaWriter(o Options, c *codec) *mediaWriter {
	partSamples := ceilTo(audio.Samples(o.PartDuration), c.frame)
	segSamples := audio.Samples(o.SegmentDuration)
	targetSec := targetSeconds(segSamples)
	var h []byte
	h = append(h, "#EXTM3U\n#EXT-X-VERSION:"...)
	h = strconv.AppendInt(h, playlistVersion, 10)
	h = append(h, "\n#EXT-X-TARGETDURATION:"...)
	h = strconv.AppendInt(h, targetSec, 10)
	h = append(h, "\n#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK="...)
	h = appendSeconds(h, 3*partSamples)
	h = append(h, "\n#EXT-X-PART-INF:PART-TARGET="...)
	h = appendSeconds(h, partSamples)
	h = append(h, "\n#EXT-X-MEDIA-SEQUENCE:"...)
	return &mediaWriter{
		head:       h,
		tail:       []byte("#EXT-X-MAP:URI=\"" + o.Run + "/init.mp4\"\n"),
		disc:       o.Continue.Discontinuity,
		resumed:    o.Continue.Resumed,
		target:     targetSec * audio.SampleRate,
		partsPerSg: segSamples / audio.Samples(o.PartDuration),
		dir:        []byte(o.Run + "/"),
	}
}

// render writes the playlist for the complete segments segs (oldest first,
// consecutive), the parts of the open segment and, while live, a preload hint
// for the part after the last one. prev is the length of the playlist this
// one replaces: a new part adds a few lines to it.
func (w *mediaWriter) render(segs []*segment, open *segment, ended bool, prev int) []byte {
	var last *part
	if open != nil && len(open.parts) > 0 {
		last = open.parts[len(open.parts)-1]
	} else if len(segs) > 0 {
		s := segs[len(segs)-1]
		last = s.parts[len(s.parts)-1]
	}
	first, restart := int64(0), false
	switch {
	case len(segs) > 0:
		first, restart = segs[0].msn, segs[0].restart
	case open != nil:
		first, restart = open.msn, open.restart
	}
	edge := int64(0)
	if last != nil {
		edge = last.start + last.dur
	}
	b := make([]byte, 0, prev+256)
	b = append(b, w.head...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, '\n')
	b = appendDiscontinuity(b, w.resumed, w.disc, restart)
	b = append(b, "#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	if restart {
		// Before the EXT-X-MAP, so that the initialization section is
		// taken as the new run's (hls.js dates it with the discontinuity
		// sequence in force where the tag stands).
		b = append(b, "#EXT-X-DISCONTINUITY\n"...)
	}
	b = append(b, w.tail...)
	for _, s := range segs {
		b = w.appendSegment(b, s, edge)
		b = append(b, "#EXTINF:"...)
		b = appendSeconds(b, s.dur)
		b = append(b, ",\n"...)
		b = append(b, w.dir...)
		b = appendSegmentName(b, s.msn)
		b = append(b, '\n')
	}
	if open != nil && len(open.parts) > 0 {
		b = w.appendSegment(b, open, edge)
	}
	if ended {
		return append(b, "#EXT-X-ENDLIST\n"...)
	}
	if last != nil {
		msn, idx := last.msn, last.index+1
		if int64(idx) >= w.partsPerSg {
			msn, idx = msn+1, 0
		}
		b = append(b, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""...)
		b = append(b, w.dir...)
		b = appendPartName(b, msn, idx)
		b = append(b, "\"\n"...)
	}
	return b
}

// appendDiscontinuity writes the EXT-X-DISCONTINUITY-SEQUENCE of a run
// that continues an earlier one (resumed), whose segments before the run
// had disc: while the run's first segment, which carries the
// EXT-X-DISCONTINUITY, is listed first (restart) the sequence is disc, and
// once it has left the window, disc+1. A run that is not marked writes
// disc, and a fresh event none.
func appendDiscontinuity(b []byte, resumed bool, disc int64, restart bool) []byte {
	if !resumed && disc == 0 {
		return b
	}
	if !restart {
		disc++
	}
	b = append(b, "#EXT-X-DISCONTINUITY-SEQUENCE:"...)
	b = strconv.AppendInt(b, disc, 10)
	return append(b, '\n')
}

// appendSegment writes a segment's date and, near the live edge, its parts.
// Parts older than three target durations are left out, as the protocol asks.
func (w *mediaWriter) appendSegment(b []byte, s *segment, edge int64) []byte {
	b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
	b = appendDate(b, s.pdt)
	b = append(b, '\n')
	if s.start+s.dur < edge-3*w.target {
		return b
	}
	for _, p := range s.parts {
		b = append(b, "#EXT-X-PART:DURATION="...)
		b = appendSeconds(b, p.dur)
		b = append(b, ",URI=\""...)
		b = append(b, w.dir...)
		b = appendPartName(b, p.msn, p.index)
		b = append(b, "\",INDEPENDENT=YES\n"...)
	}
	return b
}

// MasterPlaylist renders the multivariant playlist of Opus renditions: one
// AUDIO group with a rendition per language, one variant whose BANDWIDTH is
// the highest rendition's Bitrate plus the fragments' overhead and, when
// subtitles are given, one SUBTITLES group.
func MasterPlaylist(renditions []AudioRendition, subtitles []SubtitleRendition, partDuration time.Duration) ([]byte, error) {
	if err := validateRenditions(renditions); err != nil {
		return nil, err
	}
	if err := validateSubtitles(subtitles); err != nil {
		return nil, err
	}
	if partDuration <= 0 {
		return nil, fmt.Errorf("part duration %v is not positive", partDuration)
	}
	peak := 0
	for _, r := range renditions {
		peak = max(peak, r.Bitrate)
	}
	v := variant{group: audioGroup, c: opusCodec, peak: int64(peak) + overheadBits(partDuration)}
	return renderMaster(renditions, -1, subtitles, []variant{v}), nil
}

// overheadBits is the bit rate of the fragments' headers, one per part.
func overheadBits(partDuration time.Duration) int64 {
	return int64(fragmentOverhead*8) * int64(time.Second) / int64(partDuration)
}

// variant is one EXT-X-STREAM-INF of the master playlist: the AUDIO group
// of one codec, every language in it, and the bit rates to declare.
type variant struct {
	group string
	c     *codec
	// peak and avg are BANDWIDTH and AVERAGE-BANDWIDTH in bits/s; an avg
	// of 0 leaves AVERAGE-BANDWIDTH out.
	peak, avg int64
	// video, when set, makes it a video variant: its URI is the video
	// rendition, every language of its group has a URI, and it declares
	// the video's codec, RESOLUTION and FRAME-RATE.
	video *VideoInfo
}

// renderMaster writes the multivariant playlist: per variant an AUDIO group
// with every language (the same NAME and LANGUAGE in each group, the floor
// the DEFAULT) and the variant itself, then the SUBTITLES group that every
// variant names. In each group the default rendition carries no URI: the
// variant's URI is its playlist, the layout that both hls.js and ffmpeg
// switch cleanly. No variant carries CEA-608/708 captions, so each says
// CLOSED-CAPTIONS=NONE and players look for captions in SUBTITLES only.
//
// main, when it indexes renditions, makes that language the DEFAULT in
// place of the floor, so that an audio-only variant's URI is its playlist:
// hls.js then plays it as the main variant, whose fragments give it the
// timestamp offset of each discontinuity, where as an alternate rendition
// it would stall at a restart's EXT-X-DISCONTINUITY (Options.Continue).
func renderMaster(renditions []AudioRendition, main int, subtitles []SubtitleRendition, variants []variant, iframes ...iframeVariant) []byte {
	var b []byte
	b = append(b, "#EXTM3U\n#EXT-X-VERSION:"...)
	b = strconv.AppendInt(b, playlistVersion, 10)
	b = append(b, "\n#EXT-X-INDEPENDENT-SEGMENTS\n"...)
	if main < 0 || main >= len(renditions) {
		main = 0
		for i, r := range renditions {
			if r.Default {
				main = i
			}
		}
	}
	def := renditions[main]
	for _, v := range variants {
		for i, r := range renditions {
			b = appendMedia(b, "AUDIO", v.group, r.Name, r.Language, i == main)
			if r.Translation {
				b = append(b, ",CHARACTERISTICS=\"public.translation\""...)
			}
			b = append(b, ",CHANNELS=\"1\""...)
			if i != main || v.video != nil {
				b = append(b, ",URI=\""...)
				b = appendRenditionDir(b, r.ID, v.c)
				b = append(b, "/index.m3u8\""...)
			}
			b = append(b, '\n')
		}
	}
	for _, s := range subtitles {
		b = appendMedia(b, "SUBTITLES", subtitleGroup, s.Name, s.Language, s.Default)
		b = append(b, ",CHARACTERISTICS=\"public.accessibility.transcribes-spoken-dialog\",URI=\""...)
		b = append(b, s.URI...)
		b = append(b, "\"\n"...)
	}
	for _, v := range variants {
		b = append(b, "#EXT-X-STREAM-INF:BANDWIDTH="...)
		b = strconv.AppendInt(b, v.peak, 10)
		if v.avg > 0 {
			b = append(b, ",AVERAGE-BANDWIDTH="...)
			b = strconv.AppendInt(b, v.avg, 10)
		}
		b = append(b, ",CODECS=\""...)
		if v.video != nil {
			b = append(b, v.video.Codecs...)
			b = append(b, ',')
		}
		b = append(b, v.c.codecs...)
		b = append(b, '"')
		if v.video != nil {
			b = append(b, ",RESOLUTION="...)
			b = strconv.AppendInt(b, int64(v.video.Width), 10)
			b = append(b, 'x')
			b = strconv.AppendInt(b, int64(v.video.Height), 10)
			b = append(b, ",FRAME-RATE="...)
			b = strconv.AppendFloat(b, v.video.FrameRate, 'f', 3, 64)
		}
		b = append(b, ",AUDIO=\""...)
		b = append(b, v.group...)
		b = append(b, '"')
		if len(subtitles) > 0 {
			b = append(b, ",SUBTITLES=\""+subtitleGroup+"\""...)
		}
		b = append(b, ",CLOSED-CAPTIONS=NONE\n"...)
		if v.video != nil {
			b = append(b, videoDir+"/index.m3u8\n"...)
			continue
		}
		b = appendRenditionDir(b, def.ID, v.c)
		b = append(b, "/index.m3u8\n"...)
	}
	for _, f := range iframes {
		if f.peak <= 0 {
			continue
		}
		b = append(b, "#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH="...)
		b = strconv.AppendInt(b, f.peak, 10)
		b = append(b, ",AVERAGE-BANDWIDTH="...)
		b = strconv.AppendInt(b, max(f.avg, 1), 10)
		b = append(b, ",CODECS=\""...)
		b = append(b, f.info.Codecs...)
		b = append(b, "\",RESOLUTION="...)
		b = strconv.AppendInt(b, int64(f.info.Width), 10)
		b = append(b, 'x')
		b = strconv.AppendInt(b, int64(f.info.Height), 10)
		b = append(b, ",URI=\""+videoDir+"/iframes.m3u8\"\n"...)
	}
	return b
}

// iframeVariant is the master's EXT-X-I-FRAME-STREAM-INF of the video
// rendition: its key frames, for scrubbing and scanning.
type iframeVariant struct {
	info      VideoInfo
	peak, avg int64
}

// appendRenditionDir writes the directory of rendition id of codec c.
func appendRenditionDir(b []byte, id string, c *codec) []byte {
	b = append(b, id...)
	return append(b, c.suffix...)
}

// appendMedia writes the attributes every EXT-X-MEDIA line of the master
// playlist starts with; the caller adds its type's own and ends the line.
func appendMedia(b []byte, typ, group, name, lang string, def bool) []byte {
	b = append(b, "#EXT-X-MEDIA:TYPE="...)
	b = append(b, typ...)
	b = append(b, ",GROUP-ID=\""...)
	b = append(b, group...)
	b = append(b, "\",NAME=\""...)
	b = append(b, name...)
	b = append(b, "\",LANGUAGE=\""...)
	b = append(b, lang...)
	if def {
		b = append(b, "\",DEFAULT=YES"...)
	} else {
		b = append(b, "\",DEFAULT=NO"...)
	}
	return append(b, ",AUTOSELECT=YES"...)
}
