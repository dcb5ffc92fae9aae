package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
)

func (a *app) tokenListCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "list",
		Short: "List API tokens: name, role, scope and when made (never their value); admin tokens only",
		Args:  maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			list, err := cl.Tokens(c.Context())
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(list)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "NAME\tROLE\tSCOPE\tORIGINS\tCREATED")
			for _, t := range list {
				scope := "all projects"
				if t.Project != "" {
					scope = api.EnvKey{Project: t.Project, Env: t.Env}.String()
				}
				origins := "-"
				if len(t.Origins) > 0 {
					origins = strings.Join(t.Origins, " ")
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, t.Role, scope, origins, t.CreatedAt)
			}
			return tw.Flush()
		},
	}
	a.addJSON(c)
	return c
}

func (a *app) tokenRevokeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "revoke NAME",
		Short: "Revoke an API token at once: it authenticates nothing from then on (the last admin token cannot be revoked)",
		Args:  exactArgs(1, "a token NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			if err := cl.RevokeToken(c.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "token %s revoked\n", args[0])
			return nil
		},
	}
}
