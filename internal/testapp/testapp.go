// Package testapp builds the small HTTP service (./app) that the tests of the local target, the data plane and
// the rollout controller run as a release: it serves on $PORT, says hello with $RELEASE, and $MODE makes it
// crash at start (crash), fail its health check (sick) or answer it 404 (nohealth); /env/NAME answers its
// variable NAME.
package testapp

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Main builds the app, sets *binary to its path, runs the tests and exits; call it from TestMain.
func Main(m *testing.M, binary *string) {
	dir, err := os.MkdirTemp("", "ferry-testapp-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "testapp:", err)
		os.Exit(1)
	}
	*binary = filepath.Join(dir, "app")
	build := exec.Command("go", "build", "-o", *binary, "github.com/ferry-cd/ferry/internal/testapp/app")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "testapp: build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
