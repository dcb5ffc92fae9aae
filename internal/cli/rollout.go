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
						ro = fmt.Sprintf("%d (%s)", r.ID, releaseText(r.ReleaseVersion))
						state, step, weight, reason = string(r.State), stepText(r), fmt.Sprintf("%d%%", r.Weight), r.Reason
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Project, e.Name, releaseText(e.LiveReleaseVersion), ro, state, step, weight, reason)
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			a.printDrift(all)
			a.printCertificates(all, time.Now())
			a.printTraffic(all)
			return a.printUnhealthy(all)
		},
	}
	a.addJSON(c)
	return c
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
	var after int64
	var newer bool
	watch := &cobra.Command{
		Use:   "watch PROJECT ENV",
		Short: "Follow an environment's rollout live until it ends; exit 0 only if it succeeded",
		Long: `Follow an environment's rollout live until it ends; exit 0 only if it succeeded.

Which rollout: the one in flight in ENV. When none is and a run of the project is queued or running (a push
was just made), the rollout that run's release will make: watch waits for a rollout of ENV newer than the
newest one now, and exits 1 if the run fails or its release stops in an earlier environment. Otherwise the
latest rollout of ENV. --new always waits for a newer rollout than the newest now; --after ROLLOUT waits for
the first one newer than that rollout. An environment the project does not have is an error naming those it
has.`,
		Args: exactArgs(2, "PROJECT and ENV"),
		RunE: func(c *cobra.Command, args []string) error {
			if after > 0 && newer {
				return usageError{msg: "--after and --new both say which rollout to wait for: give one"}
			}
			return a.watchRollout(c.Context(), args[0], args[1], after, newer)
		},
	}
	watch.Flags().Int64Var(&after, "after", 0, "wait for the first rollout of ENV newer than this ROLLOUT id, then follow it")
	watch.Flags().BoolVar(&newer, "new", false, "wait for a rollout of ENV newer than the newest one now, then follow it")
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
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d%%\t%s\t%s\n", r.ID, r.Env, api.VersionText(r.ReleaseVersion), api.VersionText(r.FromReleaseVersion), r.Strategy, r.State, stepText(r), r.Weight, ago(r.UpdatedAt), r.Reason)
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
			id, cl, err := a.idClient(args[0])
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
			fmt.Fprintf(a.stdout, "rollout %d  %s  %s  %s (from %s, %s)\n", rv.ID, strings.ToUpper(string(rv.State)), api.EnvKey{Project: rv.Project, Env: rv.Env}, releaseText(rv.ReleaseVersion), releaseText(rv.FromReleaseVersion), rv.Strategy)
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

