package starter

import (
	"bytes"
	"io/fs"
	"regexp"
	"strings"
)

// pythonAppFiles are the files and folders of a Python app a release keeps, when the repository has them.
var pythonAppFiles = []string{"app", "app.py", "main.py", "manage.py", "src", "static", "templates", "wsgi.py"}

var pythonPort = regexp.MustCompile(`environ(\.get)?[\[(]\s*["']PORT["']|getenv\(\s*["']PORT["']`)

// isDir reports whether name is a folder in fsys.
func isDir(fsys fs.FS, name string) bool {
	if fsys == nil {
		return false
	}
	fi, err := fs.Stat(fsys, name)
	return err == nil && fi.IsDir()
}

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
	// The release: the app's files and its dependencies installed into .deps, which, unlike a virtual
	// environment, still works once unpacked in another folder.
	deps := []string{}
	if hasFile(fsys, "requirements.txt") {
		deps = append(deps, "-r requirements.txt")
	}
	if installable {
		deps = append(deps, ".")
	}
	bundle := activate + "mkdir -p .deps\n"
	if len(deps) > 0 {
		bundle += "pip install --target .deps " + strings.Join(deps, " ") + "\n"
	}
	artifacts := []string{".deps"}
	for _, f := range pythonAppFiles {
		if hasFile(fsys, f) || isDir(fsys, f) {
			artifacts = append(artifacts, f)
		}
	}
	deploy := &service{why: "there is no app.py, main.py, wsgi.py or manage.py to start.",
		portFound: readsPort(fsys, pythonPort, ".py")}
	deploy.health, deploy.healthFound = findHealth(fsys, ".py")
	switch {
	case hasFile(fsys, "manage.py"):
		deploy.run = `PYTHONPATH=.deps exec python3 manage.py runserver "127.0.0.1:$PORT" --noreload`
		deploy.portFound = true
		deploy.comment = "Django's development server: use gunicorn (in requirements.txt) for real traffic:\n" +
			`PYTHONPATH=.deps exec python3 -m gunicorn -b "127.0.0.1:$PORT" PROJECT.wsgi`
	case hasFile(fsys, "app.py"), hasFile(fsys, "main.py"), hasFile(fsys, "wsgi.py"):
		for _, f := range []string{"app.py", "main.py", "wsgi.py"} {
			if hasFile(fsys, f) {
				deploy.run = "PYTHONPATH=.deps exec python3 " + f
				break
			}
		}
	}
	return plan{
		deploy: deploy,
		about:  "a Python project",
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
			{name: "release", comment: releaseComment, steps: []step{{
				name: "bundle",
				comment: "The app's files and its dependencies in .deps are the release. Add the files your app\n" +
					"reads at run time that are not listed.",
				run: bundle, timeout: testTimeout, artifacts: artifacts,
			}}},
		},
	}
}
