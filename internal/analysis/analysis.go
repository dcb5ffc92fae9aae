// Package analysis judges a release while a rollout moves traffic to it: it evaluates an environment's
// analysis checks (the proxy's built-in metrics, Prometheus queries and synthetic HTTP transactions) and
// returns one verdict with a row per check.
//
// It owns no schedule of evaluations and no rollout state: the rollout controller calls Analyzer.Evaluate once
// per interval, records the Evaluation and decides (failure_limit, on_inconclusive). What varies at its edge
// is small and explicit: Figures gives the proxy's figures of a version, Prober reaches a version through the
// environment's address, Prometheus answers queries. It must not import rollout, server or store.
package analysis

import (
	"fmt"
	"strings"
	"time"
)

// Verdict is the outcome of one check or of an evaluation.
type Verdict string

const (
	Pass Verdict = "pass"
	Fail Verdict = "fail"
	// Inconclusive means the check could not decide: too few requests, no data, Prometheus unreachable.
	Inconclusive Verdict = "inconclusive"
)

// worse returns the verdict that weighs more: fail over inconclusive over pass.
func worse(a, b Verdict) Verdict {
	rank := func(v Verdict) int {
		switch v {
		case Fail:
			return 2
		case Inconclusive:
			return 1
		}
		return 0
	}
	if rank(b) > rank(a) {
		return b
	}
	return a
}

// Result is one row of an evaluation: a check, the value seen, its bound, the verdict and why.
type Result struct {
	// Check names the check as users read it: "error_rate max 1%", "latency_p99 max 300ms",
	// "error_rate max_over_stable 0.5%", "http GET /checkout expect 200", "prometheus sum(rate(x[1m])) max 0.1".
	Check   string  `json:"check"`
	Verdict Verdict `json:"verdict"`
	// Value is what was seen, in the check's unit: "2.35%", "412ms", "12.5/s", "0.13", "200 in 4ms". Empty when
	// nothing could be measured.
	Value string `json:"value,omitempty"`
	// Stable is the stable release's value for a max_over_stable check.
	Stable string `json:"stable,omitempty"`
	// Bound is the bounds of the check: "max 1%", "min 5/s max 100/s", "200".
	Bound string `json:"bound,omitempty"`
	// Reason says why, for fail and inconclusive rows and for a pass that compared nothing:
	// "error_rate 2.35% > max 1% (canary, 340 requests over 5s)", "only 7 canary requests over 5s (min_requests 20)".
	Reason string `json:"reason,omitempty"`
}

// Evaluation is one evaluation of all the checks of an environment.
type Evaluation struct {
	// Verdict is fail if any check failed, else inconclusive if any was, else pass (also without checks).
	Verdict Verdict   `json:"verdict"`
	Results []Result  `json:"results"`
	At      time.Time `json:"at"`
}

// Summary is one line for logs and the rollout's history: the verdict and the checks that decided it. Rows
// that failed come first; when the verdict is fail, the inconclusive rows follow after "inconclusive:", so a
// check that had no data is never read as one that failed: "fail: http GET / expect 200: status 500, want 200;
// inconclusive: error_rate max 1%: no canary requests over 1s".
func (e Evaluation) Summary() string {
	if e.Verdict == Pass || e.Verdict == "" {
		switch len(e.Results) {
		case 0:
			return "pass: no checks"
		case 1:
			return "pass: 1 check passed"
		}
		return fmt.Sprintf("pass: all %d checks passed", len(e.Results))
	}
	rows := func(v Verdict) []string {
		var out []string
		for _, r := range e.Results {
			if r.Verdict == v {
				out = append(out, r.Check+": "+r.Reason)
			}
		}
		return out
	}
	s := string(e.Verdict) + ": " + strings.Join(rows(e.Verdict), "; ")
	if doubts := rows(Inconclusive); e.Verdict == Fail && len(doubts) > 0 {
		s += "; inconclusive: " + strings.Join(doubts, "; ")
	}
	return s
}

// combine makes an evaluation of rows.
func combine(rows []Result, at time.Time) Evaluation {
	e := Evaluation{Verdict: Pass, Results: rows, At: at}
	if e.Results == nil {
		e.Results = []Result{}
	}
	for _, r := range rows {
		e.Verdict = worse(e.Verdict, r.Verdict)
	}
	return e
}
