package cli

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
)

// showCasesPerStatus is how many cases of one status ferry run show lists; ferry run cases lists them all.
const showCasesPerStatus = 20

func (a *app) runCasesCommand() *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "cases RUN",
		Short: "List a run's evaluation cases against the baseline: broken, fixed, still failing, flaky, new, removed",
		Args:  exactArgs(1, "a RUN id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, cl, err := a.idClient(args[0])
			if err != nil {
				return err
			}
			rc, err := cl.RunCases(c.Context(), id)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(rc)
			}
			if len(rc.Steps) == 0 {
				fmt.Fprintf(a.stdout, "run %d has no evaluation cases\n", id)
				return nil
			}
			limit := 0
			if !all {
				limit = -1 // every case that changed, none of the passing ones
			}
			printCases(a.stdout, rc, limit)
			return nil
		},
	}
	c.Flags().BoolVar(&all, "all", false, "list the cases that passed in both runs too")
	a.addJSON(c)
	return c
}

func (a *app) runCaseCommand() *cobra.Command {
	var step string
	c := &cobra.Command{
		Use:   "case RUN CASE",
		Short: "Show one evaluation case of a run beside the baseline's: input, expected, output, scores",
		Args:  exactArgs(2, "a RUN id and a CASE id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, cl, err := a.idClient(args[0])
			if err != nil {
				return err
			}
			rc, err := cl.RunCases(c.Context(), id)
			if err != nil {
				return err
			}
			var found []api.StepCases
			for _, sc := range rc.Steps {
				if (step == "" || sc.Step == step || strings.HasSuffix(sc.Step, "/"+step)) &&
					slices.ContainsFunc(sc.Cases, func(ch api.CaseChange) bool { return ch.ID == args[1] }) {
					found = append(found, sc)
				}
			}
			switch {
			case len(found) == 0:
				return fmt.Errorf("run %d has no case %q%s; list them with: ferry run cases %d --all", id, args[1], stepNote(step), id)
			case len(found) > 1:
				return fmt.Errorf("steps %s and %s both have case %q; say which with --step", found[0].Step, found[1].Step, args[1])
			}
			cv, err := cl.Case(c.Context(), id, found[0].Index, args[1])
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(cv)
			}
			printCase(a.stdout, cv)
			return nil
		},
	}
	c.Flags().StringVar(&step, "step", "", "the step (stage/step) whose case to show, when several have one of that id")
	a.addJSON(c)
	return c
}

func stepNote(step string) string {
	if step == "" {
		return ""
	}
	return " in step " + step
}

// printCases writes each step's cases that changed against the baseline, grouped by status. limit is how many
// of one status to list (0: all, passing ones included; -1: all but the passing ones).
func printCases(w io.Writer, rc *api.RunCases, limit int) {
	for i, sc := range rc.Steps {
		if i > 0 {
			fmt.Fprintln(w)
		}
		against := "no baseline"
		if sc.BaselineRun != 0 {
			against = "against run " + strconv.FormatInt(sc.BaselineRun, 10)
		}
		fmt.Fprintf(w, "cases of %s (%s): %s\n", sc.Step, against, caseCounts(sc.Counts))
		tw := newTable(w)
		fmt.Fprintln(tw, "STATUS\tCASE\tTAGS\tBASELINE\tNOW\tSCORES (BASELINE → NOW)")
		shown := map[api.CaseStatus]int{}
		for _, ch := range sc.Cases {
			if ch.Status == api.CasePassing && limit != 0 {
				continue
			}
			if shown[ch.Status]++; limit > 0 && shown[ch.Status] > limit {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", strings.ReplaceAll(string(ch.Status), "_", " "), ch.ID,
				cellText(strings.Join(ch.Tags, ",")), passText(ch.BaselinePass), passText(ch.Pass), scoresText(ch))
		}
		tw.Flush()
		for _, st := range api.CaseStatuses {
			if n := sc.Counts[st]; st != api.CasePassing && limit > 0 && n > limit {
				fmt.Fprintf(w, "… and %d more %s (ferry run cases %d)\n", n-limit, strings.ReplaceAll(string(st), "_", " "), rc.Run)
			}
		}
	}
}

func caseCounts(counts map[api.CaseStatus]int) string {
	var parts []string
	for _, st := range api.CaseStatuses {
		if n := counts[st]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(string(st), "_", " ")))
		}
	}
	return strings.Join(parts, ", ")
}

func passText(p *bool) string {
	switch {
	case p == nil:
		return "-"
	case *p:
		return "pass"
	}
	return "FAIL"
}

func cellText(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// scoresText shows the scores of a case beside the baseline's: "score 1 → 0, similarity 0.91 → 0.4".
func scoresText(ch api.CaseChange) string {
	names := map[string]bool{}
	for k := range ch.Scores {
		names[k] = true
	}
	for k := range ch.BaselineScores {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	slices.Sort(sorted)
	var parts []string
	for _, k := range sorted {
		parts = append(parts, k+" "+scoreText(ch.BaselineScores, k)+" → "+scoreText(ch.Scores, k))
	}
	return cellText(strings.Join(parts, ", "))
}

func scoreText(m map[string]float64, k string) string {
	v, ok := m[k]
	if !ok {
		return "-"
	}
	return strconv.FormatFloat(v, 'g', 4, 64)
}

// printCase writes one case whole, this run's beside the baseline's.
func printCase(w io.Writer, cv *api.CaseView) {
	id := ""
	if cv.Case != nil {
		id = cv.Case.ID
	} else if cv.Baseline != nil {
		id = cv.Baseline.ID
	}
	fmt.Fprintf(w, "case %s of %s in run %d: %s\n", id, cv.Step, cv.Run, strings.ReplaceAll(string(cv.Status), "_", " "))
	for _, side := range []struct {
		title string
		c     *api.Case
	}{{"this run", cv.Case}, {fmt.Sprintf("baseline (run %d)", cv.BaselineRun), cv.Baseline}} {
		if side.c == nil {
			continue
		}
		c := side.c
		verdict := passText(&c.Pass)
		if c.Flaky {
			verdict += ", flaky"
		}
		fmt.Fprintf(w, "\n== %s: %s\n", side.title, verdict)
		if len(c.Tags) > 0 {
			fmt.Fprintf(w, "tags: %s\n", strings.Join(c.Tags, ", "))
		}
		if len(c.Scores) > 0 {
			keys := make([]string, 0, len(c.Scores))
			for k := range c.Scores {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			var parts []string
			for _, k := range keys {
				parts = append(parts, k+" "+scoreText(c.Scores, k))
			}
			fmt.Fprintf(w, "scores: %s\n", strings.Join(parts, ", "))
		}
		for _, f := range []struct{ name, text string }{{"input", c.Input}, {"expected", c.Expected}, {"output", c.Output}, {"reason", c.Reason}} {
			if f.text != "" {
				fmt.Fprintf(w, "%s:\n%s\n", f.name, indent(f.text))
			}
		}
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
