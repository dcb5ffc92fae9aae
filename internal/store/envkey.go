package store

import (
	"fmt"
	"strings"
)

// EnvKey names one environment of one project: the identity the rollout controller, the flag runtime and the
// analysis key their per-environment state by. Neither name may contain "/" (projects and environments are
// named [a-z0-9_.-] and [A-Za-z0-9_.-]), so String is unambiguous and ParseEnvKey undoes it.
type EnvKey struct {
	Project, Env string
}

// String is "project/env": the data plane's name for the environment, and how logs and messages name it.
func (k EnvKey) String() string { return k.Project + "/" + k.Env }

// ParseEnvKey reads what String wrote. It fails unless s is two non-empty names around one "/".
func ParseEnvKey(s string) (EnvKey, error) {
	project, env, ok := strings.Cut(s, "/")
	if !ok || project == "" || env == "" || strings.Contains(env, "/") {
		return EnvKey{}, fmt.Errorf("environment %q is not project/env", s)
	}
	return EnvKey{Project: project, Env: env}, nil
}

// Key is the environment r rolls out to.
func (r *Rollout) Key() EnvKey { return EnvKey{Project: r.Project, Env: r.Env} }

// Key is the environment's identity.
func (e *Environment) Key() EnvKey { return EnvKey{Project: e.Project, Env: e.Name} }

// Key is the environment the override applies in.
func (o *FlagOverride) Key() EnvKey { return EnvKey{Project: o.Project, Env: o.Env} }
