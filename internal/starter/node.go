package starter

import (
	"encoding/json"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
)

// npmDefaultTest is the test script `npm init` writes; it always fails, so it does not count as tests.
const npmDefaultTest = `echo "Error: no test specified" && exit 1`

// nodeTool is the package manager a Node repository uses, told by its lockfile, and its commands.
type nodeTool struct {
	name    string // npm, yarn or pnpm
	install string // installs exactly the lockfile, dev dependencies included
	run     string // runs a package.json script: + " build"
	prune   string // leaves only the production dependencies in node_modules
	audit   string
	note    string // what the runner needs, for a comment
}

func detectNodeTool(fsys fs.FS) nodeTool {
	switch {
	case hasFile(fsys, "pnpm-lock.yaml"):
		return nodeTool{name: "pnpm", install: "pnpm install --frozen-lockfile", run: "pnpm run", prune: "pnpm prune --prod",
			audit: "pnpm audit --audit-level high", note: "pnpm-lock.yaml: the runner needs pnpm (corepack enable pnpm)."}
	case hasFile(fsys, "yarn.lock") && hasFile(fsys, ".yarnrc.yml"):
		return nodeTool{name: "yarn", install: "yarn install --immutable", run: "yarn run",
			prune: "yarn workspaces focus --all --production", audit: "yarn npm audit --severity high",
			note: "yarn.lock with .yarnrc.yml: the runner needs Yarn 2 or later (corepack enable yarn)."}
	case hasFile(fsys, "yarn.lock"):
		return nodeTool{name: "yarn", install: "yarn install --frozen-lockfile", run: "yarn run",
			prune: "yarn install --frozen-lockfile --production --ignore-scripts", audit: "yarn audit --level high",
			note: "yarn.lock: the runner needs Yarn (corepack enable yarn)."}
	case hasFile(fsys, "package-lock.json"), hasFile(fsys, "npm-shrinkwrap.json"):
		return nodeTool{name: "npm", install: "npm ci", run: "npm run", prune: "npm prune --omit=dev", audit: "npm audit --audit-level=high"}
	}
	// Without a lockfile only npm install works; npm audit needs one, which it writes without installing.
	return nodeTool{name: "npm", install: "npm install", run: "npm run", prune: "npm prune --omit=dev",
		audit: "npm install --package-lock-only --ignore-scripts && npm audit --audit-level=high"}
}

// nodeAppFiles are the files and folders of a Node app a release keeps besides package.json and
// node_modules, when the repository has them.
var nodeAppFiles = []string{"app", "app.js", "bin", "config", "index.js", "lib", "public", "routes", "server.js", "src", "views"}

var nodePort = regexp.MustCompile(`process\.env\.PORT\b|process\.env\[["']PORT["']\]`)

