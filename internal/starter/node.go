package starter

import (
	"encoding/json"
	"io/fs"
)

// npmDefaultTest is the test script `npm init` writes; it always fails, so it does not count as tests.
const npmDefaultTest = `echo "Error: no test specified" && exit 1`

func nodePlan(fsys fs.FS) plan {
	var pkg struct {
		Scripts map[string]string `json:"scripts"`
	}
	json.Unmarshal(readFile(fsys, "package.json"), &pkg) // unreadable or invalid: no scripts, placeholders
	has := func(name string) bool { return pkg.Scripts[name] != "" }

	// All steps of a run share its checkout, so the build stage installs the dependencies once and the
	// parallel test steps only read node_modules. npm ci installs exactly the lockfile and fails when it is
	// out of date; without a lockfile only npm install works.
	install := "npm install"
	if hasFile(fsys, "package-lock.json") || hasFile(fsys, "npm-shrinkwrap.json") {
		install = "npm ci"
	}

	build := step{name: "install", run: install, timeout: testTimeout,
		comment: "package.json has no build script: this checks that the dependencies install."}
	if has("build") {
		build = step{name: "build", run: install + " && npm run build", timeout: testTimeout}
	}

	unit := step{name: "unit", timeout: testTimeout,
		comment: "PLACEHOLDER: package.json has no test script yet. Replace the echo with npm test.",
		run:     `echo "no unit tests yet"`}
	switch {
	case has("test:unit"):
		unit = step{name: "unit", run: "npm run test:unit", timeout: testTimeout}
	case has("test") && pkg.Scripts["test"] != npmDefaultTest:
		unit = step{name: "unit", run: "npm test", timeout: testTimeout}
	}
	integration := step{name: "integration", timeout: integrationTimeout,
		comment: "PLACEHOLDER: add a test:integration script to package.json and run it here:\n" +
			"npm run test:integration",
		run: `echo "no integration tests yet"`}
	if has("test:integration") {
		integration = step{name: "integration", run: "npm run test:integration",
			timeout: integrationTimeout, retries: 1}
	}
	testSteps := []step{unit, integration}
	if has("lint") {
		testSteps = append(testSteps, step{name: "lint", run: "npm run lint", timeout: testTimeout})
	}

	// npm audit reads the lockfile only; without one, it writes one first without installing anything.
	audit := "npm audit --audit-level=high"
	if install == "npm install" {
		audit = "npm install --package-lock-only --ignore-scripts && " + audit
	}
	hint := `For example, with a bench script that prints that JSON: npm run --silent bench > "$FERRY_METRICS"`
	return plan{
		about: "a Node.js package",
		serve: "npm start",
		stages: []stage{
			{name: "build", comment: buildComment, steps: []step{build}},
			{name: "test", comment: testComment, steps: testSteps},
			{name: "security", online: "npm audit asks the registry's audit endpoint", comment: securityComment + "\nnpm audit fails on advisories of high or critical severity.", steps: []step{
				{name: "npm-audit", run: audit, timeout: testTimeout},
			}},
			placeholderBenchmark(hint),
		},
	}
}
