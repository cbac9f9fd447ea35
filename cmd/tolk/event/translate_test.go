package event

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/captions"
	"tolk/captions/captionstest"
	"tolk/captions/translate/translatefake"
	"tolk/internal/audio"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
	"tolk/internal/media"
	"tolk/internal/recording"
)

type cueLog struct {
	mu   sync.Mutex
	cues []captions.Cue
}

func (l *cueLog) SaveCue(_ context.Context, _ string, c captions.Cue) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cues = append(l.cues, c)
	return nil
}

func (l *cueLog) lang(tag string) []captions.Cue {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []captions.Cue
	for _, c := range l.cues {
		if c.Lang == tag {
			out = append(out, c)
		}
	}
	return out
}

// TestTranslatedCaptions: a language whose backend is translate gets the
// floor's settled cues translated by Cloud Translation (the real client
// against the local fake), with their timing, on its caption feed and in
// the store; the master playlist names its SUBTITLES rendition as machine
// translation, in the language's own words, and the event marks it.
func TestTranslatedCaptions(t *testing.T) {
	defer goleak.VerifyNone(t)
	cl, stopTranslate := translatefake.Client(t)
	defer stopTranslate()
	cfg, err := config.Parse([]byte(`
id: t
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}, {tag: de}]
hls: {aac: false}
captions: {languages: {fr: translate, ja: translate}, translate: {project: tolk-test}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	store := &cueLog{}
	ev, err := New(cfg, Options{Clock: audiotest.NewClock(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Recognizer: captionstest.NewScripted(nil), Translator: cl, Cues: store})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()

	var mt []string
	for _, r := range ev.CaptionRenditions() {
		if r.MachineTranslated {
			mt = append(mt, r.Tag)
		}
	}
	if len(ev.CaptionRenditions()) != 4 || strings.Join(mt, ",") != "fr,ja" || len(ev.Renditions()) != 3 {
		t.Fatalf("caption renditions %+v, renditions %+v", ev.CaptionRenditions(), ev.Renditions())
	}
	if _, ok := ev.Mix("ja"); ok {
		t.Error("a caption-only language has a mix")
	}
	feed, ok := ev.CaptionFeed("fr")
	if !ok {
		t.Fatal("no French caption feed")
	}
	fr := feed.Cues().Read("test", 8)
	jaFeed, ok := ev.CaptionFeed("ja")
	if !ok {
		t.Fatal("no Japanese caption feed")
	}
	ja := jaFeed.Cues().Read("test", 8)
	floor := ev.captions["en"].pipeline
	floor.Cues().Write(captions.Cue{Lang: "en", Start: 96000, End: 192000, Text: "Hello world", Final: true})
	select {
	case c := <-fr.C:
		want := captions.Cue{Lang: "fr", Start: 96000, End: 192000, Text: "Bonjour monde", Final: true, MachineTranslated: true}
		if c != want {
			t.Errorf("French cue %+v, want %+v", c, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no translated cue")
	}
	select {
	case c := <-ja.C:
		if c.Lang != "ja" || c.Text != translatefake.Translate("Hello world", "ja", false) || c.Start != 96000 {
			t.Errorf("Japanese cue %+v", c)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no cue translated into the caption-only language")
	}
	if got := store.lang("fr"); len(got) != 1 || got[0].Text != "Bonjour monde" {
		t.Errorf("stored French cues %+v", got)
	}
	if st := feed.Stats(); !st.Backend || st.Cues != 1 {
		t.Errorf("feed stats %+v", st)
	}

	_, master := hlsGet(ev, "/master.m3u8")
	for _, want := range []string{
		`TYPE=SUBTITLES,GROUP-ID="subs",NAME="Français (traduction automatique)"`,
		`NAME="Deutsch",LANGUAGE="de"`,
		`TYPE=SUBTITLES,GROUP-ID="subs",NAME="日本語（機械翻訳）",LANGUAGE="ja"`,
	} {
		if !strings.Contains(master, want) {
			t.Errorf("master lacks %s:\n%s", want, master)
		}
	}
	if strings.Contains(master, `TYPE=AUDIO,GROUP-ID="audio",NAME="日本語"`) || strings.Contains(master, `LANGUAGE="ja",AUTOSELECT=YES,URI="ja/`) {
		t.Errorf("master has Japanese audio:\n%s", master)
	}
}

// TestRebroadcastKeepsMachineTranslationMark: a live run with French
// captions and Japanese captions (no Japanese audio) machine-translated
// from the floor's records both with their mark; rebroadcast, the run's
// master names them as machine translation, the Japanese captions have a
// WebVTT rendition and no audio, and they play the translated cues.
func TestRebroadcastKeepsMachineTranslationMark(t *testing.T) {
	defer goleak.VerifyNone(t)
	cl, stopTranslate := translatefake.Client(t)
	defer stopTranslate()
	lib := recording.NewLibrary(t.TempDir())
	live, _ := recordedEventWith(t, `
id: rec
floor: {language: en, name: English, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr, name: Français}]
hls: {aac: false}
captions: {languages: {fr: translate, ja: translate}, translate: {project: tolk-test}}
`, Options{Recordings: lib, Translator: cl}, 175)
	run := live.Recording().Run
	runs, err := lib.Runs("rec")
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	want := []recording.Lang{{Tag: "en", Name: "English"}, {Tag: "fr", Name: "Français", MachineTranslated: true},
		{Tag: "ja", Name: "日本語", MachineTranslated: true}}
	if !slices.Equal(runs[0].Captions, want) || len(runs[0].Languages) != 2 {
		t.Fatalf("recorded captions %+v, languages %+v", runs[0].Captions, runs[0].Languages)
	}

	cfg, err := config.Parse([]byte("id: rec-repeat\nfloor: {source: \"replay:rec/"+run+"\"}\nhls: {aac: false}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := New(cfg, Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Recordings: lib})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	var got []string
	for _, r := range ev.CaptionRenditions() {
		got = append(got, fmt.Sprintf("%s:%v", r.Tag, r.MachineTranslated))
	}
	if strings.Join(got, " ") != "en:false fr:true ja:true" || len(ev.Renditions()) != 2 {
		t.Errorf("caption renditions %s, renditions %+v", got, ev.Renditions())
	}
	_, master := hlsGet(ev, "/master.m3u8")
	for _, w := range []string{`NAME="Français (traduction automatique)",LANGUAGE="fr"`, `NAME="日本語（機械翻訳）",LANGUAGE="ja"`} {
		if !strings.Contains(master, w) {
			t.Errorf("master lacks %s:\n%s", w, master)
		}
	}
	feed, ok := ev.CaptionFeed("ja")
	if !ok {
		t.Fatal("no Japanese captions in the rebroadcast")
	}
	cues := feed.Cues().Read("test", 8)
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-cues.C:
		if w := translatefake.Translate("good morning everyone", "ja", false); c.Text != w {
			t.Errorf("rebroadcast Japanese cue %q, want %q", c.Text, w)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the rebroadcast played no Japanese cue")
	}
}

// TestFallbackTranslatesWhileNobodyIsOnAir: with captions.fallback:
// translate, an interpreted language shows the floor's cues translated
// (the real client against the local fake) while nobody is on air in its
// mix, and holds them back from viewers and the store while an interpreter
// is: French has a voice from 2.5 s to 5.5 s of program time, German none.
func TestFallbackTranslatesWhileNobodyIsOnAir(t *testing.T) {
	defer goleak.VerifyNone(t)
	cl, stopTranslate := translatefake.Client(t)
	defer stopTranslate()
	cfg, err := config.Parse([]byte(`
id: t
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}, {tag: de}]
hls: {aac: false}
record: false
captions: {fallback: translate, translate: {project: tolk-test}}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	said := []string{"good morning everyone", "welcome back", "thank you all"}
	var script []captionstest.ScriptedWord
	for i, at := range []int64{200, 4000, 9000} {
		script = append(script, captionstest.Script(at, 300, 100, strings.Fields(said[i])...)...)
	}
	clock := audiotest.NewClock()
	store := &cueLog{}
	ev, err := New(cfg, Options{Clock: clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Recognizer: captionstest.NewScripted(script), Translator: cl, Cues: store})
	if err != nil {
		t.Fatal(err)
	}
	defer ev.Close()
	feeds := map[string]*media.Reader[captions.Cue]{}
	for _, tag := range []string{"fr", "de"} {
		f, ok := ev.CaptionFeed(tag)
		if !ok {
			t.Fatalf("no %s captions", tag)
		}
		feeds[tag] = f.Cues().Read("test", 64)
	}
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the clock to arm its timer", func() bool { return clock.Pending() > 0 })
	const n = 525 // 10.5 s
	for k := range n {
		switch k * 20 {
		case 2500:
			if err := ev.SetVoice("fr", constVoice{}); err != nil {
				t.Fatal(err)
			}
		case 5500:
			if err := ev.SetVoice("fr", nil); err != nil {
				t.Fatal(err)
			}
		}
		ev.WriteFloor(audiotest.Tone(440, 0.3, k*audio.FrameSamples, audio.FrameSamples))
		want := uint64(k + 1)
		waitFor(t, "a tick", func() bool { return ev.Stats().Ticks >= want })
	}
	shown := map[string]uint64{}
	for _, tag := range []string{"fr", "de"} {
		f, _ := ev.CaptionFeed(tag)
		shown[tag], _ = f.(*fallbackFeed).Fallback()
	}
	frFeed, _ := ev.CaptionFeed("fr")
	ev.Close()
	want := map[string][]string{
		"fr": {translatefake.Translate(said[0], "fr", false), translatefake.Translate(said[2], "fr", false)},
		"de": {translatefake.Translate(said[0], "de", false), translatefake.Translate(said[1], "de", false), translatefake.Translate(said[2], "de", false)},
	}
	for tag, r := range feeds {
		var got []string
		for c := range r.C {
			if !c.Final || !c.MachineTranslated {
				t.Errorf("%s: a cue that is not a final machine translation: %+v", tag, c)
			}
			got = append(got, c.Text)
		}
		if !slices.Equal(got, want[tag]) {
			t.Errorf("%s shown %q, want %q", tag, got, want[tag])
		}
		var stored []string
		for _, c := range store.lang(tag) {
			stored = append(stored, c.Text)
		}
		if !slices.Equal(stored, want[tag]) {
			t.Errorf("%s stored %q, want %q", tag, stored, want[tag])
		}
	}
	if s, held := frFeed.(*fallbackFeed).Fallback(); s != 2 || held != 1 {
		t.Errorf("French fallback shown %d, held %d (mid-run %v)", s, held, shown)
	}
	if st := frFeed.Stats(); st.Cues != 2 || !st.Backend {
		t.Errorf("French caption stats %+v", st)
	}
}
