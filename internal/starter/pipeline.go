package starter

import (
	"io/fs"

	"github.com/ferry-cd/ferry/internal/gate"
)

// Pipeline returns a starter .ferry.yaml for a repository of kind k: stages build, test (unit and
// integration tests in parallel), security and benchmark, with comments that explain each part. fsys is the
// repository, read to fit the steps to it (main packages, package.json scripts, a Makefile...); nil reads as
// an empty repository. An unknown kind gets the Generic pipeline.
func Pipeline(k Kind, fsys fs.FS) []byte {
	return planFor(k, fsys).render()
}

func planFor(k Kind, fsys fs.FS) plan {
	switch k {
	case Go:
		return goPlan(fsys)
	case Node:
		return nodePlan(fsys)
	case Python:
		return pythonPlan(fsys)
	}
	return genericPlan(fsys)
}

// Stage comments shared by every kind.
const (
	buildComment = "build: does the commit compile? Later stages do not start when it does not."
	testComment  = "test: unit and integration tests run as two steps, in parallel."
	// securityComment is followed by the kind's own sentence.
	securityComment = "security: known vulnerabilities in the dependencies fail the run before anything is released."
	benchComment    = "benchmark: a step writes metrics, and its gate fails the run when they get worse."
	releaseComment  = "release: what the steps keep as artifacts is the release that the environments below run."
)

const (
	testTimeout        = "10m"
	integrationTimeout = "20m"
)

// placeholderBenchmark is the benchmark stage for a repository whose benchmarks ferry init cannot find or run.
func placeholderBenchmark(hint string) stage {
	comment := "PLACEHOLDER: replace the echo with your benchmark. It must write its results as JSON to\n" +
		"$FERRY_METRICS, e.g. {\"latency_p95_ms\": 41.2}, and the gate must name one of them."
	if hint != "" {
		comment += "\n" + hint
	}
	return stage{
		name:    "benchmark",
		comment: benchComment,
		steps: []step{{
			name:    "benchmark",
			comment: comment,
			run:     `echo '{"example_ms": 1}' > "$FERRY_METRICS"`,
			timeout: "15m",
			gates:   []gate.Gate{benchGate("example_ms", 50)},
		}},
	}
}

// benchGate bounds a benchmark metric absolutely and against the last passed run: 10 % worse fails.
func benchGate(metric string, limit float64) gate.Gate {
	return gate.Gate{Metric: metric, Max: &limit, MaxIncrease: &gate.Change{Value: 10, Percent: true}}
}
