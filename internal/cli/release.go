package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// releaseCommand groups what shows one release.
func (a *app) releaseCommand() *cobra.Command {
	c := &cobra.Command{Use: "release", Short: "Show one release"}
	c.AddCommand(a.releaseShowCommand())
	return c
}

func (a *app) releaseShowCommand() *cobra.Command {
	var manifests bool
	var env string
	c := &cobra.Command{
		Use:   "show RELEASE",
		Short: "Show a release (as ferry releases lists them): its commit, images and bundle, or with --manifests the rendered Kubernetes manifests ferry applies for it",
		Args:  exactArgs(1, "a RELEASE id"),
		RunE: func(c *cobra.Command, args []string) error {
			id, cl, err := a.idClient(args[0])
			if err != nil {
				return err
			}
			if !manifests {
				v, err := cl.Release(c.Context(), id)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(v)
				}
				r := v.Release
				fmt.Fprintf(a.stdout, "release %d (version %d of %s)\ncommit  %s %s\nrun     %d\nbundle  %s\n", r.ID, r.Version, r.Project,
					short(r.Commit), firstLine(r.Message), r.RunID, r.Bundle)
				for _, img := range r.Images {
					fmt.Fprintf(a.stdout, "image   %s\n", img)
				}
				for _, e := range slices.Sorted(maps.Keys(r.Manifests)) {
					fmt.Fprintf(a.stdout, "manifests of %s: %s (ferry release show %d --manifests --env %s)\n", e, r.Manifests[e], r.ID, e)
				}
				return nil
			}
			m, err := cl.ReleaseManifests(c.Context(), id)
			if err != nil {
				return err
			}
			if env != "" {
				text, ok := m.Environments[env]
				if !ok {
					return fmt.Errorf("release %d has no manifests for environment %q (it has: %s)", id, env,
						strings.Join(slices.Sorted(maps.Keys(m.Environments)), ", "))
				}
				m.Environments = map[string]string{env: text}
			}
			if a.jsonOut {
				return a.printJSON(m)
			}
			if len(m.Environments) == 0 {
				return fmt.Errorf("release %d has no rendered manifests: its pipeline has no kubernetes environment", id)
			}
			for _, e := range slices.Sorted(maps.Keys(m.Environments)) {
				fmt.Fprintf(a.stdout, "# environment %s of release %d\n%s", e, id, m.Environments[e])
				if !strings.HasSuffix(m.Environments[e], "\n") {
					fmt.Fprintln(a.stdout)
				}
			}
			return nil
		},
	}
	c.Flags().BoolVar(&manifests, "manifests", false, "print the rendered manifests stored with the release")
	c.Flags().StringVar(&env, "env", "", "with --manifests: only this environment's")
	a.addJSON(c)
	return c
}
