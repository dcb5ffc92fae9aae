package starter

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"github.com/ferry-cd/ferry/internal/gate"
)

// goBenchScript runs every benchmark and writes one metric that follows the speed of the whole code base:
// the geometric mean of ns/op, as benchstat reports it. The output goes to a file first because sh has no
// pipefail: a failing `go test | awk` would pass.
const goBenchScript = `go test -run '^$' -bench . -benchtime 200ms -count 5 ./... > bench.txt
cat bench.txt
awk '/^Benchmark/ { for (i = 3; i < NF; i++) if ($(i+1) == "ns/op" && $i > 0) { sum += log($i); n++ } }
  END { if (n == 0) { print "no benchmark results in bench.txt" > "/dev/stderr"; exit 1 }
        printf "{\"bench_geomean_ns_op\": %.3f, \"bench_results\": %d}\n", exp(sum / n), n }' bench.txt > "$FERRY_METRICS"`

func goPlan(fsys fs.FS) plan {
	compile := step{name: "compile", run: "go build ./...", timeout: testTimeout,
		comment: "No main package was found: this checks that every package compiles."}
	if run, artifacts := goBuild(fsys); run != "" {
		compile = step{
			name:      "compile",
			comment:   "Builds the commands into dist/. CGO_ENABLED=0 makes static binaries that run on any Linux host.",
			run:       run,
			env:       [][2]string{{"CGO_ENABLED", "0"}},
			timeout:   testTimeout,
			artifacts: artifacts,
		}
	}
	bench := placeholderBenchmark("ferry init writes a go test -bench step here when the repository has a func BenchmarkXxx.")
	if goHasBenchmarks(fsys) {
		bench = stage{name: "benchmark", comment: benchComment, steps: []step{{
			name: "go-bench",
			comment: "Every benchmark, 5 rounds; the metric is the geometric mean of ns/op over all of them.\n" +
				"max (1 s per operation) is only a start: set your own budget, or gate one benchmark by\n" +
				"writing its ns/op under a name of your own.",
			run:     goBenchScript,
			timeout: "15m",
			gates:   []gate.Gate{benchGate("bench_geomean_ns_op", 1e9)},
		}}}
	}
	deploy := &service{why: "the module has no main package (in its root or cmd/*) to run.",
		portFound: readsPort(fsys, goPort, ".go")}
	deploy.health, deploy.healthFound = findHealth(fsys, ".go")
	if _, artifacts := goBuild(fsys); len(artifacts) > 0 {
		bin := artifacts[0]
		if isMainPackage(fsys, ".") {
			bin = "dist/" + goBinaryName(readFile(fsys, "go.mod"))
		} else if len(artifacts) > 1 {
			deploy.comment = "The release holds " + strings.Join(artifacts, ", ") + "; the environment runs " + bin + "."
		}
		deploy.run = "exec ./" + bin
	}
	return plan{
		deploy: deploy,
		about:  "a Go module",
		stages: []stage{
			{name: "build", comment: buildComment, steps: []step{
				compile,
				{name: "vet", run: "go vet ./...", timeout: testTimeout},
			}},
			{name: "test", comment: testComment + "\nAdd -race to the go test commands when the runner has a C compiler.", steps: []step{
				{
					name:    "unit",
					comment: "-short: slow tests skip themselves with if testing.Short() { t.Skip() }.",
					run:     "go test -short ./...",
					timeout: testTimeout,
				},
				{
					name: "integration",
					comment: "Integration tests are the tests whose name contains Integration (TestIntegrationCheckout);\n" +
						"they skip themselves under -short. With none yet, go test warns and passes.",
					run:     "go test -count=1 -run Integration ./...",
					timeout: integrationTimeout,
					retries: 1,
				},
			}},
			{name: "security", online: "govulncheck downloads the tool and the Go vulnerability database", comment: securityComment + "\ngovulncheck reports only vulnerabilities in code the module actually calls; it needs network access.", steps: []step{
				{name: "govulncheck", run: "go run golang.org/x/vuln/cmd/govulncheck@latest ./...", timeout: testTimeout},
			}},
			bench,
		},
	}
}

// goBuild returns the build command for the main packages of the module (the root and cmd/*) and the
// binaries it leaves in dist/; an empty run when there is none.
func goBuild(fsys fs.FS) (run string, artifacts []string) {
	var lines []string
	if isMainPackage(fsys, ".") {
		name := goBinaryName(readFile(fsys, "go.mod"))
		lines = append(lines, "go build -o dist/"+name+" .")
		artifacts = append(artifacts, "dist/"+name)
	}
	var cmds []string
	if fsys != nil {
		entries, _ := fs.ReadDir(fsys, "cmd")
		for _, e := range entries {
			if e.IsDir() && isSafeName(e.Name()) && isMainPackage(fsys, path.Join("cmd", e.Name())) {
				cmds = append(cmds, "dist/"+e.Name())
			}
		}
	}
	if len(cmds) > 0 {
		// With -o ending in a slash, go build writes every main package under cmd/ into dist/.
		lines = append(lines, "go build -o dist/ ./cmd/...")
		artifacts = append(artifacts, cmds...)
	}
	slices.Sort(artifacts)
	return strings.Join(lines, "\n"), slices.Compact(artifacts)
}

// isMainPackage reports whether dir holds a Go package named main, from the package clause of its first
// non-test Go file.
func isMainPackage(fsys fs.FS, dir string) bool {
	if fsys == nil {
		return false
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src := readFile(fsys, path.Join(dir, name))
		f, err := parser.ParseFile(token.NewFileSet(), name, src, parser.PackageClauseOnly)
		if err != nil {
			continue
		}
		return f.Name.Name == "main"
	}
	return false
}

var (
	goPort         = regexp.MustCompile(`(Getenv|LookupEnv)\("PORT"\)`)
	goModuleLine   = regexp.MustCompile(`(?m)^module\s+"?([^"\s]+)"?`)
	goMajorVersion = regexp.MustCompile(`^v[0-9]+$`)
	safeName       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)
)

// goBinaryName names the binary of a root main package after the module, as go build would: the last
// element of the module path that is not a major version suffix (v2). It falls back to "app".
func goBinaryName(gomod []byte) string {
	m := goModuleLine.FindSubmatch(gomod)
	if m == nil {
		return "app"
	}
	elems := strings.Split(string(m[1]), "/")
	name := elems[len(elems)-1]
	if len(elems) > 1 && goMajorVersion.MatchString(name) {
		name = elems[len(elems)-2]
	}
	if !isSafeName(name) {
		return "app"
	}
	return name
}

// isSafeName reports whether name can be written into a shell command and a YAML list unquoted.
func isSafeName(name string) bool {
	return safeName.MatchString(name)
}

// goHasBenchmarks reports whether any test file of the module declares a benchmark, skipping the
// directories the go tool skips.
func goHasBenchmarks(fsys fs.FS) bool {
	if fsys == nil {
		return false
	}
	found := false
	fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable directory has no benchmarks we could run
		}
		name := d.Name()
		if d.IsDir() {
			if p != "." && (name == "vendor" || name == "testdata" || name == "node_modules" ||
				strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, "_test.go") && bytes.Contains(readFile(fsys, p), []byte("\nfunc Benchmark")) {
			found = true
			return fs.SkipAll
		}
		return nil
	})
	return found
}
