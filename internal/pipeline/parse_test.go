package pipeline

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/gate"
)

func TestParseFull(t *testing.T) {
	data, err := os.ReadFile("testdata/full.ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(FileName, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	lo, hi := 1.0, 50.0
	want := &Pipeline{
		Version: 1,
		Env:     map[string]string{"CGO_ENABLED": "0"},
		Stages: []Stage{{
			Name: "build",
			Pos:  Pos{5, 5},
			Steps: []Step{{
				Name:      "compile",
				Run:       "go build -o dist/app ./cmd/app",
				Artifacts: []string{"dist/app"},
				Timeout:   10 * time.Minute,
				Retries:   1,
				Env:       map[string]string{"K": "V"},
				Secrets:   []string{"BENCH_TOKEN"},
				Gates: []gate.Gate{{
					Metric:      "latency_p95_ms",
					Min:         &lo,
					Max:         &hi,
					MaxIncrease: &gate.Change{Value: 10, Percent: true},
					MaxDecrease: &gate.Change{Value: 2},
				}},
				Pos: Pos{7, 9},
			}},
		}},
		Environments: []Environment{{
			Name:     "staging",
			Target:   "local",
			Service:  Service{Run: "./dist/app", Listen: "localhost:9001", Instances: 1, Health: defaultHealth, At: Claim{Listen: Pos{22, 40}}},
			Analysis: defaultAnalysis,
			Pos:      Pos{21, 5},
		}, {
			Name:       "production",
			After:      "staging",
			Production: true,
			Target:     "local",
			Service:    Service{Run: "./dist/app", Listen: "[::1]:9000", Instances: 3, Health: defaultHealth, At: Claim{Listen: Pos{26, 40}}},
			Analysis:   defaultAnalysis,
			Pos:        Pos{23, 5},
		}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", got, want)
	}
}

// TestParseYAMLFeatures covers what YAML offers beyond plain mappings: anchors and merge keys, a multi-line
// script, and scalars that are not strings where text is wanted.
func TestParseYAMLFeatures(t *testing.T) {
	data, err := os.ReadFile("testdata/anchors.ferry.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(FileName, data)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := p.Env, map[string]string{"DEBUG": "true", "JOBS": "4", "EMPTY": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("Env = %v, want %v", got, want)
	}
	steps := p.Stages[0].Steps
	if len(steps) != 2 {
		t.Fatalf("got %d steps, want 2", len(steps))
	}
	if s := steps[0]; s.Name != "unit" || s.Timeout != 5*time.Minute || s.Retries != 2 || s.Run != "go test ./...\ngo vet ./...\n" {
		t.Errorf("step 0 = %+v, want unit with the defaults merged", s)
	}
	if s := steps[1]; s.Name != "race" || s.Timeout != 20*time.Minute || s.Retries != 2 {
		t.Errorf("step 1 = %+v, want race with its own timeout over the merged one", s)
	}
	if got := p.Stages[1].Steps[0].Gates[0].MaxIncrease; *got != (gate.Change{Value: 2.5}) {
		t.Errorf("MaxIncrease = %+v, want absolute 2.5", got)
	}
}

func TestParseErrors(t *testing.T) {
	// step wraps the lines of one step, written at its indentation; they start at line 6, column 9.
	step := func(lines ...string) string {
		return "version: 1\nstages:\n  - name: build\n    steps:\n      - name: compile\n" +
			"        " + strings.Join(lines, "\n        ") + "\n"
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		// The file as a whole.
		{"empty", "", []string{`1:1: file is empty; start it with "version: 1" and a list of stages`}},
		{"comments only", "# nothing yet\n", []string{`1:1: file is empty; start it with "version: 1" and a list of stages`}},
		{"top level list", "- build\n", []string{`1:1: the file must be a mapping with "version" and "stages", not a list`}},
		{"two documents", "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\n---\nversion: 1\n", []string{
			`3:1: a second YAML document starts here; a pipeline file holds exactly one, so remove it`}},
		{"syntax error", "version: 1\nstages:\n  - name: a\n    steps: [\n", []string{
			`4:1: invalid YAML: did not find expected node content`}},
		{"syntax error on line 1", "version: 1: 2\n", []string{
			`1:1: invalid YAML: mapping values are not allowed in this context`}},
		{"unknown anchor", "version: 1\nstages: *stages\n", []string{`2:9: invalid YAML: unknown anchor 'stages' referenced`}},
		{"invalid utf-8", "version: 1\nstages: \"\xff\"\n", []string{`2:10: invalid YAML: invalid leading UTF-8 octet`}},
		{"control character", "version: 1\nstages: \x01\n", []string{`2:9: invalid YAML: control characters are not allowed`}},
		{"anchor contains itself", "version: 1\nstages: &s [*s]\n", []string{
			`2:13: alias *s is inside its own anchor &s; an anchor cannot contain itself`}},

		// The top level.
		{"missing version and stages", "env: {A: b}\n", []string{
			`1:1: pipeline has no "version"; add "version: 1"`,
			`1:1: pipeline has no "stages"; add a list of stages, each with a name and steps`}},
		{"version 2", "version: 2\nstages: []\n", []string{
			`1:10: "version" must be 1, not 2; 1 is the only version this ferry reads`,
			`2:9: "stages" is empty; add at least one stage`}},
		{"version string", "version: \"1\"\nstages:\n", []string{
			`1:10: "version" must be 1, not "1"; 1 is the only version this ferry reads`,
			`2:8: "stages" is empty; add at least one stage`}},
		{"unknown top-level key", "version: 1\nstage: []\n", []string{
			`1:1: pipeline has no "stages"; add a list of stages, each with a name and steps`,
			`2:1: unknown key "stage" in pipeline (did you mean "stages"?)`}},
		{"unknown key far from any", "version: 1\nfoo: 1\nstages: x\n", []string{
			`2:1: unknown key "foo" in pipeline (known keys: version, env, stages, environments, flags)`,
			`3:9: "stages" must be a list, not "x"`}},
		{"duplicate key", "version: 1\nversion: 1\nstages: []\n", []string{
			`2:1: duplicate key "version" in pipeline (first at line 1); remove one`,
			`3:9: "stages" is empty; add at least one stage`}},
		{"key that is a list", "[a]: 1\nversion: 1\nstages: []\n", []string{
			`1:1: keys in pipeline must be plain names, not a list`,
			`3:9: "stages" is empty; add at least one stage`}},

		// Env, top-level and per step.
		{"env names and values", "version: 1\nenv:\n  1X: a\n  FERRY_RUN: b\n  LIST: [1]\n  NONE:\nstages: []\n", []string{
			`3:3: invalid env name "1X": use letters, digits and "_", not starting with a digit`,
			`4:3: env name "FERRY_RUN" is reserved: ferry sets the FERRY_* variables itself; rename it`,
			`5:9: env LIST must be a string, not a list`,
			`6:8: env NONE has no value; write NONE: "" for an empty one`,
			`7:9: "stages" is empty; add at least one stage`}},
		{"env not a mapping", step("run: make", "env: [A]"), []string{
			`7:14: "env" must be a mapping of NAME: value, not a list`}},

		// Stages and steps.
		{"stage not a mapping", "version: 1\nstages:\n  - build\n", []string{
			`3:5: each stage must be a mapping, not "build"`}},
		{"stage without name or steps", "version: 1\nstages:\n  - steps: []\n  - name: deploy\n", []string{
			`3:5: stage has no "name"; add one, like name: build`,
			`3:12: "steps" is empty; add at least one step`,
			`4:5: stage "deploy" has no "steps"; add a list of steps, each with a name and run`}},
		{"bad names", "version: 1\nstages:\n  - name: my build\n    steps:\n      - name: a/b\n        run: x\n      - name: ''\n        run: x\n", []string{
			`3:11: invalid stage name "my build": use letters, digits, "_", "." and "-", starting with a letter or digit`,
			`5:15: invalid step name "a/b": use letters, digits, "_", "." and "-", starting with a letter or digit`,
			`7:15: step name is empty; give it one, like compile`}},
		{"duplicate names", "version: 1\nstages:\n  - name: a\n    steps: [{name: x, run: y}, {name: x, run: z}]\n  - name: a\n    steps: [{name: x, run: y}]\n", []string{
			`4:39: duplicate step name "x" (first at line 4); rename one`,
			`5:11: duplicate stage name "a" (first at line 3); rename one`}},
		{"stage repeated by alias", "version: 1\nstages:\n  - &a {name: a, steps: [{name: x, run: y}]}\n  - *a\n", []string{
			`4:5: duplicate stage name "a" (first at line 3); rename one`}},
		{"unknown step key", step("run: make", "timout: 5m"), []string{
			`7:9: unknown key "timout" in step (did you mean "timeout"?)`}},
		{"unknown key in wrong case", step("run: make", "Retries: 1"), []string{
			`7:9: unknown key "Retries" in step (did you mean "retries"?)`}},
		{"missing run", step("timeout: 5m"), []string{
			`5:9: step "compile" has no "run"; add the shell script to run`}},
		{"blank run", step(`run: "  "`), []string{`6:14: "run" is empty; give the shell script to run`}},
		{"run is a list", step("run: [make]"), []string{`6:14: "run" must be a string, not a list`}},

		// Step settings.
		{"timeout without unit", step("run: make", "timeout: 10"), []string{
			`7:18: "timeout" 10 has no unit; write "10s" or "10m"`}},
		{"timeout not a duration", step("run: make", "timeout: soon"), []string{
			`7:18: invalid "timeout" "soon": write a duration like "90s", "10m" or "1h30m"`}},
		{"timeout zero", step("run: make", "timeout: 0s"), []string{`7:18: "timeout" must be more than zero, not "0s"`}},
		{"retries too many", step("run: make", "retries: 11"), []string{
			`7:18: "retries" must be a whole number from 0 to 10, not 11`}},
		{"retries not a number", step("run: make", "retries: twice"), []string{
			`7:18: "retries" must be a whole number from 0 to 10, not "twice"`}},
		{"artifacts", step("run: make", "artifacts: [/etc/passwd, ../up, dist/../../x, '', dist/ok, {a: b}]"), []string{
			`7:21: artifact "/etc/passwd" is an absolute path; give a path relative to the checkout`,
			`7:34: artifact "../up" has a ".." element; give a path inside the checkout`,
			`7:41: artifact "dist/../../x" has a ".." element; give a path inside the checkout`,
			`7:55: artifact path is empty; give a path relative to the checkout, like dist/app`,
			`7:68: each artifact must be a string, not a mapping`}},
		{"artifacts not a list", step("run: make", "artifacts: dist/app"), []string{
			`7:20: "artifacts" must be a list, not "dist/app"`}},
		{"secrets", step("run: make", "secrets: [TOKEN, TOKEN, 2FA, FERRY_TOKEN]"), []string{
			`7:26: duplicate secret "TOKEN" (first at line 7); remove one`,
			`7:33: invalid secret name "2FA": use letters, digits and "_", not starting with a digit`,
			`7:38: secret name "FERRY_TOKEN" is reserved: ferry sets the FERRY_* variables itself; rename it`}},

		// Gates.
		{"gate without bound or metric", step("run: make", "gates:", "  - metric: p95", "  - max: 1"), []string{
			`8:13: gate checks nothing; add min, max, max_increase or max_decrease`,
			`9:13: gate has no "metric"; name the metric to check, like metric: latency_p95_ms`}},
		{"gate metric name", step("run: make", "gates: [{metric: 'p95 ms', max: 1}, {metric: 9lives, max: 1}]"), []string{
			`7:26: metric "p95 ms" is not a metric name: letters, digits and _ . : - (up to 128, not starting with a digit)`,
			`7:54: metric "9lives" is not a metric name: letters, digits and _ . : - (up to 128, not starting with a digit)`}},
		{"gate min above max", step("run: make", "gates: [{metric: p95, min: 5, max: 1}]"), []string{
			`7:36: min 5 is more than max 1; no value can pass`}},
		{"gate bad bounds", step("run: make", "gates:", "  - metric: p95", "    max: '5'", "    min: .nan",
			"    max_increase: lots", "    max_decrease: -5%", "    mx: 1"), []string{
			`9:18: "max" must be a number, not "5" (remove the quotes)`,
			`10:18: "min" must be a finite number, not .nan`,
			`11:27: "max_increase" must be a number (an absolute change) or a percentage like "10%", not "lots"`,
			`12:27: "max_decrease" is negative (-5%); give the size of the change allowed, like 10 or "10%"`,
			`13:13: unknown key "mx" in gate (did you mean "max"?)`}},

		// Environment names; the other keys of environments are in environment_test.go.
		{"environments", "version: 1\nstages: [{name: a, steps: [{name: b, run: c}]}]\nenvironments:\n" +
			"  - name: prod\n    service: {run: a, listen: 127.0.0.1:1}\n  - name: prod\n    service: {run: a, listen: 127.0.0.1:2}\n" +
			"  - service: {run: a, listen: 127.0.0.1:3}\n  - staging\n", []string{
			`6:11: duplicate environment name "prod" (first at line 4); rename one`,
			`8:5: environment has no "name"; add one, like name: production`,
			`9:5: each environment must be a mapping, not "staging"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("", []byte(tt.in))
			if p != nil {
				t.Errorf("Parse returned a pipeline with errors: %+v", p)
			}
			if got, want := errString(err), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Parse errors:\n got: %s\nwant: %s", strings.ReplaceAll(got, "\n", "\n      "), strings.ReplaceAll(want, "\n", "\n      "))
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

func TestAliasBomb(t *testing.T) {
	// Each level is a list of ten aliases to the level before: nine levels expand to a billion nodes.
	var b strings.Builder
	b.WriteString("version: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		alias := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "l%d: &l%d [%s]\n", i, i, strings.Repeat(alias+", ", 9)+alias)
	}
	_, err := Parse("", []byte(b.String()))
	if want := "1:1: aliases expand the file to more than 100000 nodes; use fewer aliases"; errString(err) != want {
		t.Errorf("Parse = %v, want %s", err, want)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: ".ferry.yaml", Line: 3, Col: 7, Msg: "bad"}, ".ferry.yaml:3:7: bad"},
		{&Error{Line: 3, Col: 7, Msg: "bad"}, "3:7: bad"},
		{&Error{File: ".ferry.yaml", Msg: "bad"}, ".ferry.yaml: bad"},
		{&Error{Msg: "bad"}, "bad"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestErrorList(t *testing.T) {
	_, err := Parse(FileName, []byte("version: 1\nstages:\n  - name: a\n    steps: []\nnope: 1\n"))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != 2 {
		t.Fatalf("Parse = %v, want an ErrorList of 2", err)
	}
	var first *Error
	if !errors.As(err, &first) || first != list[0] || first.File != FileName || first.Line != 4 {
		t.Errorf("errors.As found %+v, want the first problem, at line 4", first)
	}
}

func TestParseFlagsSection(t *testing.T) {
	pl, err := Parse(FileName, []byte(`version: 1
stages:
  - name: build
    steps: [{name: compile, run: "true"}]
flags:
  new-checkout:
    variants: {on: true, off: false}
    default: off
`))
	if err != nil {
		t.Fatal(err)
	}
	if pl.Flags == nil || len(pl.Flags.Keys()) != 1 || pl.Flags.Keys()[0] != "new-checkout" {
		t.Fatalf("flags %v", pl.Flags)
	}
	// A problem in the section is reported at its place in the pipeline file, with the others.
	_, err = Parse(FileName, []byte(`version: 1
stages:
  - name: build
    steps: [{name: compile, run: "true"}]
flags:
  new-checkout:
    variants: {on: true, off: false}
    default: maybe
`))
	if err == nil || !strings.HasPrefix(err.Error(), ".ferry.yaml:8:14: ") {
		t.Errorf("bad default: %v, want an error at .ferry.yaml:8:14", err)
	}
}
