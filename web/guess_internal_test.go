package web

import (
	"testing"
	"time"
)

// TestTokenGuessLimiter: may spends nothing; twenty unknown tokens, then
// one per three seconds, on the injected clock.
func TestTokenGuessLimiter(t *testing.T) {
	l := newTokenGuessLimiter()
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 100; i++ {
		if ok, _ := l.may("a", t0); !ok {
			t.Fatal("may spent a guess")
		}
	}
	for i := 0; i < tokenGuessBurst; i++ {
		if ok, _ := l.may("a", t0); !ok {
			t.Fatalf("guess %d refused within the burst", i+1)
		}
		l.take("a", t0)
	}
	ok, wait := l.may("a", t0)
	if ok || wait != tokenGuessEvery {
		t.Fatalf("past the burst: may %v, wait %v; want a wait of %v", ok, wait, tokenGuessEvery)
	}
	if ok, _ := l.may("b", t0); !ok {
		t.Error("another client is held up")
	}
	if ok, _ := l.may("a", t0.Add(tokenGuessEvery-time.Millisecond)); ok {
		t.Error("a guess came back early")
	}
	t1 := t0.Add(tokenGuessEvery)
	if ok, _ := l.may("a", t1); !ok {
		t.Error("no guess back after one period")
	}
	l.take("a", t1)
	if ok, _ := l.may("a", t1); ok {
		t.Error("two guesses came back after one period")
	}
}
