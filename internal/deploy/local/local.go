// Package local is the local target: a release runs as processes on this machine, in a read-only copy of its
// bundle, behind ferry's proxy. The processes, proxies and figures live in the data plane (internal/dataplane),
// a process of its own that outlives the control plane; Target is the control plane's side of it, a
// deploy.Target that unpacks bundles and turns Prepare, Route and Stop into the data plane's desired state.
//
// It must not import rollout, server, cli or ui.
package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/store"
)

// DataPlane is the data plane as the local target drives it: *dataplane.Client, or the control plane's
// client that starts a data plane the first time Apply has an environment to run.
type DataPlane interface {
	Desired(ctx context.Context) (*dataplane.Desired, error)
	Apply(ctx context.Context, d dataplane.Desired) (*dataplane.State, error)
	State(ctx context.Context) (*dataplane.State, error)
	Stats(ctx context.Context, env, release string, span time.Duration) (*proxy.Summary, error)
	Metrics(ctx context.Context, w io.Writer) error
}

// Target is the local deploy.Target. Create it with its fields set.
type Target struct {
	DataPlane DataPlane
	Artifacts *artifact.Store
	// DataDir holds the unpacked releases, under releases/PROJECT/ID.
	DataDir string

	// mu makes each change a read, modify and write of the data plane's desired state that no other change
	// interleaves with.
	mu sync.Mutex
}

var _ deploy.Target = (*Target)(nil)

// ReleaseDir is where a release of a project is unpacked.
func (t *Target) ReleaseDir(project, release string) string {
	return filepath.Join(t.DataDir, "releases", project, release)
}

// Prepare unpacks the release (once) and has the data plane start its instances beside the environment's
// others, with no traffic.
func (t *Target) Prepare(ctx context.Context, env deploy.Environment, rel deploy.Release) error {
	if rel.Spec == nil || env.Spec == nil {
		return fmt.Errorf("prepare release %s in %s: no environment spec", rel.ID, env.Key)
	}
	dir := t.ReleaseDir(env.Key.Project, rel.ID)
	if err := t.Artifacts.Unpack(rel.Bundle, dir); errors.Is(err, fs.ErrNotExist) {
		return &deploy.RefusedError{Env: env.Key, Reason: fmt.Sprintf(
			"the files of release v%d are no longer kept (ferry serve --keep-releases); deploy a newer release", rel.Version)}
	} else if err != nil {
		return &deploy.RefusedError{Env: env.Key, Reason: err.Error()}
	}
	svc := rel.Spec.Service
	want := dataplane.Release{ID: rel.ID, Dir: dir, Run: svc.Run, Env: instanceEnv(env.Key, rel), Instances: svc.Instances,
		Health:  dataplane.Health{Path: svc.Health.Path, Interval: svc.Health.Interval, Timeout: svc.Health.Timeout},
		Secrets: rel.Secrets}
	return t.change(ctx, env.Key, true, func(e *dataplane.Environment) {
		SetAddress(e, env.Spec.Service)
		e.Proxy = proxyOptions(env.Spec.Service.Proxy)
		i := slices.IndexFunc(e.Releases, func(r dataplane.Release) bool { return r.ID == rel.ID })
		switch {
		case i < 0:
			e.Releases = append(e.Releases, want)
		case len(rel.Secrets) > 0:
			// A data plane that restarted lost the secrets it held in memory: they are given again.
			e.Releases[i].Secrets = rel.Secrets
		}
	})
}

// instanceEnv is what every instance of rel gets beside PORT and its secrets: the service's env, and the
// FERRY_ variables that say what runs, for the app's own metrics and logs.
func instanceEnv(key store.EnvKey, rel deploy.Release) map[string]string {
	env := maps.Clone(rel.Spec.Service.Env)
	if env == nil {
		env = map[string]string{}
	}
	env["FERRY_PROJECT"] = key.Project
	env["FERRY_ENVIRONMENT"] = key.Env
	env["FERRY_RELEASE"] = strconv.FormatInt(rel.Version, 10) // the version users see (7 for v7)
	env["FERRY_RELEASE_ID"] = rel.ID
	env["FERRY_COMMIT"] = rel.Commit
	return env
}

