package cli

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/dora"
)

func (a *app) doraCommand() *cobra.Command {
	var window string
	c := &cobra.Command{
		Use:   "dora PROJECT",
		Short: "DORA metrics of a project's production environments, from ferry's own records",
		Long: `DORA metrics of each production environment (production: true) of PROJECT over a window: deployment
frequency, lead time for changes, change failure rate, failed deployment recovery time and deployment rework
rate, each with its DORA 2024 tier and its trend against the window before. Definitions: docs/dora.md.`,
		Args: exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			if _, err := dora.ParseWindow(window); err != nil {
				return usageError{msg: fmt.Sprintf("invalid --window %q: %v", window, err)}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			v, err := cl.Dora(c.Context(), args[0], window, 0)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(v)
			}
			if len(v.Environments) == 0 {
				fmt.Fprintf(a.stdout, "%s has no production environment with rollouts yet (mark one with production: true)\n", v.Project)
				return nil
			}
			for i, e := range v.Environments {
				if i > 0 {
					fmt.Fprintln(a.stdout)
				}
				printDora(a.stdout, api.EnvKey{Project: v.Project, Env: e.Env}.String(), window, &e.Report)
			}
			return nil
		},
	}
	c.Flags().StringVar(&window, "window", "30d", "how far back: 7d, 30d, 90d, 2w or any Go duration")
	a.addJSON(c)
	return c
}

func printDora(w io.Writer, name, window string, r *api.DoraReport) {
	fmt.Fprintf(w, "%s, last %s (%s to %s)\n", name, window, r.From.Local().Format("2006-01-02 15:04"), r.To.Local().Format("2006-01-02 15:04"))
	trend := func(d func(*api.DoraTrend) api.DoraDirection) string {
		if r.Trend == nil {
			return "-"
		}
		return string(d(r.Trend))
	}
	tier := func(t api.DoraTier) string {
		if t == "" {
			return "-"
		}
		return string(t)
	}
	dur := func(d *api.DoraDuration) string {
		if d == nil {
			return "n/a"
		}
		return d.Text
	}
	rate := func(p *float64, n, of int) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf("%.1f%% (%d of %d)", *p*100, n, of)
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "METRIC\tVALUE\tTIER\tTREND")
	df := r.DeploymentFrequency
	fmt.Fprintf(tw, "deployment frequency\t%.2f/day (%d deployments, %d deploy-days)\t%s\t%s\n", df.PerDay, df.Deployments, df.DeployDays,
		tier(df.Tier), trend(func(t *api.DoraTrend) api.DoraDirection { return t.DeploymentFrequency }))
	lt := r.LeadTime
	fmt.Fprintf(tw, "lead time for changes\tmedian %s, p90 %s (%d commits)\t%s\t%s\n", dur(lt.Median), dur(lt.P90), lt.Count,
		tier(lt.Tier), trend(func(t *api.DoraTrend) api.DoraDirection { return t.LeadTime }))
	cfr := r.ChangeFailureRate
	fmt.Fprintf(tw, "change failure rate\t%s\t%s\t%s\n", rate(cfr.Rate, cfr.Failures, cfr.Deployments),
		tier(cfr.Tier), trend(func(t *api.DoraTrend) api.DoraDirection { return t.ChangeFailureRate }))
	rt := r.RecoveryTime
	fmt.Fprintf(tw, "failed deployment recovery time\tmedian %s from first failure (%d failures)\t%s\t%s\n", dur(rt.Median), rt.Count,
		tier(rt.Tier), trend(func(t *api.DoraTrend) api.DoraDirection { return t.RecoveryTime }))
	if rt.FromDetection != nil {
		fmt.Fprintf(tw, "  recovery time from detection\tmedian %s (%d of %d started at a failed request before detection)\t-\t-\n",
			rt.FromDetection.Text, rt.FirstFailureSeen, rt.Count)
	}
	rw := r.ReworkRate
	fmt.Fprintf(tw, "deployment rework rate\t%s\t-\t%s\n", rate(rw.Rate, rw.Rework, rw.Rollouts),
		trend(func(t *api.DoraTrend) api.DoraDirection { return t.ReworkRate }))
	tw.Flush()
}
