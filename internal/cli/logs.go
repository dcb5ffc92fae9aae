package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/spf13/cobra"
)

func (a *app) logsCommand() *cobra.Command {
	var step, escapes, env string
	var follow bool
	var release versionValue
	var lines int
	c := &cobra.Command{
		Use:   "logs RUN | logs --env PROJECT/ENV",
		Short: "Print a run's log, or what an environment's instances printed; --follow streams it live",
		Long: `Print a run's log; --follow streams it live until the run ends.

With --env PROJECT/ENV instead of a RUN, print what the instances of the environment's live release (or
--release VERSION, 7 or v7) printed: the last --lines of each instance, each line headed by its instance
("[2] ..."), then with --follow the lines they print until interrupted.`,
		Args: func(c *cobra.Command, args []string) error {
			if env != "" {
				return maxArgs(0)(c, args)
			}
			return exactArgs(1, "a RUN id, or --env PROJECT/ENV")(c, args)
		},
		RunE: func(c *cobra.Command, args []string) error {
			var strip bool
			switch escapes {
			case "auto":
				strip = isTerminal(a.stdout)
			case "always", "never":
				strip = escapes == "always"
			default:
				return usageError{msg: fmt.Sprintf("--strip-escapes %q: give auto, always or never", escapes)}
			}
			if env != "" && step != "" {
				return usageError{msg: "--step goes with a RUN; --env shows an environment's instances"}
			}
			if env != "" {
				return a.appLogs(c.Context(), env, int64(release), lines, follow, strip)
			}
			if c.Flags().Changed("release") || c.Flags().Changed("lines") {
				return usageError{msg: "--release and --lines go with --env PROJECT/ENV"}
			}
			id, cl, err := a.idClient(args[0])
			if err != nil {
				return err
			}
			body, err := cl.Logs(c.Context(), id, step, follow)
			if err != nil {
				return err
			}
			defer body.Close()
			if err := a.printLog(c.Context(), body, strip); err != nil {
				return err
			}
			if follow && !a.jsonOut {
				if rv, err := cl.Run(context.WithoutCancel(c.Context()), id); err == nil {
					fmt.Fprintf(a.stdout, "run %d %s", rv.ID, rv.State)
					if rv.Reason != "" {
						reason := rv.Reason
						if strip {
							reason = stripEscapes(reason)
						}
						fmt.Fprintf(a.stdout, ": %s", reason)
					}
					fmt.Fprintln(a.stdout)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&step, "step", "", "only this step (NAME or STAGE/NAME)")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the run ends")
	c.Flags().StringVar(&env, "env", "", "print what the instances of PROJECT/ENV printed instead of a run's log")
	c.Flags().Var(&release, "release", "with --env: the release whose instances, by its version: 7 or v7 (default: the live one)")
	c.Flags().IntVarP(&lines, "lines", "n", 100, "with --env: how many of each instance's last lines (0 to 10000)")
	c.Flags().StringVar(&escapes, "strip-escapes", "auto", "remove the escape sequences and control characters steps printed: auto (when writing to a terminal), always or never")
	a.addJSON(c)
	return c
}

// printLog copies a run's log stream to stdout: JSON lines as they come with --json (where escapes are
// JSON-quoted), "[stage/step] text" otherwise, the text without escape sequences when strip is set.
func (a *app) printLog(ctx context.Context, r io.Reader, strip bool) error {
	return a.printLines(ctx, r, func(bw *bufio.Writer, line []byte) error {
		var ln api.LogLine
		if err := json.Unmarshal(line, &ln); err != nil {
			return fmt.Errorf("decode log line: %w", err)
		}
		if strip {
			ln.Step, ln.Text = stripEscapes(ln.Step), stripEscapes(ln.Text)
		}
		fmt.Fprintf(bw, "%s [%s] %s\n", ln.Time.Local().Format("15:04:05.000"), ln.Step, ln.Text)
		return nil
	})
}

// printLines copies a stream of JSON lines to stdout: as they come with --json, else each through render.
// It flushes whenever the stream pauses, so a follower sees lines as they arrive, and ends at the stream's
// end or ctx's.
func (a *app) printLines(ctx context.Context, r io.Reader, render func(bw *bufio.Writer, line []byte) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriter(a.stdout)
	defer bw.Flush()
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if a.jsonOut {
				bw.Write(line)
			} else if rerr := render(bw, line); rerr != nil {
				return rerr
			}
		}
		if br.Buffered() == 0 {
			bw.Flush()
		}
		if err == io.EOF || ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
	}
}
