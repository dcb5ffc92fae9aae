package starter

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/gate"
)

// plan is a starter pipeline before it is written out as commented YAML.
type plan struct {
	about  string // what ferry init found, for the header comment
	serve  string // the command that starts the app, for the commented environments
	stages []stage
	// deploy is where a passed run's release runs (deploy.go); nil writes no environments section.
	deploy *service
}

type stage struct {
	name    string
	comment string
	// online, when set, says what the stage needs from the internet: it is written commented out, so that a
	// starter pipeline runs where the internet is out of reach. Uncommenting its lines enables it.
	online string
	steps  []step
}

type step struct {
	name      string
	comment   string
	run       string // a sh -e script; several lines are written as a YAML literal block
	env       [][2]string
	timeout   string
	retries   int
	artifacts []string
	gates     []gate.Gate
}

// keyNotes explain a step key the first time it appears in the file.
var keyNotes = map[string]string{
	"env":       "env adds variables for this step only.",
	"timeout":   "timeout stops the step and fails it when it runs longer (90s, 10m, 1h).",
	"retries":   "retries runs a failed step again, up to this many times, before the step counts as failed.",
	"artifacts": "artifacts are files the step leaves behind; they are kept with the release that a rollout deploys.",
	"gates": "gates judge the metrics the step wrote to $FERRY_METRICS, a JSON file such as {\"latency_p95_ms\": 41.2}.\n" +
		"max and min are absolute bounds; max_increase and max_decrease compare with the same metric in the\n" +
		"last passed run of the branch, as an amount or a percentage. A failed gate fails the run.\n" +
		"Steps can also use project secrets as environment variables: secrets: [BENCH_TOKEN]",
}

const header = `# The ferry pipeline of this repository, written by ` + "`ferry init`" + ` for %s.
# It is yours: edit it and commit it. ferry reads it from each commit it runs.
#
# For every commit pushed to the project's branch, ferry runs the stages one after another. Each stage
# is a gate: the next one starts only when every step of this one passed, and a release is made only
# when all of them passed. Every step runs as a ` + "`sh -e`" + ` script in the run's own checkout of the
# commit, shared by all its steps (later stages see what earlier ones built); the steps of a stage run
# in parallel. In a script, the first command that fails fails the step.
version: 1

# env is given to every step; a step's own env overrides it. CI=true makes most tools non-interactive.
env:
  CI: "true"

stages:
`

// render writes p as YAML with comments. Everything it writes comes from this package, so quoting only has
// to be right for that, but it is kept general: run scripts that are not safe as plain scalars become
// literal blocks.
func (p plan) render() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, header, p.about)
	explained := map[string]bool{}
	key := func(b *bytes.Buffer, indent, name string) {
		if note := keyNotes[name]; note != "" && !explained[name] {
			explained[name] = true
			writeComment(b, indent, note)
		}
	}
	for i, st := range p.stages {
		if i > 0 {
			b.WriteString("\n")
		}
		writeComment(&b, "  ", st.comment)
		out := &b
		var off bytes.Buffer
		if st.online != "" {
			writeComment(&b, "  ", "Off by default: "+st.online+".\n"+uncommentNote)
			out = &off
		}
		st.render(out, key)
		if st.online != "" {
			for _, line := range strings.SplitAfter(strings.TrimSuffix(off.String(), "\n"), "\n") {
				b.WriteString("# " + line)
			}
			b.WriteString("\n")
		}
	}
	if p.deploy != nil {
		// What ferry init found of how the app starts: environments on, or commented out saying why.
		p.deploy.render(&b)
		return b.Bytes()
	}
	b.WriteString("\n")
	writeComment(&b, "", fmt.Sprintf(environmentsComment, p.serve))
	return b.Bytes()
}

// uncommentNote says how to turn on what a starter writes commented out.
const uncommentNote = "Remove the \"# \" in front of each line below to turn it on."

