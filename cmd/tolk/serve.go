package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"tolk/cmd/tolk/event"
	"tolk/internal/config"
	"tolk/internal/ingest"
	"tolk/internal/recording"
	"tolk/internal/rtc"
	"tolk/internal/store"
	interp "tolk/interpreter"
	"tolk/web"
)

type serveFlags struct {
	config   string
	http     string
	data     string
	demo     bool
	loopback bool
	logLevel string
	// rebroadcast (EVENT/RUN), at and loop play a recorded run out again.
	rebroadcast string
	at          string
	loop        bool
	// pprof is a loopback address for Go's runtime profiles ("": none).
	pprof string
}

func newServe() *cobra.Command {
	var f serveFlags
	c := &cobra.Command{
		Use:   "serve",
		Short: "Run an event (or the demo event with --demo)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return serve(c, f)
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.config, "config", "", "event configuration file (YAML)")
	fl.StringVar(&f.http, "http", "", "HTTP listen address (default "+config.DefaultHTTP+")")
	fl.StringVar(&f.data, "data", "", "data directory (default "+config.DefaultData+")")
	fl.BoolVar(&f.demo, "demo", false, "run the built-in demo event: a looped speech clip as the floor, three languages")
	fl.BoolVar(&f.loopback, "webrtc-loopback", false, "offer only loopback ICE candidates (single-machine tests)")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.rebroadcast, "rebroadcast", "", "play a recorded run out again as a live event: EVENT/RUN (RUN alone: a run of the --config event)")
	fl.StringVar(&f.at, "at", "", "with --rebroadcast: when it begins, RFC 3339 (default: now)")
	fl.BoolVar(&f.loop, "loop", false, "with --rebroadcast: play the run again from its beginning when it ends")
	fl.StringVar(&f.pprof, "pprof", "", "serve Go's runtime profiles (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (default: none)")
	return c
}

