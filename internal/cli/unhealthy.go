package cli

import (
	"fmt"

	"github.com/ferry-cd/ferry/internal/api"
)

// printUnhealthy says, under `ferry status`'s table, why each running release that is not healthy is not, with
// the last lines its instances printed: what a user needs before reaching for `ferry logs`.
func (a *app) printUnhealthy(all []*api.ProjectStatus) error {
	for _, st := range all {
		for _, e := range st.Environments {
			for _, r := range e.Running {
				if r.Healthy || r.Reason == "" {
					continue
				}
				name := "release " + api.VersionText(r.Version)
				if r.Version == 0 {
					name = "release #" + r.ID // a release the server could not name by version
				}
				fmt.Fprintf(a.stdout, "\n%s/%s %s is not healthy: %s\n", st.Project, e.Name, name, stripEscapes(r.Reason))
				for i, in := range r.Instances {
					for _, line := range in.LastOutput {
						fmt.Fprintf(a.stdout, "  instance %d | %s\n", i, stripEscapes(line))
					}
				}
			}
		}
	}
	return nil
}
