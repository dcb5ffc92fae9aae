package ui

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDependencies keeps the dashboard a client of the API: it reads and acts through internal/api only, so
// it compiles none of the server's parts. (Its tests may start a real server; test imports are not counted.)
func TestDependencies(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the dependencies with")
	}
	out, err := exec.Command(goBin, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const internal = "github.com/ferry-cd/ferry/internal/"
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"server", "engine", "rollout", "dataplane", "store", "target", "analysis", "proxy", "notify"} {
			if dep == internal+banned || strings.HasPrefix(dep, internal+banned+"/") {
				t.Errorf("internal/ui depends on %s: the dashboard must only know the API (internal/api)", dep)
			}
		}
	}
}
