package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ferryCmd runs the binary without a server and returns stdout, stderr and the exit code.
func ferryCmd(t *testing.T, dir string, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(ferryBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestEveryCommandHasHelp(t *testing.T) {
	commands := [][]string{
		{}, {"init"}, {"validate"}, {"exec"}, {"serve"}, {"demo"}, {"project"}, {"project", "add"},
		{"project", "list"}, {"project", "rm"}, {"runs"}, {"run"}, {"run", "show"}, {"run", "cancel"}, {"run", "cases"}, {"run", "case"},
		{"logs"}, {"trigger"}, {"secret"}, {"secret", "set"}, {"secret", "list"}, {"secret", "rm"}, {"releases"},
		{"status"}, {"rollout"}, {"rollout", "watch"}, {"rollout", "list"}, {"rollout", "show"}, {"promote"}, {"pause"},
		{"resume"}, {"abort"}, {"rollback"}, {"dora"}, {"audit"}, {"token"}, {"token", "create"}, {"dataplane"}, {"dataplane", "stop"},
	}
	for _, c := range commands {
		out, errOut, code := ferryCmd(t, "", nil, append(c, "--help")...)
		if code != 0 || !strings.Contains(out, "Usage:") {
			t.Errorf("ferry %s --help: exit %d\n%s%s", strings.Join(c, " "), code, out, errOut)
		}
	}
	// Commands that read state have --json.
	for _, c := range [][]string{{"project", "list"}, {"runs"}, {"run", "show"}, {"run", "cases"}, {"run", "case"}, {"logs"}, {"secret", "list"}, {"releases"},
		{"status"}, {"rollout", "list"}, {"rollout", "show"}, {"dora"}, {"audit"}} {
		if out, _, _ := ferryCmd(t, "", nil, append(c, "--help")...); !strings.Contains(out, "--json") {
			t.Errorf("ferry %s has no --json", strings.Join(c, " "))
		}
	}
	if _, errOut, code := ferryCmd(t, "", nil, "runs"); code != 2 || !strings.Contains(errOut, "needs a PROJECT") {
		t.Errorf("ferry runs without PROJECT: exit %d %s", code, errOut)
	}
	if _, errOut, code := ferryCmd(t, "", []string{"FERRY_TOKEN="}, "runs", "x"); code != 2 || !strings.Contains(errOut, "FERRY_TOKEN") {
		t.Errorf("ferry runs without a token: exit %d %s", code, errOut)
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	bad := "version: 1\nstages:\n  - name: build\n    steps:\n      - name: a\n        run: make\n        timeout: 10\n      - name: a\n        run: make\n        colour: red\n"
	file := filepath.Join(dir, "bad.yaml")
	os.WriteFile(file, []byte(bad), 0o644)
	_, errOut, code := ferryCmd(t, dir, nil, "validate", file)
	if code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	want := []string{file + ":7:18: ", file + ":8:15: ", file + ":10:9: "}
	if len(lines) != len(want) {
		t.Fatalf("got %d problems, want %d:\n%s", len(lines), len(want), errOut)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("problem %d = %q, want prefix %q", i, lines[i], w)
		}
	}
	good := filepath.Join(dir, ".ferry.yaml")
	os.WriteFile(good, []byte(passingPipeline), 0o644)
	if out, errOut, code := ferryCmd(t, dir, nil, "validate"); code != 0 || !strings.Contains(out, "ok") {
		t.Errorf("valid file: exit %d %s%s", code, out, errOut)
	}
}

// A flags file given to validate is read as a flags file, by its path or, elsewhere, by its content; its
// problems are FILE:LINE:COL like a pipeline's. A tab in the indentation is reported on its own line.
func TestValidateFlagsFileAndTabs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, ".ferry"), 0o755)
	flagsFile := "flags:\n  new-checkout:\n    variants: {on: true, off: false}\n    default: off\n"
	os.WriteFile(filepath.Join(dir, ".ferry", "flags.yaml"), []byte(flagsFile), 0o644)
	if out, errOut, code := ferryCmd(t, dir, nil, "validate", ".ferry/flags.yaml"); code != 0 || !strings.Contains(out, ".ferry/flags.yaml: ok (flags file, 1 flags)") {
		t.Errorf("validate .ferry/flags.yaml: exit %d\n%s%s", code, out, errOut)
	}
	os.WriteFile(filepath.Join(dir, "my-flags.yaml"), []byte(strings.Replace(flagsFile, "default: off", "defualt: off", 1)), 0o644)
	_, errOut, code := ferryCmd(t, dir, nil, "validate", "my-flags.yaml")
	if code != 1 || !strings.Contains(errOut, `my-flags.yaml:4:5: unknown key "defualt"`) || strings.Contains(errOut, "stages") {
		t.Errorf("validate a broken flags file by content: exit %d\n%s", code, errOut)
	}
	os.WriteFile(filepath.Join(dir, "tabs.yaml"), []byte("version: 1\nenv:\n  A: b\n\tB: c\n"), 0o644)
	if _, errOut, code := ferryCmd(t, dir, nil, "validate", "tabs.yaml"); code != 1 || !strings.HasPrefix(errOut, "tabs.yaml:4:1: invalid YAML: found a tab character") {
		t.Errorf("validate a file indented with a tab: exit %d\n%s", code, errOut)
	}
}

