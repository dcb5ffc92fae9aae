package cli

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/gate"
)

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

func short(commit string) string {
	if len(commit) > 7 {
		return commit[:7]
	}
	return commit
}

// ago says how long ago t was, in words a person reads at a glance.
func ago(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := time.Since(t)
	switch {
	case d < time.Minute:
		return d.Round(time.Second).String() + " ago"
	case d < time.Hour:
		return d.Round(time.Minute).String() + " ago"
	case d < 48*time.Hour:
		return d.Round(time.Hour).String() + " ago"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// printSteps prints a run's steps as a table, then the verdict table of each step with gates.
func printSteps(w interface{ Write([]byte) (int, error) }, steps []*api.Step) {
	tw := newTable(w)
	fmt.Fprintln(tw, "STEP\tSTATE\tATTEMPTS\tDURATION\tREASON")
	for _, st := range steps {
		dur := ""
		if !st.StartedAt.IsZero() && !st.FinishedAt.IsZero() {
			dur = st.FinishedAt.Sub(st.StartedAt).Round(time.Millisecond).String()
		}
		attempts := ""
		if st.Attempts > 0 {
			attempts = fmt.Sprint(st.Attempts)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", st.FullName(), st.State, attempts, dur, firstLine(st.Reason))
	}
	tw.Flush()
	for _, st := range steps {
		// A failed step's reason goes on with the last lines it printed; the table has only its first line.
		if _, more, ok := strings.Cut(st.Reason, "\n"); ok {
			fmt.Fprintf(w, "\n%s: %s\n", st.FullName(), more)
		}
	}
	for _, st := range steps {
		if len(st.Verdicts) == 0 {
			continue
		}
		fmt.Fprintf(w, "\ngates of %s:\n", st.FullName())
		verdicts := make([]gate.Verdict, len(st.Verdicts))
		for i, v := range st.Verdicts {
			verdicts[i] = gate.Verdict(v)
		}
		gate.FormatTable(w, verdicts)
	}
}
