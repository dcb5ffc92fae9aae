package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/starter"
	"github.com/spf13/cobra"
)

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter .ferry.yaml for the repository in DIR (Go, Node or Python)",
		Long: `Write a starter .ferry.yaml for the repository in DIR (default: the current folder): build, unit and
integration tests, a security scan and a benchmark gate, chosen for the language it finds, and a commented
environments: section to fit to the app. A security scan that needs the internet (govulncheck, npm audit,
pip-audit) is written commented out. An existing .ferry.yaml is never overwritten; a warning says when the
repository's .gitignore would ignore the file.`,
		Args: maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			path, kind, err := starter.Write(dir)
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s already exists; ferry init never overwrites it", filepath.Join(dir, pipeline.FileName))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s for a %s repository; check it with: ferry validate %s\n", path, kind, path)
			// ferry reads the file from each commit: one git ignores never reaches the server.
			if rule := source.IgnoredBy(c.Context(), dir, pipeline.FileName); rule != "" {
				fmt.Fprintf(a.stderr, "warning: git ignores %s (rule %s), so commits will not carry it and ferry will not see it: "+
					"add the line !%s to .gitignore, or commit it with git add -f %s\n", pipeline.FileName, rule, pipeline.FileName, pipeline.FileName)
			}
			return nil
		},
	}
}
