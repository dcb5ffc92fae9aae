package gate

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
)

// FormatTable writes the verdict table as aligned plain text, one row per verdict under the header
// METRIC BOUND BASELINE CURRENT CHANGE VERDICT. An empty cell shows as "-".
func FormatTable(w io.Writer, vs []Verdict) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METRIC\tBOUND\tBASELINE\tCURRENT\tCHANGE\tVERDICT")
	for _, v := range vs {
		verdict := "FAIL"
		if v.Pass {
			verdict = "pass"
		}
		if v.Reason != "" {
			verdict += " (" + v.Reason + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n",
			v.Metric, cell(v.Bound), cellNum(v.Baseline), cellNum(v.Current), cell(v.Change), verdict)
	}
	return tw.Flush() // tabwriter holds every write until Flush, which reports the first error
}

func cell(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cellNum(v *float64) string {
	if v == nil {
		return "-"
	}
	return formatNum(*v)
}

// formatNum shows a value compactly: up to 6 significant digits ("41.2", "0.97", "123457"), whole numbers
// from a million up in full rather than with an exponent, and an exponent only for the very small.
func formatNum(v float64) string {
	switch a := math.Abs(v); {
	case v == 0:
		return "0" // also for -0
	case a >= 1e6 && a < 1e21:
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}
