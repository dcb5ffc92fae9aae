package deploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// Mux is a Target that sends each environment to the target its Spec.Target names: Local for
// pipeline.TargetLocal, Kubernetes for pipeline.TargetKubernetes. Status merges both.
//
// Stop and Figures name an environment by key alone: they go to the target that environment was last
// prepared or routed on, and when the Mux has not seen it (after a restart), to the one whose Status
// lists it.
type Mux struct {
	Local Target
	// Kubernetes is nil until ferry serve is given a cluster (--kubeconfig, or in-cluster credentials):
	// then a Kubernetes environment's Prepare and Route are refused with the way to give it one.
	Kubernetes Target

	mu    sync.Mutex
	where map[store.EnvKey]string // the pipeline target an environment was last sent to
}

var _ Target = (*Mux)(nil)

// NoKubeconfig is the reason a Kubernetes environment is refused while no cluster is configured.
const NoKubeconfig = "no kubeconfig: start ferry serve with --kubeconfig (or run it in the cluster with a service account)"

func (m *Mux) pick(env Environment, spec *pipeline.Environment) (Target, error) {
	name := pipeline.TargetLocal
	if spec != nil && spec.Target != "" {
		name = spec.Target
	} else if spec == nil {
		m.mu.Lock()
		if w, ok := m.where[env.Key]; ok {
			name = w
		}
		m.mu.Unlock()
	}
	t, err := m.byName(env.Key, name)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.where == nil {
		m.where = map[store.EnvKey]string{}
	}
	m.where[env.Key] = name
	m.mu.Unlock()
	return t, nil
}

func (m *Mux) byName(key store.EnvKey, name string) (Target, error) {
	switch name {
	case pipeline.TargetLocal:
		if m.Local == nil {
			return nil, &RefusedError{Env: key, Reason: "this server runs no local target"}
		}
		return m.Local, nil
	case pipeline.TargetKubernetes:
		if m.Kubernetes == nil {
			return nil, &RefusedError{Env: key, Reason: NoKubeconfig}
		}
		return m.Kubernetes, nil
	}
	return nil, &RefusedError{Env: key, Reason: fmt.Sprintf("unknown target %q", name)}
}

// Prepare sends the release to the target of the environment's spec (or the release's).
func (m *Mux) Prepare(ctx context.Context, env Environment, rel Release) error {
	spec := env.Spec
	if spec == nil {
		spec = rel.Spec
	}
	t, err := m.pick(env, spec)
	if err != nil {
		return err
	}
	return t.Prepare(ctx, env, rel)
}

// Route sends the split to the environment's target.
func (m *Mux) Route(ctx context.Context, env Environment, split Split) error {
	t, err := m.pick(env, env.Spec)
	if err != nil {
		return err
	}
	return t.Route(ctx, env, split)
}

// targetsOf are the targets that may run key: the one it was last sent to, else every configured one.
func (m *Mux) targetsOf(key store.EnvKey) []Target {
	m.mu.Lock()
	w, ok := m.where[key]
	m.mu.Unlock()
	if ok {
		if t, err := m.byName(key, w); err == nil {
			return []Target{t}
		}
	}
	var out []Target
	for _, t := range []Target{m.Local, m.Kubernetes} {
		if t != nil {
			out = append(out, t)
		}
	}
	return out
}

// Stop stops the release on whichever target runs the environment; stopping what runs nowhere is not an
// error on any target.
func (m *Mux) Stop(ctx context.Context, key store.EnvKey, release string) error {
	var errs []error
	for _, t := range m.targetsOf(key) {
		errs = append(errs, t.Stop(ctx, key, release))
	}
	return errors.Join(errs...)
}

// Status merges the status of both targets. A target that cannot answer fails the whole status: the caller
// must not take an environment it cannot see for one that runs nothing.
func (m *Mux) Status(ctx context.Context) (*Status, error) {
	out := &Status{Environments: []EnvStatus{}}
	for _, t := range []Target{m.Local, m.Kubernetes} {
		if t == nil {
			continue
		}
		st, err := t.Status(ctx)
		if err != nil {
			return nil, err
		}
		out.Environments = append(out.Environments, st.Environments...)
	}
	slices.SortFunc(out.Environments, func(a, b EnvStatus) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	return out, nil
}

// Figures asks the environment's target.
func (m *Mux) Figures(ctx context.Context, key store.EnvKey, release string, span time.Duration) (Figures, error) {
	ts := m.targetsOf(key)
	for i, t := range ts {
		f, err := t.Figures(ctx, key, release, span)
		if err == nil || i == len(ts)-1 {
			return f, err
		}
	}
	return Figures{}, ErrNoFigures
}

// Metrics writes the Prometheus exposition of the targets that have one (the local data plane's).
func (m *Mux) Metrics(ctx context.Context, w io.Writer) error {
	for _, t := range []Target{m.Local, m.Kubernetes} {
		if mt, ok := t.(interface {
			Metrics(context.Context, io.Writer) error
		}); ok {
			if err := mt.Metrics(ctx, w); err != nil {
				return err
			}
		}
	}
	return nil
}

// ErrNoLogs means the environment's target keeps no output of its instances (the Kubernetes target: the
// cluster has the pods' logs).
var ErrNoLogs = errors.New("this environment's target keeps no instance output")

// InstanceLogs asks the environment's target, when it keeps its instances' output (deploy.Logs).
func (m *Mux) InstanceLogs(ctx context.Context, key store.EnvKey, release string) ([]io.ReadSeekCloser, error) {
	for _, t := range m.targetsOf(key) {
		if l, ok := t.(Logs); ok {
			return l.InstanceLogs(ctx, key, release)
		}
	}
	return nil, ErrNoLogs
}
