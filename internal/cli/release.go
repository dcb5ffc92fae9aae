package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
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
		Use:   "show PROJECT VERSION",
		Short: "Show a release of a project by its version (7 or v7, as ferry releases lists them): its commit, images and bundle, or with --manifests the rendered Kubernetes manifests ferry applies for it",
		Args:  exactArgs(2, "a PROJECT and a release VERSION (7 or v7)"),
		RunE: func(c *cobra.Command, args []string) error {
			project := args[0]
			version, err := api.ParseVersion(args[1])
			if err != nil {
				return usageError{msg: err.Error()}
			}
			cl, err := a.client()
			if err != nil {
				return err
			}
			name := "release " + api.VersionText(version)
			if !manifests {
				v, err := cl.ProjectRelease(c.Context(), project, version)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return a.printJSON(v)
				}
				r := v.Release
				fmt.Fprintf(a.stdout, "release %s of %s\ncommit  %s %s\nrun     %d\nbundle  %s\n", api.VersionText(r.Version), r.Project,
					short(r.Commit), firstLine(r.Message), r.RunID, r.Bundle)
				for _, img := range r.Images {
					fmt.Fprintf(a.stdout, "image   %s\n", img)
				}
				for _, e := range slices.Sorted(maps.Keys(r.Manifests)) {
					fmt.Fprintf(a.stdout, "manifests of %s: %s (ferry release show %s %s --manifests --env %s)\n", e, r.Manifests[e], r.Project, api.VersionText(r.Version), e)
				}
				return nil
			}
			m, err := cl.ProjectReleaseManifests(c.Context(), project, version)
			if err != nil {
				return err
			}
			if env != "" {
				text, ok := m.Environments[env]
				if !ok {
					return fmt.Errorf("%s has no manifests for environment %q (it has: %s)", name, env,
						strings.Join(slices.Sorted(maps.Keys(m.Environments)), ", "))
				}
				m.Environments = map[string]string{env: text}
			}
			if a.jsonOut {
				return a.printJSON(m)
			}
			if len(m.Environments) == 0 {
				return fmt.Errorf("%s has no rendered manifests: its pipeline has no kubernetes environment", name)
			}
			for _, e := range slices.Sorted(maps.Keys(m.Environments)) {
				fmt.Fprintf(a.stdout, "# environment %s of %s of %s\n%s", e, name, project, m.Environments[e])
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
