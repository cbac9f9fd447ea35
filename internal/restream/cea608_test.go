package restream

import (
	"bytes"
	"strings"
	"testing"

	"tolk/internal/media"
)

func TestCC608Text(t *testing.T) {
	if got := ccText("café"); got != "caf\x5c" {
		t.Fatalf("ccText(café) = %q", got)
	}
	if got := ccText("Ça marche:\ntrès bien, señor * ~ 日本"); got != "Ca marche: tres bien, se\x7eor" {
		t.Fatalf("ccText = %q", got)
	}
	if rows := wrap("one two three four five six seven eight nine ten", 12); strings.Join(rows, "|") != "one two|three four|five six|seven eight|nine ten" {
		t.Fatalf("wrap = %q", rows)
	}
	if parity(0x14) != 0x94 || parity(0x25) != 0x25 || parity(0x80) != 0x80 {
		t.Fatalf("parity %#x %#x %#x", parity(0x14), parity(0x25), parity(0x80))
	}
	var c cc608
	c.add(media.Cue{Start: 100, Text: "not yet"})            // partial: never sent
	c.add(media.Cue{Start: 100, Text: "Hello", Final: true}) // sent from 100 on
	if c.sei(99) != nil {
		t.Fatal("a cue went out before its start")
	}
	n := 0
	for c.sei(200) != nil {
		n++
	}
	// RU2, CR, PAC twice each, and three pairs of text: 9 pairs, 2 a picture.
	if n != 5 {
		t.Fatalf("%d pictures carried the cue, want 5", n)
	}
}

// FuzzCC608: any text becomes odd-parity pairs in rows of 32 characters at
// most, in SEI units without a start code emulation.
func FuzzCC608(f *testing.F) {
	f.Add("Bonjour à tous", int64(0))
	f.Add("\x00\x00\x03\xff", int64(-1))
	f.Add(strings.Repeat("mot ", 100), int64(1<<40))
	f.Fuzz(func(t *testing.T, text string, start int64) {
		for _, row := range wrap(ccText(text), ccLine) {
			if len(row) > ccLine {
				t.Fatalf("row of %d", len(row))
			}
		}
		var c cc608
		c.add(media.Cue{Start: start, Text: text, Final: true})
		for i := 0; i < 10000; i++ {
			sei := c.sei(start)
			if sei == nil {
				break
			}
			if bytes.Contains(sei[1:], []byte{0, 0, 0}) || bytes.Contains(sei[1:], []byte{0, 0, 1}) || bytes.Contains(sei[1:], []byte{0, 0, 2}) {
				t.Fatalf("start code emulation in %x", sei)
			}
		}
		for _, p := range c.queue {
			for _, b := range p {
				if parity(b) != b {
					t.Fatalf("%#x has even parity", b)
				}
			}
		}
	})
}
