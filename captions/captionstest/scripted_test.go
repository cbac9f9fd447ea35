package captionstest

import (
	"context"
	"testing"

	"golang.org/x/text/language"

	"tolk/captions"
	"tolk/internal/audio"
)

// ms is program time in samples.
func ms(n int64) int64 { return n * audio.SampleRate / 1000 }

// feed writes silent frames covering program time [from, to).
func feed(t *testing.T, s captions.Stream, from, to int64) {
	t.Helper()
	for pts := from; pts < to; pts += audio.FrameSamples {
		if err := s.Write(audio.Frame{PTS: pts, Samples: make([]float32, audio.FrameSamples)}); err != nil {
			t.Fatalf("write at %d: %v", pts, err)
		}
	}
}

func drain(s captions.Stream) []captions.Result {
	var out []captions.Result
	for {
		select {
		case r, ok := <-s.Results():
			if !ok {
				return out
			}
			out = append(out, r)
		default:
			return out
		}
	}
}

func TestScriptedInterimsThenFinalAfterPause(t *testing.T) {
	sc := append(Script(1000, 300, 100, "good", "morning", "everyone"), Script(3000, 300, 50, "welcome", "back")...)
	rec := NewScripted(sc)
	st, err := rec.NewStream(context.Background(), language.English)
	if err != nil {
		t.Fatal(err)
	}
	// Up to the end of "morning": two interims, no final.
	feed(t, st, 0, ms(1700))
	got := drain(st)
	if len(got) != 2 || got[0].Final || got[1].Final || got[1].Text != "good morning" {
		t.Fatalf("after 1.7 s got %+v", got)
	}
	// "everyone" ends at 2.1 s; 400 ms of silence later the utterance is final.
	feed(t, st, ms(1700), ms(2520))
	got = drain(st)
	if len(got) != 2 || got[0].Text != "good morning everyone" || got[0].Final || !got[1].Final {
		t.Fatalf("after 2.5 s got %+v", got)
	}
	f := got[1]
	if f.Text != "good morning everyone" || len(f.Words) != 3 || f.Start != ms(1000) || f.End != ms(2100) {
		t.Fatalf("final %+v", f)
	}
	// The second utterance has no pause after it: Close settles it.
	feed(t, st, ms(2520), ms(3700))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	got = drain(st)
	if n := len(got); n < 1 || !got[n-1].Final || got[n-1].Text != "welcome back" {
		t.Fatalf("after close got %+v", got)
	}
	if _, ok := <-st.Results(); ok {
		t.Fatal("results not closed")
	}
	if err := st.Write(audio.Frame{PTS: ms(4000), Samples: make([]float32, audio.FrameSamples)}); err == nil {
		t.Fatal("write after close succeeded")
	}
}

func TestScriptedNewStreamSkipsWordsBeforeIt(t *testing.T) {
	rec := NewScripted(Script(0, 200, 100, "one", "two", "three", "four"))
	st, _ := rec.NewStream(context.Background(), language.English)
	feed(t, st, ms(400), ms(2000)) // "two" started at 300 ms, before the stream
	st.Close()
	got := drain(st)
	last := got[len(got)-1]
	if last.Text != "three four" || !last.Final {
		t.Fatalf("got %+v", got)
	}
	if rec.Streams() != 1 {
		t.Fatalf("streams %d", rec.Streams())
	}
}

func TestScriptedCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rec := NewScripted(Script(0, 200, 100, "one"))
	st, _ := rec.NewStream(ctx, language.English)
	cancel()
	if err := st.Write(audio.Frame{Samples: make([]float32, audio.FrameSamples)}); err == nil {
		t.Fatal("write after cancel succeeded")
	}
	st.Close()
	if _, err := rec.NewStream(ctx, language.English); err == nil {
		t.Fatal("new stream on a cancelled context")
	}
}