// Route sets the environment's proxy route, and its listen address from env.Spec (kept when Spec is nil).
func (t *Target) Route(ctx context.Context, env deploy.Environment, split deploy.Split) error {
	return t.change(ctx, env.Key, false, func(e *dataplane.Environment) {
		if env.Spec != nil {
			SetAddress(e, env.Spec.Service)
			e.Proxy = proxyOptions(env.Spec.Service.Proxy)
		}
		e.Route = dataplane.Route{Stable: split.Stable, Canary: split.Canary, CanaryWeight: split.CanaryWeight}
	})
}

// Stop has the data plane drain and stop a release; the environment goes with its last release.
func (t *Target) Stop(ctx context.Context, key store.EnvKey, release string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, err := t.DataPlane.Desired(ctx)
	if err != nil {
		return fmt.Errorf("stop release %s in %s: %w", release, key, err)
	}
	i := slices.IndexFunc(d.Environments, func(e dataplane.Environment) bool { return e.Name == key.String() })
	if i < 0 {
		return nil
	}
	e := &d.Environments[i]
	if r := e.Route; r.Stable == release || r.Canary == release {
		return fmt.Errorf("stop release %s in %s: the route still names it", release, key)
	}
	n := len(e.Releases)
	e.Releases = slices.DeleteFunc(e.Releases, func(r dataplane.Release) bool { return r.ID == release })
	if len(e.Releases) == n {
		return nil
	}
	if len(e.Releases) == 0 {
		d.Environments = slices.Delete(d.Environments, i, i+1)
	}
	return t.apply(ctx, key, *d)
}

// change applies f to the environment's desired state and sends the whole state when that changed anything.
// With create, an environment the data plane does not run is added; without, it is an error.
func (t *Target) change(ctx context.Context, key store.EnvKey, create bool, f func(*dataplane.Environment)) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	d, err := t.DataPlane.Desired(ctx)
	if err != nil {
		return fmt.Errorf("desired state of %s: %w", key, err)
	}
	i := slices.IndexFunc(d.Environments, func(e dataplane.Environment) bool { return e.Name == key.String() })
	fresh := i < 0
	switch {
	case fresh && !create:
		return fmt.Errorf("%s: no release prepared there", key)
	case fresh:
		d.Environments = append(d.Environments, dataplane.Environment{Name: key.String()})
		i = len(d.Environments) - 1
	}
	before := cloneEnv(d.Environments[i])
	f(&d.Environments[i])
	if !fresh && equalEnv(before, d.Environments[i]) {
		return nil
	}
	return t.apply(ctx, key, *d)
}

// apply sends d; a refusal of key's environment is a *deploy.RefusedError. The data plane refuses others on
// their own: they keep running as they were, and their next change says so.
func (t *Target) apply(ctx context.Context, key store.EnvKey, d dataplane.Desired) error {
	_, err := t.DataPlane.Apply(ctx, d)
	var partial *dataplane.PartialError
	if errors.As(err, &partial) {
		if why, ok := partial.Envs[key.String()]; ok {
			return &deploy.RefusedError{Env: key, Reason: why}
		}
		return nil
	}
	if err != nil {
		return fmt.Errorf("apply desired state of %s: %w", key, err)
	}
	return nil
}

// Status reports what the data plane runs.
func (t *Target) Status(ctx context.Context) (*deploy.Status, error) {
	st, err := t.DataPlane.State(ctx)
	if err != nil {
		return nil, err
	}
	out := &deploy.Status{Environments: []deploy.EnvStatus{}}
	for _, e := range st.Environments {
		key, err := store.ParseEnvKey(e.Name)
		if err != nil {
			continue // not an environment of ferry's: the control plane names every one with EnvKey.String
		}
		es := deploy.EnvStatus{Key: key, Address: e.Listen,
			Split:        deploy.Split{Stable: e.Route.Stable, Canary: e.Route.Canary, CanaryWeight: e.Route.CanaryWeight},
			Certificates: certificates(e.Certificates),
			Traffic:      deploy.Traffic{Mode: e.Traffic.Mode, Message: e.Traffic.Message, Timeout: e.Traffic.Timeout}}
		for _, r := range e.Releases {
			if len(r.WaitingFor) > 0 {
				// Not runnable until it is prepared again with its secrets (see dataplane.Release.Secrets).
				continue
			}
			rs := releaseStatus(r)
			es.Releases = append(es.Releases, rs)
			es.Drift = append(es.Drift, drift(r)...)
		}
		out.Environments = append(out.Environments, es)
	}
	slices.SortFunc(out.Environments, func(a, b deploy.EnvStatus) int {
		if a.Key.String() < b.Key.String() {
			return -1
		}
		if a.Key.String() > b.Key.String() {
			return 1
		}
		return 0
	})
	return out, nil
}

