package cli

import "testing"

// A check that had no data must not read as a failure next to one that failed: each group is labelled.
func TestAnalysisLineNamesFailedAndInconclusive(t *testing.T) {
	for _, tt := range []struct {
		name, raw, want string
	}{
		{"a failure beside a doubt",
			`{"verdict":"fail","results":[` +
				`{"check":"error_rate max 1%","verdict":"inconclusive","reason":"no canary requests over 1s"},` +
				`{"check":"http GET / expect 200","verdict":"fail","value":"500 in 2ms","reason":"status 500, want 200"},` +
				`{"check":"latency_p99 max 300ms","verdict":"pass","value":"12ms"}]}`,
			"fail: http GET / expect 200: status 500, want 200; inconclusive: error_rate max 1%: no canary requests over 1s; " +
				"passed: latency_p99 max 300ms = 12ms"},
		{"a doubt alone",
			`{"verdict":"inconclusive","results":[{"check":"error_rate max 1%","verdict":"inconclusive","reason":"only 3 canary requests over 5s (min_requests 20)"}]}`,
			"inconclusive: error_rate max 1%: only 3 canary requests over 5s (min_requests 20)"},
		{"all passed",
			`{"verdict":"pass","results":[{"check":"error_rate max 1%","verdict":"pass","value":"0.2%"}]}`,
			"pass: error_rate max 1% = 0.2%"},
		{"not an evaluation", `"x"`, `"x"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := analysisLine([]byte(tt.raw)); got != tt.want {
				t.Errorf("analysisLine =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
