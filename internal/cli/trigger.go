package cli

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/source"
	"github.com/spf13/cobra"
)

func (a *app) triggerCommand() *cobra.Command {
	var commit string
	c := &cobra.Command{
		Use:   "trigger PROJECT",
		Short: "Queue a run of the branch head, or of --commit",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			if commit != "" && !source.ValidCommit(commit) {
				return usageError{msg: fmt.Sprintf("invalid --commit %q: give a hexadecimal commit id", commit)}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			r, err := cl.Trigger(c.Context(), args[0], commit)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(r)
			}
			fmt.Fprintf(a.stdout, "run %d queued for %s (follow it with: ferry logs %d --follow)\n", r.ID, short(r.Commit), r.ID)
			return nil
		},
	}
	c.Flags().StringVar(&commit, "commit", "", "commit to run (default: the branch head)")
	a.addJSON(c)
	return c
}