func releaseStatus(r dataplane.ReleaseState) deploy.ReleaseStatus {
	rs := deploy.ReleaseStatus{ID: r.ID, Healthy: r.Healthy}
	healthy := 0
	for _, in := range r.Instances {
		rs.Instances = append(rs.Instances, deploy.Instance{State: deploy.InstanceState(in.State), PID: in.PID, Port: in.Port,
			Restarts: in.Restarts, LastExit: in.LastExit, Since: in.Since, LastProbe: in.LastProbe, LastOutput: in.LastOutput})
		rs.Restarts += in.Restarts
		if in.State == dataplane.InstanceHealthy {
			healthy++
		}
	}
	if !rs.Healthy {
		rs.Reason = fmt.Sprintf("%d of %d instances healthy", healthy, len(r.Instances))
		if rs.Restarts > 0 {
			rs.Reason += fmt.Sprintf(" (%d restarts)", rs.Restarts)
		}
		if why := rs.Why(); why != "" {
			rs.Reason += ": " + why
		}
	}
	if s := r.Last10s; s != nil {
		f := figures(*s)
		rs.Last10s = &f
	}
	return rs
}

// drift reports every instance whose process ended without the data plane stopping it (killed behind
// ferry's back, crashed); the data plane restarts it, which heals it once it is healthy again.
func drift(r dataplane.ReleaseState) []deploy.Drift {
	var out []deploy.Drift
	for i, in := range r.Instances {
		if in.Restarts == 0 && in.State != dataplane.InstanceExited {
			continue
		}
		out = append(out, deploy.Drift{Release: r.ID, Since: in.Since, Healed: in.State == dataplane.InstanceHealthy,
			What: fmt.Sprintf("instance %d of release %s ended on its own (%s) and was restarted %d time(s)", i, r.ID,
				in.LastExit, in.Restarts)})
	}
	return out
}

// Figures returns what the environment's proxy measured of the release.
func (t *Target) Figures(ctx context.Context, key store.EnvKey, release string, span time.Duration) (deploy.Figures, error) {
	s, err := t.DataPlane.Stats(ctx, key.String(), release, span)
	if errors.Is(err, dataplane.ErrNotFound) {
		return deploy.Figures{}, noFigures{err}
	}
	if err != nil {
		return deploy.Figures{}, err
	}
	return figures(*s), nil
}

// noFigures is the data plane's answer, in its words, as deploy.ErrNoFigures.
type noFigures struct{ error }

func (noFigures) Is(target error) bool { return target == deploy.ErrNoFigures }

// Metrics copies the data plane's Prometheus exposition (per environment and release: requests, 5xx,
// latency, route weight, instances by state) to w.
func (t *Target) Metrics(ctx context.Context, w io.Writer) error { return t.DataPlane.Metrics(ctx, w) }

func figures(s proxy.Summary) deploy.Figures {
	return deploy.Figures{Requests: s.Requests, Errors: s.Errors, P50: s.P50, P90: s.P90, P95: s.P95, P99: s.P99, Span: s.Span}
}

// proxyOptions are the data plane's form of a service's `proxy:` settings.
func proxyOptions(s pipeline.ProxySettings) proxy.Options {
	return proxy.Options{TrustedProxies: s.TrustedProxies, MaxHeaderBytes: s.MaxHeaderBytes, MaxBodyBytes: s.MaxBodyBytes,
		ClientTimeout: s.ClientTimeout, IdleTimeout: s.IdleTimeout, UpstreamTimeout: s.UpstreamTimeout}
}

func cloneEnv(e dataplane.Environment) dataplane.Environment {
	e.Releases = slices.Clone(e.Releases)
	return e
}

func equalEnv(a, b dataplane.Environment) bool {
	if a.Name != b.Name || a.Listen != b.Listen || a.Route != b.Route || a.Traffic != b.Traffic || len(a.Releases) != len(b.Releases) ||
		!sameAddress(a, b) || !reflect.DeepEqual(a.Proxy, b.Proxy) {
		return false
	}
	for i := range a.Releases {
		if a.Releases[i].ID != b.Releases[i].ID || len(a.Releases[i].Secrets) != len(b.Releases[i].Secrets) {
			return false
		}
	}
	return true
}
