// Package kubernetes is the Kubernetes target: a release's rendered manifests applied to a cluster by
// server-side apply, as a copy of the workload named after the release, and traffic moved by an HTTPRoute's
// backend weights (a canary with a route), a Service's selector (direct, blue_green) or a ratio of replicas
// (a canary without a route). It talks to the API server from outside the cluster; nothing of ferry's runs
// there.
//
// Every object it applies carries ferry's labels (LabelManagedBy and the environment's); it lists, watches,
// changes and deletes only objects with them. What runs is read from the cluster through informers (one set
// per namespace it serves), so a Target made after a restart adopts it.
//
// It must not import rollout, server, cli or ui.
package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// Config is how the Target reaches clusters.
type Config struct {
	// Kubeconfig is the kubeconfig file; "" uses the credentials of the pod ferry runs in (in-cluster).
	Kubeconfig string
	// Timeout bounds every call to an API server, and the first sync of a namespace's informers; 15 s when
	// zero.
	Timeout time.Duration
	Logger  *slog.Logger
}

// Target is the Kubernetes deploy.Target. Make it with New and end it with Close.
type Target struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	clusters map[string]*cluster         // by kubeconfig context ("" is the current one)
	envs     map[store.EnvKey]*envRecord // environments ferry was told of or found in a namespace it watches
	closed   chan struct{}
}

var _ deploy.Target = (*Target)(nil)

// envRecord is what the Target remembers of an environment: where it is, and its drift.
type envRecord struct {
	key      store.EnvKey
	space    *space
	workload string // the workload's name: the state ConfigMap is named after it
	heal     bool
	drift    []deploy.Drift
	healing  bool // a heal is under way
	again    bool // drift seen during the heal: heal once more
}

// New makes a Target; it reaches no cluster until asked to.
func New(cfg Config) *Target {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Target{cfg: cfg, log: cfg.Logger, clusters: map[string]*cluster{}, envs: map[store.EnvKey]*envRecord{},
		closed: make(chan struct{})}
}

// Close stops every informer.
func (t *Target) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	select {
	case <-t.closed:
		return
	default:
	}
	close(t.closed)
	for _, c := range t.clusters {
		c.stop()
	}
}

// Watch starts watching namespace of the context kubeContext, so that Status reports the environments
// there, as a control plane does at start for every Kubernetes environment it knows.
func (t *Target) Watch(ctx context.Context, kubeContext, namespace string) error {
	_, err := t.space(ctx, kubeContext, namespace)
	return err
}

func (t *Target) space(ctx context.Context, kubeContext, namespace string) (*space, error) {
	t.mu.Lock()
	c, ok := t.clusters[kubeContext]
	if !ok {
		var err error
		if c, err = newCluster(t, kubeContext); err != nil {
			t.mu.Unlock()
			return nil, err
		}
		t.clusters[kubeContext] = c
	}
	t.mu.Unlock()
	return c.space(ctx, namespace)
}

// envFor finds (or starts watching) the namespace of env, and remembers env there.
func (t *Target) envFor(ctx context.Context, key store.EnvKey, spec *pipeline.Environment) (*envRecord, error) {
	if spec == nil || spec.Kubernetes == nil {
		t.mu.Lock()
		defer t.mu.Unlock()
		if e := t.envs[key]; e != nil {
			return e, nil
		}
		return nil, fmt.Errorf("%s: not a kubernetes environment, or none this target runs", key)
	}
	k := spec.Kubernetes
	sp, err := t.space(ctx, k.Context, k.Namespace)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.envs[key]
	if e == nil {
		e = &envRecord{key: key}
		t.envs[key] = e
	}
	e.space, e.workload, e.heal = sp, k.Workload.Name, k.Heal
	return e, nil
}

// Prepare applies the release's copy of the workload (and of its Service) with no traffic, and the
// release's other objects.
func (t *Target) Prepare(ctx context.Context, env deploy.Environment, rel deploy.Release) error {
	if rel.Spec == nil || rel.Spec.Kubernetes == nil {
		return &deploy.RefusedError{Env: env.Key, Reason: fmt.Sprintf("release %s has no kubernetes block", rel.ID)}
	}
	if len(rel.Manifests) == 0 {
		return &deploy.RefusedError{Env: env.Key, Reason: fmt.Sprintf("release %s has no rendered manifests", rel.ID)}
	}
	r, err := newRelease(releaseRecord{ID: rel.ID, Manifests: string(rel.Manifests), Images: rel.Images,
		Kube: rel.Spec.Kubernetes, Strategy: rel.Spec.Strategy.Kind})
	if err != nil {
		return &deploy.RefusedError{Env: env.Key, Reason: fmt.Sprintf("release %s: %v", rel.ID, err)}
	}
	spec := env.Spec
	if spec == nil {
		spec = rel.Spec
	}
	e, err := t.envFor(ctx, env.Key, spec)
	if err != nil {
		return t.classify(env.Key, "prepare release "+rel.ID, err)
	}
	if e.space.copyOf(env.Key, rel.ID) != nil {
		return nil // a release never changes
	}
	return t.classify(env.Key, "prepare release "+rel.ID, t.applyRelease(ctx, e, r))
}