// environmentsComment is a commented environments section; %s is the command that starts the app.
const environmentsComment = `environments: where a passed run's release goes, in order (docs/pipeline.md, "Environments").
A release holds only the files the steps list as artifacts, unpacked; run starts the app in it, once per
instance, with PORT set to the port it must listen on; health.path must answer 200 once the app is ready.
Fit run (ferry init's guess), listen and health.path to your app; ferry validate checks the result.
` + uncommentNote + `
environments:
  - name: staging
    service: {run: %[1]q, listen: 127.0.0.1:8081, health: {path: /healthz}}
    strategy: blue_green
  - name: production
    after: staging                    # once staging succeeded
    production: true                  # counts for the DORA metrics
    service: {run: %[1]q, listen: 127.0.0.1:8080, instances: 2, health: {path: /healthz}}
    strategy:
      canary:
        steps: [{weight: 10, pause: 1m}, {weight: 50, pause: 1m}]
    analysis:
      checks:
        - {metric: error_rate, max: 1%%}
        - {metric: latency_p99, max: 500ms}`

// render writes the stage as an item of the stages list; key explains a step key the first time.
func (st stage) render(b *bytes.Buffer, key func(b *bytes.Buffer, indent, name string)) {
	fmt.Fprintf(b, "  - name: %s\n    steps:\n", st.name)
	for _, s := range st.steps {
		const in = "        "
		writeComment(b, "      ", s.comment)
		fmt.Fprintf(b, "      - name: %s\n", s.name)
		writeRun(b, in, s.run)
		if len(s.env) > 0 {
			key(b, in, "env")
			b.WriteString(in + "env:\n")
			for _, kv := range s.env {
				fmt.Fprintf(b, "%s  %s: %s\n", in, kv[0], strconv.Quote(kv[1]))
			}
		}
		if s.timeout != "" {
			key(b, in, "timeout")
			fmt.Fprintf(b, "%stimeout: %s\n", in, s.timeout)
		}
		if s.retries > 0 {
			key(b, in, "retries")
			fmt.Fprintf(b, "%sretries: %d\n", in, s.retries)
		}
		if len(s.artifacts) > 0 {
			key(b, in, "artifacts")
			fmt.Fprintf(b, "%sartifacts: [%s]\n", in, strings.Join(s.artifacts, ", "))
		}
		if len(s.gates) > 0 {
			key(b, in, "gates")
			b.WriteString(in + "gates:\n")
			for _, g := range s.gates {
				writeGate(b, in+"  ", g)
			}
		}
	}
}

func writeGate(b *bytes.Buffer, indent string, g gate.Gate) {
	fmt.Fprintf(b, "%s- metric: %s\n", indent, g.Metric)
	number := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for _, bound := range []struct {
		key string
		v   *float64
	}{{"min", g.Min}, {"max", g.Max}} {
		if bound.v != nil {
			fmt.Fprintf(b, "%s  %s: %s\n", indent, bound.key, number(*bound.v))
		}
	}
	for _, bound := range []struct {
		key string
		c   *gate.Change
	}{{"max_increase", g.MaxIncrease}, {"max_decrease", g.MaxDecrease}} {
		if bound.c == nil {
			continue
		}
		v := number(bound.c.Value)
		if bound.c.Percent {
			v += "%"
		}
		fmt.Fprintf(b, "%s  %s: %s\n", indent, bound.key, v)
	}
}

func writeComment(b *bytes.Buffer, indent, text string) {
	if text == "" {
		return
	}
	for _, line := range strings.Split(text, "\n") {
		b.WriteString(strings.TrimRight(indent+"# "+line, " ") + "\n")
	}
}

func writeRun(b *bytes.Buffer, indent, run string) {
	if isPlainYAML(run) {
		fmt.Fprintf(b, "%srun: %s\n", indent, run)
		return
	}
	b.WriteString(indent + "run: |\n")
	for _, line := range strings.Split(strings.TrimRight(run, "\n"), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		b.WriteString(indent + "  " + line + "\n")
	}
}

// isPlainYAML reports whether s reads back as the same string when written as a plain YAML scalar. It is
// conservative: anything doubtful gets a literal block instead.
func isPlainYAML(s string) bool {
	if s == "" || s != strings.TrimSpace(s) || strings.ContainsAny(s, "\n\t") ||
		strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	return !strings.ContainsRune("-?:,[]{}#&*!|>'\"%@`", rune(s[0]))
}
