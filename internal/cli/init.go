package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/starter"
	"github.com/spf13/cobra"
)

func (a *app) initCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a starter .ferry.yaml for the repository in DIR (Go, Node or Python)",
		Long: `Write a starter .ferry.yaml for the repository in DIR (default: the current folder): build, unit and
integration tests, a security scan and a benchmark gate, chosen for the language it finds. An existing
.ferry.yaml is never overwritten.`,
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
			return nil
		},
	}
}
