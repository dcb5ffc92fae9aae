package cli

import (
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/ferry-cd/ferry/internal/store"
	"github.com/spf13/cobra"
)

func (a *app) secretCommand() *cobra.Command {
	c := &cobra.Command{Use: "secret", Short: "Set, list and remove a project's secrets", Args: maxArgs(0)}
	set := &cobra.Command{
		Use:   "set PROJECT NAME",
		Short: "Set a secret; the value is read from standard input",
		Long: `Set a secret for the steps of PROJECT that list it under secrets:. The value is read from standard
input (a trailing newline is dropped), so it never appears in your shell history:
  printf %s "$TOKEN" | ferry secret set myapp BENCH_TOKEN`,
		Args: exactArgs(2, "PROJECT and NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			value, err := io.ReadAll(io.LimitReader(a.stdin, 1<<20))
			if err != nil {
				return err
			}
			value = []byte(strings.TrimSuffix(strings.TrimSuffix(string(value), "\n"), "\r"))
			if len(value) == 0 {
				return usageError{msg: "no secret value on standard input"}
			}
			path := fmt.Sprintf("/api/v1/projects/%s/secrets/%s", url.PathEscape(args[0]), url.PathEscape(args[1]))
			resp, err := cl.request(c.Context(), "PUT", path, strings.NewReader(string(value)), "application/octet-stream")
			if err != nil {
				return err
			}
			resp.Body.Close()
			fmt.Fprintf(a.stdout, "secret %s set for %s\n", args[1], args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's secret names (never their values)",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			var list []store.Secret
			if err := a.call(c.Context(), "GET", "/api/v1/projects/"+url.PathEscape(args[0])+"/secrets", nil, &list); err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(list)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "NAME\tUPDATED")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, ago(s.UpdatedAt))
			}
			return tw.Flush()
		},
	}
	a.addJSON(list)
	rm := &cobra.Command{
		Use:   "rm PROJECT NAME",
		Short: "Remove a secret",
		Args:  exactArgs(2, "PROJECT and NAME"),
		RunE: func(c *cobra.Command, args []string) error {
			path := fmt.Sprintf("/api/v1/projects/%s/secrets/%s", url.PathEscape(args[0]), url.PathEscape(args[1]))
			if err := a.call(c.Context(), "DELETE", path, nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "secret %s removed from %s\n", args[1], args[0])
			return nil
		},
	}
	c.AddCommand(set, list, rm)
	return c
}
