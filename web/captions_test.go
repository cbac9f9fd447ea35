package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"tolk/captions/captionstest"
	"tolk/captions/translate/translatefake"
	"tolk/cmd/tolk/event"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/store"
	"tolk/locales"
	"tolk/web"
)

// TestCaptionsLiveAndInHLS: a scripted recognizer on the floor; its words
// reach the live WebSocket as partial lines then a settled cue, and the
// WebVTT rendition listed in the master playlist carries the cue.
func TestCaptionsLiveAndInHLS(t *testing.T) {
	leakCheck(t)
	audiotest.NeedTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
`, floor)
	sec := int64(audio.SampleRate)
	rec := captionstest.NewScripted([]captionstest.ScriptedWord{
		{Text: "welcome", Start: sec / 2, End: sec},
		{Text: "to", Start: sec, End: sec + sec/5},
		{Text: "the", Start: sec + sec/5, End: sec + sec/2},
		{Text: "conference", Start: sec + sec/2, End: 2 * sec},
	})
	h := serve(t, cfg, event.Options{Recognizer: rec, SubtitleDelay: 3 * time.Second}, web.Options{})
	ev := h.ev

	var info web.EventInfo
	if err := json.Unmarshal([]byte(get(t, h.http.URL+"/api/events/test")), &info); err != nil {
		t.Fatal(err)
	}
	if len(info.Captions) != 2 || info.Captions[0].Tag != "en" {
		t.Fatalf("caption languages %+v", info.Captions)
	}
	u := strings.Replace(h.http.URL, "http", "ws", 1) + info.Captions[0].Live
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	var partials int
	var cues []map[string]any
	var text []string
	for !strings.Contains(strings.Join(text, " "), "conference") {
		_ = ws.SetReadDeadline(time.Now().Add(20 * time.Second))
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("live captions: %v", err)
		}
		switch m["type"] {
		case "partial":
			partials++
		case "cue":
			cues = append(cues, m)
			text = append(text, strings.ReplaceAll(m["text"].(string), "\n", " "))
		}
	}
	if partials == 0 || strings.Join(text, " ") != "welcome to the conference" {
		t.Errorf("live: %d partial lines, cues %v", partials, cues)
	}
	// Timed from the word times: the first word starts at 0.5 s.
	if start := cues[0]["start"].(float64); start < 0.49 || start > 0.51 {
		t.Errorf("first cue starts at %.2f s, want 0.5 s", start)
	}

	// The master lists the subtitles; the segment carrying 0.5 s has the cue.
	master := get(t, h.http.URL+"/hls/test/master.m3u8")
	if !strings.Contains(master, `TYPE=SUBTITLES`) || !strings.Contains(master, `CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog"`) {
		t.Fatalf("master without subtitles:\n%s", master)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(get(t, h.http.URL+"/hls/test/subs/en/index.m3u8"), "seg1.vtt") {
		if time.Now().After(deadline) {
			t.Fatal("subtitle segments never published")
		}
		time.Sleep(100 * time.Millisecond)
	}
	metrics := get(t, h.http.URL+"/metrics")
	for _, want := range []string{`tolk_captions_available{event="test",lang="en"} 1`, `tolk_caption_cues_total{event="test",lang="en"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	// Segment names carry the run's token: take segment 0's from the playlist.
	var seg0 string
	for _, l := range strings.Split(get(t, h.http.URL+"/hls/test/subs/en/index.m3u8"), "\n") {
		if strings.HasSuffix(l, "/seg0.vtt") {
			seg0 = l
		}
	}
	seg := get(t, h.http.URL+"/hls/test/subs/en/"+seg0)
	if !strings.Contains(seg, "X-TIMESTAMP-MAP=") || !strings.Contains(seg, "00:00:00.500 --> ") || !strings.Contains(seg, "welcome") {
		t.Errorf("seg0.vtt:\n%s", seg)
	}
	ws.Close()

	// After the event, ffmpeg reads the whole subtitle playlist and finds every word.
	ev.Close()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-loglevel", "error", "-i", h.http.URL+"/hls/test/subs/en/index.m3u8",
		"-f", "webvtt", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg on the subtitle playlist: %v", err)
	}
	got := strings.Join(strings.Fields(string(out)), " ")
	for _, w := range []string{"welcome", "to the", "conference"} {
		if !strings.Contains(got, w) {
			t.Errorf("ffmpeg's reading of the subtitles lacks %q:\n%s", w, out)
		}
	}
}

// startScripted serves and starts cfg with a scripted recognizer saying
// script in every language that has captions.
func startScripted(t testing.TB, cfg *config.Event, script []captionstest.ScriptedWord) *harness {
	t.Helper()
	h := serve(t, cfg, event.Options{Recognizer: captionstest.NewScripted(script)}, web.Options{})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestBrowserWatchCaptions: the watch page in Chromium lists the WebVTT
// subtitle track (hls.js), takes the caption language from its picker and
// shows the settled cue while the words are being heard.
func TestBrowserWatchCaptions(t *testing.T) {
	leakCheck(t)
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
`, floor)
	sec := int64(audio.SampleRate)
	script := captionstest.Repeated("good morning and welcome to the partner conference", 8*sec, 12*sec, 100*sec)
	h := startScripted(t, cfg, script)
	var rep struct {
		SubtitleTracks []struct{ Name, Lang string } `json:"subtitle_tracks"`
		Cues           []struct {
			Text             string
			Start, End       float64
			ShownAtMediaTime *float64 `json:"shown_at_media_time"`
		}
		PartialsSeen int `json:"partials_seen"`
		Blanks       []struct{ Text string }
	}
	runBrowser(t, "watch_captions.mjs", &rep, h.http.URL, "--event", "test", "--lang", "en")
	if len(rep.SubtitleTracks) != 2 || rep.SubtitleTracks[0].Lang != "en" {
		t.Errorf("hls.js lists subtitle tracks %+v, want en and fr", rep.SubtitleTracks)
	}
	if len(rep.Cues) == 0 || rep.PartialsSeen == 0 {
		t.Fatalf("no live caption shown: %+v", rep)
	}
	// The settled cue replaces the partial line with no empty frame between.
	if len(rep.Blanks) > 0 {
		t.Errorf("the caption area went blank %d times while a partial line showed: %+v", len(rep.Blanks), rep.Blanks)
	}
	c := rep.Cues[0]
	if !strings.HasPrefix(strings.ReplaceAll(c.Text, "\n", " "), "good morning") {
		t.Errorf("first cue %q", c.Text)
	}
	// Shown while the words are heard (or right after): not before they are
	// spoken, and not long after the cue ends.
	if c.ShownAtMediaTime == nil || *c.ShownAtMediaTime < c.Start-0.1 || *c.ShownAtMediaTime > c.End+2 {
		t.Errorf("cue %.2f-%.2f s shown at media time %v", c.Start, c.End, c.ShownAtMediaTime)
	}
}

