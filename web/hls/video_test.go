package hls

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/media/videotest"
)

// clip is a real libx264 clip for the video tests.
func clip(t *testing.T, o videotest.Options) []media.Unit {
	t.Helper()
	requireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	units, err := videotest.Clip(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return units
}

// shift puts a clip at program time off.
func shift(units []media.Unit, off int64) []media.Unit {
	out := make([]media.Unit, len(units))
	for i, u := range units {
		u.PTS += off
		u.DTS += off
		out[i] = u
	}
	return out
}

// body serves target from m and returns the status and body.
func body(m *Muxer, target string) (int, []byte) {
	w := get(m, http.MethodGet, target)
	return w.Code, w.Body.Bytes()
}

// videoSample is one sample of a video fragment as decoded by mp4ff.
type videoSample struct {
	dts, pts int64
	dur      uint32
	sync     bool
	idr      bool
}

func decodeVideo(t *testing.T, b []byte) []videoSample {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode video fragments: %v", err)
	}
	var out []videoSample
	for _, seg := range f.Segments {
		for _, fr := range seg.Fragments {
			full, err := fr.GetFullSamples(&mp4.TrexBox{TrackID: trackID})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range full {
				var au h264.AVCC
				if err := au.Unmarshal(s.Data); err != nil {
					t.Fatal(err)
				}
				out = append(out, videoSample{dts: int64(s.DecodeTime), pts: int64(s.PresentationTime()), dur: s.Dur,
					sync: s.IsSync(), idr: h264.IsRandomAccess(au)})
			}
		}
	}
	return out
}