// watchRollout redraws the environment's rollout every half second until it ends. after > 0 (or newer, or a
// run in flight when nothing is rolling out) makes it wait first for a rollout of env newer than that.
func (a *app) watchRollout(ctx context.Context, project, env string, after int64, newer bool) error {
	cl, err := a.client()
	if err != nil {
		return err
	}
	tty := isTerminal(a.stdout)
	last := ""
	lines := 0
	var w *rolloutWatch
	for {
		var es *api.EnvStatus
		if w == nil {
			w, err = a.startWatch(ctx, cl, project, env, after, newer)
		} else {
			es, err = w.poll(ctx)
		}
		if err != nil {
			var ae *api.Error
			if errors.As(err, &ae) || ctx.Err() != nil {
				return err
			}
			if errors.Is(err, errNoRollout) {
				return err
			}
			// The server restarts; the rollout goes on in the data plane. Keep watching.
			if !strings.HasSuffix(last, unreachable) {
				fmt.Fprint(a.stdout, unreachable)
				last += unreachable
				lines++
			}
		} else if es != nil {
			r := es.Rollout
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
		} else if w != nil && w.waiting != "" && !strings.HasSuffix(last, w.waiting) {
			fmt.Fprint(a.stdout, w.waiting)
			last, lines = last+w.waiting, lines+strings.Count(w.waiting, "\n")
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// errNoRollout ends a watch that has nothing to wait for; its text says why.
var errNoRollout = errors.New("no rollout")

type noRollout struct{ msg string }

func (e noRollout) Error() string        { return e.msg }
func (e noRollout) Is(target error) bool { return target == errNoRollout }

// rolloutWatch is what a watch follows: the newest rollout of env, once it is newer than after.
type rolloutWatch struct {
	cl           *api.Client
	project, env string
	after        int64    // wait for a rollout with a larger id; -1 follows whatever is newest
	run          *api.Run // the run whose release is awaited, when one was in flight at the start
	waiting      string   // what the watch says while it waits
}

// startWatch decides what to follow. Asking for env's rollouts also checks that the project has env.
func (a *app) startWatch(ctx context.Context, cl *api.Client, project, env string, after int64, newer bool) (*rolloutWatch, error) {
	w := &rolloutWatch{cl: cl, project: project, env: env, after: -1}
	rs, err := cl.Rollouts(ctx, project, env, 1)
	if err != nil {
		return nil, err
	}
	var newest int64
	inFlight := false
	if len(rs) > 0 {
		newest, inFlight = rs[0].ID, !rs[0].State.Done()
	}
	switch {
	case after > 0:
		w.after = after
	case newer:
		w.after = newest
	case inFlight:
	default:
		runs, err := cl.Runs(ctx, project, 20)
		if err != nil {
			return nil, err
		}
		for _, r := range runs { // newest first
			if !r.State.Done() {
				w.after, w.run = newest, r
				break
			}
		}
		if w.run == nil && len(rs) == 0 {
			return nil, fmt.Errorf("no rollout in %s yet, and no run in flight to wait for", api.EnvKey{Project: project, Env: env})
		}
	}
	if w.after >= 0 {
		w.waiting = fmt.Sprintf("waiting for a new rollout in %s", api.EnvKey{Project: project, Env: env})
		if w.run != nil {
			w.waiting += fmt.Sprintf(" (run %d of commit %s is %s)", w.run.ID, short(w.run.Commit), w.run.State)
		} else if w.after > 0 {
			w.waiting += fmt.Sprintf(" (newer than rollout %d)", w.after)
		}
		w.waiting += "\n"
	}
	return w, nil
}

// poll returns env's status once the rollout to follow is there; nil while waiting for it. It fails with
// errNoRollout when the awaited run failed or its release stopped before env.
func (w *rolloutWatch) poll(ctx context.Context) (*api.EnvStatus, error) {
	if w.after >= 0 {
		rs, err := w.cl.Rollouts(ctx, w.project, w.env, 1)
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 || rs[0].ID <= w.after {
			return nil, w.stopped(ctx)
		}
		w.after, w.run = -1, nil
	}
	st, err := w.cl.Status(ctx, w.project)
	if err != nil {
		return nil, err
	}
	for i := range st.Environments {
		if es := &st.Environments[i]; es.Name == w.env && es.Rollout != nil {
			return es, nil
		}
	}
	return nil, nil
}

// stopped tells why the awaited rollout will never come, or nil while it may: the run in flight at the start
// ended without passing, or its release's rollout in another environment ended without succeeding and
// nothing else is in flight.
func (w *rolloutWatch) stopped(ctx context.Context) error {
	if w.run == nil {
		return nil
	}
	rv, err := w.cl.Run(ctx, w.run.ID)
	if err != nil {
		return err
	}
	switch {
	case !rv.State.Done():
		w.waiting = fmt.Sprintf("waiting for a new rollout in %s (run %d of commit %s is %s)\n", api.EnvKey{Project: w.project, Env: w.env}, rv.ID, short(rv.Commit), rv.State)
		return nil
	case rv.State != api.RunPassed:
		return noRollout{fmt.Sprintf("run %d of commit %s %s: %s; no new rollout in %s", rv.ID, short(rv.Commit), rv.State, rv.Reason, api.EnvKey{Project: w.project, Env: w.env})}
	}
	w.waiting = fmt.Sprintf("waiting for a new rollout in %s (run %d passed: %s)\n", api.EnvKey{Project: w.project, Env: w.env}, rv.ID, releaseText(rv.ReleaseVersion))
	all, err := w.cl.Rollouts(ctx, w.project, "", 50)
	if err != nil {
		return err
	}
	var ended *api.Rollout
	for _, r := range all {
		if !r.State.Done() {
			return nil
		}
		if r.ReleaseID == rv.ReleaseID && r.State != api.RolloutSucceeded && ended == nil {
			ended = r
		}
	}
	if ended != nil {
		return noRollout{fmt.Sprintf("%s stopped before %s: its rollout %d in %s ended %s: %s", releaseText(rv.ReleaseVersion), w.env, ended.ID, ended.Env, ended.State, ended.Reason)}
	}
	return nil
}

func renderRollout(es *api.EnvStatus) string {
	r := es.Rollout
	var b strings.Builder
	fmt.Fprintf(&b, "%s  rollout %d  %s ← %s  %s  %s\n", es.Name, r.ID, releaseText(r.ReleaseVersion), releaseText(r.FromReleaseVersion), r.Strategy, strings.ToUpper(string(r.State)))
	const width = 40
	filled := r.Weight * width / 100
	fmt.Fprintf(&b, "  [%s%s] %3d%% on %s   step %s\n", strings.Repeat("█", filled), strings.Repeat("·", width-filled), r.Weight, releaseText(r.ReleaseVersion), stepText(r))
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
	var to versionValue
	c := &cobra.Command{
		Use:   action + " PROJECT ENV",
		Short: short,
		Args:  exactArgs(2, "PROJECT and ENV"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			r, err := cl.Act(c.Context(), args[0], args[1], action, api.ActionRequest{To: int64(to)})
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
		c.Flags().Var(&to, "to", "release to go back to, by its version in the project: 7 or v7 (default: the previous live release)")
	}
	a.addJSON(c)
	return c
}
