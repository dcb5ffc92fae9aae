package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
)

func (a *app) statusCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "status [PROJECT]",
		Short: "Show each environment: live release, rollout in flight, step, weight, latest analysis",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			var projects []string
			if len(args) == 1 {
				projects = args
			} else {
				ps, err := cl.Projects(c.Context())
				if err != nil {
					return err
				}
				for _, p := range ps {
					projects = append(projects, p.Name)
				}
			}
			var all []*api.ProjectStatus
			for _, p := range projects {
				st, err := cl.Status(c.Context(), p)
				if err != nil {
					return err
				}
				all = append(all, st)
			}
			if a.jsonOut {
				return a.printJSON(all)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "PROJECT\tENV\tLIVE\tROLLOUT\tSTATE\tSTEP\tWEIGHT\tREASON")
			for _, st := range all {
				for _, e := range st.Environments {
					ro, state, step, weight, reason := "-", "-", "-", "-", ""
					if r := e.Rollout; r != nil {
						ro = fmt.Sprintf("%d (release %d)", r.ID, r.ReleaseID)
						state, step, weight, reason = string(r.State), stepText(r), fmt.Sprintf("%d%%", r.Weight), r.Reason
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Project, e.Name, releaseText(e.LiveReleaseID), ro, state, step, weight, reason)
				}
			}
			return tw.Flush()
		},
	}
	a.addJSON(c)
	return c
}

func releaseText(id int64) string {
	if id == 0 {
		return "-"
	}
	return fmt.Sprintf("release %d", id)
}

func stepText(r *api.Rollout) string {
	switch {
	case r.Baking:
		return "baking"
	case r.Step == 0:
		return "starting"
	case r.Step > max(r.Steps, 1):
		return "switched"
	}
	return fmt.Sprintf("%d/%d", r.Step, max(r.Steps, 1))
}

func (a *app) rolloutCommand() *cobra.Command {
	c := &cobra.Command{Use: "rollout", Short: "Watch, list and show rollouts", Args: maxArgs(0)}
	watch := &cobra.Command{
		Use:   "watch PROJECT ENV",
		Short: "Follow an environment's rollout live until it ends; exit 0 only if it succeeded",
		Args:  exactArgs(2, "PROJECT and ENV"),
		RunE: func(c *cobra.Command, args []string) error {
			return a.watchRollout(c.Context(), args[0], args[1])
		},
	}
	var env string
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's rollouts, newest first",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			rs, err := cl.Rollouts(c.Context(), args[0], env, 0)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rs)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "ROLLOUT\tENV\tRELEASE\tFROM\tSTRATEGY\tSTATE\tSTEP\tWEIGHT\tUPDATED\tREASON")
			for _, r := range rs {
				fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\t%s\t%d%%\t%s\t%s\n", r.ID, r.Env, r.ReleaseID, releaseText(r.FromReleaseID), r.Strategy, r.State, stepText(r), r.Weight, ago(r.UpdatedAt), r.Reason)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&env, "env", "", "only this environment")
	a.addJSON(list)
	show := &cobra.Command{
		Use:   "show ROLLOUT",
		Short: "Show a rollout with every transition it went through",
		Args:  exactArgs(1, "a ROLLOUT id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, err := parseID(args[0])
			if err != nil {
				return err
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			rv, err := cl.Rollout(c.Context(), id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rv)
			}
			fmt.Fprintf(a.stdout, "rollout %d  %s  %s  release %d (from %s, %s)\n", rv.ID, strings.ToUpper(string(rv.State)), api.EnvKey{Project: rv.Project, Env: rv.Env}, rv.ReleaseID, releaseText(rv.FromReleaseID), rv.Strategy)
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "\nTIME\tSTATE\tSTEP\tWEIGHT\tREASON")
			for _, e := range rv.Events {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%d%%\t%s\n", e.Time.Local().Format("15:04:05.000"), e.State, e.Step, e.Weight, e.Reason)
			}
			return tw.Flush()
		},
	}
	a.addJSON(show)
	c.AddCommand(watch, list, show)
	return c
}

const unreachable = "  (server unreachable; retrying)\n"

// watchRollout redraws the environment's rollout every half second until it ends.
func (a *app) watchRollout(ctx context.Context, project, env string) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	tty := isTerminal(a.stdout)
	last := ""
	lines := 0
	var seen int64
	for {
		st, err := cl.Status(ctx, project)
		if err != nil {
			var ae *api.Error
			if errors.As(err, &ae) || ctx.Err() != nil {
				return err
			}
			// The server restarts; the rollout goes on in the data plane. Keep watching.
			if !strings.HasSuffix(last, unreachable) {
				fmt.Fprint(a.stdout, unreachable)
				last += unreachable
				lines++
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(500 * time.Millisecond):
			}
			continue
		}
		var es *api.EnvStatus
		for i := range st.Environments {
			if st.Environments[i].Name == env {
				es = &st.Environments[i]
			}
		}
		if es == nil || es.Rollout == nil {
			return fmt.Errorf("no rollout in %s/%s yet", project, env)
		}
		r := es.Rollout
		if seen == 0 {
			seen = r.ID
		}
		view := renderRollout(es)
		if view != last {
			if tty && lines > 0 {
				fmt.Fprintf(a.stdout, "\x1b[%dA\x1b[J", lines)
			}
			fmt.Fprint(a.stdout, view)
			lines, last = strings.Count(view, "\n"), view
		}
		if r.State.Done() {
			if r.State != api.RolloutSucceeded {
				return exitError{code: 1}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func renderRollout(es *api.EnvStatus) string {
	r := es.Rollout
	var b strings.Builder
	fmt.Fprintf(&b, "%s  rollout %d  release %d ← %s  %s  %s\n", es.Name, r.ID, r.ReleaseID, releaseText(r.FromReleaseID), r.Strategy, strings.ToUpper(string(r.State)))
	const width = 40
	filled := r.Weight * width / 100
	fmt.Fprintf(&b, "  [%s%s] %3d%% on release %d   step %s\n", strings.Repeat("█", filled), strings.Repeat("·", width-filled), r.Weight, r.ReleaseID, stepText(r))
	if r.Reason != "" {
		fmt.Fprintf(&b, "  %s\n", r.Reason)
	}
	if len(es.Analysis) > 0 {
		fmt.Fprintf(&b, "  analysis: %s\n", analysisLine(es.Analysis))
	}
	return b.String()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

func (a *app) envActionCommand(action, short string) *cobra.Command {
	var to int64
	c := &cobra.Command{
		Use:   action + " PROJECT ENV",
		Short: short,
		Args:  exactArgs(2, "PROJECT and ENV"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			r, err := cl.Act(c.Context(), args[0], args[1], action, api.ActionRequest{To: to})
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(r)
			}
			fmt.Fprintf(a.stdout, "%s/%s: rollout %d %s: %s\n", args[0], args[1], r.ID, r.State, r.Reason)
			return nil
		},
	}
	if action == "rollback" {
		c.Flags().Int64Var(&to, "to", 0, "release to go back to (default: the previous live release)")
	}
	a.addJSON(c)
	return c
}
