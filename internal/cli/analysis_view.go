package cli

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
)

// analysisLine summarises a stored analysis evaluation in one line, as internal/analysis's Summary does: the
// verdict and the checks of that verdict, then, labelled, the checks that were inconclusive (when the verdict
// is fail) and the values of those that passed. A check without data is never listed as a failure.
func analysisLine(raw json.RawMessage) string {
	var ev struct {
		Verdict api.Verdict `json:"verdict"`
		Results []struct {
			Check   string      `json:"check"`
			Verdict api.Verdict `json:"verdict"`
			Value   string      `json:"value"`
			Reason  string      `json:"reason"`
		} `json:"results"`
	}
	if json.Unmarshal(raw, &ev) != nil || ev.Verdict == "" {
		return string(raw)
	}
	groups := map[api.Verdict][]string{}
	for _, r := range ev.Results {
		switch {
		case r.Verdict != api.Pass && r.Reason != "":
			groups[r.Verdict] = append(groups[r.Verdict], r.Check+": "+r.Reason)
		case r.Verdict != api.Pass:
			groups[r.Verdict] = append(groups[r.Verdict], r.Check)
		case r.Value != "":
			groups[api.Pass] = append(groups[api.Pass], fmt.Sprintf("%s = %s", r.Check, r.Value))
		}
	}
	parts := []string{strings.Join(groups[ev.Verdict], "; ")}
	for _, g := range []struct {
		v     api.Verdict
		label string
	}{{api.Inconclusive, "inconclusive"}, {api.Pass, "passed"}} {
		if g.v != ev.Verdict && len(groups[g.v]) > 0 {
			parts = append(parts, g.label+": "+strings.Join(groups[g.v], "; "))
		}
	}
	return string(ev.Verdict) + ": " + strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), "; ")
}
