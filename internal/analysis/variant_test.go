package analysis

import (
	"errors"
	"testing"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

func TestJudgeVariant(t *testing.T) {
	v := pipeline.VariantValues{Flag: "prompt", Variant: "concise", Control: "verbose"}
	quality := pipeline.PrometheusCheck{Query: `avg(q{variant="{{ .Variant }}"})`, Templated: true, MaxUnderControl: ptr(0.05)}
	cost := pipeline.PrometheusCheck{Query: `avg(c{variant="{{ .Variant }}"})`, Templated: true, MaxOverControl: ptr(0.1), Max: ptr(2)}
	tests := []struct {
		name           string
		c              pipeline.PrometheusCheck
		value, control float64
		err, ctrlErr   error
		verdict        Verdict
		reason         string
	}{
		{"quality within the margin", quality, 0.86, 0.9, nil, nil, Pass, "prompt concise 0.86 against verbose 0.9"},
		{"quality below control", quality, 0.6, 0.9, nil, nil, Fail,
			"prompt concise 0.6 against verbose 0.9: 0.3 under control > max_under_control 0.05"},
		{"cost above control", cost, 1.5, 1.2, nil, nil, Fail,
			"prompt concise 1.5 against verbose 1.2: 0.3 over control > max_over_control 0.1"},
		{"cost above its own max", cost, 2.5, 2.5, nil, nil, Fail, "prompt concise: 2.5 > max 2"},
		{"control without data", quality, 0.9, 0, nil, ErrNoData, Inconclusive, "control verbose: query returned no data"},
		{"variant without data", quality, 0, 0.9, ErrNoData, nil, Inconclusive, "query returned no data"},
		{"control query broken", quality, 0.9, 0, nil, errors.New("bad"), Fail, "control verbose: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := judgeVariant(tt.c, v, tt.value, tt.err, tt.control, tt.ctrlErr)
			if r.Verdict != tt.verdict || r.Reason != tt.reason {
				t.Errorf("judgeVariant = %s %q, want %s %q", r.Verdict, r.Reason, tt.verdict, tt.reason)
			}
		})
	}
}

func TestVariantChecksPassInAReleaseAnalysis(t *testing.T) {
	a := &Analyzer{Checks: []pipeline.Check{{Prometheus: &pipeline.PrometheusCheck{URL: "http://127.0.0.1:9",
		Query: `avg(q{variant="{{ .Variant }}"})`, Templated: true, MaxUnderControl: ptr(0.05)}}}}
	e := a.Evaluate(t.Context(), 0, "canary", "stable")
	if e.Verdict != Pass || e.Results[0].Reason != "a variant check: it judges flag rollouts, not releases" {
		t.Errorf("Evaluate = %+v", e)
	}
}

func TestRenderQuery(t *testing.T) {
	c := pipeline.PrometheusCheck{Query: `q{flag="{{ .Flag }}", variant="{{.Variant}}"} / q{variant="{{ .Control }}"}`, Templated: true}
	got, err := c.RenderQuery(pipeline.VariantValues{Flag: "prompt", Variant: "concise", Control: "verbose"})
	if want := `q{flag="prompt", variant="concise"} / q{variant="verbose"}`; err != nil || got != want {
		t.Errorf("RenderQuery = %q, %v; want %q", got, err, want)
	}
}
