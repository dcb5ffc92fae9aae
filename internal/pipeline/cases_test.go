package pipeline

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/evals"
)

func TestParseCases(t *testing.T) {
	in := `version: 1
stages:
  - name: evals
    steps:
      - name: promptfoo
        run: npx promptfoo eval -o out/results.json
        cases:
          file: out/results.json
          gates:
            - new_failures: {max: 0}
            - tag: safety
              failures: {max: 0}
            - pass_rate: {min: 0.9, max_decrease: 0.05, confidence: 0.9}
            - tag: accuracy
              score: {metric: similarity, min: 0.8}
      - name: own
        run: ./evals.sh
        cases: {}
      - name: pytest
        run: pytest --junitxml=out/junit.txt
        cases: {file: out/junit.txt, format: junit}
`
	p, err := Parse(FileName, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	lo, dec, min := 0.9, 0.05, 0.8
	steps := p.Stages[0].Steps
	want := &Cases{File: "out/results.json", Format: evals.Promptfoo, Pos: Pos{8, 11}, Gates: []evals.Gate{
		{NewFailures: &evals.Count{Max: 0}},
		{Tag: "safety", Failures: &evals.Count{Max: 0}},
		{PassRate: &evals.Rate{Min: &lo, MaxDecrease: &dec, Confidence: 0.9}},
		{Tag: "accuracy", Score: &evals.Score{Metric: "similarity", Min: &min}},
	}}
	if !reflect.DeepEqual(steps[0].Cases, want) {
		t.Errorf("promptfoo step: got %+v\nwant %+v", steps[0].Cases, want)
	}
	if c := steps[1].Cases; c == nil || c.File != "" || c.Format != evals.JSONL || c.Gates != nil {
		t.Errorf("own step: %+v", c)
	}
	if c := steps[2].Cases; c == nil || c.Format != evals.JUnit {
		t.Errorf("pytest step: %+v", c)
	}
}

func TestParseCasesErrors(t *testing.T) {
	step := func(lines ...string) string {
		return "version: 1\nstages:\n  - name: evals\n    steps:\n      - name: promptfoo\n        run: make\n" +
			"        " + strings.Join(lines, "\n        ") + "\n"
	}
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"not a mapping", step("cases: out/results.json"), []string{
			`7:16: "cases" must be a mapping, not "out/results.json"`}},
		{"paths", step("cases: {file: /tmp/r.json}"), []string{
			`7:23: cases file "/tmp/r.json" is an absolute path; give a path relative to the checkout`}},
		{"escape", step("cases: {file: ../r.json}"), []string{
			`7:23: cases file "../r.json" has a ".." element; give a path inside the checkout`}},
		{"unknown extension", step("cases: {file: out/r.txt}"), []string{
			`7:23: cannot tell the format of "out/r.txt" from its name; add format: jsonl, promptfoo or junit`}},
		{"format without file", step("cases: {format: promptfoo}"), []string{
			`7:25: format promptfoo needs a "file": name the file the tool writes (without one, the step writes JSON Lines to $FERRY_CASES)`}},
		{"misspelt format", step("cases: {file: r.json, format: promtfoo}"), []string{
			`7:39: "format" must be jsonl, promptfoo or junit, not "promtfoo" (did you mean "promptfoo"?)`}},
		{"gates", step("cases:", "  gates:",
			"    - tag: safety",
			"    - {new_failures: {max: 0}, failures: {max: 0}}",
			"    - new_failures: {max: -1}",
			"    - failures: {}",
			"    - pass_rate: {min: 1.5, confidence: 0.2}",
			"    - pass_rate: {}",
			"    - score: {metric: 'a b', min: 1}",
			"    - score: {metric: sim, min: 2, max: 1}",
			"    - score: {metric: sim}",
			"    - newfailures: {max: 0}",
		), []string{
			`9:15: cases gate checks nothing; add new_failures, failures, pass_rate or score`,
			`10:40: a cases gate checks one thing: "new_failures" and "failures" are in one gate; make them two gates (each a list item)`,
			`11:35: "max" must be a whole number from 0 to 5000, not -1`,
			`12:25: "failures" needs a max, like failures: {max: 0}`,
			`13:32: "min" must be from 0 to 1, not 1.5`,
			`13:49: "confidence" must be from 0.5 to 0.999, not 0.2`,
			`14:26: "pass_rate" checks nothing; add min (like 0.9) or max_decrease (like 0.05, against the baseline)`,
			`15:31: metric "a b" is not a metric name: letters, digits and _ . : - (up to 128, not starting with a digit)`,
			`16:41: min 2 is more than max 1; no value can pass`,
			`17:22: "score" checks nothing; add min or max, a bound on the mean over the cases`,
			`18:15: unknown key "newfailures" in cases gate (did you mean "new_failures"?)`,
			`18:15: cases gate checks nothing; add new_failures, failures, pass_rate or score`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("", []byte(tc.in))
			if got, want := errString(err), strings.Join(tc.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", strings.ReplaceAll(got, "\n", "\n      "), strings.ReplaceAll(want, "\n", "\n      "))
			}
		})
	}
}
