package starter

import (
	"context"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// starterRepos are the repositories every starter pipeline is checked against.
var starterRepos = map[string]struct {
	kind Kind
	fsys fs.FS
}{
	"go library": {Go, fstest.MapFS{"go.mod": file("module example.com/lib\n"), "lib.go": file("package lib\n")}},
	"go commands": {Go, fstest.MapFS{
		"go.mod":            file("module example.com/tool/v2\n"),
		"main.go":           file("// A tool.\npackage main\n"),
		"main_test.go":      file("package main\nfunc BenchmarkX(b *testing.B) {}\n"),
		"cmd/a/main.go":     file("package main\n"),
		"cmd/lib/lib.go":    file("package lib\n"),
		"cmd/b/doc_test.go": file("package main\n"),
	}},
	"go nil fs":           {Go, nil},
	"node minimal":        {Node, fstest.MapFS{"package.json": file(`{"name":"x","scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}`)}},
	"node invalid":        {Node, fstest.MapFS{"package.json": file(`{`)}},
	"node complete":       {Node, fstest.MapFS{"package-lock.json": file("{}"), "package.json": file(`{"scripts":{"build":"tsc","lint":"eslint .","test":"jest","test:integration":"jest -c it.js"}}`)}},
	"python requirements": {Python, fstest.MapFS{"requirements.txt": file("flask\n")}},
	"python package":      {Python, fstest.MapFS{"pyproject.toml": file("[project]\nname = \"x\"\n"), "requirements.txt": file("")}},
	"python tool config":  {Python, fstest.MapFS{"pyproject.toml": file("[tool.black]\n")}},
	"generic empty":       {Generic, fstest.MapFS{}},
	"generic make":        {Generic, fstest.MapFS{"Makefile": file("all:\n\ttrue\ntest: all\n\ttrue\n")}},
	"unknown kind":        {Kind("cobol"), nil},
}

func parseStarter(t *testing.T, k Kind, fsys fs.FS) *pipeline.Pipeline {
	t.Helper()
	data := Pipeline(k, fsys)
	p, err := pipeline.Parse(pipeline.FileName, data)
	if err != nil {
		t.Fatalf("the starter pipeline does not parse: %v\n%s", err, data)
	}
	return p
}

func TestPipelineParses(t *testing.T) {
	for name, repo := range starterRepos {
		t.Run(name, func(t *testing.T) {
			p := parseStarter(t, repo.kind, repo.fsys)
			var stages []string
			for _, s := range p.Stages {
				stages = append(stages, s.Name)
			}
			// The security stages that need the internet are written commented out.
			want := []string{"build", "test", "benchmark"}
			if repo.kind == Generic || repo.kind == "cobol" {
				want = []string{"build", "test", "security", "benchmark"}
			}
			if repo.kind == Node || repo.kind == Python {
				want = append(want, "release") // production dependencies, pruned or installed after the tests
			}
			if !slices.Equal(stages, want) {
				t.Fatalf("stages %v; want %v", stages, want)
			}
			if n := len(p.Stages[1].Steps); n < 2 || p.Stages[1].Steps[0].Name != "unit" || p.Stages[1].Steps[1].Name != "integration" {
				t.Errorf("test stage has %d steps; want unit and integration first", n)
			}
			bench := findStep(t, p, "benchmark", p.Stages[slices.IndexFunc(p.Stages, func(st pipeline.Stage) bool { return st.Name == "benchmark" })].Steps[0].Name)
			if len(bench.Gates) != 1 || bench.Gates[0].Max == nil || bench.Gates[0].MaxIncrease == nil ||
				*bench.Gates[0].MaxIncrease != (gate.Change{Value: 10, Percent: true}) {
				t.Errorf("benchmark gates %+v; want max and max_increase 10%%", bench.Gates)
			}
			if !strings.Contains(bench.Run, "$FERRY_METRICS") {
				t.Errorf("benchmark step does not write $FERRY_METRICS:\n%s", bench.Run)
			}
			// Every script must at least be valid sh.
			for _, st := range p.Stages {
				for _, s := range st.Steps {
					if out, err := exec.Command("sh", "-n", "-c", s.Run).CombinedOutput(); err != nil {
						t.Errorf("step %s/%s is not valid sh: %v\n%s\n%s", st.Name, s.Name, err, out, s.Run)
					}
				}
			}
		})
	}
}

func TestPipelineFitsTheRepository(t *testing.T) {
	tests := []struct {
		repo      string
		stage     string
		step      string
		want      string // in the step's script
		artifacts []string
	}{
		{"go library", "build", "compile", "go build ./...", nil},
		{"go commands", "build", "compile", "go build -o dist/tool .\ngo build -o dist/ ./cmd/...", []string{"dist/a", "dist/tool"}},
		{"go commands", "benchmark", "go-bench", "go test -run '^$' -bench .", nil},
		{"go library", "benchmark", "benchmark", "echo", nil},
		{"go library", "security", "govulncheck", "go run golang.org/x/vuln/cmd/govulncheck@latest ./...", nil},
		{"node minimal", "build", "install", "npm install", nil},
		{"node minimal", "test", "unit", `echo "no unit tests yet"`, nil},
		{"node minimal", "security", "npm-audit", "npm install --package-lock-only --ignore-scripts && npm audit --audit-level=high", nil},
		{"node complete", "build", "build", "npm ci && npm run build", nil},
		// Dependencies are installed once, in the build stage; the parallel test steps share the checkout.
		{"node complete", "test", "lint", "npm run lint", nil},
		{"node complete", "test", "unit", "npm test", nil},
		{"node complete", "test", "integration", "npm run test:integration", nil},
		{"node complete", "security", "npm-audit", "npm audit --audit-level=high", nil},
		{"python requirements", "build", "compile", "compileall", nil},
		{"python requirements", "build", "install", "python3 -m venv .venv\n. .venv/bin/activate\npip install pytest -r requirements.txt\n", nil},
		{"python requirements", "test", "unit", ". .venv/bin/activate\n", nil},
		{"python package", "build", "install", "pip install pytest -r requirements.txt .\n", nil},
		{"python package", "test", "integration", `python -m pytest -m "integration"`, nil},
		{"python package", "build", "package", "pip install build\npython -m build", nil},
		{"python package", "security", "pip-audit", "pip-audit", nil},
		{"python tool config", "build", "compile", "compileall", nil},
		{"generic empty", "build", "build", "echo", nil},
		{"generic make", "build", "build", "make", nil},
		{"generic make", "test", "unit", "make test", nil},
	}
	for _, tt := range tests {
		t.Run(tt.repo+"/"+tt.stage+"/"+tt.step, func(t *testing.T) {
			repo := starterRepos[tt.repo]
			p := parseStarter(t, repo.kind, repo.fsys)
			if tt.stage == "security" {
				p = parseUncommented(t, repo.kind, repo.fsys)
			}
			s := findStep(t, p, tt.stage, tt.step)
			if !strings.Contains(s.Run, tt.want) {
				t.Errorf("run:\n%s\nwant it to contain:\n%s", s.Run, tt.want)
			}
			if !slices.Equal(s.Artifacts, tt.artifacts) {
				t.Errorf("artifacts %v; want %v", s.Artifacts, tt.artifacts)
			}
		})
	}
}

// uncomment turns on what a starter writes commented out: the lines after each note saying so, up to the
// next blank line, lose their "# ".
func uncomment(data []byte) []byte {
	var out []string
	on := false
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.Contains(line, uncommentNote):
			on = true
		case line == "":
			on = false
		case on:
			line = strings.TrimPrefix(line, "# ")
		}
		out = append(out, line)
	}
	return []byte(strings.Join(out, "\n"))
}

