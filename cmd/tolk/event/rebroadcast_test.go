package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hraban/opus"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/recording"
	"tolk/internal/rtc"
	"tolk/internal/store"
	"tolk/web"
)

// toneLangs are the languages of the runs these tests record: the floor
// at 440 Hz and its French interpretation at 660 Hz.
var toneLangs = []struct {
	recording.Lang
	freq float64
}{
	{recording.Lang{Tag: "en", Name: "English"}, 440},
	{recording.Lang{Tag: "fr", Name: "Français"}, 660},
}

// recordRun records a run of event whose program time zero is epoch, as
// a live event's outputs would: d of every language's tone encoded by
// libopus, tick by tick, and cues (program time) in its captions tracks
// and, in st, saved as the recognizer's in recording time. It returns the
// run's id and its offset on the event's recording timeline.
func recordRun(t testing.TB, lib *recording.Library, st *store.Store, event string, epoch time.Time, d time.Duration, cues []media.Cue) (string, int64) {
	t.Helper()
	var langs, caps []recording.Lang
	for _, l := range toneLangs {
		langs = append(langs, l.Lang)
		for _, c := range cues {
			if c.Lang == l.Tag && (len(caps) == 0 || caps[len(caps)-1] != l.Lang) {
				caps = append(caps, l.Lang)
			}
		}
	}
	rec, err := recording.New(recording.Options{Library: lib, Event: event, Title: "Partner conference", Audio: langs,
		Captions: caps, Epoch: func() (time.Time, bool) { return epoch, true }, Clock: st, SyncEvery: -1,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cues {
		rec.WriteCue(c.Lang, c)
	}
	encs := map[string]*opus.Encoder{}
	for _, l := range toneLangs {
		if encs[l.Tag], err = opus.NewEncoder(audio.SampleRate, 1, opus.AppAudio); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 1500)
	for pts := int64(0); pts < audio.Samples(d); pts += audio.FrameSamples {
		for _, l := range toneLangs {
			n, err := encs[l.Tag].EncodeFloat32(audiotest.Tone(l.freq, 0.4, int(pts), audio.FrameSamples), buf)
			if err != nil {
				t.Fatal(err)
			}
			rec.WritePacket(l.Tag, media.Unit{PTS: pts, Codec: media.Opus, Payload: append([]byte(nil), buf[:n]...)})
		}
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	id := rec.Status().Run
	rd, err := lib.Open(event, id)
	if err != nil {
		t.Fatal(err)
	}
	off := rd.Meta().Offset
	rd.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, c := range cues {
		c.Start += off
		c.End += off
		if err := st.SaveCue(ctx, event, c); err != nil {
			t.Fatal(err)
		}
	}
	return id, off
}

// liveCaption is a cue the live captions' WebSocket delivered, and the
// program time of the rebroadcast when it came.
type liveCaption struct {
	Type, Lang, Text string
	Start, End       float64
	at               int64
}

// readCaptions reads a language's live captions until the socket closes.
func readCaptions(t *testing.T, ctx context.Context, base, path string, ev *Event) (<-chan liveCaption, func()) {
	t.Helper()
	conn, _, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(base, "http")+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan liveCaption, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(out)
		for {
			var c liveCaption
			if err := conn.ReadJSON(&c); err != nil {
				return
			}
			c.at = ev.ProgramTime()
			out <- c
		}
	}()
	return out, func() { conn.Close(); <-done }
}

// listen decodes what a WHEP listener of lang hears onto a tap on the
// program timeline (the RTP timestamps are program time).
func listen(t *testing.T, ctx context.Context, api *webrtc.API, base, lang string) (*audiotest.Tap, func()) {
	t.Helper()
	lis, err := rtc.DialWHEP(ctx, api, base+"/whep/conf-apac/"+lang, 4000)
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan media.Unit, 4000)
	quit := make(chan struct{})
	go func() {
		defer close(frames)
		dec, _ := opus.NewDecoder(audio.SampleRate, 1)
		pcm := make([]float32, 5760)
		for {
			select {
			case p := <-lis.Packets():
				if n, err := dec.DecodeFloat32(p.Payload, pcm); err == nil && len(p.Payload) > 0 {
					frames <- media.Unit{PTS: int64(p.Timestamp), PCM: append([]float32(nil), pcm[:n]...)}
				}
			case <-quit:
				return
			}
		}
	}()
	tap := audiotest.NewTap(frames)
	var once sync.Once
	return tap, func() {
		once.Do(func() {
			close(quit)
			<-tap.Done()
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = lis.Close(cctx)
		})
	}
}

func get(t *testing.T, ctx context.Context, url string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestRebroadcastPlaysARecordedRun: the event's second run (90 minutes
// after its first, so its cues lie 90 minutes into the recording
// timeline) is rebroadcast as event conf-apac at a start two seconds
// ahead, with the configuration giving nothing but the run. Before the
// start the floor is missing and the booths answer 409; the master lists
// the run's languages; then a WHEP listener of fr hears 660 Hz and one of
// en 440 Hz, every cue goes out on the live captions at its recorded
// time of the new timeline (the English one as an editor corrected it),
// the WebVTT rendition carries it, and at the run's end the floor is
// ended and every playlist ends. Nothing is recorded and no cue stored.
func TestRebroadcastPlaysARecordedRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	defer http.DefaultClient.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lib := recording.NewLibrary(filepath.Join(dir, recording.Dir))
	first := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	recordRun(t, lib, st, "conf", first, time.Second, nil)
	const sec = audio.SampleRate
	cues := []media.Cue{
		{Lang: "en", Start: 2 * sec, End: 2*sec + sec*4/5, Text: "good evening", Final: true},
		{Lang: "fr", Start: 3 * sec, End: 3*sec + sec/2, Text: "bonsoir", Final: true},
	}
	run, off := recordRun(t, lib, st, "conf", first.Add(90*time.Minute), 5*time.Second, cues)
	if off != 90*60*sec {
		t.Fatalf("the second run's offset is %d", off)
	}
	edited, _, err := st.EditorCues(ctx, "conf", "en", store.CueQuery{})
	if err != nil || len(edited) != 1 {
		t.Fatalf("stored cues %+v, %v", edited, err)
	}
	fixed := "good evening, Asia"
	if _, err := st.EditCue(ctx, "conf", "en", edited[0].ID, edited[0].Version, store.CuePatch{Text: &fixed},
		store.Author{Name: "Eda", Role: store.RoleEditor}); err != nil {
		t.Fatal(err)
	}

	start := time.Now().Add(2 * time.Second)
	cfg, err := config.Parse([]byte(fmt.Sprintf("id: conf-apac\nfloor: {source: \"replay:conf/%s\", start: %q}\n", run,
		start.Format(time.RFC3339Nano))), nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev, err := New(cfg, Options{Log: log, Cues: st, Recordings: lib})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	srv, err := web.New(web.Options{Log: log, RTC: rtc.Options{Loopback: true}, Tokens: st, Cues: st})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.AddEvent(ev); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}

	// Scheduled.
	if s := ev.FloorState(); s != "missing" {
		t.Errorf("floor %q before the start, want missing", s)
	}
	var info web.EventInfo
	if code, body := get(t, ctx, hs.URL+"/api/events/conf-apac"); code != 200 || json.Unmarshal([]byte(body), &info) != nil {
		t.Fatalf("event info %d %s", code, body)
	}
	if info.Floor != "missing" || info.Title != "Partner conference" || len(info.Renditions) != 2 ||
		info.Renditions[0].Tag != "en" || !info.Renditions[0].Floor || info.Renditions[1].Tag != "fr" ||
		info.Renditions[1].Name != "Français" || len(info.Captions) != 2 {
		t.Errorf("event info %+v", info)
	}
	tok, _, err := st.CreateToken(ctx, "conf-apac", store.RoleInterpreter, "fr", "Ana")
	if err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, ctx, hs.URL+"/booth/conf-apac/fr?token="+tok); code != http.StatusConflict || !strings.Contains(body, "rebroadcast") {
		t.Errorf("booth page: %d %s", code, body)
	}
	// The watch page knows when the rebroadcast starts, to say so.
	if code, body := get(t, ctx, hs.URL+"/watch/conf-apac"); code != 200 || !strings.Contains(body, `"starts":"`) || !strings.Contains(body, `id="starts"`) {
		t.Errorf("watch page before the start (%d) lacks its start time", code)
	}
	// The producer's status lists every language as a rebroadcast.
	ptok, _, err := st.CreateToken(ctx, "conf-apac", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	var status web.EventStatus
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/api/events/conf-apac/status", nil)
	req.Header.Set("Authorization", "Bearer "+ptok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Unmarshal(body, &status) != nil {
		t.Fatalf("status %d %s", resp.StatusCode, body)
	}
	if len(status.Languages) != 2 || !status.Languages[0].Rebroadcast || status.Languages[1].Tag != "fr" || !status.Languages[1].Rebroadcast {
		t.Errorf("status languages %+v", status.Languages)
	}
	code, master := get(t, ctx, hs.URL+"/hls/conf-apac/master.m3u8")
	for _, want := range []string{`LANGUAGE="en"`, `LANGUAGE="fr"`, `TYPE=SUBTITLES`, `NAME="Français"`} {
		if code != 200 || !strings.Contains(master, want) {
			t.Errorf("master (%d) lacks %s:\n%s", code, want, master)
		}
	}

	api, err := rtc.NewAPI(rtc.Options{Loopback: true})
	if err != nil {
		t.Fatal(err)
	}
	frTap, stopFr := listen(t, ctx, api, hs.URL, "fr")
	defer stopFr()
	enTap, stopEn := listen(t, ctx, api, hs.URL, "en")
	defer stopEn()
	enCues, closeEn := readCaptions(t, ctx, hs.URL, "/api/events/conf-apac/captions/live/en", ev)
	defer closeEn()
	frCues, closeFr := readCaptions(t, ctx, hs.URL, "/api/events/conf-apac/captions/live/fr", ev)
	defer closeFr()

	for _, c := range []struct {
		tap  *audiotest.Tap
		lang string
		freq float64
	}{{frTap, "fr", 660}, {enTap, "en", 440}} {
		x, err := c.tap.Span(ctx, sec, 2*sec)
		if err != nil {
			t.Fatalf("%s: %v", c.lang, err)
		}
		f, amp := audiotest.DominantFrequency(x, audio.SampleRate, 200, 1200, 5)
		t.Logf("WHEP %s, program time 1-2 s: %.0f Hz at %.2f", c.lang, f, amp)
		if f < c.freq-10 || f > c.freq+10 || amp < 0.2 {
			t.Errorf("WHEP %s hears %.0f Hz at %.2f, want %.0f Hz", c.lang, f, amp, c.freq)
		}
	}

	for _, c := range []struct {
		ch    <-chan liveCaption
		text  string
		start int64
	}{{enCues, fixed, 2 * sec}, {frCues, "bonsoir", 3 * sec}} {
		var got []liveCaption
		for lc := range c.ch {
			got = append(got, lc)
		}
		if len(got) != 1 || got[0].Type != "cue" || got[0].Text != c.text || got[0].Start != float64(c.start)/sec {
			t.Fatalf("live captions %+v, want %q at %d", got, c.text, c.start)
		}
		t.Logf("cue %q at %.2f s of program time reached the socket at %.3f s", got[0].Text, got[0].Start, float64(got[0].at)/sec)
		if got[0].at < c.start-audio.FrameSamples {
			t.Errorf("cue %q at %d came at program time %d: before its time", got[0].Text, c.start, got[0].at)
		}
	}

	// The end: the captions' sockets closed with it (above).
	for ev.FloorState() != "ended" {
		select {
		case <-ctx.Done():
			t.Fatalf("the rebroadcast never ended: floor %s", ev.FloorState())
		case <-time.After(20 * time.Millisecond):
		}
	}
	if s := ev.Stats(); s.Ticks != 250 {
		t.Errorf("%d ticks, want 250 (5 s)", s.Ticks)
	}
	// The outputs close their playlists after the floor has said it ended:
	// wait for each to end rather than read it at once.
	for _, p := range []string{"/hls/conf-apac/en/index.m3u8", "/hls/conf-apac/fr/index.m3u8", "/hls/conf-apac/subs/en/index.m3u8"} {
		for {
			code, body := get(t, ctx, hs.URL+p)
			if code == 200 && strings.Contains(body, "#EXT-X-ENDLIST") {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s (%d) does not end:\n%s", p, code, body)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	_, subs := get(t, ctx, hs.URL+"/hls/conf-apac/subs/en/index.m3u8")
	var vtt string
	for _, seg := range regexp.MustCompile(`(?m)^[^#\s].*\.vtt$`).FindAllString(subs, -1) {
		_, body := get(t, ctx, hs.URL+"/hls/conf-apac/subs/en/"+seg)
		vtt += body
	}
	if !strings.Contains(vtt, "00:00:02.000 --> 00:00:02.800") || !strings.Contains(vtt, fixed) {
		t.Errorf("WebVTT rendition:\n%s", vtt)
	}
	if r := ev.Recording(); r.State != "off" {
		t.Errorf("recording %+v", r)
	}
	if runs, _ := lib.Runs("conf-apac"); len(runs) != 0 {
		t.Errorf("the rebroadcast was recorded: %+v", runs)
	}
	if langs, _ := st.Languages(ctx, "conf-apac"); len(langs) != 0 {
		t.Errorf("the rebroadcast stored cues in %v", langs)
	}
	if all, _ := st.Cues(ctx, "conf", "en", 0, store.All); len(all) != 1 || all[0].Text != fixed || all[0].Start != off+2*sec {
		t.Errorf("the original's cues changed: %+v", all)
	}
	stopFr()
	stopEn()
	hs.Close()
	srv.Close()
	ev.Close()
}

// TestRebroadcastRefusesBadRuns: an unknown run, a run still being
// recorded and languages that are not the run's are refused with
// ErrRebroadcast and a message that says what to do; a rebroadcast whose
// configuration gives the run's languages takes their names.
func TestRebroadcastRefusesBadRuns(t *testing.T) {
	defer goleak.VerifyNone(t)
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lib := recording.NewLibrary(filepath.Join(dir, recording.Dir))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func(yaml string) (*Event, error) {
		t.Helper()
		cfg, err := config.Parse([]byte(yaml), nil)
		if err != nil {
			t.Fatal(err)
		}
		return New(cfg, Options{Log: log, Cues: st, Recordings: lib})
	}
	if _, err := open("id: conf\nfloor: {source: \"replay:20261103T080000Z\"}\n"); !errors.Is(err, ErrRebroadcast) ||
		!strings.Contains(err.Error(), `event "conf" has no recorded runs`) {
		t.Errorf("no runs: %v", err)
	}
	run, _ := recordRun(t, lib, st, "conf", time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC), time.Second, nil)
	if _, err := open("id: conf\nfloor: {source: \"replay:20261103T090000Z\"}\n"); !errors.Is(err, ErrRebroadcast) ||
		!strings.Contains(err.Error(), "no recorded run conf/20261103T090000Z") || !strings.Contains(err.Error(), run) {
		t.Errorf("unknown run: %v", err)
	}
	if _, err := open("id: x\nfloor: {source: \"replay:conf/" + run + "\", language: en}\nlanguages: [{tag: de}]\n"); !errors.Is(err, ErrRebroadcast) ||
		!strings.Contains(err.Error(), "has the languages en, fr") || !strings.Contains(err.Error(), "gives en, de") {
		t.Errorf("other languages: %v", err)
	}
	ev, err := open("id: x\ntitle: Repeat\nfloor: {source: \"replay:conf/" + run + "\", language: en, name: Floor}\nlanguages: [{tag: fr, name: Französisch}]\n")
	if err != nil {
		t.Fatal(err)
	}
	r := ev.Renditions()
	if ev.Title() != "Repeat" || len(r) != 2 || r[0].Name != "Floor" || r[1].Name != "Französisch" {
		t.Errorf("title %q, renditions %+v", ev.Title(), r)
	}
	if _, ok := ev.Booth("fr"); ok {
		t.Error("a rebroadcast has a booth")
	}
	if err := ev.SwitchFloor("main"); err == nil {
		t.Error("a rebroadcast switched its floor")
	}
	if src, ok := ev.Rebroadcast(); !ok || src != "conf/"+run {
		t.Errorf("Rebroadcast() = %q %v", src, ok)
	}
	ev.Close()

	// A run being recorded.
	rec, err := recording.New(recording.Options{Library: lib, Event: "conf", Audio: []recording.Lang{{Tag: "en"}},
		Epoch: func() (time.Time, bool) { return time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC), true }, SyncEvery: -1, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	for k := range 100 {
		rec.WritePacket("en", media.Unit{PTS: int64(k) * audio.FrameSamples, Codec: media.Opus, Payload: []byte{0xf8, 0xff, 0xfe}})
	}
	for rec.Status().Run == "" {
		time.Sleep(time.Millisecond)
	}
	if _, err := open("id: conf\nfloor: {source: \"replay:" + rec.Status().Run + "\"}\n"); !errors.Is(err, ErrRebroadcast) ||
		!strings.Contains(err.Error(), "still being recorded") {
		t.Errorf("live run: %v", err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := New(&config.Event{ID: "y", Floor: config.Floor{Source: "replay:conf/" + run}}, Options{Log: log}); !errors.Is(err, ErrRebroadcast) {
		t.Errorf("no library: %v", err)
	}
}