func serve(c *cobra.Command, f serveFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return usagef("--log-level: %v", err)
	}
	log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: level}))

	if f.pprof != "" {
		if err := checkPprofAddr(f.pprof); err != nil {
			return usageError{err}
		}
	}
	cfg, err := loadServeConfig(f)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.Server.Data, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if f.demo {
		clip := filepath.Join(cfg.Server.Data, "demo-floor.ogg")
		if err := os.WriteFile(clip, ingest.DemoClip(), 0o640); err != nil {
			return fmt.Errorf("write demo clip: %w", err)
		}
		cfg.Floor.Source = "file:" + clip
	}

	st, err := store.Open(cfg.Server.Data)
	if err != nil {
		return fmt.Errorf("open data directory: %w", err)
	}
	defer st.Close()
	// The key that signs viewers' sessions to a closed event, kept in the
	// data directory so that a restart keeps them.
	keyCtx, cancelKey := context.WithTimeout(context.Background(), 30*time.Second)
	accessKey, err := st.Key(keyCtx, "access")
	cancelKey()
	if err != nil {
		return fmt.Errorf("access key: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Server.HTTP)
	if err != nil {
		return usagef("listen on %s: %v", cfg.Server.HTTP, err)
	}
	// Every run is recorded under DATA/recordings/{event}/ (unless the
	// event says record: false); runs a killed process left are recovered.
	recordings := recording.NewLibrary(filepath.Join(cfg.Server.Data, recording.Dir))
	// The LL-HLS numbering is kept beside them, so that after a crash the
	// playlists go on where players left them; and who is on air in each
	// booth, under DATA/booths/{event}.json, so that after a restart, even a
	// kill, the interpreter on air is on air again when their page
	// reconnects.
	booths, err := interp.OpenStateFile(filepath.Join(cfg.Server.Data, "booths", cfg.ID+".json"), nil, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer booths.Close() // after the event's booths have stopped saving
	ev, err := event.New(cfg, event.Options{Log: log, Cues: st, Recordings: recordings, WebRTC: rtc.Options{Loopback: f.loopback},
		HLSState: filepath.Join(cfg.Server.Data, "hls", cfg.ID+".json"), BoothState: booths, Settings: st})
	if err != nil {
		ln.Close()
		if errors.Is(err, event.ErrRebroadcast) {
			return usageError{err}
		}
		return err
	}
	srv, err := web.New(web.Options{Log: log, RTC: rtc.Options{Loopback: f.loopback}, Tokens: st, Cues: st, AccessKey: accessKey,
		Origins: cfg.Server.Origins})
	if err != nil {
		ln.Close()
		ev.Close()
		return err
	}
	if err := srv.AddEvent(ev); err != nil {
		ln.Close()
		ev.Close()
		return err
	}
	if err := ev.Start(); err != nil {
		ln.Close()
		srv.Close()
		ev.Close()
		return err
	}
	hs := newHTTPServer(srv, defaultHTTPLimits)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if f.pprof != "" {
		pl, err := net.Listen("tcp", f.pprof)
		if err != nil {
			hs.Close()
			ev.Close()
			srv.Close()
			return usagef("--pprof: listen on %s: %v", f.pprof, err)
		}
		ps := newPprofServer()
		go func() { _ = ps.Serve(pl) }()
		defer ps.Close()
		log.Info("runtime profiles", "url", "http://"+pl.Addr().String()+"/debug/pprof/")
	}

	base := "http://" + ln.Addr().String()
	out := c.OutOrStdout()
	fmt.Fprintf(out, "tolk is serving event %q (%s)\n", cfg.ID, ev.Title())
	if run, ok := ev.Rebroadcast(); ok {
		when := "now"
		if at, ok := cfg.Floor.StartTime(); ok {
			when = at.Format(time.RFC3339)
		}
		loop := ""
		if cfg.Floor.Loop {
			loop = ", looped"
		}
		fmt.Fprintf(out, "  a rebroadcast of the recorded run %s, from %s%s (booths closed)\n", run, when, loop)
	}
	fmt.Fprintf(out, "  watch:   %s/watch/%s\n", base, cfg.ID)
	fmt.Fprintf(out, "  LL-HLS:  %s/hls/%s/master.m3u8\n", base, cfg.ID)
	fmt.Fprintf(out, "  replay:  %s/replay/%s\n", base, cfg.ID)
	for _, r := range ev.Renditions() {
		fmt.Fprintf(out, "  WHEP %-3s %s/whep/%s/%s\n", r.Tag, base, cfg.ID, r.Tag)
	}
	if f.demo {
		var langs []string
		for _, l := range cfg.Languages {
			langs = append(langs, config.Tag(l.Tag))
		}
		producer, booths, err := st.DemoTokens(c.Context(), cfg.ID, langs)
		if err != nil {
			log.Warn("demo tokens", "err", err)
		}
		fmt.Fprintf(out, "  producer token: %s (Authorization: Bearer …, for %s/api/events/%s/booths)\n", producer, base, cfg.ID)
		fmt.Fprintf(out, "  console: %s/console/%s?token=%s\n", base, cfg.ID, producer)
		// The producer token also opens the caption editor.
		fmt.Fprintf(out, "  editor:  %s/edit/%s?token=%s\n", base, cfg.ID, producer)
		for _, lang := range langs {
			for i, tok := range booths[lang] {
				fmt.Fprintf(out, "  booth %s (interpreter %c): %s/booth/%s/%s?token=%s\n", lang, 'A'+i, base, cfg.ID, lang, tok)
			}
		}
	}
	if cfg.Floor.Source == "whip" {
		fmt.Fprintf(out, "  WHIP floor ingest: %s/whip/%s (Authorization: Bearer <floor.stream_key>)\n", base, cfg.ID)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		ev.Close()
		srv.Close()
		return fmt.Errorf("http server: %w", err)
	}
	// Finalise the playlists first: players that are blocked on the next part
	// get the ENDLIST instead of a dropped connection.
	ev.Close()
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Warn("http shutdown", "err", err)
	}
	srv.Close()
	log.Info("stopped")
	return nil
}

// loadServeConfig applies the file (or the demo), then TOLK_* variables, then flags.
func loadServeConfig(f serveFlags) (*config.Event, error) {
	var cfg *config.Event
	switch {
	case f.demo && f.config != "":
		return nil, usagef("--demo and --config exclude each other")
	case f.demo && f.rebroadcast != "":
		return nil, usagef("--demo and --rebroadcast exclude each other")
	case f.demo:
		cfg = config.Demo("demo-floor.ogg")
		if err := config.ApplyEnv(cfg, os.Environ()); err != nil {
			return nil, err
		}
	case f.config != "":
		var err error
		if cfg, err = config.Load(f.config, os.Environ(), event.CheckGlossary); err != nil {
			return nil, usageError{err}
		}
	case f.rebroadcast != "":
		ev, _, ok := strings.Cut(f.rebroadcast, "/")
		if !ok {
			return nil, usagef("--rebroadcast %s: give EVENT/RUN (RUN alone only with --config)", f.rebroadcast)
		}
		// The repeat runs under the original's id: its watch page, its
		// replay; the title and languages are the run's.
		cfg = &config.Event{ID: ev}
		if err := config.ApplyEnv(cfg, os.Environ()); err != nil {
			return nil, err
		}
		cfg.Defaults()
	default:
		return nil, usagef("give an event with --config FILE, or run the demo with --demo")
	}
	if f.rebroadcast == "" && (f.at != "" || f.loop) {
		return nil, usagef("--at and --loop go with --rebroadcast EVENT/RUN")
	}
	if f.rebroadcast != "" {
		if f.at != "" {
			if _, err := time.Parse(time.RFC3339, f.at); err != nil {
				return nil, usagef("--at %s: not a time such as 2026-11-03T17:00:00+01:00 (RFC 3339)", f.at)
			}
		}
		// The run replaces the configured floor; a floor language and name
		// given stay, and must be the run's.
		cfg.Floor = config.Floor{Language: cfg.Floor.Language, Name: cfg.Floor.Name,
			Source: config.ReplayPrefix + f.rebroadcast, Start: f.at, Loop: f.loop}
	}
	if f.http != "" {
		cfg.Server.HTTP = f.http
	}
	if f.data != "" {
		cfg.Server.Data = f.data
	}
	if p := cfg.Validate(); len(p) > 0 {
		return nil, p
	}
	return cfg, nil
}
