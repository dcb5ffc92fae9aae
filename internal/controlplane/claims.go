package controlplane

import (
	"context"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy/local"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// checkClaims fails a run whose pipeline claims, on a listen address, a host (or the whole address) that an
// environment of another project serves: at FILE:LINE:COL of the host, or of the listen address, naming
// that project and environment. What runs is the data plane's desired state; when no data plane runs,
// nothing is claimed. The data plane refuses a clash again when the release is deployed (a claim can appear
// between the run and its rollout), so this check is for the author's sake, not the only guard.
func (cp *ControlPlane) checkClaims(ctx context.Context, project string, pl *pipeline.Pipeline) error {
	live, err := cp.dataplane.live(ctx)
	if err != nil || live == nil {
		return nil
	}
	var errs pipeline.ErrorList
	for _, e := range pl.Environments {
		if e.Target != pipeline.TargetLocal || e.Service.Listen == "" {
			continue
		}
		mine := dataplane.Environment{Name: store.EnvKey{Project: project, Env: e.Name}.String()}
		local.SetAddress(&mine, e.Service)
		for _, o := range live.Environments {
			key, err := store.ParseEnvKey(o.Name)
			if err != nil || key.Project == project {
				continue // the project's own environments are replaced by its releases
			}
			why := dataplane.Clash(&o, &mine)
			if why == "" {
				continue
			}
			at := e.Service.At.Listen
			if e.Service.TLS != nil && e.Service.TLS.HTTP != "" && strings.Contains(why, " "+e.Service.TLS.HTTP) &&
				!strings.Contains(why, " "+e.Service.Listen) {
				at = e.Service.At.HTTP
			}
			for i, h := range e.Service.Hosts {
				if strings.HasPrefix(why, "host "+h+" ") {
					at = e.Service.At.Hosts[i]
				}
			}
			errs = append(errs, &pipeline.Error{File: pipeline.FileName, Line: at.Line, Col: at.Col,
				Msg: fmt.Sprintf("environment %s: %s; choose other hosts or another address", e.Name,
					strings.ReplaceAll(why, "environment "+o.Name, fmt.Sprintf("project %s (environment %s)", key.Project, key.Env)))})
			break
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