// applyRelease applies a release's copies, with the replicas its role in the environment's split gives.
func (t *Target) applyRelease(ctx context.Context, e *envRecord, r *release) error {
	split, _ := e.space.split(e.key, e.workload)
	d, err := r.deploymentCopy(e.key, replicasFor(r, split))
	if err != nil {
		return err
	}
	if err := e.space.apply(ctx, d); err != nil {
		return err
	}
	if r.rec.Kube.Service.Name != "" {
		s, err := r.service(e.key, true, r.rec.ID)
		if err != nil {
			return err
		}
		if err := e.space.apply(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// replicaRatio is set when the environment's canary moves by the ratio of replicas (no route).
func replicaRatio(r *release) bool {
	return r.rec.Strategy == pipeline.Canary && r.rec.Kube.Route.Name == ""
}

// replicasFor is the replicas of a release's copy: as declared, except for a canary without a route, where
// the split's weight sets the share of pods, and a release that is not routed yet has none (it would take
// traffic through the shared Service as soon as it is ready).
func replicasFor(r *release, split *deploy.Split) *int32 {
	if !replicaRatio(r) {
		return nil
	}
	n := r.declaredReplicas()
	var want int32
	switch {
	case split == nil || split.Stable == "" || split.Stable == r.rec.ID && split.Canary == "":
		want = n // the first release, or the stable one alone
	case split.Stable == r.rec.ID:
		want = n - int32(float64(n)*float64(split.CanaryWeight)/100+0.5)
	case split.Canary == r.rec.ID && split.CanaryWeight > 0:
		want = max(1, int32(float64(n)*float64(split.CanaryWeight)/100+0.5))
	}
	return &want
}

// Route applies the environment's Service and route for split, stores the split in the environment's
// state ConfigMap, and prunes the objects only releases no longer routed declared.
func (t *Target) Route(ctx context.Context, env deploy.Environment, split deploy.Split) error {
	e, err := t.envFor(ctx, env.Key, env.Spec)
	if split.Stable == "" {
		// An environment being taken down keeps its Service and route as they are until its releases stop;
		// the split recorded as none lets Stop take them.
		if err != nil || e.space.copies(env.Key) == nil {
			return nil
		}
		if cur, _ := e.space.split(env.Key, e.workload); cur == nil || *cur == split {
			return nil
		}
		e.space.forgetSplit(env.Key)
		return t.classify(env.Key, "route", e.space.apply(ctx, stateConfigMap(e, split)))
	}
	if err != nil {
		return t.classify(env.Key, "route", err)
	}
	return t.classify(env.Key, "route", t.route(ctx, e, split))
}

func (t *Target) route(ctx context.Context, e *envRecord, split deploy.Split) error {
	sp := e.space
	stable, err := sp.release(e.key, split.Stable)
	if err != nil {
		return err
	}
	var canary *release
	if split.Canary != "" {
		if canary, err = sp.release(e.key, split.Canary); err != nil {
			return err
		}
	}
	w := split.CanaryWeight
	// The replicas first (a canary without a route), so that the Service never selects more of a release
	// than its share.
	if replicaRatio(stable) {
		for _, r := range []*release{stable, canary} {
			if r == nil {
				continue
			}
			d, err := r.deploymentCopy(e.key, replicasFor(r, &split))
			if err != nil {
				return err
			}
			if err := sp.apply(ctx, d); err != nil {
				return err
			}
		}
	}
	for _, o := range stable.shared(e.key) {
		if err := sp.apply(ctx, o); err != nil {
			return err
		}
	}
	k := stable.rec.Kube
	if k.Service.Name != "" {
		// The Service selects the stable release; a canary without a route shares it by replicas.
		sel := stable.rec.ID
		if replicaRatio(stable) && canary != nil && w > 0 {
			sel = ""
		}
		s, err := stable.service(e.key, false, sel)
		if err != nil {
			return err
		}
		if err := sp.apply(ctx, s); err != nil {
			return err
		}
	}
	if k.Route.Name != "" {
		c := ""
		if canary != nil && stable.rec.Strategy == pipeline.Canary {
			c = split.Canary
		} else {
			w = 0
		}
		// The canary's header rules come and go with it, in the same apply as the weights.
		if err := sp.apply(ctx, stable.route(e.key, c, w, split.Canary)); err != nil {
			return err
		}
	}
	if err := sp.apply(ctx, stateConfigMap(e, split)); err != nil {
		return err
	}
	return t.prune(ctx, e, stable, canary)
}

// stateConfigMap records an environment's split, where a restarted ferry reads it.
func stateConfigMap(e *envRecord, split deploy.Split) *unstructured.Unstructured {
	data, _ := json.Marshal(split)
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: stateName(e.workload)},
		Data:       map[string]string{"split": string(data), "heal": strconv.FormatBool(e.heal)}}
	obj, _ := toUnstructured(cm)
	own(obj, e.key, split.Stable, PartState)
	return obj
}

func stateName(workload string) string { return "ferry-" + workload }

// prune deletes the shared objects (declared by some release of the environment) that neither the stable
// nor the canary release declares.
func (t *Target) prune(ctx context.Context, e *envRecord, keep ...*release) error {
	declared := map[objKey]bool{}
	for _, r := range keep {
		if r == nil {
			continue
		}
		for _, o := range r.objs {
			declared[keyOf(o)] = true
		}
	}
	for _, r := range e.space.releases(e.key) {
		for _, o := range r.objs {
			if k := keyOf(o); !declared[k] && !r.isMoved(o) {
				if err := e.space.deleteOwned(ctx, e.key, o); err != nil {
					return err
				}
				declared[k] = true // once
			}
		}
	}
	return nil
}

// Stop deletes a release's copies; with the last release of the environment go its Service, route,
// other objects and state.
func (t *Target) Stop(ctx context.Context, key store.EnvKey, id string) error {
	t.mu.Lock()
	e := t.envs[key]
	t.mu.Unlock()
	if e == nil {
		return nil // nothing of it runs where this target looks
	}
	sp := e.space
	// The split from the API server, not the cache: a Route just before may not have reached it.
	split, err := sp.liveSplit(ctx, key, e.workload)
	if err != nil {
		return t.classify(key, "stop release "+id, err)
	}
	if split != nil && (split.Stable == id || split.Canary == id) {
		return fmt.Errorf("stop release %s in %s: the split still names it", id, key)
	}
	r, err := sp.release(key, id)
	if errors.Is(err, errNoRelease) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop release %s in %s: %w", id, key, err)
	}
	op := "stop release " + id
	d, _ := r.deploymentCopy(key, nil)
	if err := sp.deleteOwned(ctx, key, d); err != nil {
		return t.classify(key, op, err)
	}
	if r.rec.Kube.Service.Name != "" {
		s, _ := r.service(key, true, id)
		if err := sp.deleteOwned(ctx, key, s); err != nil {
			return t.classify(key, op, err)
		}
	}
	if len(sp.releases(key)) > 0 {
		return nil
	}
	// The last release: the environment goes.
	for _, o := range r.objs {
		if gk := o.GroupVersionKind().GroupKind(); gk == gvkDeployment.GroupKind() && o.GetName() == r.rec.Kube.Workload.Name {
			continue
		}
		if err := sp.deleteOwned(ctx, key, o); err != nil {
			return t.classify(key, op, err)
		}
	}
	cm := &unstructured.Unstructured{}
	cm.SetGroupVersionKind(gvkConfigMap)
	cm.SetName(stateName(e.workload))
	if err := sp.deleteOwned(ctx, key, cm); err != nil {
		return t.classify(key, op, err)
	}
	t.mu.Lock()
	e.drift = nil
	t.mu.Unlock()
	return nil
}