func TestVideoRendition(t *testing.T) {
	units := shift(clip(t, videotest.Options{Seconds: 7, FPS: 30, GOP: 60}), sec(0.5))
	m, _ := newTestMuxer(t, Options{SegmentDuration: 2 * time.Second, Window: 10})

	writeRange(t, m, "en", 0, sec(3))
	writeRange(t, m, "fr", 0, sec(3))
	if _, ok := m.Video(); ok {
		t.Error("video listed before any frame")
	}
	_, master := body(m, "/master.m3u8")
	if bytes.Contains(master, []byte("video")) {
		t.Errorf("audio-only master names video:\n%s", master)
	}
	// The first frames are no key frame: skipped until one comes.
	if err := m.WriteVideo(units[1]); err != nil {
		t.Fatal(err)
	}
	if st := m.Stats(); st.VideoSkipped != 1 || st.VideoFrames != 0 {
		t.Errorf("stats %+v after a frame before the key frame", st)
	}
	for _, u := range units {
		if err := m.WriteVideo(u); err != nil {
			t.Fatalf("frame at %d: %v", u.DTS, err)
		}
	}
	writeRange(t, m, "en", sec(3), sec(8))
	writeRange(t, m, "fr", sec(3), sec(8))

	info, ok := m.Video()
	if !ok || info.Width != 1280 || info.Height != 720 || !strings.HasPrefix(info.Codecs, "avc1.") || info.FrameRate != 30 {
		t.Errorf("video %+v, %v", info, ok)
	}
	_, master = body(m, "/master.m3u8")
	t.Logf("master:\n%s", master)
	variant := regexp.MustCompile(`(?m)^#EXT-X-STREAM-INF:BANDWIDTH=(\d+),AVERAGE-BANDWIDTH=(\d+),CODECS="` + regexp.QuoteMeta(info.Codecs) +
		`,opus",RESOLUTION=1280x720,FRAME-RATE=30\.000,AUDIO="audio-v",CLOSED-CAPTIONS=NONE\nvideo/index\.m3u8$`)
	if !variant.Match(master) {
		t.Errorf("no video variant in\n%s", master)
	}
	for _, want := range []string{
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-v",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="1",URI="en/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-v",NAME="Français",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,CHARACTERISTICS="public.translation",CHANNELS="1",URI="fr/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="1"` + "\n",
		"CODECS=\"opus\",AUDIO=\"audio\",CLOSED-CAPTIONS=NONE\nen/index.m3u8\n",
	} {
		if !bytes.Contains(master, []byte(want)) {
			t.Errorf("master lacks %q", want)
		}
	}
	if i, j := bytes.Index(master, []byte("video/index.m3u8")), bytes.Index(master, []byte("\nen/index.m3u8")); i < 0 || j < i {
		t.Error("the video variant is not listed before the audio-only one")
	}
	// French as the main audio (the web player's master): the video
	// variant is unchanged but for the DEFAULT, every language keeping its
	// URI; the audio-only variant plays French.
	_, fr := body(m, "/master.m3u8?audio=fr")
	for _, want := range []string{
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-v",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="1",URI="en/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-v",NAME="Français",LANGUAGE="fr",DEFAULT=YES,AUTOSELECT=YES,CHARACTERISTICS="public.translation",CHANNELS="1",URI="fr/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="1",URI="en/index.m3u8"`,
		`#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="Français",LANGUAGE="fr",DEFAULT=YES,AUTOSELECT=YES,CHARACTERISTICS="public.translation",CHANNELS="1"` + "\n",
		"CODECS=\"opus\",AUDIO=\"audio\",CLOSED-CAPTIONS=NONE\nfr/index.m3u8\n",
	} {
		if !bytes.Contains(fr, []byte(want)) {
			t.Errorf("?audio=fr master lacks %q:\n%s", want, fr)
		}
	}
	if !variant.Match(fr) {
		t.Errorf("no video variant in\n%s", fr)
	}

	_, pl := body(m, "/video/index.m3u8")
	t.Logf("video playlist:\n%s", pl)
	for _, want := range []string{"#EXT-X-TARGETDURATION:4\n", "#EXT-X-PART-INF:PART-TARGET=0.216666\n",
		"#EXT-X-MEDIA-SEQUENCE:0\n", "#EXT-X-INDEPENDENT-SEGMENTS\n", `#EXT-X-MAP:URI="` + testRun + `/init0.mp4"`,
		"#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.650\n"} {
		if !bytes.Contains(pl, []byte(want)) {
			t.Errorf("video playlist lacks %q", want)
		}
	}
	code, init := body(m, "/video/"+testRun+"/init0.mp4")
	if code != 200 {
		t.Fatalf("init: %d", code)
	}
	f, err := mp4.DecodeFile(bytes.NewReader(init))
	if err != nil {
		t.Fatal(err)
	}
	avc := f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX
	if avc == nil || avc.Width != 1280 || avc.Height != 720 || f.Init.Moov.Trak.Mdia.Mdhd.Timescale != audio.SampleRate {
		t.Errorf("init section: %+v", avc)
	}

	// Every segment starts with an IDR and spans what the audio segment
	// of the same number does: key frames every 2 s at 0.5 s, 2.5 s, ...
	segs := regexp.MustCompile(`(?m)^`+testRun+`/seg(\d+)\.m4s$`).FindAllSubmatch(pl, -1)
	if len(segs) < 3 {
		t.Fatalf("%d segments", len(segs))
	}
	var next int64 = -1
	frames := 0
	for _, sm := range segs {
		msn, _ := strconv.ParseInt(string(sm[1]), 10, 64)
		_, b := body(m, "/video/"+testRun+"/seg"+string(sm[1])+".m4s")
		ss := decodeVideo(t, b)
		if !ss[0].sync || !ss[0].idr {
			t.Errorf("segment %d starts with %+v", msn, ss[0])
		}
		if msn != ss[0].pts/sec(2) {
			t.Errorf("segment %d starts at program time %d", msn, ss[0].pts)
		}
		if next >= 0 && ss[0].dts != next {
			t.Errorf("segment %d starts at %d, the previous ended at %d", msn, ss[0].dts, next)
		}
		for i, s := range ss {
			u := units[frames+i]
			if s.dts != u.DTS || s.pts != u.PTS || s.sync != u.Key {
				t.Fatalf("segment %d sample %d: %+v, unit DTS %d PTS %d key %v", msn, i, s, u.DTS, u.PTS, u.Key)
			}
		}
		frames += len(ss)
		last := ss[len(ss)-1]
		next = last.dts + int64(last.dur)
	}
	// Parts: INDEPENDENT=YES exactly on those that start with a key frame.
	parts := regexp.MustCompile(`(?m)^#EXT-X-PART:DURATION=([0-9.]+),URI="`+testRun+`/part(\d+)\.m4s"(,INDEPENDENT=YES)?$`).FindAllSubmatch(pl, -1)
	if len(parts) == 0 {
		t.Fatal("no parts listed")
	}
	for _, p := range parts {
		d, _ := strconv.ParseFloat(string(p[1]), 64)
		_, b := body(m, "/video/"+testRun+"/part"+string(p[2])+".m4s")
		ss := decodeVideo(t, b)
		if (len(p[3]) > 0) != ss[0].sync {
			t.Errorf("part %s: INDEPENDENT %q, first sample %+v", p[2], p[3], ss[0])
		}
		if d > 0.216666 || d < 0.19 {
			t.Errorf("part %s lasts %.3f s", p[2], d)
		}
	}
	if !regexp.MustCompile(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI="` + testRun + `/part\d+\.m4s"\n$`).Match(pl) {
		t.Error("no preload hint at the end")
	}

	// The I-frame playlist: each complete segment's key frame as a byte
	// range of the segment, named by the master.
	if !regexp.MustCompile(`(?m)^#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=\d+,AVERAGE-BANDWIDTH=\d+,CODECS="` + regexp.QuoteMeta(info.Codecs) +
		`",RESOLUTION=1280x720,URI="video/iframes\.m3u8"$`).Match(master) {
		t.Error("the master names no I-frame playlist")
	}
	code, ifr := body(m, "video/iframes.m3u8")
	t.Logf("I-frame playlist:\n%s", ifr)
	if code != 200 || !bytes.Contains(ifr, []byte("#EXT-X-I-FRAMES-ONLY\n")) {
		t.Fatalf("I-frame playlist: %d", code)
	}
	ranges := regexp.MustCompile(`(?m)^#EXT-X-BYTERANGE:(\d+)@0\n`+testRun+`/seg(\d+)\.m4s$`).FindAllSubmatch(ifr, -1)
	if len(ranges) != len(segs) {
		t.Errorf("%d I-frames for %d segments", len(ranges), len(segs))
	}
	for _, rg := range ranges {
		n, _ := strconv.Atoi(string(rg[1]))
		w := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/video/"+testRun+"/seg"+string(rg[2])+".m4s", nil)
		req.Header.Set("Range", "bytes=0-"+strconv.Itoa(n-1))
		m.ServeHTTP(w, req)
		b := w.Body.Bytes()
		if w.Code != http.StatusPartialContent || len(b) != n {
			t.Fatalf("range of segment %s: %d, %d bytes", rg[2], w.Code, len(b))
		}
		box, err := mp4.DecodeBox(0, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		moof, ok := box.(*mp4.MoofBox)
		if !ok {
			t.Fatalf("segment %s starts with %s", rg[2], box.Type())
		}
		trun := moof.Traf.Trun
		first := trun.Samples[0]
		if int(moof.Size())+8+int(first.Size) != n || !mp4.IsSyncSampleFlags(first.Flags) {
			t.Errorf("segment %s: range %d, moof %d, first sample %d bytes, flags %x", rg[2], n, moof.Size(), first.Size, first.Flags)
		}
	}
}

// TestFFprobeReadsVideoAndEveryLanguage: with video (with B-frames) beside
// both audio groups, ffprobe on the master finds the H.264 picture at
// 1280x720 and every language in AAC and in Opus, and ffmpeg decodes every
// frame of the video rendition.
func TestFFprobeReadsVideoAndEveryLanguage(t *testing.T) {
	requireTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	units := clip(t, videotest.Options{Seconds: 6, FPS: 30, GOP: 60, BFrames: 2})
	renditions := []AudioRendition{
		{ID: "en", Name: "English", Language: "en", Default: true, Bitrate: 64000},
		{ID: "fr", Name: "Français", Language: "fr", Translation: true, Bitrate: 64000},
	}
	s := newAACTestServer(t, renditions)
	end := int64(6 * audio.SampleRate)
	var wg sync.WaitGroup
	for _, r := range renditions {
		oenc := newOpusEncoder(t)
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.writeProgram(t, oenc, r.ID, 0, end, burstSample)
		}()
	}
	for _, u := range units {
		if err := s.m.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	s.finish()

	out, err := run(ctx, "ffprobe", "-v", "error", "-show_streams", "-of", "json", s.srv.URL+"/master.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var probe struct {
		Streams []struct {
			CodecName string            `json:"codec_name"`
			Width     int               `json:"width"`
			Height    int               `json:"height"`
			Tags      map[string]string `json:"tags"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatalf("ffprobe: %v\n%s", err, out)
	}
	seen := map[string]int{}
	for _, st := range probe.Streams {
		k := st.CodecName + " " + st.Tags["language"]
		if st.CodecName == "h264" {
			k = fmt.Sprintf("h264 %dx%d", st.Width, st.Height)
		}
		seen[k]++
	}
	t.Logf("ffprobe streams: %v", seen)
	for _, k := range []string{"h264 1280x720", "aac en", "aac fr", "opus en", "opus fr"} {
		if seen[k] == 0 {
			t.Errorf("ffprobe found no %q (%v)", k, seen)
		}
	}
	if len(seen) != 5 {
		t.Errorf("ffprobe streams %v", seen)
	}
	out, err = run(ctx, "ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames,codec_name,width,height", "-of", "json", s.srv.URL+"/video/index.m3u8")
	if err != nil {
		t.Fatal(err)
	}
	var vid struct {
		Streams []struct {
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &vid); err != nil || len(vid.Streams) != 1 {
		t.Fatalf("ffprobe video: %v\n%s", err, out)
	}
	t.Logf("video rendition: %s", out)
	if n, _ := strconv.Atoi(vid.Streams[0].NbReadFrames); n != len(units) {
		t.Errorf("ffmpeg decoded %s frames of the video rendition, %d written", vid.Streams[0].NbReadFrames, len(units))
	}
}

// TestVideoNewConfigurationAndGap: a key frame with another SPS (another
// size) starts init1 after a discontinuity, and the master follows; a gap of
// more than a second ends the segment and the rendition goes on at the next
// key frame; frames at or before the last decode time and other codecs are
// refused; Close ends the playlist.
func TestVideoNewConfigurationAndGap(t *testing.T) {
	small := clip(t, videotest.Options{Seconds: 4, Width: 640, Height: 360, FPS: 25, GOP: 50})
	large := shift(clip(t, videotest.Options{Seconds: 4, FPS: 30, GOP: 60}), sec(4))
	m, _ := newTestMuxer(t, Options{SegmentDuration: 2 * time.Second, Window: 10})
	defer m.Close()
	for _, u := range append(append([]media.Unit(nil), small...), large...) {
		if err := m.WriteVideo(u); err != nil {
			t.Fatalf("frame at %d: %v", u.DTS, err)
		}
	}
	if info, _ := m.Video(); info.Width != 1280 || info.FrameRate != 30 {
		t.Errorf("after the new configuration the master lists %+v", info)
	}
	_, pl := body(m, "video/index.m3u8")
	for _, want := range []string{`#EXT-X-MAP:URI="` + testRun + `/init0.mp4"`, "#EXT-X-DISCONTINUITY\n#EXT-X-MAP:URI=\"" + testRun + "/init1.mp4\"\n"} {
		if !bytes.Contains(pl, []byte(want)) {
			t.Errorf("playlist lacks %q:\n%s", want, pl)
		}
	}
	for g, w := range map[string]int{"0": 640, "1": 1280} {
		code, b := body(m, "video/"+testRun+"/init"+g+".mp4")
		if code != 200 {
			t.Fatalf("init%s: %d", g, code)
		}
		f, err := mp4.DecodeFile(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if avc := f.Init.Moov.Trak.Mdia.Minf.Stbl.Stsd.AvcX; avc == nil || int(avc.Width) != w {
			t.Errorf("init%s: %+v", g, avc)
		}
	}
	// Refused: late, repeated, not H.264, malformed.
	last := large[len(large)-1]
	for name, u := range map[string]media.Unit{
		"repeated": last,
		"vp8":      {Codec: media.VP8, DTS: last.DTS + 5000, PTS: last.DTS + 5000, Payload: []byte{1, 2, 3}},
		"garbage":  {Codec: media.H264, DTS: last.DTS + 5000, PTS: last.DTS + 5000, Payload: []byte{0, 0, 0, 9, 1}},
		"reversed": {Codec: media.H264, DTS: last.DTS + 5000, PTS: last.DTS + 4000, Payload: last.Payload},
	} {
		if err := m.WriteVideo(u); err == nil {
			t.Errorf("%s frame taken", name)
		}
	}
	// A gap of 3 s: the open segment ends; frames up to the next key
	// frame are skipped, and it starts the next segment.
	before := m.Stats()
	resume := shift(large[30:], sec(7)) // from the middle of a GOP
	for _, u := range resume {
		if err := m.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	st := m.Stats()
	if skipped := st.VideoSkipped - before.VideoSkipped; skipped != 30 {
		t.Errorf("%d frames skipped after the gap, want the 30 before the key frame", skipped)
	}
	m.Close()
	_, pl = body(m, "video/index.m3u8")
	if !bytes.HasSuffix(pl, []byte("#EXT-X-ENDLIST\n")) {
		t.Errorf("closed playlist:\n%s", pl)
	}
	segs := regexp.MustCompile(`(?m)^`+testRun+`/seg(\d+)\.m4s$`).FindAllSubmatch(pl, -1)
	prev := int64(-1)
	for _, sm := range segs {
		msn, _ := strconv.ParseInt(string(sm[1]), 10, 64)
		if prev >= 0 && msn != prev+1 {
			t.Errorf("segment numbers %d then %d", prev, msn)
		}
		prev = msn
		_, b := body(m, "video/"+testRun+"/seg"+string(sm[1])+".m4s")
		if ss := decodeVideo(t, b); !ss[0].idr {
			t.Errorf("segment %d starts without a key frame", msn)
		}
	}
	t.Logf("%d segments; stats %+v", len(segs), st)
}

// TestVideoBlockingReload: a request for the next part of the video
// playlist, and for the hinted part itself, waits until it is out.
func TestVideoBlockingReload(t *testing.T) {
	units := clip(t, videotest.Options{Seconds: 3, FPS: 30, GOP: 60})
	m, clock := newTestMuxer(t, Options{SegmentDuration: 2 * time.Second})
	defer m.Close()
	for _, u := range units[:40] {
		if err := m.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	s := m.video.snap.Load()
	msn, idx, ok := s.openIndex()
	if !ok {
		t.Fatal("no open segment")
	}
	next := s.lastPart + 1
	pl := getAsync(m, "video/index.m3u8?_HLS_msn="+strconv.FormatInt(msn, 10)+"&_HLS_part="+strconv.Itoa(idx+1))
	part := getAsync(m, "video/"+testRun+"/part"+strconv.FormatInt(next, 10)+".m4s")
	waitTimers(t, clock, 2)
	for _, u := range units[40:50] {
		if err := m.WriteVideo(u); err != nil {
			t.Fatal(err)
		}
	}
	if w := <-pl; w.Code != 200 || !strings.Contains(w.Body.String(), "part"+strconv.FormatInt(next, 10)+".m4s\"") {
		t.Errorf("blocking reload: %d\n%s", w.Code, w.Body.String())
	}
	if w := <-part; w.Code != 200 || w.Header().Get("Content-Type") != "video/mp4" {
		t.Errorf("hinted part: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if w := get(m, http.MethodGet, "video/index.m3u8?_HLS_msn="+strconv.FormatInt(msn+5, 10)); w.Code != 400 {
		t.Errorf("msn far ahead: %d", w.Code)
	}
	if w := get(m, http.MethodGet, "video/other1/part0.m4s"); w.Code != 404 {
		t.Errorf("another run's part: %d", w.Code)
	}
}
