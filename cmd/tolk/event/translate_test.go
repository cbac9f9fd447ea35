package event

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"tolk/captions"
	"tolk/captions/captionstest"
	"tolk/captions/translate"
	"tolk/captions/translate/translatefake"
	"tolk/internal/audio/audiotest"
	"tolk/internal/config"
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
	srv, err := translatefake.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := translate.NewCloud(context.Background(), translate.CloudConfig{Project: "tolk-test", ClientOptions: srv.ClientOptions()})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cl.Close() }()
	cfg, err := config.Parse([]byte(`
id: t
floor: {language: en, source: whip, stream_key: 0123456789abcdef}
languages: [{tag: fr}, {tag: de}]
hls: {aac: false}
captions: {languages: {fr: translate}, translate: {project: tolk-test}}
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
	if len(ev.CaptionRenditions()) != 3 || strings.Join(mt, ",") != "fr" {
		t.Fatalf("caption renditions %+v", ev.CaptionRenditions())
	}
	feed, ok := ev.CaptionFeed("fr")
	if !ok {
		t.Fatal("no French caption feed")
	}
	fr := feed.Cues().Read("test", 8)
	floor := ev.captions["en"].pipeline
	floor.Cues().Write(captions.Cue{Lang: "en", Start: 96000, End: 192000, Text: "Hello world", Final: true})
	select {
	case c := <-fr.C:
		want := captions.Cue{Lang: "fr", Start: 96000, End: 192000, Text: "Bonjour monde", Final: true}
		if c != want {
			t.Errorf("French cue %+v, want %+v", c, want)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no translated cue")
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
	} {
		if !strings.Contains(master, want) {
			t.Errorf("master lacks %s:\n%s", want, master)
		}
	}
}
