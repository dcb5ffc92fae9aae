package cli

import (
	"fmt"
	"io"
	"strings"

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
			if err := cl.SetSecret(c.Context(), args[0], args[1], value); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "secret %s set for %s\n", args[1], args[0])
			return nil
		},
	}
	list := &cobra.Command{
		Use:   "list PROJECT",
		Short: "List a project's secret names (never their values)",
		Args:  exactArgs(1, "a PROJECT"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			list, err := cl.Secrets(c.Context(), args[0])
			if err != nil {
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
			cl, err := a.client()
			if err != nil {
				return err
			}
			if err := cl.DeleteSecret(c.Context(), args[0], args[1]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "secret %s removed from %s\n", args[1], args[0])
			return nil
		},
	}
	c.AddCommand(set, list, rm)
	return c
}
