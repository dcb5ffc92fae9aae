package cli

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/spf13/cobra"
)

func (a *app) flagsCommand() *cobra.Command {
	c := &cobra.Command{
		Use:   "flags PROJECT ENV",
		Short: "List an environment's feature flags with their live state: overrides (drift from Git) and progressive rollouts",
		Args:  exactArgs(2, "PROJECT and ENV"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			v, err := cl.Flags(c.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(v)
			}
			if v.ReleaseID == 0 {
				fmt.Fprintf(a.stdout, "%s has no live release yet\n", api.EnvKey{Project: v.Project, Env: v.Env})
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "FLAG\tTYPE\tVARIANTS\tGIT\tLIVE\tPROGRESSIVE")
			for _, f := range v.Flags {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Key, f.Type, variants(f), gitText(f), liveText(f), progressText(f))
			}
			return tw.Flush()
		},
	}
	a.addJSON(c)
	return c
}

func variants(f api.FlagView) string {
	parts := make([]string, len(f.Variants))
	for i, v := range f.Variants {
		b, _ := json.Marshal(v.Value)
		val := string(b)
		if len(val) > 24 {
			val = val[:21] + "..."
		}
		parts[i] = v.Name + "=" + val
	}
	return strings.Join(parts, " ")
}

func gitText(f api.FlagView) string {
	switch {
	case f.Disabled:
		return f.Git + " (disabled)"
	case f.Git != "":
		return f.Git
	}
	return "rules, default " + f.Default
}

func liveText(f api.FlagView) string {
	if f.Override == nil {
		return "as Git"
	}
	s := fmt.Sprintf("override %s by %s %s", f.Override.Variant, f.Override.Actor, ago(f.Override.Time))
	if f.Drift {
		s += " (drift)"
	}
	return s
}

func progressText(f api.FlagView) string {
	if f.Progressive == "" {
		return "-"
	}
	r := f.FlagRollout
	if r == nil {
		return f.Progressive + ": not started"
	}
	return fmt.Sprintf("%s: %s, step %d/%d, %s", f.Progressive, r.State, r.Step, r.Steps, share(r.Share))
}

// share writes basis points as a percentage: 1000 is "10%", 1 is "0.01%".
func share(bp int) string {
	s := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", float64(bp)/100), "0"), ".")
	return s + "%"
}

func (a *app) flagCommand() *cobra.Command {
	c := &cobra.Command{Use: "flag", Short: "Override a feature flag at runtime (a kill switch), or clear the override", Args: maxArgs(0)}
	var variant string
	set := &cobra.Command{
		Use:   "set PROJECT ENV FLAG --variant NAME",
		Short: "Force FLAG to one variant in ENV, whatever its rules say, within a second; audited and shown as drift until cleared",
		Args:  exactArgs(3, "PROJECT, ENV and FLAG"),
		RunE: func(c *cobra.Command, args []string) error {
			if variant == "" {
				return usageError{msg: "flag set needs --variant NAME, one of the flag's variants"}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			o, err := cl.SetOverride(c.Context(), args[0], args[1], args[2], variant)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return a.printJSON(o)
			}
			fmt.Fprintf(a.stdout, "flag %s in %s/%s: everyone gets %s (clear with: ferry flag clear %s %s %s)\n",
				o.Flag, o.Project, o.Env, o.Variant, args[0], args[1], args[2])
			return nil
		},
	}
	set.Flags().StringVar(&variant, "variant", "", "the variant everyone gets")
	a.addJSON(set)
	clear := &cobra.Command{
		Use:   "clear PROJECT ENV FLAG",
		Short: "Remove FLAG's override in ENV: its rules from Git decide again",
		Args:  exactArgs(3, "PROJECT, ENV and FLAG"),
		RunE: func(c *cobra.Command, args []string) error {
			cl, err := a.client()
			if err != nil {
				return err
			}
			if err := cl.ClearOverride(c.Context(), args[0], args[1], args[2]); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "flag %s in %s/%s: override cleared, Git decides\n", args[2], args[0], args[1])
			return nil
		},
	}
	c.AddCommand(set, clear)
	return c
}
