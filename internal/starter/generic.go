package starter

import (
	"io/fs"
	"regexp"
)

var makeTestTarget = regexp.MustCompile(`(?m)^test\s*:`)

// genericPlan is for a repository ferry init does not recognise: make where there is a Makefile, and
// placeholders that pass until they are replaced.
func genericPlan(fsys fs.FS) plan {
	var makefile []byte
	for _, name := range []string{"GNUmakefile", "makefile", "Makefile"} {
		if hasFile(fsys, name) {
			makefile = readFile(fsys, name)
			break
		}
	}

	build := step{name: "build", timeout: testTimeout, run: `echo "nothing to build yet"`,
		comment: "PLACEHOLDER: replace the echo with the command that builds the repository."}
	unit := step{name: "unit", timeout: testTimeout, run: `echo "no unit tests yet"`,
		comment: "PLACEHOLDER: replace the echo with the command that runs the unit tests."}
	if makefile != nil {
		build = step{name: "build", run: "make", timeout: testTimeout}
		if makeTestTarget.Match(makefile) {
			unit = step{name: "unit", run: "make test", timeout: testTimeout}
		}
	}
	return plan{
		about: "a repository of no kind it recognised (Go, Node.js or Python)",
		serve: "./app",
		stages: []stage{
			{name: "build", comment: buildComment, steps: []step{build}},
			{name: "test", comment: testComment, steps: []step{
				unit,
				{name: "integration", timeout: integrationTimeout, run: `echo "no integration tests yet"`,
					comment: "PLACEHOLDER: replace the echo with the command that runs the integration tests."},
			}},
			{name: "security", comment: securityComment, steps: []step{
				{name: "scan", timeout: testTimeout, run: `echo "no vulnerability scan yet"`,
					comment: "PLACEHOLDER: replace the echo with a scanner for your dependencies,\n" +
						"such as osv-scanner --recursive . or trivy fs --exit-code 1 ."},
			}},
			placeholderBenchmark(""),
		},
	}
}
