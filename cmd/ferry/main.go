// Command ferry is continuous deployment in one binary. See internal/cli for the commands.
package main

import (
	"os"

	"github.com/ferry-cd/ferry/internal/cli"
	"github.com/ferry-cd/ferry/internal/sandbox"
)

func main() {
	// Inside a run's sandbox this executable is the launcher of the run's steps, and nothing else.
	sandbox.ServeLauncher()
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
