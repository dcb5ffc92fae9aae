package controlplane

import (
	"context"
	"strings"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/hostname"
	"github.com/ferry-cd/ferry/internal/rollout"
)

// prober sends an environment's http checks to its listen address the way a client reaches it: with one of
// its host names when it shares the address by host, over TLS when it terminates TLS.
func (a *analyzers) prober(ctx context.Context, t rollout.AnalysisSubject) *analysis.Prober {
	// A kubernetes environment's checks name its Gateway (url): the route's header rule sends the canary's to it.
	p := &analysis.Prober{Addr: t.Listen, Client: a.client, CanaryHeader: kubernetes.CanaryHeader, CanaryValue: t.New}
	if a.live == nil {
		return p
	}
	d, err := a.live(ctx)
	if err != nil || d == nil {
		return p
	}
	for _, e := range d.Environments {
		if e.Name != t.Key.String() {
			continue
		}
		p.TLS = e.TLS != nil
		for _, h := range e.Hosts {
			if !hostname.IsWildcard(h) {
				p.Host = h
				break
			}
		}
		if p.Host == "" && len(e.Hosts) > 0 {
			p.Host = "ferry-probe." + strings.TrimPrefix(e.Hosts[0], "*.") // any name the wildcard covers
		}
	}
	return p
}
