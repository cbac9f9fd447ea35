package captions

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckReading(t *testing.T) {
	l := DefaultReadingLimits()
	for _, c := range []struct {
		name  string
		text  string
		d     time.Duration
		cps   float64
		chars int
		lines int
		max   int
		warn  []string
	}{
		{"fine", "Good morning,\neveryone.", 2 * time.Second, 11, 22, 2, 13, nil},
		{"fast", "Good morning, everyone, and welcome.", 2 * time.Second, 18, 36, 1, 36, []string{WarnReadingSpeed}},
		{"long line", strings.Repeat("a", 43), 3 * time.Second, 14.3, 43, 1, 43, []string{WarnLineLength}},
		{"three lines", "one\ntwo\nthree", 2 * time.Second, 5.5, 11, 3, 5, []string{WarnLines}},
		{"short", "Hi.", 500 * time.Millisecond, 6, 3, 1, 3, []string{WarnTooShort}},
		{"long", "Hello.", 8 * time.Second, 0.8, 6, 1, 6, []string{WarnTooLong}},
		{"no time", "Hello.", 0, 0, 6, 1, 6, []string{WarnReadingSpeed, WarnTooShort}},
		{"empty", "", 2 * time.Second, 0, 0, 0, 0, nil},
		// e + combining acute is one character to a reader.
		{"accents", "Cafe\u0301 cre\u0300me", 2 * time.Second, 5, 10, 1, 10, nil},
		{"blank lines", "\n  one  \n\n", time.Second, 3, 3, 1, 3, nil},
	} {
		r := CheckReading(c.text, c.d, l)
		if r.CPS != c.cps || r.Chars != c.chars || r.Lines != c.lines || r.MaxLine != c.max || !slices.Equal(r.Warnings, append([]string{}, c.warn...)) {
			t.Errorf("%s: %+v", c.name, r)
		}
	}
	// Zero limits are not checked; stricter ones are.
	if r := CheckReading("Hello.", 0, ReadingLimits{}); len(r.Warnings) != 0 {
		t.Errorf("no limits: %v", r.Warnings)
	}
	kids := DefaultReadingLimits()
	kids.MaxCPS = 13
	if r := CheckReading("Good morning, everyone.", 1500*time.Millisecond, kids); !slices.Contains(r.Warnings, WarnReadingSpeed) {
		t.Errorf("13 cps: %+v", r)
	}
}
