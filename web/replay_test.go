package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hraban/opus"

	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/store"
	"tolk/web"
)

// replayLangs are the languages of the runs these tests record: the floor
// and two interpretations, each a tone of its own, encoded with libopus.
var replayLangs = []struct {
	recording.Lang
	freq float64
}{
	{recording.Lang{Tag: "en", Name: "English"}, 440},
	{recording.Lang{Tag: "fr", Name: "Français"}, 660},
	{recording.Lang{Tag: "de", Name: "Deutsch"}, 880},
}

// recordRun records a run of event into lib as the event's outputs would:
// every language's tone for d, tick by tick, and cues (recorded in the run
// and, when st is given, stored as the recognizer's). It returns the run's
// id once it is finalised.
func recordRun(t testing.TB, lib *recording.Library, st *store.Store, event string, epoch time.Time, d time.Duration, cues []media.Cue) string {
	t.Helper()
	r := startRun(t, lib, st, event, epoch, cues)
	r.feed(d)
	return r.stop()
}

// liveRun is a run being recorded.
type liveRun struct {
	t    testing.TB
	rec  *recording.Recorder
	encs map[string]*opus.Encoder
	next int64 // program time of the next tick
}

// startRun starts recording a run with cues; feed records its audio.
func startRun(t testing.TB, lib *recording.Library, st *store.Store, event string, epoch time.Time, cues []media.Cue) *liveRun {
	t.Helper()
	var langs, caps []recording.Lang
	encs := map[string]*opus.Encoder{}
	for _, l := range replayLangs {
		langs = append(langs, l.Lang)
		enc, err := opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio)
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.SetBitrate(32000); err != nil {
			t.Fatal(err)
		}
		encs[l.Tag] = enc
	}
	for _, c := range cues {
		if !containsLang(caps, c.Lang) {
			for _, l := range langs {
				if l.Tag == c.Lang {
					caps = append(caps, l)
				}
			}
		}
	}
	opts := recording.Options{Library: lib, Event: event, Audio: langs, Captions: caps,
		Epoch: func() (time.Time, bool) { return epoch, true }, SyncEvery: -1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if st != nil {
		opts.Clock = st
	}
	rec, err := recording.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range cues {
		rec.WriteCue(c.Lang, c)
		if st != nil {
			if err := st.SaveCue(ctx, event, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	return &liveRun{t: t, rec: rec, encs: encs}
}

// feed records d more of every language and waits until it is on disk.
func (r *liveRun) feed(d time.Duration) {
	r.t.Helper()
	buf := make([]byte, 1500)
	for end := r.next + audio.Samples(d); r.next < end; r.next += audio.FrameSamples {
		for _, l := range replayLangs {
			n, err := r.encs[l.Tag].EncodeFloat32(audiotest.Tone(l.freq, 0.4, int(r.next), audio.FrameSamples), buf)
			if err != nil {
				r.t.Fatal(err)
			}
			r.rec.WritePacket(l.Tag, media.Unit{PTS: r.next, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)})
		}
	}
	// The last second is cut once the next packet comes, or at the stop.
	deadline := time.Now().Add(30 * time.Second)
	for r.rec.Status().Seconds < audio.Duration(r.next).Seconds()-1 {
		if time.Now().After(deadline) {
			r.t.Fatalf("the recorder wrote %.1f s of %.1f s", r.rec.Status().Seconds, audio.Duration(r.next).Seconds())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (r *liveRun) stop() string {
	r.t.Helper()
	if err := r.rec.Close(); err != nil {
		r.t.Fatal(err)
	}
	return r.rec.Status().Run
}

func containsLang(ls []recording.Lang, tag string) bool {
	for _, l := range ls {
		if l.Tag == tag {
			return true
		}
	}
	return false
}

// replayEvent serves an event (not started: nothing new is recorded) whose
// library holds one run of 20 s with English captions, cues stored.
type replayEvent struct {
	*harness
	store *store.Store
	run   string
}

func serveReplay(t testing.TB, access string) *replayEvent {
	t.Helper()
	st, dir := openStore(t)
	lib := recording.NewLibrary(filepath.Join(dir, recording.Dir))
	sec := int64(audio.SampleRate)
	run := recordRun(t, lib, st, "test", time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC), 20*time.Second, []media.Cue{
		{Lang: "en", Start: sec, End: 3 * sec, Text: "Welcome to the replay", Final: true,
			Confidence: &media.Confidence{Mean: 0.95, Min: 0.9, Words: []float32{1, 0.9, 1, 0.9}}},
		{Lang: "en", Start: 11 * sec, End: 14 * sec, Text: "Halfway through", Final: true,
			Confidence: &media.Confidence{Mean: 0.6, Min: 0.3, Words: []float32{0.9, 0.3}}},
	})
	cfg := eventConfig(t, `
id: test
title: Replay test
floor: {language: en, name: English, source: whip, stream_key: %s}
languages: [{tag: fr, name: Français}, {tag: de, name: Deutsch}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {backend: none}
%s
`, streamKey, access)
	h := serve(t, cfg, event.Options{Cues: st, Recordings: lib}, web.Options{Tokens: st, Cues: st})
	return &replayEvent{harness: h, store: st, run: run}
}

type replayList struct {
	Replays []web.ReplayInfo `json:"replays"`
}

// TestReplayPublic: a public event lists its runs to anyone (id, start,
// duration, languages, captions, the VOD's URL and nothing of the files),
// serves their VOD and the replay page; unknown runs and events are 404
// with a JSON error; an edit of a cue shows in the VOD's WebVTT at once.
func TestReplayPublic(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := e.http.URL

	resp, body := call(ctx, t, "GET", base+"/api/events/test/replays", "", "", nil)
	var list replayList
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &list) != nil || len(list.Replays) != 1 {
		t.Fatalf("replays: %d %s", resp.StatusCode, body)
	}
	r := list.Replays[0]
	if r.ID != e.run || r.Duration != 20 || !r.Start.Equal(time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)) || r.Live ||
		len(r.Languages) != 3 || r.Languages[1] != (recording.Lang{Tag: "fr", Name: "Français"}) ||
		len(r.Captions) != 1 || r.Captions[0].Tag != "en" || r.HLS != "/vod/test/"+e.run+"/master.m3u8" {
		t.Errorf("replay %+v", r)
	}
	for _, field := range []string{"bytes", "path", "offset", "end"} {
		if strings.Contains(body, `"`+field+`"`) {
			t.Errorf("the public list names %q: %s", field, body)
		}
	}

	resp, master := call(ctx, t, "GET", base+r.HLS, "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(master, `LANGUAGE="de"`) || !strings.Contains(master, `TYPE=SUBTITLES`) ||
		resp.Header.Get("Content-Type") != "application/vnd.apple.mpegurl" {
		t.Errorf("master: %d %s", resp.StatusCode, master)
	}
	if resp, _ := call(ctx, t, "GET", base+"/vod/test/"+e.run+"/fr/seg1.m4s", "", "", nil); resp.StatusCode != 200 ||
		resp.Header.Get("Content-Type") != "audio/mp4" || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("segment: %d %v", resp.StatusCode, resp.Header)
	}
	for _, p := range []string{"/vod/test/20261103T090001Z/master.m3u8", "/vod/nope/" + e.run + "/master.m3u8",
		"/vod/test/" + e.run + "/it/index.m3u8", "/vod/test/" + e.run + "/en/seg4.m4s", "/vod/test/" + e.run + "/en/seg01.m4s",
		"/api/events/nope/replays"} {
		resp, body := call(ctx, t, "GET", base+p, "", "", nil)
		var v struct{ Error string }
		if resp.StatusCode != 404 || json.Unmarshal([]byte(body), &v) != nil || v.Error == "" {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, body)
		}
	}

	resp, page := call(ctx, t, "GET", base+"/replay/test", "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, `/api/events/test/replays`) || !strings.Contains(page, `id="seek"`) {
		t.Errorf("replay page: %d", resp.StatusCode)
	}

	// /metrics counts the replay.
	metrics := get(t, base+"/metrics")
	for _, want := range []string{"tolk_vod_requests_total ", "tolk_vod_not_found_total 4", "tolk_vod_open_runs 1", "tolk_vod_run_opens_total 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}

	// An editor's change reaches the VOD's WebVTT without a restart.
	vtt := base + "/vod/test/" + e.run + "/subs/en/seg0.vtt"
	if _, b := call(ctx, t, "GET", vtt, "", "", nil); !strings.Contains(b, "00:00:01.000 --> 00:00:03.000\nWelcome to the replay\n") {
		t.Errorf("vtt before the edit:\n%s", b)
	}
	editCue(ctx, t, e.store, "Welcome to the replay", "Welcome to the edited replay")
	if _, b := call(ctx, t, "GET", vtt, "", "", nil); !strings.Contains(b, "\nWelcome to the edited replay\n") {
		t.Errorf("vtt after the edit:\n%s", b)
	}
}

// editCue changes the stored English cue whose text is from, as an editor.
func editCue(ctx context.Context, t testing.TB, st *store.Store, from, to string) {
	t.Helper()
	cues, _, err := st.EditorCues(ctx, "test", "en", store.CueQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cues {
		if c.Text == from {
			if _, err := st.EditCue(ctx, "test", "en", c.ID, c.Version, store.CuePatch{Text: &to},
				store.Author{Token: "editor", Name: "Editor", Role: store.RoleEditor}); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no cue %q among %+v", from, cues)
}

// TestReplayClosed: a closed event's list, VOD and replay page answer only
// with viewer access, as its watch page does: 401 without; a listener's
// token as Bearer or ?token= (carried into the playlists' URIs, answers
// private); the replay page's own passcode form, whose session opens the
// list and the VOD.
func TestReplayClosed(t *testing.T) {
	leakCheck(t)
	e := serveReplay(t, `access: {passcode: "`+testPasscode+`"}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	base := e.http.URL
	listener, _, err := e.store.CreateToken(ctx, "test", store.RoleListener, "", "Press")
	if err != nil {
		t.Fatal(err)
	}
	master := "/vod/test/" + e.run + "/master.m3u8"
	for _, p := range []string{"/api/events/test/replays", master, "/vod/test/" + e.run + "/en/seg0.m4s"} {
		if resp, body := call(ctx, t, "GET", base+p, "", "", nil); resp.StatusCode != 401 || !strings.Contains(body, `"error"`) {
			t.Errorf("GET %s without access: %d %s", p, resp.StatusCode, body)
		}
	}
	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+listener) }
	if resp, body := call(ctx, t, "GET", base+"/api/events/test/replays", "", "", bearer); resp.StatusCode != 200 || !strings.Contains(body, e.run) {
		t.Errorf("replays with a token: %d %s", resp.StatusCode, body)
	}
	resp, body := call(ctx, t, "GET", base+master+"?token="+url.QueryEscape(listener), "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `URI="fr/index.m3u8?token=`) || !strings.HasPrefix(resp.Header.Get("Cache-Control"), "private") {
		t.Errorf("master with ?token=: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	resp, body = call(ctx, t, "GET", base+"/vod/test/"+e.run+"/fr/index.m3u8?token="+url.QueryEscape(listener), "", "", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "seg0.m4s?token=") || !strings.Contains(body, `init.mp4?token=`) {
		t.Errorf("media playlist with ?token=: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := call(ctx, t, "GET", base+"/vod/test/"+e.run+"/fr/seg0.m4s", "", "", bearer); resp.StatusCode != 200 ||
		resp.Header.Get("Cache-Control") != "private, max-age=31536000, immutable" {
		t.Errorf("segment with a token: %d %v", resp.StatusCode, resp.Header)
	}

	// The page: the passcode form, posting to the replay page.
	resp, body = call(ctx, t, "GET", base+"/replay/test", "", "", nil)
	if resp.StatusCode != 401 || !strings.Contains(body, `action="/replay/test"`) || strings.Contains(body, `id="seek"`) {
		t.Errorf("locked replay page: %d", resp.StatusCode)
	}
	origin := func(r *http.Request) { r.Header.Set("Origin", base) }
	form := "passcode=" + url.QueryEscape("wrong guess")
	if resp, _ := call(ctx, t, "POST", base+"/replay/test", "application/x-www-form-urlencoded", form, origin); resp.StatusCode != 401 {
		t.Errorf("a wrong passcode: %d", resp.StatusCode)
	}
	form = "passcode=" + url.QueryEscape(testPasscode)
	resp, _ = call(ctx, t, "POST", base+"/replay/test", "application/x-www-form-urlencoded", form, origin)
	cookie := accessCookie(resp)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/replay/test" || cookie == nil {
		t.Fatalf("the passcode: %d %v", resp.StatusCode, resp.Header)
	}
	withCookie := func(r *http.Request) { r.AddCookie(cookie) }
	for _, p := range []string{"/replay/test", "/api/events/test/replays", master} {
		if resp, _ := call(ctx, t, "GET", base+p, "", "", withCookie); resp.StatusCode != 200 {
			t.Errorf("GET %s with the session: %d", p, resp.StatusCode)
		}
	}
	// A listener's link to the page becomes the session and a clean address.
	resp, _ = call(ctx, t, "GET", base+"/replay/test?run="+e.run+"&token="+url.QueryEscape(listener), "", "", nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/replay/test?run="+e.run || accessCookie(resp) == nil {
		t.Errorf("a token link: %d %v", resp.StatusCode, resp.Header)
	}
}
