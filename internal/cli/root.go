// Package cli owns ferry's command line: one file per command. Client commands talk to a server over the HTTP
// API; exec and demo run in-process. It must not reach into the store directly.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// exitError carries an exit code without printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a mistake in how a command was called; it prints a hint and exits 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// app holds what every command shares.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	server, token  string
	jsonOut        bool
}

// Main runs the ferry command line with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "ferry: %s\n", ue.msg)
		return 2
	}
	fmt.Fprintf(stderr, "ferry: %v\n", err)
	return 1
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "ferry",
		Short: "Continuous deployment in one binary",
		Long: `ferry runs your repository's .ferry.yaml pipeline on every commit of a watched branch; each stage is a
quality gate, and a passed run leaves an immutable release.

Start with:  ferry demo          (the whole loop on an example repository)
             ferry init          (a starter .ferry.yaml for your repository)
             ferry exec          (run the pipeline of a local checkout once)
             ferry serve         (the server; then ferry project add ...)`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{msg: fmt.Sprintf("%v (see %s --help)", err, c.CommandPath())}
	})
	root.PersistentFlags().StringVar(&a.server, "server", envOr("FERRY_SERVER", "http://127.0.0.1:8080"), "ferry server URL (env FERRY_SERVER)")
	// The token's default is read when a client is made, not given to the flag: a flag's default is printed by
	// --help, and a credential must never be.
	root.PersistentFlags().StringVar(&a.token, "token", "", "API token (default $FERRY_TOKEN)")
	root.AddCommand(
		a.initCommand(), a.validateCommand(), a.execCommand(), a.serveCommand(), a.demoCommand(),
		a.projectCommand(), a.runsCommand(), a.runCommand(), a.logsCommand(), a.triggerCommand(),
		a.secretCommand(), a.releasesCommand(), a.releaseCommand(), a.dataplaneCommand(),
		a.statusCommand(), a.rolloutCommand(), a.doraCommand(), a.auditCommand(), a.tokenCommand(), a.notificationsCommand(),
		a.flagsCommand(), a.flagCommand(), a.trafficCommand(),
		a.envActionCommand("promote", "Skip the remaining pauses of an environment's rollout: all traffic on the new release"),
		a.envActionCommand("pause", "Hold an environment's rollout at its step (analysis goes on; a breach still rolls back)"),
		a.envActionCommand("resume", "Let a paused rollout go on"),
		a.envActionCommand("abort", "Stop an environment's rollout and put all traffic back on the release live before it"),
		a.envActionCommand("rollback", "Put an environment back on its previous release, or on --to VERSION (7 or v7), at once"),
	)
	return root
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// addJSON gives a command that reads state its --json flag.
func (a *app) addJSON(c *cobra.Command) {
	c.Flags().BoolVar(&a.jsonOut, "json", false, "print JSON instead of text")
}

func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{msg: fmt.Sprintf("%s needs %s (see %s --help)", c.CommandPath(), names, c.CommandPath())}
		}
		return nil
	}
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) > n {
			return usageError{msg: fmt.Sprintf("%s takes at most %d argument(s) (see %s --help)", c.CommandPath(), n, c.CommandPath())}
		}
		return nil
	}
}
