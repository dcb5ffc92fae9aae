package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/spf13/cobra"
)

func (a *app) validateCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [FILE]",
		Short: "Check a pipeline file (or a flags file); print each problem as FILE:LINE:COL: message",
		Long: `Check a pipeline file (default .ferry.yaml, with .ferry/flags.yaml next to it when there is one) and print
each problem as FILE:LINE:COL: message. A flags file given by name (.ferry/flags.yaml, or any file whose only
top-level key is flags) is checked as a flags file.`,
		Args: maxArgs(1),
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
			if isFlagsFile(file, data) {
				set, err := flags.Parse(file, data)
				if err != nil {
					fmt.Fprintln(a.stderr, err)
					return exitError{code: 1}
				}
				fmt.Fprintf(a.stdout, "%s: ok (flags file, %d flags)\n", file, len(set.Keys()))
				return nil
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

// isFlagsFile tells a flags file from a pipeline: by its path (.ferry/flags.yaml), or else by its content, a
// mapping whose only key is flags (a pipeline has version and stages).
func isFlagsFile(file string, data []byte) bool {
	if p := filepath.ToSlash(filepath.Clean(file)); p == pipeline.FlagsFile || strings.HasSuffix(p, "/"+pipeline.FlagsFile) {
		return true
	}
	var top map[string]any
	if yaml.Unmarshal(data, &top) != nil || len(top) != 1 {
		return false
	}
	_, ok := top["flags"]
	return ok
}
