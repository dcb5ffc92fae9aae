// Command ferry is continuous deployment in one binary. See internal/cli for the commands.
package main

import (
	"os"

	"github.com/ferry-cd/ferry/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
