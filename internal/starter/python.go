package starter

import (
	"bytes"
	"io/fs"
	"strings"
)

func pythonPlan(fsys fs.FS) plan {
	// A pyproject.toml may only configure tools; it describes an installable package when it has a
	// [project] or [build-system] table.
	pyproject := readFile(fsys, "pyproject.toml")
	installable := hasFile(fsys, "setup.py") ||
		bytes.Contains(pyproject, []byte("[project]")) || bytes.Contains(pyproject, []byte("[build-system]"))

	// All steps of a run share its checkout, so the build stage makes one virtual environment (which also
	// keeps pip away from a system Python that refuses installs) with everything the later steps need, and
	// the parallel test steps only use it. Building or compiling runs beside it: neither needs it.
	pkgs := []string{"pytest"}
	if hasFile(fsys, "requirements.txt") {
		pkgs = append(pkgs, "-r requirements.txt")
	}
	if installable {
		pkgs = append(pkgs, ".")
	}
	const activate = ". .venv/bin/activate\n"
	setup := "python3 -m venv .venv\n" + activate + "pip install " + strings.Join(pkgs, " ") + "\n"
	// pytest exits with 5 when it collects no tests: not a failure for a starter pipeline.
	pytest := func(marker string) string {
		return activate + "# exit status 5: no tests were collected\n" +
			`python -m pytest -m "` + marker + `" || [ $? -eq 5 ]`
	}

	build := step{name: "compile", timeout: testTimeout,
		comment: "No package to build: byte-compiling every file finds syntax errors (hidden directories skipped).",
		run:     `python3 -m compileall -q -x '/\.' .`}
	if installable {
		build = step{name: "package", timeout: testTimeout,
			comment: "Builds the sdist and the wheel into dist/.",
			// python -m build installs the build dependencies itself, in an isolated environment.
			run: "python3 -m venv .build-venv\n. .build-venv/bin/activate\npip install build\npython -m build"}
	}
	return plan{
		about: "a Python project",
		serve: "python3 app.py",
		stages: []stage{
			{name: "build", comment: buildComment, steps: []step{
				{name: "install", run: setup, timeout: testTimeout, comment: "A virtual environment in .venv with the dependencies and pytest, for the later stages."},
				build,
			}},
			{name: "test", comment: testComment + "\nIntegration tests are the pytest tests marked @pytest.mark.integration.", steps: []step{
				{name: "unit", run: pytest("not integration"), timeout: testTimeout},
				{name: "integration", run: pytest("integration"), timeout: integrationTimeout, retries: 1},
			}},
			{name: "security", online: "pip-audit is installed from PyPI and asks its vulnerability service", comment: securityComment + "\npip-audit checks every package installed in the environment.", steps: []step{
				{name: "pip-audit", run: activate + "pip install pip-audit\npip-audit", timeout: testTimeout},
			}},
			placeholderBenchmark("For example: python bench.py > \"$FERRY_METRICS\", where bench.py prints json.dumps({\"latency_p95_ms\": p95})."),
		},
	}
}
