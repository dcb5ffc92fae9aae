package cli

import (
	"go/parser"
	"go/token"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// clientFiles are the commands that talk to a running server over the API. The commands that run ferry in
// process (serve, exec, demo, dataplane) may depend on anything; these only on internal/api and small pure
// packages, so that a client of ferry does not need the server's parts.
var clientFiles = []string{"analysis_view.go", "audit.go", "client.go", "dora.go", "flags.go", "logs.go", "project.go",
	"rollout.go", "runs.go", "secret.go", "table.go", "token.go", "trigger.go"}

func TestClientDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatal("no go command to list the dependencies with")
	}
	const internal = "github.com/ferry-cd/ferry/internal/"
	imports := map[string]bool{}
	for _, name := range clientFiles {
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); strings.HasPrefix(path, internal) {
				imports[path] = true
			}
		}
	}
	args := []string{"list", "-deps"}
	for path := range imports {
		args = append(args, path)
	}
	if len(imports) == 0 {
		return
	}
	out, err := exec.Command(goBin, args...).Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"server", "engine", "rollout", "dataplane", "store", "target", "analysis", "proxy", "notify"} {
			if dep == internal+banned || strings.HasPrefix(dep, internal+banned+"/") {
				t.Errorf("the client commands (%s) depend on %s: they must only know the API (internal/api)",
					strings.Join(clientFiles, ", "), dep)
			}
		}
	}
}
