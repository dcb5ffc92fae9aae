package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

func (a *app) runsCommand() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "runs PROJECT",
		Short: "List a project's runs, newest first",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			var runs []store.Run
			path := fmt.Sprintf("/api/v1/projects/%s/runs?limit=%d", url.PathEscape(args[0]), limit)
			if err := cl.call(c.Context(), "GET", path, nil, &runs); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(runs)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "RUN\tSTATE\tCOMMIT\tTRIGGER\tCREATED\tDURATION\tREASON")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, short(r.Commit), r.Trigger, ago(r.CreatedAt), runDuration(&r), firstLine(r.Reason))
			}
			return tw.Flush()
		},
	}
	c.Flags().IntVar(&limit, "limit", 20, "how many runs to show")
	a.addJSON(c)
	return c
}

func runDuration(r *store.Run) string {
	switch {
	case r.StartedAt.IsZero():
		return "-"
	case r.FinishedAt.IsZero():
		return time.Since(r.StartedAt).Round(time.Second).String() + "…"
	}
	return r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
}

func firstLine(s string) string {
	first, _, more := strings.Cut(s, "\n")
	if more {
		return first + " …"
	}
	return first
}

func parseRunID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{msg: fmt.Sprintf("invalid run id %q: give the number ferry runs shows", s)}
	}
	return id, nil
}

func (a *app) runCommand() *cobra.Command {
	c := &cobra.Command{Use: "run", Short: "Show or cancel one run", Args: maxArgs(0)}
	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run: its state, why it ended, each step and its gate verdicts",
		Args:  exactArgs(1, "a RUN id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			var rv server.RunView
			if err := cl.call(c.Context(), "GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, &rv); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rv)
			}
			printRun(a.stdout, &rv)
			return nil
		},
	}
	a.addJSON(show)
	cancel := &cobra.Command{
		Use:   "cancel RUN",
		Short: "Cancel a queued or running run; its step processes are killed",
		Args:  exactArgs(1, "a RUN id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			var r store.Run
			if err := cl.call(c.Context(), "POST", fmt.Sprintf("/api/v1/runs/%d/cancel", id), nil, &r); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(r)
			}
			if r.State.Done() {
				fmt.Fprintf(a.stdout, "run %d is %s\n", r.ID, r.State)
			} else {
				fmt.Fprintf(a.stdout, "run %d: cancel requested\n", r.ID)
			}
			return nil
		},
	}
	a.addJSON(cancel)
	c.AddCommand(show, cancel)
	return c
}

// printRun prints a run the way ferry run show does.
func printRun(w io.Writer, rv *server.RunView) {
	fmt.Fprintf(w, "run %d  %s  %s@%s %s  (%s, %s)\n", rv.ID, strings.ToUpper(string(rv.State)), rv.Project, rv.Branch, short(rv.Commit), rv.Trigger, runDuration(rv.Run))
	if rv.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", rv.Reason)
	}
	if rv.ReleaseID != 0 {
		fmt.Fprintf(w, "release: %d\n", rv.ReleaseID)
	}
	if len(rv.Steps) > 0 {
		fmt.Fprintln(w)
		printSteps(w, rv.Steps)
	}
}

func (a *app) triggerCommand() *cobra.Command {
	var commit string
	c := &cobra.Command{
		Use:   "trigger PROJECT",
		Short: "Queue a run of the branch head, or of --commit",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			if commit != "" && !source.ValidCommit(commit) {
				return usageError{msg: fmt.Sprintf("invalid --commit %q: give a hexadecimal commit id", commit)}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			var r store.Run
			if err := cl.call(c.Context(), "POST", "/api/v1/projects/"+url.PathEscape(args[0])+"/trigger", server.TriggerRequest{Commit: commit}, &r); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(r)
			}
			fmt.Fprintf(a.stdout, "run %d queued for %s (follow it with: ferry logs %d --follow)\n", r.ID, short(r.Commit), r.ID)
			return nil
		},
	}
	c.Flags().StringVar(&commit, "commit", "", "commit to run (default: the branch head)")
	a.addJSON(c)
	return c
}

