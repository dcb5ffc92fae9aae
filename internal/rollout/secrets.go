package rollout

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

// missingSecretsError says that a release's service names project secrets the project does not have.
type missingSecretsError struct {
	project string
	release string // "release v7"
	names   []string
}

func (e *missingSecretsError) Error() string {
	what := "secret " + e.names[0] + ", which project " + e.project + " does not have"
	if len(e.names) > 1 {
		what = "secrets " + strings.Join(e.names, ", ") + ", which project " + e.project + " does not have"
	}
	return fmt.Sprintf("%s needs %s; set it with: ferry secret set %s %s", e.release, what, e.project, e.names[0])
}

func asMissing(err error) *missingSecretsError {
	var m *missingSecretsError
	if errors.As(err, &m) {
		return m
	}
	return nil
}

// secrets opens the project secrets env's service names, for the instances of a release; a missing one is a
// *missingSecretsError. The values go to the target and nowhere else: not into the store, a log or a reason.
func (c *Controller) secrets(ctx context.Context, project string, release int64, env *pipeline.Environment) (map[string]string, error) {
	names := env.Service.Secrets
	if len(names) == 0 {
		return nil, nil
	}
	var got map[string]string
	if c.Secrets != nil {
		var err error
		if got, err = c.Secrets(ctx, project, names); err != nil {
			return nil, fmt.Errorf("secrets of %s: %w", c.name(ctx, release), err)
		}
	}
	var missing []string
	for _, n := range names {
		if _, ok := got[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, &missingSecretsError{project: project, release: c.name(ctx, release), names: missing}
	}
	return got, nil
}
