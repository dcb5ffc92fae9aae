package analysis_test

import (
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

func ExampleEvaluateMetric() {
	max := 0.01 // the file's "1%"
	check := pipeline.Check{Metric: "error_rate", Max: &max}
	canary := proxy.Summary{Requests: 340, Errors: 8, Span: 5 * time.Second}
	stable := proxy.Summary{Requests: 3000, Errors: 3, Span: 5 * time.Second}

	r := analysis.EvaluateMetric(check, canary, stable, 20)
	fmt.Println(r.Verdict, r.Value, "|", r.Reason)

	r = analysis.EvaluateMetric(check, proxy.Summary{Requests: 7, Span: 5 * time.Second}, stable, 20)
	fmt.Println(r.Verdict, "|", r.Reason)
	// Output:
	// fail 2.35% | error_rate 2.35% > max 1% (canary, 340 requests over 5s)
	// inconclusive | only 7 canary requests over 5s (min_requests 20)
}