func (a *app) logsCommand() *cobra.Command {
	var step string
	var follow bool
	c := &cobra.Command{
		Use:   "logs RUN",
		Short: "Print a run's log; --follow streams it live until the run ends",
		Args:  exactArgs(1, "a RUN id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseRunID(args[0])
			if err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			q := url.Values{}
			if step != "" {
				q.Set("step", step)
			}
			if follow {
				q.Set("follow", "1")
			}
			resp, err := cl.request(c.Context(), "GET", fmt.Sprintf("/api/v1/runs/%d/logs?%s", id, q.Encode()), nil, "")
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			if err := a.printLog(c.Context(), resp.Body); err != nil {
				return err
			}
			if follow && !a.jsonOut {
				var rv server.RunView
				if err := cl.call(context.WithoutCancel(c.Context()), "GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, &rv); err == nil {
					fmt.Fprintf(a.stdout, "run %d %s", rv.ID, rv.State)
					if rv.Reason != "" {
						fmt.Fprintf(a.stdout, ": %s", rv.Reason)
					}
					fmt.Fprintln(a.stdout)
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&step, "step", "", "only this step (NAME or STAGE/NAME)")
	c.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new lines until the run ends")
	a.addJSON(c)
	return c
}

// printLog copies a log stream to stdout: JSON lines as they come with --json, "[stage/step] text" otherwise.
func (a *app) printLog(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriter(a.stdout)
	defer bw.Flush()
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			if a.jsonOut {
				bw.Write(line)
			} else {
				var ln server.LogLine
				if err := json.Unmarshal(line, &ln); err != nil {
					return fmt.Errorf("decode log line: %w", err)
				}
				fmt.Fprintf(bw, "%s [%s] %s\n", ln.Time.Local().Format("15:04:05.000"), ln.Step, ln.Text)
			}
		}
		// Flush when the stream pauses, so a follower sees lines as they arrive.
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

func (a *app) secretCommand() *cobra.Command {
	c := &cobra.Command{Use: "secret", Short: "Set, list and remove a project's secrets", Args: maxArgs(0)}
	set := &cobra.Command{
		Use:   "set PROJECT NAME",
		Short: "Set a secret; the value is read from standard input",
		Long: `Set a secret for the steps of PROJECT that list it under secrets:. The value is read from standard
input (a trailing newline is dropped), so it never appears in your shell history:
  printf %s "$TOKEN" | ferry secret set myapp BENCH_TOKEN`,
		Args: exactArgs(2, "PROJECT and NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			value, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
			if err != nil {
				return err
			}
			value = []byte(strings.TrimSuffix(strings.TrimSuffix(string(value), "\n"), "\r"))
			if len(value) == 0 {
				return usageError{msg: "no secret value on standard input"}
			}
			path := fmt.Sprintf("/api/v1/projects/%s/secrets/%s", url.PathEscape(args[0]), url.PathEscape(args[1]))
			resp, err := cl.request(c.Context(), "PUT", path, strings.NewReader(string(value)), "application/octet-stream")
			if err != nil {
				return err
			}
			resp.Body.Close()
			fmt.Fprintf(a.stdout, "secret %s set for %s\n", args[1], args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's secret names (never their values)",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			var list []store.Secret
			if err := cl.call(c.Context(), "GET", "/api/v1/projects/"+url.PathEscape(args[0])+"/secrets", nil, &list); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(list)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "NAME\tUPDATED")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, ago(s.UpdatedAt))
			}
			return tw.Flush()
		},
	}
	a.addJSON(list)
	rm := &cobra.Command{
		Use:   "rm PROJECT NAME",
		Short: "Remove a secret",
		Args:  exactArgs(2, "PROJECT and NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			path := fmt.Sprintf("/api/v1/projects/%s/secrets/%s", url.PathEscape(args[0]), url.PathEscape(args[1]))
			if err := cl.call(c.Context(), "DELETE", path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "secret %s removed from %s\n", args[1], args[0])
			return nil
		},
	}
	c.AddCommand(set, list, rm)
	return c
}
