package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
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
			runs, err := cl.Runs(c.Context(), args[0], limit)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(runs)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "RUN\tSTATE\tCOMMIT\tTRIGGER\tCREATED\tDURATION\tREASON")
			for _, r := range runs {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.State, short(r.Commit), r.Trigger, ago(r.CreatedAt), runDuration(r), firstLine(r.Reason))
			}
			return tw.Flush()
		},
	}
	c.Flags().IntVar(&limit, "limit", 20, "how many runs to show")
	a.addJSON(c)
	return c
}

func runDuration(r *api.Run) string {
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

func parseID(s string) (int64, error) {
	id, err := strconv.ParseInt(strings.TrimPrefix(s, "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageError{msg: fmt.Sprintf("invalid id %q: give the number ferry shows (ferry runs, ferry rollout list)", s)}
	}
	return id, nil
}

func (a *app) runCommand() *cobra.Command {
	c := &cobra.Command{Use: "run", Short: "Show or cancel one run", Args: maxArgs(0)}
	show := &cobra.Command{
		Use:   "show RUN",
		Short: "Show a run: its state, why it ended, each step, its gate verdicts and its evaluation cases that changed",
		Args:  exactArgs(1, "a RUN id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, cl, err := a.idClient(args[0])
			if err != nil {
				return err
			}
			rv, err := cl.Run(c.Context(), id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rv)
			}
			printRun(a.stdout, rv)
			rc, err := cl.RunCases(c.Context(), id)
			if err != nil {
				return err
			}
			if len(rc.Steps) > 0 {
				fmt.Fprintln(a.stdout)
				printCases(a.stdout, rc, showCasesPerStatus)
			}
			return nil
		},
	}
	a.addJSON(show)
	cancel := &cobra.Command{
		Use:   "cancel RUN",
		Short: "Cancel a queued or running run; its step processes are killed",
		Args:  exactArgs(1, "a RUN id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, cl, err := a.idClient(args[0])
			if err != nil {
				return err
			}
			r, err := cl.CancelRun(c.Context(), id)
			if err != nil {
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
	c.AddCommand(show, cancel, a.runCasesCommand(), a.runCaseCommand())
	return c
}

// printRun prints a run the way ferry run show does.
func printRun(w io.Writer, rv *api.RunView) {
	fmt.Fprintf(w, "run %d  %s  %s@%s %s  (%s, %s)\n", rv.ID, strings.ToUpper(string(rv.State)), rv.Project, rv.Branch, short(rv.Commit), rv.Trigger, runDuration(&rv.Run))
	if rv.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", rv.Reason)
	}
	if rv.ReleaseID != 0 {
		fmt.Fprintf(w, "release: %s\n", api.VersionText(rv.ReleaseVersion))
	}
	if len(rv.Steps) > 0 {
		fmt.Fprintln(w)
		printSteps(w, rv.Steps)
	}
}
