package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"tolk/captions/export"
	"tolk/internal/config"
	"tolk/internal/store"
)

type exportFlags struct {
	data, event, lang, format, out, title string
	offset, from, to                      time.Duration
}

func newExport() *cobra.Command {
	var f exportFlags
	c := &cobra.Command{
		Use:   "export --event ID --lang TAG [--format srt|vtt|ttml|stl|ebu-tt-d] [--out FILE|-]",
		Short: "Write an event's captions in one language as a subtitle file",
		Long: `Write the captions of one language of an event, as the editors left them,
as SubRip (srt), WebVTT (vtt), TTML (ttml), EBU STL (stl) or EBU-TT-D
(ebu-tt-d, written to NAME.ebu-tt-d.xml). Times count from the start of the
recording: program time zero of the event's first run. A later run of the same
event (tolk serve restarted on the same data directory) continues the
recording, its cues later by the wall-clock time between the two runs' starts.
--offset shifts the times, --from and --to cut a range (times then count from
--from, e.g. to export one run); EBU STL time codes stop at 24 h, so export
later times with --from. The format defaults to the ending of --out.`,
		Example: `  tolk export --data ./tolk-data --event demo --lang en --format srt --out en.srt
  tolk export --event demo --lang fr --out fr.vtt --offset 2s --from 1m --to 5m
  tolk export --event demo --lang de --format ttml --out -
  tolk export --event demo --lang en --out en.ebu-tt-d.xml`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return runExport(c, f) },
	}
	fl := c.Flags()
	fl.StringVar(&f.data, "data", "", "data directory (default $TOLK_SERVER_DATA or "+config.DefaultData+")")
	fl.StringVar(&f.event, "event", "", "event id")
	fl.StringVar(&f.lang, "lang", "", "caption language (BCP 47)")
	fl.StringVar(&f.format, "format", "", "srt, vtt, ttml, stl or ebu-tt-d (default: the ending of --out)")
	fl.StringVar(&f.out, "out", "-", "output file, or - for standard output")
	fl.StringVar(&f.title, "title", "", "title in the file's metadata (TTML, EBU-TT-D, STL; default the event id)")
	fl.DurationVar(&f.offset, "offset", 0, "shift every time by this much (e.g. 2s or -500ms)")
	fl.DurationVar(&f.from, "from", 0, "start of the range to export")
	fl.DurationVar(&f.to, "to", 0, "end of the range to export (default: the end)")
	return c
}

func runExport(c *cobra.Command, f exportFlags) error {
	switch {
	case f.event == "":
		return usagef("--event is required")
	case f.lang == "":
		return usagef("--lang is required")
	}
	format := strings.ToLower(f.format)
	if format == "" && f.out != "-" {
		if _, of, ok := export.FormatOf(filepath.Base(f.out)); ok {
			format = of
		} else {
			format = strings.TrimPrefix(strings.ToLower(filepath.Ext(f.out)), ".")
		}
	}
	if format == "" {
		return usagef("--format is required when writing to standard output (%s)", strings.Join(export.Formats, ", "))
	}
	if _, ok := export.ContentType(format); !ok {
		return usagef("--format %q: want one of %s", format, strings.Join(export.Formats, ", "))
	}
	if f.from < 0 || (f.to != 0 && f.to <= f.from) {
		return usagef("--from %v --to %v: want 0 <= from < to", f.from, f.to)
	}
	s, err := openExisting(f.data)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(c.Context(), tokenTimeout)
	defer cancel()
	langs, err := s.Languages(ctx, f.event)
	if err != nil {
		return storeErr(err)
	}
	lang, ok := matchLang(langs, f.lang)
	if !ok {
		if len(langs) == 0 {
			return usagef("event %q has no captions in the data directory %s", f.event, dataDir(f.data))
		}
		return usagef("event %q has no captions in %q (it has %s)", f.event, f.lang, strings.Join(langs, ", "))
	}
	cues, err := s.Cues(ctx, f.event, lang, 0, store.All)
	if err != nil {
		return storeErr(err)
	}
	title := f.title
	if title == "" {
		title = f.event
	}
	opts := export.Options{Offset: f.offset, From: f.from, To: f.to, Title: title, Lang: lang}
	// A range the format cannot hold is checked before anything is written.
	if err := export.Write(io.Discard, format, cues, opts); errors.Is(err, export.ErrRange) {
		return usagef("%v", err)
	}
	if f.out == "-" {
		return export.Write(c.OutOrStdout(), format, cues, opts)
	}
	if err := writeFileAtomic(f.out, func(w io.Writer) error { return export.Write(w, format, cues, opts) }); err != nil {
		return err
	}
	fmt.Fprintf(c.ErrOrStderr(), "wrote %d cues to %s\n", len(cues), f.out)
	return nil
}

// matchLang finds lang among the stored languages, ignoring case.
func matchLang(langs []string, lang string) (string, bool) {
	for _, l := range langs {
		if strings.EqualFold(l, lang) {
			return l, true
		}
	}
	return "", false
}

// writeFileAtomic writes through a temporary file renamed into place, so a
// failed export never leaves half a file where the previous one was.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
