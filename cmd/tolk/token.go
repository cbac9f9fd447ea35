package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"tolk/internal/config"
	"tolk/internal/store"
)

// tokenTimeout bounds one token command; the store waits at most a few
// seconds for a busy server's write lock.
const tokenTimeout = 30 * time.Second

type tokenFlags struct {
	data, event, role, lang, name, base string
}

func newToken() *cobra.Command {
	var f tokenFlags
	c := &cobra.Command{
		Use:   "token --event ID --role ROLE [--lang TAG] [--name NAME] [--base URL]",
		Short: "Issue, list and revoke access tokens for booths, the console and the caption editor",
		Long: `Issue an access token and print its secret and link. The secret is shown only
once: the data directory keeps just its hash. Interpreter tokens open the booth
of one language (/booth/EVENT/LANG), producer tokens the console
(/console/EVENT), editor tokens the caption editor (/edit/EVENT), listener
tokens the watch page and the players of an event whose access is closed
(/watch/EVENT; access: in the event's configuration).

Tokens can be issued, listed and revoked while tolk serve runs on the same data
directory; a revocation takes effect at the server's next check.`,
		Example: `  tolk token --event demo --role interpreter --lang fr --name "Anne" --base http://127.0.0.1:8080
  tolk token list --event demo
  tolk token revoke 3f9a0c1e`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return createToken(c, f) },
	}
	c.PersistentFlags().StringVar(&f.data, "data", "", "data directory (default $TOLK_SERVER_DATA or "+config.DefaultData+")")
	fl := c.Flags()
	fl.StringVar(&f.event, "event", "", "event id")
	fl.StringVar(&f.role, "role", "", "producer, interpreter, editor or listener")
	fl.StringVar(&f.lang, "lang", "", "the interpreter's target language (BCP 47, e.g. fr or pt-BR)")
	fl.StringVar(&f.name, "name", "", "who holds the token (required for interpreters, at most 64 characters)")
	fl.StringVar(&f.base, "base", "", "server base URL, e.g. https://tolk.example.org, to print full links")
	c.AddCommand(newTokenList(&f), newTokenRevoke(&f))
	return c
}

func newTokenList(f *tokenFlags) *cobra.Command {
	var event string
	c := &cobra.Command{
		Use:   "list [--event ID]",
		Short: "List tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			return listTokens(c, f.data, event)
		},
	}
	c.Flags().StringVar(&event, "event", "", "only this event's tokens")
	return c
}

func newTokenRevoke(f *tokenFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a token by its id (as shown by token list)",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			return revokeToken(c, f.data, args[0])
		},
	}
}

// dataDir resolves the data directory as serve does: flag, then
// TOLK_SERVER_DATA, then the default.
func dataDir(flag string) string {
	if flag != "" {
		return flag
	}
	if d := os.Getenv("TOLK_SERVER_DATA"); d != "" {
		return d
	}
	return config.DefaultData
}

// openExisting opens the store of a data directory that must already exist:
// listing or revoking in a mistyped directory is an error, not a new store.
func openExisting(flag string) (*store.Store, error) {
	dir := dataDir(flag)
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, usagef("data directory %s does not exist (give it with --data)", dir)
	}
	return store.Open(dir)
}

// storeErr turns the store's complaints about input into usage errors.
func storeErr(err error) error {
	if errors.Is(err, store.ErrInvalid) {
		return usageError{err}
	}
	return err
}

func createToken(c *cobra.Command, f tokenFlags) error {
	switch {
	case f.event == "":
		return usagef("--event is required")
	case f.role == "":
		return usagef("--role is required (producer, interpreter, editor or listener)")
	}
	base, err := parseBase(f.base)
	if err != nil {
		return err
	}
	s, err := store.Open(dataDir(f.data))
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(c.Context(), tokenTimeout)
	defer cancel()
	secret, t, err := s.CreateToken(ctx, f.event, store.Role(f.role), f.lang, f.name)
	if err != nil {
		return storeErr(err)
	}
	out := c.OutOrStdout()
	fmt.Fprintf(out, "id:     %s\n", t.ID)
	fmt.Fprintf(out, "secret: %s\n", secret)
	fmt.Fprintf(out, "link:   %s\n", tokenLink(base, t, secret))
	fmt.Fprintln(c.ErrOrStderr(), "The secret is shown only now; revoke it with: tolk token revoke", t.ID)
	return nil
}

// parseBase checks a --base URL and returns it without a trailing slash.
func parseBase(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", usagef("--base %q: want an http or https URL such as https://tolk.example.org", s)
	}
	return strings.TrimRight(s, "/"), nil
}

// tokenLink is the page a token opens, under base ("" for a path only).
func tokenLink(base string, t store.Token, secret string) string {
	var p string
	switch t.Role {
	case store.RoleInterpreter:
		p = "/booth/" + url.PathEscape(t.Event) + "/" + url.PathEscape(t.Lang)
	case store.RoleProducer:
		p = "/console/" + url.PathEscape(t.Event)
	case store.RoleListener:
		p = "/watch/" + url.PathEscape(t.Event)
	default:
		p = "/edit/" + url.PathEscape(t.Event)
	}
	return base + p + "?token=" + url.QueryEscape(secret)
}

func listTokens(c *cobra.Command, data, event string) error {
	s, err := openExisting(data)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(c.Context(), tokenTimeout)
	defer cancel()
	ts, err := s.Tokens(ctx, event)
	if err != nil {
		return storeErr(err)
	}
	if len(ts) == 0 {
		fmt.Fprintln(c.ErrOrStderr(), "no tokens")
		return nil
	}
	w := tabwriter.NewWriter(c.OutOrStdout(), 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tEVENT\tROLE\tLANG\tNAME\tCREATED\tREVOKED")
	for _, t := range ts {
		revoked := "-"
		if t.Revoked != nil {
			revoked = t.Revoked.Local().Format(time.DateTime)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Event, t.Role, dash(t.Lang), dash(t.Name),
			t.Created.Local().Format(time.DateTime), revoked)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func revokeToken(c *cobra.Command, data, id string) error {
	s, err := openExisting(data)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(c.Context(), tokenTimeout)
	defer cancel()
	if !isTokenID(id) {
		// A secret: find its id, to say which token went.
		t, err := s.Check(ctx, id)
		if err != nil && !errors.Is(err, store.ErrRevoked) {
			return usagef("no such token (give the id shown by tolk token list)")
		}
		id = t.ID
	}
	err = s.Revoke(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return usagef("no token with id %s (see tolk token list)", id)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(c.OutOrStdout(), "revoked token", id)
	return nil
}

// isTokenID reports whether s has the form of a public token id; anything
// else may be a secret and is never echoed.
func isTokenID(s string) bool {
	return len(s) == 8 && strings.Trim(s, "0123456789abcdef") == ""
}
