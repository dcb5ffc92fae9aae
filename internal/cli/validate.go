package cli

import (
	"fmt"
	"os"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/spf13/cobra"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a pipeline file; print each problem as FILE:LINE:COL: message",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			file := pipeline.FileName
			if len(args) == 1 {
				file = args[0]
			}
			data, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			if _, err := pipeline.Parse(file, data); err != nil {
				fmt.Fprintln(a.stderr, err)
				return exitError{code: 1}
			}
			fmt.Fprintf(a.stdout, "%s: ok\n", file)
			return nil
		},
	}
}