// TestBrowserWatchCaptionOnlyLanguage: an event with French audio and
// Japanese captions nobody interprets: in Chromium the watch page offers
// Japanese captions (not audio) as machine translation, hls.js lists the
// Japanese WebVTT rendition under its machine-translation NAME, and picked,
// the floor's words come translated (by the Cloud Translation client
// against the local fake) with the MT mark on the caption area.
func TestBrowserWatchCaptionOnlyLanguage(t *testing.T) {
	leakCheck(t)
	cl, stopTranslate := translatefake.Client(t)
	defer stopTranslate()
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {languages: {fr: none, ja: translate}, translate: {project: tolk-test}}
`, floor)
	sec := int64(audio.SampleRate)
	const said = "good morning and welcome to the partner conference"
	script := captionstest.Repeated(said, 8*sec, 12*sec, 100*sec)
	h := serve(t, cfg, event.Options{Recognizer: captionstest.NewScripted(script), Translator: cl}, web.Options{})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	info := eventInfo(t, h)
	var audioTags, capTags []string
	for _, r := range info.Renditions {
		audioTags = append(audioTags, r.Tag)
	}
	for _, c := range info.Captions {
		capTags = append(capTags, fmt.Sprintf("%s:%v", c.Tag, c.MachineTranslation))
	}
	if strings.Join(audioTags, ",") != "en,fr" || strings.Join(capTags, ",") != "en:false,ja:true" {
		t.Fatalf("audio %v, captions %v", audioTags, capTags)
	}
	var rep struct {
		CaptionChoice struct {
			Label   string
			MTBadge *struct{ Text, Label string } `json:"mt_badge"`
		} `json:"caption_choice"`
		SubtitleTracks []struct{ Name, Lang string } `json:"subtitle_tracks"`
		Cues           []struct {
			Text             string
			Start, End       float64
			ShownAtMediaTime *float64 `json:"shown_at_media_time"`
		}
		CaptionLang string `json:"caption_lang"`
	}
	runBrowser(t, "watch_captions.mjs", &rep, h.http.URL, "--event", "test", "--lang", "ja")
	en := locales.Catalog("en")
	if want := strings.ReplaceAll(en["watch.captions.mt_option"], "{name}", "日本語"); rep.CaptionChoice.Label != want {
		t.Errorf("picked option %q, want %q", rep.CaptionChoice.Label, want)
	}
	if b := rep.CaptionChoice.MTBadge; b == nil || b.Text != en["watch.captions.mt"] || b.Label != en["watch.captions.mt_long"] {
		t.Errorf("machine-translation mark %+v", b)
	}
	var tracks []string
	for _, s := range rep.SubtitleTracks {
		tracks = append(tracks, s.Lang+"="+s.Name)
	}
	if !slices.Contains(tracks, "ja=日本語（機械翻訳）") || len(tracks) != 2 {
		t.Errorf("hls.js subtitle tracks %v, want en and ja named as machine translation", tracks)
	}
	if len(rep.Cues) == 0 || rep.CaptionLang != "ja" {
		t.Fatalf("no Japanese cue shown: %+v", rep)
	}
	c := rep.Cues[0]
	if want := translatefake.Translate(said, "ja", false); strings.ReplaceAll(c.Text, "\n", " ") != want {
		t.Errorf("cue %q, want %q", c.Text, want)
	}
	// A translation keeps the floor cue's times: shown while the words are heard or just after.
	if c.ShownAtMediaTime == nil || *c.ShownAtMediaTime < c.Start-0.1 || *c.ShownAtMediaTime > c.End+3 {
		t.Errorf("cue %.2f-%.2f s shown at media time %v", c.Start, c.End, c.ShownAtMediaTime)
	}
}

// TestBrowserWatchFallbackCaptions: with captions.fallback: translate and
// nobody in the French booth, a viewer who picks French captions in
// Chromium reads the floor's words translated, each cue marked as machine
// translation, with the MT mark on the caption area; the language itself is
// not listed as machine-translated (an interpreter's captions come when one
// is on air).
func TestBrowserWatchFallbackCaptions(t *testing.T) {
	leakCheck(t)
	cl, stopTranslate := translatefake.Client(t)
	defer stopTranslate()
	floor := toneFile(t, 440, 1, 30)
	cfg := eventConfig(t, `
id: test
floor: {language: en, source: "file:%s", loop: true}
languages: [{tag: fr}]
hls: {part_ms: 200, segment_ms: 1000}
captions: {fallback: translate, translate: {project: tolk-test}}
`, floor)
	sec := int64(audio.SampleRate)
	const said = "good morning and welcome"
	script := captionstest.Repeated(said, 8*sec, 12*sec, 100*sec)
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h := serve(t, cfg, event.Options{Recognizer: captionstest.NewScripted(script), Translator: cl}, web.Options{Tokens: st})
	if err := h.ev.Start(); err != nil {
		t.Fatal(err)
	}
	prod, _, err := st.CreateToken(context.Background(), "test", store.RoleProducer, "", "Pat")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range eventInfo(t, h).Captions {
		if c.MachineTranslation {
			t.Errorf("%s listed as machine translation: a fallback language is not", c.Tag)
		}
	}
	var rep struct {
		CaptionChoice struct {
			MTBadge *struct{ Text, Label string } `json:"mt_badge"`
		} `json:"caption_choice"`
		MTBadgeEnd *struct{ Text, Label string } `json:"mt_badge_end"`
		CuesMT     []bool                        `json:"cues_mt"`
		Cues       []struct{ Text string }
	}
	runBrowser(t, "watch_captions.mjs", &rep, h.http.URL, "--event", "test", "--lang", "fr")
	en := locales.Catalog("en")
	if rep.CaptionChoice.MTBadge != nil {
		t.Errorf("the MT mark shows before any translated cue: %+v", rep.CaptionChoice.MTBadge)
	}
	if len(rep.Cues) == 0 || strings.ReplaceAll(rep.Cues[0].Text, "\n", " ") != translatefake.Translate(said, "fr", false) {
		t.Fatalf("French cues %+v, want %q", rep.Cues, translatefake.Translate(said, "fr", false))
	}
	if len(rep.CuesMT) == 0 || slices.Contains(rep.CuesMT, false) {
		t.Errorf("cues marked machine-translated: %v", rep.CuesMT)
	}
	if b := rep.MTBadgeEnd; b == nil || b.Text != en["watch.captions.mt"] || b.Label != en["watch.captions.mt_long"] {
		t.Errorf("MT mark after a translated cue: %+v", b)
	}
	// The producer's status counts them.
	code, b, _ := edCall(t, http.MethodGet, h.http.URL+"/api/events/test/status", prod, nil)
	if code != http.StatusOK {
		t.Fatalf("status: %d %s", code, b)
	}
	status := decode[web.EventStatus](t, b)
	for _, l := range status.Languages {
		if f := l.Captions.Fallback; l.Tag == "fr" && (f == nil || f.Shown == 0 || f.Held != 0) {
			t.Errorf("French fallback status %+v", f)
		}
		if l.Tag == "en" && l.Captions.Fallback != nil {
			t.Errorf("the floor has a fallback: %+v", l.Captions.Fallback)
		}
	}
}