func TestInitNeverOverwrites(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n\ngo 1.22\n"), 0o644)
	out, errOut, code := ferryCmd(t, "", nil, "init", dir)
	if code != 0 || !strings.Contains(out, "for a go repository") {
		t.Fatalf("init: exit %d %s%s", code, out, errOut)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ".ferry.yaml"))
	for _, want := range []string{"govulncheck", "go test", "gates:", "max_increase"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("starter pipeline lacks %q", want)
		}
	}
	if _, errOut, code := ferryCmd(t, dir, nil, "validate"); code != 0 {
		t.Errorf("starter pipeline does not validate: %s", errOut)
	}
	os.WriteFile(filepath.Join(dir, ".ferry.yaml"), []byte("mine"), 0o644)
	if _, errOut, code := ferryCmd(t, "", nil, "init", dir); code == 0 || !strings.Contains(errOut, "never overwrites") {
		t.Errorf("second init: exit %d %s", code, errOut)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, ".ferry.yaml")); string(data) != "mine" {
		t.Errorf("init overwrote the file: %q", data)
	}
}

// init warns when the repository's .gitignore would keep the file it writes out of every commit.
func TestInitWarnsWhenGitIgnoresThePipeline(t *testing.T) {
	dir := t.TempDir()
	git(t, dir, "init", "--quiet")
	os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("*.yaml\n"), 0o644)
	out, errOut, code := ferryCmd(t, dir, nil, "init")
	if code != 0 || !strings.Contains(out, "wrote .ferry.yaml") ||
		!strings.Contains(errOut, "warning: git ignores .ferry.yaml (rule .gitignore:1:*.yaml)") || !strings.Contains(errOut, "!.ferry.yaml") {
		t.Errorf("init in a repository that ignores *.yaml: exit %d\n%s%s", code, out, errOut)
	}
	other := t.TempDir()
	git(t, other, "init", "--quiet")
	if _, errOut, code := ferryCmd(t, other, nil, "init"); code != 0 || errOut != "" {
		t.Errorf("init in a repository that ignores nothing: exit %d %s", code, errOut)
	}
}

func TestExecRunsLocalCheckout(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, ".ferry.yaml"), []byte(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: mkdir -p dist && echo built > dist/out && echo compiled
        artifacts: [dist/out]
  - name: test
    steps:
      - name: unit
        secrets: [TOKEN]
        run: |
          echo "token is $TOKEN"
          echo '{"score": 0.5}' > "$FERRY_METRICS"
        gates:
          - {metric: score, min: 0.9}
  - name: never
    steps:
      - {name: reached, run: echo reached}
`), 0o644)
	out, errOut, code := ferryCmd(t, dir, []string{"TOKEN=abc-secret-123", "FERRY_TOKEN=server-token"}, "exec")
	if code != 1 {
		t.Fatalf("exec exit %d, want 1\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"[build/compile] compiled", "[test/unit] token is ***", "0.5 < min 0.9", "never/reached", "skipped", "run failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("exec output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "abc-secret-123") || strings.Contains(out, "[never/reached] reached") {
		t.Errorf("exec output:\n%s", out)
	}
	// Fixed, the same pipeline passes with exit 0.
	data, _ := os.ReadFile(filepath.Join(dir, ".ferry.yaml"))
	os.WriteFile(filepath.Join(dir, ".ferry.yaml"), bytes.Replace(data, []byte("0.5"), []byte("0.95"), 1), 0o644)
	if out, errOut, code := ferryCmd(t, dir, []string{"TOKEN=abc-secret-123"}, "exec"); code != 0 || !strings.Contains(out, "run passed") {
		t.Errorf("exec of a passing pipeline: exit %d\n%s%s", code, out, errOut)
	}
}

func TestDemo(t *testing.T) {
	out, errOut, code := ferryCmd(t, "", nil, "demo")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"run 1  PASSED", "run 2  FAILED", "FAIL: expected 4, got 5", "release v1 succeeded in production",
		"test/unit: exit status 1", "production still answers: hello from v1", "rolled_back: analysis failed: error_rate",
		"from Git: ann@example.com true (TARGETING_MATCH), bob@example.org false (SPLIT)",
		"--variant off: ann@example.com false (STATIC), bob@example.org false (STATIC)", "dashboard on http://"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
