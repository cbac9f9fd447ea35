package captions

import (
	"math"
	"strings"
	"time"
	"unicode"
)

// ReadingLimits are the norms a cue is checked against for an editor: how
// fast viewers must read it and how it fits the screen. The recognizer's own
// limits (MaxLineChars, TargetCPS, …) shape the cues it makes; these judge
// cues as subtitlers do.
type ReadingLimits struct {
	MaxCPS       float64 // characters per second, spaces counted, line breaks not
	MaxLineChars int     // characters in a line
	MaxLines     int
	MinDuration  time.Duration
	MaxDuration  time.Duration
}

// DefaultReadingLimits are common subtitling norms for adult viewers
// (streaming and broadcast style guides agree within a little): at most
// 17 characters per second, 42 characters a line, 2 lines, shown between
// 5/6 s (20 frames at 24 fps) and 7 s. Children's programmes use about
// 13 cps.
func DefaultReadingLimits() ReadingLimits {
	return ReadingLimits{
		MaxCPS:       17,
		MaxLineChars: MaxLineChars,
		MaxLines:     MaxLines,
		MinDuration:  time.Second * 5 / 6,
		MaxDuration:  7 * time.Second,
	}
}

// The warnings CheckReading gives.
const (
	WarnReadingSpeed = "reading_speed" // more characters per second than MaxCPS
	WarnLineLength   = "line_length"   // a line longer than MaxLineChars
	WarnLines        = "lines"         // more lines than MaxLines
	WarnTooShort     = "too_short"     // shown less than MinDuration
	WarnTooLong      = "too_long"      // shown more than MaxDuration
)

// Reading is how a cue reads.
type Reading struct {
	CPS      float64       // characters per second, to 0.1
	Chars    int           // characters shown, spaces counted, line breaks not
	Lines    int           // lines with text
	MaxLine  int           // characters in the longest line
	Duration time.Duration // how long it shows
	Warnings []string      // which limits it breaks, in the order above; empty if none
}

// CheckReading measures a cue's text ("\n" between lines) shown for d
// against l. A zero limit is not checked. Characters are counted as a reader
// sees them: a letter with combining accents is one.
func CheckReading(text string, d time.Duration, l ReadingLimits) Reading {
	r := Reading{Duration: d, Warnings: []string{}}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n := 0
		for _, c := range line {
			if !unicode.Is(unicode.Mn, c) && !unicode.Is(unicode.Me, c) && !unicode.Is(unicode.Cf, c) {
				n++
			}
		}
		r.Lines++
		r.Chars += n
		r.MaxLine = max(r.MaxLine, n)
	}
	if d > 0 {
		r.CPS = math.Round(float64(r.Chars)/d.Seconds()*10) / 10
	}
	if l.MaxCPS > 0 && r.Chars > 0 && (d <= 0 || float64(r.Chars)/d.Seconds() > l.MaxCPS) {
		r.Warnings = append(r.Warnings, WarnReadingSpeed)
	}
	if l.MaxLineChars > 0 && r.MaxLine > l.MaxLineChars {
		r.Warnings = append(r.Warnings, WarnLineLength)
	}
	if l.MaxLines > 0 && r.Lines > l.MaxLines {
		r.Warnings = append(r.Warnings, WarnLines)
	}
	if l.MinDuration > 0 && d < l.MinDuration {
		r.Warnings = append(r.Warnings, WarnTooShort)
	}
	if l.MaxDuration > 0 && d > l.MaxDuration {
		r.Warnings = append(r.Warnings, WarnTooLong)
	}
	return r
}
