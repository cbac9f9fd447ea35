package hls

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Eyevinn/hls-m3u8/m3u8"
	"github.com/Eyevinn/mp4ff/mp4"
	"github.com/hraban/opus"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/store"
)

// The runs of these tests: the floor (en) and two interpretations, each its
// own tone encoded with libopus; captions of two.
var (
	vodEpoch    = time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	vodAudio    = []recording.Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}, {Tag: "de-CH", Name: "Deutsch (Schweiz)"}}
	vodCaptions = []recording.Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français"}}
	vodFreqs    = map[string]float64{"en": 440, "fr": 660, "de-CH": 880}
	quietLog    = slog.New(slog.NewTextHandler(io.Discard, nil))
)

const vodSec = int64(audio.SampleRate)

// vodRecording records a run, tick by tick, as an event's mixes would.
type vodRecording struct {
	t    testing.TB
	lib  *recording.Library
	rec  *recording.Recorder
	encs map[string]*opus.Encoder
	next int64 // program time of the next tick
	sent map[string][]media.Unit
}

func newVODRecording(t testing.TB, lib *recording.Library, event string, epoch time.Time) *vodRecording {
	t.Helper()
	rec, err := recording.New(recording.Options{Library: lib, Event: event, Audio: vodAudio, Captions: vodCaptions,
		Epoch: func() (time.Time, bool) { return epoch, true }, Log: quietLog, SyncEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	vr := &vodRecording{t: t, lib: lib, rec: rec, encs: map[string]*opus.Encoder{}, sent: map[string][]media.Unit{}}
	for _, l := range vodAudio {
		enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.SetBitrate(32000); err != nil {
			t.Fatal(err)
		}
		vr.encs[l.Tag] = enc
	}
	t.Cleanup(func() { _ = rec.Close() })
	return vr
}

// feed records d more of every language.
func (vr *vodRecording) feed(d time.Duration) {
	vr.t.Helper()
	buf := make([]byte, 1500)
	for end := vr.next + audio.Samples(d); vr.next < end; vr.next += audio.FrameSamples {
		for _, l := range vodAudio {
			n, err := vr.encs[l.Tag].EncodeFloat32(audiotest.Tone(vodFreqs[l.Tag], 0.4, int(vr.next), audio.FrameSamples), buf)
			if err != nil {
				vr.t.Fatal(err)
			}
			u := media.Unit{PTS: vr.next, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)}
			vr.sent[l.Tag] = append(vr.sent[l.Tag], u)
			vr.rec.WritePacket(l.Tag, u)
		}
	}
}

// written waits until the recorder has put program time to on disk.
func (vr *vodRecording) written(ctx context.Context, to int64) {
	vr.t.Helper()
	for vr.rec.Status().Seconds < float64(to)/float64(vodSec) {
		select {
		case <-ctx.Done():
			vr.t.Fatalf("the recorder wrote %v s, not %v s", vr.rec.Status().Seconds, float64(to)/float64(vodSec))
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (vr *vodRecording) stop() string {
	vr.t.Helper()
	if err := vr.rec.Close(); err != nil {
		vr.t.Fatal(err)
	}
	return vr.rec.Status().Run
}

// manualNow is a wall clock the test moves.
type manualNow struct{ t time.Time }

func (m *manualNow) now() time.Time { return m.t }

func newTestVOD(t testing.TB, lib *recording.Library, opts VODOptions) (*VOD, *httptest.Server) {
	t.Helper()
	opts.Open = lib.Open
	opts.Log = quietLog
	v, err := NewVOD(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.StripPrefix("/vod", v))
	t.Cleanup(func() {
		srv.Close()
		v.Close()
	})
	return v, srv
}

func vodGet(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func getOK(t testing.TB, url string) []byte {
	t.Helper()
	resp, b := vodGet(t, url)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// TestVODFinishedRun records 14.5 s of three languages, stops, and reads
// the run as HLS VOD: the master playlist has an AUDIO rendition per
// language as live (the floor the default without a URI, the variant's URI
// its playlist, the interpretations marked as translations) and a SUBTITLES
// rendition per caption language; the media playlists are VOD with
// EXT-X-ENDLIST, a target duration no EXTINF exceeds, EXT-X-MAP, one
// program date from the run's epoch and the run's whole length; every
// segment is one fragment holding exactly the recorded packets from its
// program time on.
func TestVODFinishedRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lib := recording.NewLibrary(t.TempDir())
	vr := newVODRecording(t, lib, "gala", vodEpoch)
	vr.feed(14500 * time.Millisecond)
	run := vr.stop()
	v, srv := newTestVOD(t, lib, VODOptions{})
	base := srv.URL + "/vod/gala/" + run + "/"

	master := getOK(t, base+"master.m3u8")
	t.Logf("master:\n%s", master)
	mp := decodeMaster(t, master)
	if len(mp.Variants) != 1 || mp.Variants[0].URI != "en/index.m3u8" || mp.Variants[0].Codecs != "opus" ||
		mp.Variants[0].Audio != "audio" || mp.Variants[0].Subtitles != "subs" {
		t.Fatalf("variants %+v", mp.Variants)
	}
	if !bytes.Contains(master, []byte("#EXT-X-VERSION:7\n")) || !bytes.Contains(master, []byte("#EXT-X-INDEPENDENT-SEGMENTS\n")) {
		t.Error("master lacks version 7 or independent segments")
	}
	var audios, subs []*m3u8.Alternative
	for _, a := range mp.Variants[0].Alternatives {
		switch a.Type {
		case "AUDIO":
			audios = append(audios, a)
		case "SUBTITLES":
			subs = append(subs, a)
		}
	}
	if len(audios) != 3 || len(subs) != 2 {
		t.Fatalf("%d audio and %d subtitle renditions", len(audios), len(subs))
	}
	for i, a := range audios {
		l := vodAudio[i]
		floor := i == 0
		wantURI, wantChar := l.Tag+"/index.m3u8", "public.translation"
		if floor {
			wantURI, wantChar = "", ""
		}
		if a.GroupId != "audio" || a.Language != l.Tag || a.Name != l.Name || a.Default != floor || !a.Autoselect ||
			a.URI != wantURI || a.Characteristics != wantChar {
			t.Errorf("audio rendition %d: %+v", i, a)
		}
	}
	for i, s := range subs {
		l := vodCaptions[i]
		if s.GroupId != "subs" || s.Language != l.Tag || s.Name != l.Name || s.Default != (i == 0) ||
			s.URI != "subs/"+l.Tag+"/index.m3u8" || s.Characteristics != "public.accessibility.transcribes-spoken-dialog" {
			t.Errorf("subtitle rendition %d: %+v", i, s)
		}
	}

	pl := getOK(t, base+"en/index.m3u8")
	t.Logf("media playlist:\n%s", pl)
	for _, l := range vodAudio[1:] {
		if other := getOK(t, base+l.Tag+"/index.m3u8"); !bytes.Equal(other, pl) {
			t.Errorf("%s playlist differs from en's:\n%s", l.Tag, other)
		}
	}
	checkVODPlaylist(t, pl, true, 14.5, 3)
	if !bytes.Contains(pl, []byte("#EXT-X-INDEPENDENT-SEGMENTS\n")) {
		t.Error("media playlist lacks EXT-X-INDEPENDENT-SEGMENTS")
	}
	subsPL := getOK(t, base+"subs/fr/index.m3u8")
	checkVODPlaylist(t, subsPL, true, 14.5, 3)

	rd, err := lib.Open("gala", run)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	for _, l := range vodAudio {
		init := getOK(t, base+l.Tag+"/init.mp4")
		f, err := mp4.DecodeFile(bytes.NewReader(init))
		if err != nil {
			t.Fatalf("%s init: %v", l.Tag, err)
		}
		trak := f.Init.Moov.Trak
		if trak.Mdia.Minf.Stbl.Stsd.Children[0].Type() != "Opus" || trak.Mdia.Mdhd.Timescale != audio.SampleRate {
			t.Errorf("%s init: %s at %d Hz", l.Tag, trak.Mdia.Minf.Stbl.Stsd.Children[0].Type(), trak.Mdia.Mdhd.Timescale)
		}
		for n := range int64(3) {
			from, to := n*6*vodSec, min((n+1)*6*vodSec, 14500*vodSec/1000)
			seg := getOK(t, base+l.Tag+"/seg"+strconv.FormatInt(n, 10)+".m4s")
			checkSegment(t, init, seg, from, to, vr.sent[l.Tag])
		}
	}

	// A finished run's segments come from the cache the second time.
	hits := v.Stats().CacheHits
	getOK(t, base+"fr/seg1.m4s")
	if s := v.Stats(); s.CacheHits != hits+1 || s.CacheBytes == 0 {
		t.Errorf("second request of a segment: %+v", s)
	}
	// Range requests, as some players make.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"fr/seg1.m4s", nil)
	req.Header.Set("Range", "bytes=0-7")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || len(b) != 8 || string(b[4:8]) != "moof" {
		t.Errorf("range request: %d %q", resp.StatusCode, b)
	}

	// Whatever the VOD does not list is a 404 with a JSON error.
	for _, p := range []string{
		"gala/20261103T090001Z/master.m3u8", // no such run
		"other/" + run + "/master.m3u8",     // no such event
		"gala/" + run + "/it/index.m3u8",    // no such language
		"gala/" + run + "/en/seg3.m4s",      // past the end
		"gala/" + run + "/en/seg03.m4s",     // not a name the VOD writes
		"gala/" + run + "/subs/de-CH/index.m3u8",
		"gala/" + run + "/subs/en/seg9.vtt",
		"gala/../" + run + "/master.m3u8",
		"gala/" + run + "/en/index.m3u8/x",
		"Gala/" + run + "/master.m3u8",
	} {
		resp, b := vodGet(t, srv.URL+"/vod/"+p)
		var e struct{ Error string }
		if resp.StatusCode != http.StatusNotFound || json.Unmarshal(b, &e) != nil || e.Error == "" ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
	}
	t.Logf("stats %+v", v.Stats())
}

// checkVODPlaylist checks a media playlist of a run of total seconds in
// segs segments: VOD with EXT-X-ENDLIST (final) or EVENT without, version
// 7, every EXTINF within the target duration once rounded, the first
// segment dated from the epoch.
func checkVODPlaylist(t *testing.T, pl []byte, final bool, total float64, segs int) *m3u8.MediaPlaylist {
	t.Helper()
	p := decodeMedia(t, pl)
	want := m3u8.EVENT
	if final {
		want = m3u8.VOD
	}
	if p.MediaType != want || p.Closed != final || bytes.Contains(pl, []byte("#EXT-X-ENDLIST")) != final {
		t.Errorf("type %v closed %v, want %v %v", p.MediaType, p.Closed, want, final)
	}
	if p.Version() != 7 {
		t.Errorf("version %d", p.Version())
	}
	var sum float64
	n := 0
	for _, s := range p.Segments {
		if s == nil {
			continue
		}
		if n == 0 && !s.ProgramDateTime.Equal(vodEpoch) {
			t.Errorf("first segment dated %v, want %v", s.ProgramDateTime, vodEpoch)
		}
		if r := math.Round(s.Duration); r > float64(p.TargetDuration) {
			t.Errorf("segment %s of %.3f s over the target %d s", s.URI, s.Duration, p.TargetDuration)
		}
		if s.URI != "seg"+strconv.Itoa(n)+map[bool]string{true: ".m4s", false: ".vtt"}[p.Map != nil] {
			t.Errorf("segment %d: %s", n, s.URI)
		}
		sum += s.Duration
		n++
	}
	if n != segs || math.Abs(sum-total) > 0.001 {
		t.Errorf("%d segments of %.3f s, want %d of %.3f s", n, sum, segs, total)
	}
	if p.Map != nil && p.Map.URI != "init.mp4" {
		t.Errorf("map %+v", p.Map)
	}
	return p
}

// checkSegment parses a media segment with mp4ff: one fragment of track 1
// from program time from, holding the packets sent in [from, to) as they
// were, 20 ms each.
func checkSegment(t *testing.T, init, seg []byte, from, to int64, sent []media.Unit) {
	t.Helper()
	f, err := mp4.DecodeFile(bytes.NewReader(append(append([]byte(nil), init...), seg...)))
	if err != nil {
		t.Fatalf("segment at %d: %v", from, err)
	}
	if len(f.Segments) != 1 || len(f.Segments[0].Fragments) != 1 {
		t.Fatalf("segment at %d: %d segments", from, len(f.Segments))
	}
	frag := f.Segments[0].Fragments[0]
	if tfdt := frag.Moof.Traf.Tfdt.BaseMediaDecodeTime(); tfdt != uint64(from) || frag.Moof.Traf.Tfhd.TrackID != 1 {
		t.Errorf("segment at %d: decode time %d, track %d", from, tfdt, frag.Moof.Traf.Tfhd.TrackID)
	}
	samples, err := frag.GetFullSamples(f.Init.Moov.Mvex.Trex)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(samples)) != (to-from)/audio.FrameSamples {
		t.Fatalf("segment at %d: %d samples, want %d", from, len(samples), (to-from)/audio.FrameSamples)
	}
	k := int(from / audio.FrameSamples)
	for i, s := range samples {
		u := sent[k+i]
		if s.Dur != audio.FrameSamples || int64(s.DecodeTime) != u.PTS || !bytes.Equal(s.Data, u.Payload) {
			t.Fatalf("segment at %d, sample %d: %d at %d (%d bytes), sent %d (%d bytes)", from, i, s.Dur, s.DecodeTime, len(s.Data), u.PTS, len(u.Payload))
		}
	}
}

// TestVODFFprobe has ffprobe read the VOD's master playlist over HTTP: it
// lists every audio rendition with its language and Opus, and the run's
// length within a second.
func TestVODFFprobe(t *testing.T) {
	audiotest.NeedTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lib := recording.NewLibrary(t.TempDir())
	vr := newVODRecording(t, lib, "gala", vodEpoch)
	vr.feed(20 * time.Second)
	run := vr.stop()
	_, srv := newTestVOD(t, lib, VODOptions{})
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_streams", "-show_format", "-of", "json",
		srv.URL+"/vod/gala/"+run+"/master.m3u8").Output()
	if err != nil {
		t.Fatalf("ffprobe: %v %s", err, out)
	}
	var probe struct {
		Streams []struct {
			CodecName string            `json:"codec_name"`
			CodecType string            `json:"codec_type"`
			Tags      map[string]string `json:"tags"`
		}
		Format struct {
			Duration string `json:"duration"`
		}
	}
	if err := json.Unmarshal(out, &probe); err != nil {
		t.Fatal(err)
	}
	langs := map[string]int{}
	for _, s := range probe.Streams {
		if s.CodecType == "audio" && s.CodecName == "opus" {
			langs[s.Tags["language"]]++
		}
	}
	for _, l := range vodAudio {
		if langs[l.Tag] != 1 {
			t.Errorf("ffprobe lists %d audio streams in %s: %s", langs[l.Tag], l.Tag, out)
		}
	}
	d, err := strconv.ParseFloat(probe.Format.Duration, 64)
	if err != nil || math.Abs(d-20) > 1 {
		t.Errorf("ffprobe duration %q, want 20 s within 1 s", probe.Format.Duration)
	}
	t.Logf("ffprobe: %d streams, %s s", len(probe.Streams), probe.Format.Duration)
}

// TestVODLiveRun reads a run while it is recorded: an EVENT playlist of the
// whole segments on disk, without EXT-X-ENDLIST, that grows as the file
// does (looked at again once Refresh has passed) and keeps every line it
// had; once the run stops it is VOD with the short last segment and the
// end.
func TestVODLiveRun(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lib := recording.NewLibrary(t.TempDir())
	vr := newVODRecording(t, lib, "gala", vodEpoch)
	vr.feed(13 * time.Second)
	vr.written(ctx, 12*vodSec)
	clock := &manualNow{t: vodEpoch.Add(time.Minute)}
	v, srv := newTestVOD(t, lib, VODOptions{Now: clock.now, Refresh: time.Second})
	base := srv.URL + "/vod/gala/" + vr.rec.Status().Run + "/"

	pl := getOK(t, base+"fr/index.m3u8")
	checkVODPlaylist(t, pl, false, 12, 2)
	// Caches: the growing playlists are short-lived, whole segments
	// immutable from the start.
	cacheOf := func(path string) string {
		t.Helper()
		resp, _ := vodGet(t, base+path)
		return resp.Header.Get("Cache-Control")
	}
	for path, want := range map[string]string{"fr/index.m3u8": "public, max-age=1", "master.m3u8": "public, max-age=1",
		"fr/seg1.m4s": "public, max-age=31536000, immutable", "fr/init.mp4": "public, max-age=31536000, immutable"} {
		if got := cacheOf(path); got != want {
			t.Errorf("live run %s: Cache-Control %q, want %q", path, got, want)
		}
	}
	if !bytes.Contains(getOK(t, base+"master.m3u8"), []byte("LANGUAGE=\"de-CH\"")) {
		t.Error("master of a live run lacks a language")
	}
	if resp, _ := vodGet(t, base+"fr/seg2.m4s"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a segment still being recorded: %d", resp.StatusCode)
	}
	vr.feed(12 * time.Second)
	vr.written(ctx, 24*vodSec)
	// Within Refresh the run is not looked at again.
	if again := getOK(t, base+"fr/index.m3u8"); !bytes.Equal(again, pl) {
		t.Errorf("playlist changed before Refresh passed:\n%s", again)
	}
	clock.t = clock.t.Add(time.Second)
	grown := getOK(t, base+"fr/index.m3u8")
	checkVODPlaylist(t, grown, false, 24, 4)
	if !bytes.HasPrefix(grown, pl) {
		t.Errorf("the grown playlist does not keep the earlier one:\n%s\n%s", pl, grown)
	}
	init := getOK(t, base+"fr/init.mp4")
	checkSegment(t, init, getOK(t, base+"fr/seg3.m4s"), 18*vodSec, 24*vodSec, vr.sent["fr"])

	vr.stop()
	clock.t = clock.t.Add(time.Second)
	final := getOK(t, base+"fr/index.m3u8")
	checkVODPlaylist(t, final, true, 25, 5)
	for _, path := range []string{"fr/index.m3u8", "master.m3u8"} {
		if got := cacheOf(path); got != "public, max-age=86400, immutable" {
			t.Errorf("finished run %s: Cache-Control %q", path, got)
		}
	}
	checkSegment(t, init, getOK(t, base+"fr/seg4.m4s"), 24*vodSec, 25*vodSec, vr.sent["fr"])
	if s := v.Stats(); s.Opens != 1 || s.Refreshes < 2 {
		t.Errorf("stats %+v: want one open and a refresh per look", s)
	}
}

// TestVODEditedCues serves a run's captions from the store: a WebVTT
// segment holds the cues overlapping it with X-TIMESTAMP-MAP as live, and
// an edit made through the store shows in the next request, with no
// restart. Without a store the VOD reads the captions recorded in the run.
func TestVODEditedCues(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lib := recording.NewLibrary(dir + "/recordings")
	vr := newVODRecording(t, lib, "gala", vodEpoch)
	cues := []media.Cue{
		{Lang: "en", Start: vodSec, End: 3 * vodSec, Text: "Good morning", Final: true},
		{Lang: "en", Start: 5 * vodSec, End: 7 * vodSec, Text: "and welcome <all>", Final: true},
		{Lang: "fr", Start: 8 * vodSec, End: 9 * vodSec, Text: "Bonjour", Final: true},
	}
	for _, c := range cues {
		vr.rec.WriteCue(c.Lang, c)
		if err := st.SaveCue(ctx, "gala", c); err != nil {
			t.Fatal(err)
		}
	}
	vr.feed(14 * time.Second)
	run := vr.stop()
	_, srv := newTestVOD(t, lib, VODOptions{Cues: st.Cues})
	base := srv.URL + "/vod/gala/" + run + "/subs/"

	seg0 := string(getOK(t, base+"en/seg0.vtt"))
	want := "WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:0,LOCAL:00:00:00.000\n\n" +
		"00:00:01.000 --> 00:00:03.000\nGood morning\n\n00:00:05.000 --> 00:00:07.000\nand welcome &lt;all&gt;\n\n"
	if seg0 != want {
		t.Errorf("en seg0:\n%s\nwant:\n%s", seg0, want)
	}
	// The cue over the boundary is in both segments it overlaps.
	if seg1 := string(getOK(t, base+"en/seg1.vtt")); !strings.Contains(seg1, "00:00:05.000 --> 00:00:07.000") {
		t.Errorf("en seg1:\n%s", seg1)
	}
	if seg1 := string(getOK(t, base+"fr/seg1.vtt")); !strings.Contains(seg1, "00:00:08.000 --> 00:00:09.000\nBonjour\n") {
		t.Errorf("fr seg1:\n%s", seg1)
	}

	ed, _, err := st.EditorCues(ctx, "gala", "en", store.CueQuery{})
	if err != nil || len(ed) != 2 {
		t.Fatalf("editor cues %v %v", ed, err)
	}
	text := "Good morning, Geneva"
	if _, err := st.EditCue(ctx, "gala", "en", ed[0].ID, ed[0].Version, store.CuePatch{Text: &text}, store.Author{Token: "t1", Name: "Ed", Role: store.RoleEditor}); err != nil {
		t.Fatal(err)
	}
	resp, b := vodGet(t, base+"en/seg0.vtt")
	if !strings.Contains(string(b), "00:00:01.000 --> 00:00:03.000\nGood morning, Geneva\n") ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Content-Type") != "text/vtt; charset=utf-8" {
		t.Errorf("after the edit: %v\n%s", resp.Header, b)
	}

	// Without the store: what the run recorded.
	_, plain := newTestVOD(t, lib, VODOptions{})
	if seg0 := string(getOK(t, plain.URL+"/vod/gala/"+run+"/subs/en/seg0.vtt")); !strings.Contains(seg0, "00:00:01.000 --> 00:00:03.000\nGood morning\n") {
		t.Errorf("recorded captions:\n%s", seg0)
	}
}

// rchar is the bytes this process has read so far (read and pread, files
// and sockets alike).
func rchar(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		t.Skipf("no /proc/self/io: %v", err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "rchar: "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Skip("no rchar in /proc/self/io")
	return 0
}

// TestVODSeekReadsLittle seeks into the middle of a two-minute run: once
// the run is open, a segment there reads its own fragments (a few per cent
// of the file), never the whole file.
func TestVODSeekReadsLittle(t *testing.T) {
	lib := recording.NewLibrary(t.TempDir())
	vr := newVODRecording(t, lib, "gala", vodEpoch)
	vr.feed(120 * time.Second)
	run := vr.stop()
	path, err := lib.Path("gala", run)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVOD(VODOptions{Open: lib.Open, Log: quietLog, CacheBytes: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	serve := func(p string) int {
		w := httptest.NewRecorder()
		v.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/gala/"+run+"/"+p, nil))
		if w.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", p, w.Code, w.Body)
		}
		return w.Body.Len()
	}
	before := rchar(t)
	serve("master.m3u8")
	opened := rchar(t) - before
	before = rchar(t)
	n := serve("fr/seg10.m4s")
	seek := rchar(t) - before
	t.Logf("file %d bytes; opening the run read %d, a segment of %d bytes in its middle %d", fi.Size(), opened, n, seek)
	if seek > fi.Size()/10 || seek < int64(n) {
		t.Errorf("a segment of %d bytes read %d bytes of a %d-byte file", n, seek, fi.Size())
	}
}

// TestVODKeepsFewRunsOpen serves three runs with room for one open: every
// request is answered, at most one run stays open, and closing the VOD
// closes it.
func TestVODKeepsFewRunsOpen(t *testing.T) {
	lib := recording.NewLibrary(t.TempDir())
	var runs []string
	for i := range 3 {
		vr := newVODRecording(t, lib, "gala", vodEpoch.Add(time.Duration(i)*time.Hour))
		vr.feed(3 * time.Second)
		runs = append(runs, vr.stop())
	}
	v, srv := newTestVOD(t, lib, VODOptions{MaxOpen: 1})
	for k := range 6 {
		getOK(t, srv.URL+"/vod/gala/"+runs[k%3]+"/en/seg0.m4s")
		if n := v.Stats().OpenRuns; n != 1 {
			t.Errorf("%d runs open", n)
		}
	}
	if s := v.Stats(); s.Opens != 6 {
		t.Errorf("stats %+v: want six opens", s)
	}
	v.Close()
	if resp, _ := vodGet(t, srv.URL+"/vod/gala/"+runs[0]+"/master.m3u8"); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("after Close: %d", resp.StatusCode)
	}
	if n := v.Stats().OpenRuns; n != 0 {
		t.Errorf("%d runs open after Close", n)
	}
}

func TestVODPathCanonical(t *testing.T) {
	for _, p := range []string{
		"gala/20261103T090000Z/master.m3u8",
		"gala/20261103T090000Z-2/en/index.m3u8",
		"gala/20261103T090000Z/de-CH/init.mp4",
		"gala/20261103T090000Z/fr/seg12.m4s",
		"gala/20261103T090000Z/subs/en/index.m3u8",
		"gala/20261103T090000Z/subs/en/seg0.vtt",
	} {
		v, err := parseVODPath("/" + p)
		if err != nil || v.String() != p {
			t.Errorf("%s: %+v %v", p, v, err)
		}
	}
	for _, p := range []string{
		"", "gala", "gala/20261103T090000Z", "gala/20261103T090000Z/", "gala/run/master.m3u8",
		"gala/20261103T090000Z/subs/index.m3u8", "gala/20261103T090000Z/subs/subs/index.m3u8",
		"gala/20261103T090000Z/en/seg-1.m4s", "gala/20261103T090000Z/en/seg1.vtt",
		"gala/20261103T090000Z/subs/en/seg1.m4s", "gala/20261103T090000Z/subs/en/init.mp4",
		"gala/20261103T090000Z/en/seg1234567890123456.m4s", "ga la/20261103T090000Z/master.m3u8",
	} {
		if v, err := parseVODPath(p); err == nil {
			t.Errorf("%q parsed as %+v", p, v)
		}
	}
}

// vodServer serves a recorded run of 40 s and notes the paths asked.
func vodServer(t *testing.T) (master string, fetched func() string) {
	t.Helper()
	lib := recording.NewLibrary(t.TempDir())
	vr := newVODRecording(t, lib, "gala", vodEpoch)
	vr.feed(40 * time.Second)
	run := vr.stop()
	v, err := NewVOD(VODOptions{Open: lib.Open, Log: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var paths []string
	srv := httptest.NewServer(http.StripPrefix("/vod", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, strings.TrimPrefix(r.URL.Path, "/gala/"+run+"/"))
		mu.Unlock()
		v.ServeHTTP(w, r)
	})))
	t.Cleanup(func() {
		srv.Close()
		v.Close()
	})
	return srv.URL + "/vod/gala/" + run + "/master.m3u8", func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(paths, " ")
	}
}

// pcmTone is the dominant frequency of float32 little-endian mono PCM.
func pcmTone(b []byte) (seconds, hz float64) {
	samples := make([]float32, len(b)/4)
	for i := range samples {
		samples[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	hz, _ = audiotest.DominantFrequency(samples, audio.SampleRate, 200, 1200, 5)
	return float64(len(samples)) / audio.SampleRate, hz
}

// TestVODFFmpeg: ffmpeg's HLS reader (ffplay's and ffprobe's) decodes the
// language asked for (French, 660 Hz) by its LANGUAGE, and a seek resolves
// to the segment that holds the time asked, without fetching the segments
// before it. (FFmpeg before 8.0, Debian 12's 5.1 among them, then reads no
// packet from any fragmented-MP4 HLS after a seek, its own output's too:
// FFmpeg ticket 7359, fixed by its commit 380a518c.)
func TestVODFFmpeg(t *testing.T) {
	audiotest.NeedTool(t, "ffprobe")
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	master, fetched := vodServer(t)

	pcm, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-v", "error", "-xerror", "-i", master,
		"-map", "0:a:m:language:fr", "-t", "3", "-ac", "1", "-ar", "48000", "-f", "f32le", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg: %v", err)
	}
	secs, hz := pcmTone(pcm)
	t.Logf("ffmpeg decodes fr: %.2f s at %.0f Hz", secs, hz)
	if secs < 2.9 || math.Abs(hz-660) > 10 {
		t.Errorf("ffmpeg decoded %.2f s at %.0f Hz, want 3 s at 660 Hz", secs, hz)
	}

	before := len(fetched())
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-read_intervals", "27%+2", "-select_streams", "a:m:language:fr",
		"-show_entries", "packet=pts_time", "-of", "csv=p=0", master).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v %s", err, out)
	}
	got := fetched()[before:]
	t.Logf("ffprobe seeking to 27 s fetched%s; %d packets", got, len(strings.Fields(string(out))))
	if !strings.Contains(got, " fr/seg4.m4s") || strings.Contains(got, " fr/seg2.m4s") || strings.Contains(got, " fr/seg3.m4s") {
		t.Errorf("seeking to 27 s fetched%s: want fr/seg4 and neither fr/seg2 nor fr/seg3", got)
	}
}

