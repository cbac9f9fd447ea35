package google

import (
	"slices"
	"testing"

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
	}
}
