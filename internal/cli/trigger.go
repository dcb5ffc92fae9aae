package cli

import (
	"fmt"
	"net/url"

	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
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
			var r store.Run
			if err := a.call(c.Context(), "POST", "/api/v1/projects/"+url.PathEscape(args[0])+"/trigger", server.TriggerRequest{Commit: commit}, &r); err != nil {
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
