package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
)

func (a *app) auditCommand() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "audit [PROJECT]",
		Short: "Every human action (promote, abort, rollback, secret change, token created...) with who and when",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			project := ""
			if len(args) == 1 {
				project = args[0]
			}
			entries, err := cl.Audit(c.Context(), project, limit)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(entries)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "TIME\tWHO\tACTION\tPROJECT\tTARGET\tDETAIL")
			for _, e := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format("2006-01-02 15:04:05"), e.Actor, e.Action, e.Project, e.Target, e.Detail)
			}
			return tw.Flush()
		},
	}
	c.Flags().IntVar(&limit, "limit", 50, "how many entries to show")
	a.addJSON(c)
	return c
}

func (a *app) tokenCommand() *cobra.Command {
	c := &cobra.Command{Use: "token", Short: "Create, list and revoke API tokens", Args: maxArgs(0)}
	var readOnly bool
	var flagsOf string
	var origins []string
	create := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an API token and print it once; --read-only sees everything and changes nothing; --flags PROJECT/ENV only evaluates that environment's flags (OFREP)",
		Args:  exactArgs(1, "a token NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			req := api.TokenRequest{Name: args[0], Role: api.RoleAdmin}
			switch {
			case readOnly && flagsOf != "":
				return usageError{msg: "--read-only and --flags are two kinds of token: give one"}
			case readOnly:
				req.Role = api.RoleRead
			case flagsOf != "":
				project, env, ok := strings.Cut(flagsOf, "/")
				if !ok || project == "" || env == "" {
					return usageError{msg: fmt.Sprintf("--flags %q: give PROJECT/ENV, such as shop/production", flagsOf)}
				}
				req.Role, req.Project, req.Env = api.RoleFlags, project, env
			}
			if len(origins) > 0 && req.Role != api.RoleFlags {
				return usageError{msg: "--allow-origin lets web pages use a flags token: give --flags PROJECT/ENV too"}
			}
			req.Origins = origins
			cl, err := a.client()
			if err != nil {
				return err
			}
			tc, err := cl.CreateToken(c.Context(), req)
			if err != nil {
				return err
			}
			if tc.Warning != "" {
				fmt.Fprintf(a.stderr, "warning: %s\n", tc.Warning)
			}
			if a.jsonOut {
				return a.printJSON(tc)
			}
			if tc.Role == api.RoleFlags {
				// Not a CLI token: pasted as FERRY_TOKEN it would make every command answer 403.
				fmt.Fprintf(a.stdout, "flags token %s for %s/%s, shown once. It evaluates that environment's feature flags over OFREP\n"+
					"and nothing else: give it to the app (Authorization: Bearer or X-API-Key), not to the ferry CLI:\n  FERRY_FLAGS_TOKEN=%s\n",
					tc.Name, tc.Project, tc.Env, tc.Token)
			} else {
				fmt.Fprintf(a.stdout, "token %s (%s), shown once:\n  export FERRY_TOKEN=%s\n", tc.Name, tc.Role, tc.Token)
			}
			if len(tc.Origins) > 0 {
				fmt.Fprintf(a.stdout, "pages from %s may use it from a browser\n", strings.Join(tc.Origins, ", "))
			}
			return nil
		},
	}
	create.Flags().BoolVar(&readOnly, "read-only", false, "a token that can only read")
	create.Flags().StringVar(&flagsOf, "flags", "", "a token that only evaluates the feature flags of PROJECT/ENV over OFREP")
	create.Flags().StringArrayVar(&origins, "allow-origin", nil, "with --flags: let web pages from this origin (https://shop.example, http://localhost:3000, or * for any) use the token from a browser (CORS); repeatable")
	a.addJSON(create)
	c.AddCommand(create, a.tokenListCommand(), a.tokenRevokeCommand())
	return c
}

func (a *app) notificationsCommand() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "notifications [PROJECT]",
		Short: "Notifications sent or still trying, with their attempts and last error",
		Args:  maxArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			project := ""
			if len(args) == 1 {
				project = args[0]
			}
			ns, err := cl.Notifications(c.Context(), project, limit)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(ns)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "ID\tEVENT\tPROJECT\tSINK\tSTATE\tATTEMPTS\tLAST ERROR\tCREATED")
			for _, n := range ns {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", n.ID, n.Event, n.Project, n.Sink, n.State, n.Attempts, n.LastError, ago(n.CreatedAt))
			}
			return tw.Flush()
		},
	}
	c.Flags().IntVar(&limit, "limit", 50, "how many to show")
	a.addJSON(c)
	return c
}
