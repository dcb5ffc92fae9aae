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
				fmt.Fprintf(a.stdout, "\n%s/%s release %s is not healthy: %s\n", st.Project, e.Name, r.ID, stripEscapes(r.Reason))
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