// TestVODVLC has VLC play the VOD from 27 s in French (--audio-language):
// it fetches the segment holding 27 s and none before it but the two it
// probes at the start, and plays the French tone.
func TestVODVLC(t *testing.T) {
	vlc := audiotest.NeedTool(t, "cvlc")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	master, fetched := vodServer(t)
	// VLC refuses to run as root: as root it runs as nobody, writing into a
	// directory nobody may write.
	dir, err := os.MkdirTemp("", "tolk-vlc")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	raw := filepath.Join(dir, "out.raw")
	args := []string{vlc, "-q", "--intf", "dummy", "--no-video", "--audio-language", "fr", "--aout", "afile",
		"--audiofile-file", raw, "--audiofile-format", "float32", "--audiofile-channels", "1",
		"--start-time", "27", "--run-time", "3", "--play-and-exit", master}
	if os.Geteuid() == 0 {
		args = append([]string{audiotest.NeedTool(t, "runuser"), "-u", "nobody", "--", "env", "HOME=" + dir}, args...)
	}
	if out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("vlc: %v %s", err, out)
	}
	pcm, err := os.ReadFile(raw)
	if err != nil {
		t.Fatal(err)
	}
	// VLC writes a WAV file: the samples follow the data chunk's header.
	if i := bytes.Index(pcm, []byte("data")); bytes.HasPrefix(pcm, []byte("RIFF")) && i >= 0 && i+8 <= len(pcm) {
		pcm = pcm[i+8:]
	}
	secs, hz := pcmTone(pcm)
	got := fetched()
	t.Logf("VLC from 27 s: %.2f s at %.0f Hz; fetched %s", secs, hz, got)
	if secs < 2 || math.Abs(hz-660) > 10 {
		t.Errorf("VLC played %.2f s at %.0f Hz, want French (660 Hz)", secs, hz)
	}
	if !strings.Contains(got, " fr/seg4.m4s") || strings.Contains(got, " fr/seg2.m4s") || strings.Contains(got, " fr/seg3.m4s") {
		t.Errorf("VLC starting at 27 s fetched %s: want fr/seg4 and neither fr/seg2 nor fr/seg3", got)
	}
}
