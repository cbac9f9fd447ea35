package hls

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"tolk/internal/audio"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/store"
)

// bigView is a finished 12-hour run of 12 languages with captions of 12,
// as the VOD sees it once the run is open: the playlists are rendered from
// it.
func bigView(b *testing.B) *runView {
	b.Helper()
	vw := &runView{meta: recording.Meta{Epoch: vodEpoch}, final: true, seg: audio.Samples(DefaultVODSegment),
		start: 0, end: audio.Samples(12 * time.Hour), tracks: map[string]recording.Track{}, captions: map[string]recording.Track{}}
	tags := []string{"en", "fr", "de", "es", "it", "pt", "ru", "zh", "ja", "ar", "ko", "tr"}
	for i, tag := range tags {
		vw.audio = append(vw.audio, AudioRendition{ID: tag, Name: "Language " + tag, Language: tag, Default: i == 0,
			Translation: i > 0, Bitrate: 800000})
		vw.subs = append(vw.subs, SubtitleRendition{ID: "cc-" + tag, Name: "Language " + tag, Language: tag, Default: i == 0,
			URI: vodSubsDir + "/" + tag + "/index.m3u8"})
	}
	vw.first, vw.last = 0, (vw.end-1)/vw.seg
	return vw
}

// BenchmarkVODMaster renders the master playlist of a 12-language run (once
// per run: later requests are served the rendering).
func BenchmarkVODMaster(b *testing.B) {
	vw := bigView(b)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		pl, err := MasterPlaylist(vw.audio, vw.subs, audio.Duration(vw.seg))
		if err != nil {
			b.Fatal(err)
		}
		n = len(pl)
	}
	b.ReportMetric(float64(n), "bytes")
}

// BenchmarkVODMediaPlaylist renders the media playlist of a 12-hour run:
// 7200 segments of 6 s. Every language shares it; a finished run renders it
// once, a run being recorded once per look at its file (at most one a
// second).
func BenchmarkVODMediaPlaylist(b *testing.B) {
	vw := bigView(b)
	b.ReportAllocs()
	var n int
	for b.Loop() {
		n = len(vw.renderPlaylist(".m4s", true))
	}
	b.ReportMetric(float64(n), "bytes")
}

// BenchmarkVODPeakBitrate is the rest of a look at a 12-hour run's file:
// the bandwidth bound over its 43200 fragments.
func BenchmarkVODPeakBitrate(b *testing.B) {
	frags := make([]recording.Fragment, 12*3600)
	for i := range frags {
		frags[i] = recording.Fragment{Start: int64(i) * vodSec, End: int64(i+1) * vodSec, Offset: int64(i) * 110000, Size: 110000 + int64(i%7)}
	}
	b.ReportAllocs()
	for b.Loop() {
		peakBitrate(frags)
	}
}

// BenchmarkVODSegment builds one 6 s segment of one language from a
// recorded run of three languages (read from the file, no cache): the cost
// of a seek or of a segment of a run still being recorded. The Cached
// variant serves a finished run's segment from the cache.
func BenchmarkVODSegment(b *testing.B) {
	lib := recording.NewLibrary(b.TempDir())
	vr := newVODRecording(b, lib, "gala", vodEpoch)
	vr.feed(60 * time.Second)
	run := vr.stop()
	for _, c := range []struct {
		name  string
		cache int64
	}{{"Build", -1}, {"Cached", 0}} {
		b.Run(c.name, func(b *testing.B) {
			v, err := NewVOD(VODOptions{Open: lib.Open, Log: quietLog, CacheBytes: c.cache})
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			reqs := make([]*http.Request, 10)
			for i := range reqs {
				reqs[i] = httptest.NewRequest(http.MethodGet, "/gala/"+run+"/fr/seg"+strconv.Itoa(i)+".m4s", nil)
			}
			w := &discardWriter{h: http.Header{}}
			for _, r := range reqs { // open the run, fill the cache
				v.ServeHTTP(w, r)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				clear(w.h)
				v.ServeHTTP(w, reqs[i%len(reqs)])
				i++
			}
		})
	}
}

// BenchmarkVODOpen opens and indexes a recorded run of one minute of three
// languages, as the first request for a run does.
func BenchmarkVODOpen(b *testing.B) {
	lib := recording.NewLibrary(b.TempDir())
	vr := newVODRecording(b, lib, "gala", vodEpoch)
	vr.feed(60 * time.Second)
	run := vr.stop()
	b.ReportAllocs()
	for b.Loop() {
		r, err := lib.Open("gala", run)
		if err != nil {
			b.Fatal(err)
		}
		newRunView(r, audio.Samples(DefaultVODSegment))
		r.Close()
	}
}

// BenchmarkVODCues builds one WebVTT segment from the edited cues of a
// store holding an hour of cues (one every 3 s) for the run's language: a
// request for captions reads the store each time, so edits show at once.
func BenchmarkVODCues(b *testing.B) {
	dir := b.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for i := range int64(1200) {
		c := media.Cue{Lang: "en", Start: i * 3 * vodSec, End: i*3*vodSec + 2*vodSec, Text: "Cue number " + strconv.FormatInt(i, 10), Final: true}
		if err := st.SaveCue(ctx, "gala", c); err != nil {
			b.Fatal(err)
		}
	}
	lib := recording.NewLibrary(dir + "/recordings")
	vr := newVODRecording(b, lib, "gala", vodEpoch)
	vr.feed(60 * time.Second)
	run := vr.stop()
	v, err := NewVOD(VODOptions{Open: lib.Open, Cues: st.Cues, Log: quietLog})
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	r := httptest.NewRequest(http.MethodGet, "/gala/"+run+"/subs/en/seg5.vtt", nil)
	w := httptest.NewRecorder()
	v.ServeHTTP(w, r)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Cue number 10") {
		b.Fatalf("%d %s", w.Code, w.Body)
	}
	b.ReportAllocs()
	dw := &discardWriter{h: http.Header{}}
	for b.Loop() {
		clear(dw.h)
		v.ServeHTTP(dw, r)
	}
}