func nodePlan(fsys fs.FS) plan {
	var pkg struct {
		Main    string            `json:"main"`
		Files   []string          `json:"files"`
		Scripts map[string]string `json:"scripts"`
	}
	json.Unmarshal(readFile(fsys, "package.json"), &pkg) // unreadable or invalid: no scripts, placeholders
	has := func(name string) bool { return pkg.Scripts[name] != "" }
	tool := detectNodeTool(fsys)

	// All steps of a run share its checkout, so the build stage installs the dependencies once and the
	// parallel test steps only read node_modules. A lockfile's install installs exactly it and fails when it
	// is out of date.
	install := tool.install
	build := step{name: "install", run: install, timeout: testTimeout,
		comment: strings.TrimSpace("package.json has no build script: this checks that the dependencies install.\n" + tool.note)}
	if has("build") {
		build = step{name: "build", run: install + " && " + tool.run + " build", timeout: testTimeout, comment: tool.note}
	}

	unit := step{name: "unit", timeout: testTimeout,
		comment: "PLACEHOLDER: package.json has no test script yet. Replace the echo with " + tool.name + " test.",
		run:     `echo "no unit tests yet"`}
	switch {
	case has("test:unit"):
		unit = step{name: "unit", run: tool.run + " test:unit", timeout: testTimeout}
	case has("test") && pkg.Scripts["test"] != npmDefaultTest:
		unit = step{name: "unit", run: tool.name + " test", timeout: testTimeout}
	}
	integration := step{name: "integration", timeout: integrationTimeout,
		comment: "PLACEHOLDER: add a test:integration script to package.json and run it here:\n" +
			tool.run + " test:integration",
		run: `echo "no integration tests yet"`}
	if has("test:integration") {
		integration = step{name: "integration", run: tool.run + " test:integration",
			timeout: integrationTimeout, retries: 1}
	}
	testSteps := []step{unit, integration}
	if has("lint") {
		testSteps = append(testSteps, step{name: "lint", run: tool.run + " lint", timeout: testTimeout})
	}

	// The audit reads the registry's audit endpoint, which a mirror or an offline runner may not have: the
	// stage is written commented out, and is a gate once the team turns it on.
	audit := tool.audit
	hint := `For example, with a bench script that prints that JSON: ` + tool.run + ` --silent bench > "$FERRY_METRICS"`
	if tool.name != "npm" {
		hint = `For example, with a bench script that prints that JSON: ` + tool.run + ` bench > "$FERRY_METRICS"`
	}

	// The release: the app's files and its production dependencies, pruned once every test has run.
	artifacts := []string{"package.json"}
	for _, f := range nodeReleaseFiles(fsys, pkg.Main, pkg.Files, has("build")) {
		artifacts = append(artifacts, f)
	}
	artifacts = append(artifacts, "node_modules")
	slices.Sort(artifacts)
	artifacts = slices.Compact(artifacts)
	release := stage{name: "release", comment: releaseComment, steps: []step{{
		name: "production-dependencies",
		comment: "Dev dependencies (test runners, linters, compilers) leave node_modules; what is left and the app's\n" +
			"files below are the release. Add the files your app reads at run time that are not listed.",
		run:       tool.prune + "\nmkdir -p node_modules",
		timeout:   testTimeout,
		artifacts: artifacts,
	}}}

	deploy := &service{portFound: readsPort(fsys, nodePort, ".js", ".mjs", ".cjs", ".ts")}
	deploy.health, deploy.healthFound = findHealth(fsys, ".js", ".mjs", ".cjs", ".ts")
	switch start := pkg.Scripts["start"]; {
	case start != "":
		deploy.run = "exec " + tool.name + " start"
		if tool.name == "npm" {
			deploy.run = "exec npm start --cache \"$TMPDIR/npm\""
		}
	case pkg.Main != "" && hasFile(fsys, path.Clean(pkg.Main)) && isPlainYAML(pkg.Main) && !strings.ContainsAny(pkg.Main, " $`'\"\\;&|<>"):
		deploy.run = "exec node " + path.Clean(pkg.Main)
	case hasFile(fsys, "server.js"):
		deploy.run = "exec node server.js"
	case hasFile(fsys, "index.js"):
		deploy.run = "exec node index.js"
	default:
		deploy.why = "package.json has no start script and there is no server.js or index.js."
	}
	return plan{
		about: "a Node.js package",
		stages: []stage{
			{name: "build", comment: buildComment, steps: []step{build}},
			{name: "test", comment: testComment, steps: testSteps},
			{name: "security", online: tool.name + " audit asks the registry's audit endpoint", comment: securityComment + "\n" +
				"The audit fails on advisories of high or critical severity.", steps: []step{
				{name: tool.name + "-audit", run: audit, timeout: testTimeout},
			}},
			placeholderBenchmark(hint),
			release,
		},
		deploy: deploy,
	}
}

// nodeReleaseFiles are the app's own files a release keeps: the folder of package.json's main, its files
// list, dist when it builds, and the usual places of an app's code, when they exist.
func nodeReleaseFiles(fsys fs.FS, main string, files []string, builds bool) []string {
	var out []string
	exists := func(p string) bool {
		if fsys == nil || !fs.ValidPath(p) || p == "." {
			return false
		}
		_, err := fs.Stat(fsys, p)
		return err == nil
	}
	if m := path.Clean(strings.TrimPrefix(main, "./")); exists(m) {
		out = append(out, strings.SplitN(m, "/", 2)[0])
	}
	for _, f := range files {
		if f := path.Clean(strings.TrimPrefix(f, "./")); exists(f) && safeName.MatchString(path.Base(f)) {
			out = append(out, strings.SplitN(f, "/", 2)[0])
		}
	}
	if builds {
		out = append(out, "dist")
	}
	for _, f := range nodeAppFiles {
		if exists(f) {
			out = append(out, f)
		}
	}
	return out
}