// Figures: the Kubernetes target does not measure traffic; analysis uses Prometheus and HTTP checks.
func (t *Target) Figures(context.Context, store.EnvKey, string, time.Duration) (deploy.Figures, error) {
	return deploy.Figures{}, deploy.ErrNoFigures
}

// classify turns what the API server answered into the target's errors: a refusal when asking again
// unchanged cannot help (a permission missing, a namespace that does not exist, an object the API server
// rejects), a transient error otherwise.
func (t *Target) classify(key store.EnvKey, op string, err error) error {
	if err == nil {
		return nil
	}
	var access *accessError
	var notOwned *notOwnedError
	switch {
	case errors.As(err, &access), errors.As(err, &notOwned):
		return &deploy.RefusedError{Env: key, Reason: fmt.Sprintf("%s in %s: %v", op, key, err)}
	case apierrors.IsForbidden(err):
		return &deploy.RefusedError{Env: key, Reason: fmt.Sprintf("%s in %s: ferry's credentials lack a permission "+
			"(the Role ferry needs is in docs/kubernetes.md, RBAC): %v", op, key, err)}
	case apierrors.IsNotFound(err) && isNamespaceMissing(err):
		return &deploy.RefusedError{Env: key, Reason: fmt.Sprintf("%s in %s: %v", op, key, err)}
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return &deploy.RefusedError{Env: key, Reason: fmt.Sprintf("%s in %s: %v", op, key, err)}
	}
	return fmt.Errorf("%s in %s: %w", op, key, err)
}

func isNamespaceMissing(err error) bool {
	var s apierrors.APIStatus
	if !errors.As(err, &s) {
		return false
	}
	d := s.Status().Details
	return d != nil && d.Kind == "namespaces"
}
