// Command tolk runs live interpreted events: the floor comes in once, each
// language is mixed and served over WebRTC and LL-HLS.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"tolk/cmd/tolk/event"
	"tolk/internal/config"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// usageError marks a problem with what the user typed or gave: exit code 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the CLI and returns the process exit code.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	fmt.Fprintln(stderr, "tolk:", err)
	var ue usageError
	var p config.Problems
	if errors.As(err, &ue) || errors.As(err, &p) || isFlagError(err) {
		return 2
	}
	return 1
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "tolk",
		Short:         "Live interpretation and captions for hybrid events",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newServe(), newCheck(), newToken(), newExport(), newVersion())
	return root
}

// isFlagError recognises cobra's own complaints about the command line,
// which it returns as plain errors.
func isFlagError(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "unknown flag", "unknown shorthand", "flag needs an argument"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

func newVersion() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print tolk's version",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			fmt.Fprintln(c.OutOrStdout(), "tolk", version)
			return nil
		},
	}
}

func newCheck() *cobra.Command {
	return &cobra.Command{
		Use:   "check CONFIG",
		Short: "Validate an event configuration file",
		Args:  cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			ev, err := config.Load(args[0], os.Environ(), event.CheckGlossary)
			if err != nil {
				return usageError{err}
			}
			if src, run, ok := ev.Floor.Replay(ev.ID); ok {
				fmt.Fprintf(c.OutOrStdout(), "%s: ok (event %q, a rebroadcast of the recorded run %s/%s; that it exists is checked when it is served)\n",
					args[0], ev.ID, src, run)
				return nil
			}
			only := ""
			if co := ev.CaptionOnly(); len(co) > 0 {
				only = ", captions only (machine-translated): " + strings.Join(co, ", ")
			}
			fmt.Fprintf(c.OutOrStdout(), "%s: ok (event %q, floor %s, %d interpreted languages%s)\n",
				args[0], ev.ID, ev.Floor.Language, len(ev.Languages), only)
			return nil
		},
	}
}
