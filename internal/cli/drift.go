package cli

import (
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
)

// printDrift lists, under `ferry status`'s table, what changed in each environment behind ferry's back, when
// ferry saw it and whether it was put back: an edit someone made with kubectl is there within seconds.
func (a *app) printDrift(all []*api.ProjectStatus) {
	for _, st := range all {
		for _, e := range st.Environments {
			if len(e.Drift) == 0 {
				continue
			}
			fmt.Fprintf(a.stdout, "\n%s/%s drift:\n", st.Project, e.Name)
			for _, d := range e.Drift {
				state := "OPEN"
				if d.Healed {
					state = "healed"
				}
				of := ""
				if d.ReleaseVersion > 0 {
					of = fmt.Sprintf("release v%d: ", d.ReleaseVersion)
				}
				fmt.Fprintf(a.stdout, "  %-6s %s  %s%s\n", state, d.Since.Local().Format(time.DateTime), of, stripEscapes(d.What))
			}
		}
	}
}
