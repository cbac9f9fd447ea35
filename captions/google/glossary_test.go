package google

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"cloud.google.com/go/speech/apiv1/speechpb"
	"google.golang.org/protobuf/types/known/durationpb"

	"tolk/captions/glossary"
	"tolk/internal/audio"
)

// The glossary reaches the service as phrase hints; a change made in the
// middle of the event is sent on a stream restarted at the end of the
// utterance, and no word is lost or doubled by that restart.
func TestGlossaryPhraseHints(t *testing.T) {
	t.Parallel()
	live := glossary.NewLive(glossary.Glossary{Terms: []string{"Zyphrex", "clean  energy"}, Speakers: []string{"Ada Oyelaran"}})
	script := layout(ms(600), 3, 4)
	clip := render(t, script, 3400)
	srv, s, stop := start(t, setup{cfg: Config{Glossary: live}})
	defer stop()
	// The producer adds a name 1.1 s in, after the first utterance's last
	// word (1.04 s) and before the pause settles it.
	changeAt := int(ms(1100) / audio.FrameSamples)
	r := feed(t, s, clip, func(i int) bool {
		if i == changeAt {
			if err := live.Set(glossary.Glossary{Terms: []string{"Zyphrex"}, Speakers: []string{"Ada Oyelaran", "Kenji Brennholt"}}); err != nil {
				t.Error(err)
			}
		}
		return false
	})
	checkLimits(t, srv, s)
	sameWords(t, wordsOf(r.finals), want(script))

	cfgs := srv.Configs()
	if len(cfgs) != 2 {
		t.Fatalf("%d streams, want 2 (one restart for the change)", len(cfgs))
	}
	for i, want := range [][]string{{"Zyphrex", "clean energy", "Ada Oyelaran"}, {"Zyphrex", "Ada Oyelaran", "Kenji Brennholt"}} {
		sc := cfgs[i].GetSpeechContexts()
		if len(sc) != 1 || !slices.Equal(sc[0].GetPhrases(), want) || sc[0].GetBoost() != 10 {
			t.Errorf("stream %d speech contexts %v, want phrases %q boost 10", i, sc, want)
		}
	}
	if st := s.Stats(); st.Restarts != 1 || st.Errors != 0 || st.DroppedFrames != 0 {
		t.Errorf("stats %+v, want one restart and no loss", st)
	}
}

func TestNoGlossaryNoHints(t *testing.T) {
	t.Parallel()
	script := layout(ms(600), 2)
	clip := render(t, script, 1400)
	srv, s, stop := start(t, setup{})
	defer stop()
	r := feed(t, s, clip, nil)
	sameWords(t, wordsOf(r.finals), want(script))
	for _, c := range srv.Configs() {
		if len(c.GetSpeechContexts()) != 0 {
			t.Errorf("speech contexts %v without a glossary", c.GetSpeechContexts())
		}
		if !c.GetEnableWordConfidence() {
			t.Error("the stream did not ask for word confidences")
		}
	}
}

// TestWordConfidence: the streams ask for word confidences; a model that
// gives none leaves its alternative's confidence to stand for each word.
func TestWordConfidence(t *testing.T) {
	t.Parallel()
	s := &Stream{}
	s.tl.record(0, 10*audio.SampleRate)
	words := func(conf ...float32) []*speechpb.WordInfo {
		var ws []*speechpb.WordInfo
		for i, c := range conf {
			ws = append(ws, &speechpb.WordInfo{Word: fmt.Sprint("w", i), StartTime: durationpb.New(time.Duration(i) * time.Second),
				EndTime: durationpb.New(time.Duration(i)*time.Second + 500*time.Millisecond), Confidence: c})
		}
		return ws
	}
	for _, c := range []struct {
		alt  float32
		word []float32
		want string
	}{
		{0.8, []float32{0.9, 0.4}, "[0.9 0.4]"},
		{0.8, []float32{0, 0}, "[0.8 0.8]"},
		{0, []float32{0, 0}, "[0 0]"},
	} {
		r, ok := s.finalResult(&speechpb.SpeechRecognitionAlternative{Transcript: "w0 w1", Confidence: c.alt, Words: words(c.word...)}, 2*audio.SampleRate)
		var got []float32
		for _, w := range r.Words {
			got = append(got, w.Confidence)
		}
		if !ok || fmt.Sprint(got) != c.want {
			t.Errorf("alternative %v, words %v: %v, want %s", c.alt, c.word, got, c.want)
		}
	}
}