func parseUncommented(t *testing.T, k Kind, fsys fs.FS) *pipeline.Pipeline {
	t.Helper()
	data := uncomment(Pipeline(k, fsys))
	p, err := pipeline.Parse(pipeline.FileName, data)
	if err != nil {
		t.Fatalf("the starter pipeline with its commented sections turned on does not parse: %v\n%s", err, data)
	}
	return p
}

// A security stage that needs the internet is written commented out, and is valid once uncommented.
func TestCommentedSecurityStageParses(t *testing.T) {
	for name, repo := range starterRepos {
		t.Run(name, func(t *testing.T) {
			p := parseUncommented(t, repo.kind, repo.fsys)
			if len(p.Stages) < 4 || p.Stages[2].Name != "security" {
				t.Errorf("stages %+v; want security third", p.Stages)
			}
		})
	}
}

func findStep(t *testing.T, p *pipeline.Pipeline, stage, step string) pipeline.Step {
	t.Helper()
	for _, st := range p.Stages {
		for _, s := range st.Steps {
			if st.Name == stage && s.Name == step {
				return s
			}
		}
	}
	t.Fatalf("no step %s/%s", stage, step)
	return pipeline.Step{}
}

// runStep runs a step's script as the engine would: sh -e in dir, with the pipeline's and the step's env
// and $FERRY_METRICS. It returns the metrics the step wrote.
func runStep(t *testing.T, p *pipeline.Pipeline, s pipeline.Step, dir string) map[string]float64 {
	t.Helper()
	metrics := filepath.Join(t.TempDir(), "metrics.json")
	env := maps.Clone(p.Env)
	maps.Copy(env, s.Env)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-e", "-c", s.Run)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FERRY_METRICS="+metrics)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("step %s: %v\n%s", s.Name, err, out)
	}
	data, err := os.ReadFile(metrics)
	if os.IsNotExist(err) {
		return nil
	}
	got := map[string]float64{}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("step %s wrote metrics that are not flat JSON: %v\n%s", s.Name, err, data)
	}
	return got
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The Go starter must work on a real module: every step but govulncheck (it needs the network) is run.
func TestGoPipelineRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and benchmarks a Go module")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := writeTree(t, map[string]string{
		"go.mod":            "module example.com/demo\n\ngo 1.24\n",
		"main.go":           "package main\n\nfunc main() {}\n",
		"cmd/hello/main.go": "package main\n\nfunc main() {}\n",
		"calc/calc.go":      "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
		"calc/calc_test.go": calcTest,
	})
	p := parseStarter(t, Go, os.DirFS(dir))
	for _, st := range p.Stages {
		for _, s := range st.Steps {
			if s.Name == "govulncheck" {
				continue
			}
			metrics := runStep(t, p, s, dir)
			for _, a := range s.Artifacts {
				if _, err := os.Stat(filepath.Join(dir, a)); err != nil {
					t.Errorf("step %s did not leave its artifact: %v", s.Name, err)
				}
			}
			for _, g := range s.Gates {
				if v, ok := metrics[g.Metric]; !ok || v <= 0 {
					t.Errorf("step %s: metric %s = %v in %v", s.Name, g.Metric, v, metrics)
				}
			}
		}
	}
}

