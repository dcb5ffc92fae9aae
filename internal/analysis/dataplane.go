package analysis

import (
	"context"
	"fmt"
	"time"

	"github.com/ferry-cd/ferry/internal/proxy"
)

// StatsSource is the data plane's client (*dataplane.Client) as the analysis needs it: a release's figures in
// an environment over the last span.
type StatsSource interface {
	Stats(ctx context.Context, env, release string, span time.Duration) (*proxy.Summary, error)
}

// DataPlane gives the figures the data plane's proxy took of the releases of one environment.
type DataPlane struct {
	Source StatsSource
	Env    string
	// Stable and Canary are the releases that have each role; Canary is "" when there is none.
	Stable, Canary string
}

var _ Figures = DataPlane{}

// Summary returns the figures of the release that has the role version.
func (d DataPlane) Summary(ctx context.Context, version proxy.Role, span time.Duration) (proxy.Summary, error) {
	var release string
	switch version {
	case proxy.Stable:
		release = d.Stable
	case proxy.Canary:
		release = d.Canary
	}
	if release == "" {
		return proxy.Summary{}, fmt.Errorf("environment %s has no %s release", d.Env, version)
	}
	s, err := d.Source.Stats(ctx, d.Env, release, span)
	if err != nil {
		return proxy.Summary{}, fmt.Errorf("release %s in %s: %w", release, d.Env, err)
	}
	return *s, nil
}
