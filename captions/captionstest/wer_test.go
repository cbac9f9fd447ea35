package captionstest

import (
	"math"
	"testing"
)

func TestWER(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ref, hyp string
		want     float64
	}{
		{"identical", "the cat sat", "the cat sat", 0},
		{"case and punctuation", "Good morning, and welcome!", "good morning and welcome", 0},
		{"one substitution", "the cat sat on the mat", "the cat sat on the hat", 1.0 / 6},
		{"one deletion", "the cat sat on the mat", "the cat on the mat", 1.0 / 6},
		{"one insertion", "the cat sat", "the big cat sat", 1.0 / 3},
		{"all wrong", "a b", "c d e f", 2},
		{"empty hypothesis", "three words here", "", 1},
		{"empty both", "", "  ", 0},
		{"empty reference", "...", "noise", 1},
		{"digits as words", "at 11 o'clock", "at eleven o'clock", 0},
		{"large number", "2026 people", "two thousand twenty six people", 0},
		{"hundreds", "305 seconds", "three hundred five seconds", 0},
		{"leading zero read by digit", "007", "zero zero seven", 0},
		{"curly apostrophe", "don’t stop", "don't stop", 0},
		{"hyphen splits", "well-known", "well known", 0},
		{"digits inside word", "mp3 file", "mp three file", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := WER(tc.ref, tc.hyp)
			if math.Abs(got-tc.want) > 1e-9 {
				t.Fatalf("WER(%q, %q) = %v, want %v (normalized %q / %q)", tc.ref, tc.hyp, got, tc.want,
					Normalize(tc.ref), Normalize(tc.hyp))
			}
		})
	}
}

func TestNormalizeNumbers(t *testing.T) {
	for in, want := range map[string]string{
		"0":       "zero",
		"13":      "thirteen",
		"40":      "forty",
		"101":     "one hundred one",
		"1000000": "one million",
		"12,500":  "twelve five hundred", // separators split runs: spoken forms vary anyway
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzWER(f *testing.F) {
	f.Add("the cat sat", "the hat")
	f.Add("1234567890123456789", "")
	f.Fuzz(func(t *testing.T, ref, hyp string) {
		w := WER(ref, hyp)
		if math.IsNaN(w) || w < 0 {
			t.Fatalf("WER = %v", w)
		}
		if WER(ref, ref) != 0 {
			t.Fatalf("WER(x, x) != 0 for %q", ref)
		}
	})
}

func BenchmarkWER(b *testing.B) {
	ref := "Good morning, and welcome to the annual meeting of the city network. Today we will talk about public transport, clean energy and housing."
	hyp := "good morning and welcome to the annual meeting of a city network today we will talk about public transport clean energy in housing"
	for b.Loop() {
		WER(ref, hyp)
	}
}
