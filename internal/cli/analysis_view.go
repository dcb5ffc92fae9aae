package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
)

// analysisLine summarises a stored analysis evaluation in one line: its verdict and the checks that did not
// pass.
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
	var parts []string
	for _, r := range ev.Results {
		switch {
		case r.Verdict != api.Pass && r.Reason != "":
			parts = append(parts, r.Reason)
		case r.Value != "":
			parts = append(parts, fmt.Sprintf("%s = %s", r.Check, r.Value))
		}
	}
	return string(ev.Verdict) + ": " + strings.Join(parts, "; ")
}
