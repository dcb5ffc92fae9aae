package cli

import (
	"fmt"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
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
			// The file usually comes from a commit someone else wrote: read it as ferry serve would.
			data, ok, err := source.ReadRepoFile(filepath.Dir(file), filepath.Base(file))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%s: no such file (create one with: ferry init)", file)
			}
			pl, err := pipeline.Parse(file, data)
			if err != nil {
				fmt.Fprintln(a.stderr, err)
				return exitError{code: 1}
			}
			// The flags file next to it, when there is one.
			flagsData, ok, err := source.ReadRepoFile(filepath.Dir(file), pipeline.FlagsFile)
			if err != nil {
				return err
			}
			if ok {
				if err := pl.AddFlagsFile(flagsData); err != nil {
					fmt.Fprintln(a.stderr, err)
					return exitError{code: 1}
				}
			}
			fmt.Fprintf(a.stdout, "%s: ok\n", file)
			if pl.Flags != nil {
				fmt.Fprintf(a.stdout, "flags: ok (%d)\n", len(pl.Flags.Keys()))
			}
			return nil
		},
	}
}