const calcTest = `package calc

import "testing"

func TestAdd(t *testing.T) {
	if Add(1, 2) != 3 {
		t.Fatal("1+2 != 3")
	}
}

func TestIntegrationAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration")
	}
}

func BenchmarkAdd(b *testing.B) {
	for b.Loop() {
		Add(1, 2)
	}
}
`

// Placeholders and make steps run as they are; their metrics satisfy their own gate.
func TestGenericPipelineRuns(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make command")
	}
	dir := writeTree(t, map[string]string{"Makefile": "all:\n\ttouch built\ntest:\n\ttouch tested\n"})
	p := parseStarter(t, Generic, os.DirFS(dir))
	for _, st := range p.Stages {
		for _, s := range st.Steps {
			metrics := runStep(t, p, s, dir)
			for _, g := range s.Gates {
				if v, ok := metrics[g.Metric]; !ok || v > *g.Max {
					t.Errorf("step %s: metric %s = %v fails its own gate", s.Name, g.Metric, v)
				}
			}
		}
	}
	for _, f := range []string{"built", "tested"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("make did not run: %v", err)
		}
	}
}

func TestPythonCompileRuns(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 command")
	}
	dir := writeTree(t, map[string]string{"requirements.txt": "", "app.py": "print('hi')\n", ".venv/bad.py": "def (\n"})
	p := parseStarter(t, Python, os.DirFS(dir))
	runStep(t, p, findStep(t, p, "build", "compile"), dir)

	if err := os.WriteFile(filepath.Join(dir, "broken.py"), []byte("def (\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-e", "-c", findStep(t, p, "build", "compile").Run)
	cmd.Dir = dir
	if cmd.Run() == nil {
		t.Error("compile step passed on a syntax error")
	}
}
