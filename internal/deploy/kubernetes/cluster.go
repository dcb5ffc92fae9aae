package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	authzv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
)

// cluster is one kubeconfig context: its clients, and the namespaces watched there.
type cluster struct {
	t       *Target
	context string
	client  kubernetes.Interface
	dynamic dynamic.Interface
	mapper  *restmapper.DeferredDiscoveryRESTMapper
	// The informers' clients have no client-side timeout: a watch is long-running, and one cut at every
	// Timeout would be re-opened at once, a request per watch per Timeout for nothing. The API server ends
	// each watch after 5 to 10 minutes (client-go asks for that), and the first sync is bounded on its own.
	watchClient  kubernetes.Interface
	watchDynamic dynamic.Interface

	mu      sync.Mutex // guards spaces
	spaces  map[string]*space
	startMu sync.Mutex // one namespace starts at a time
}

func restConfig(kubeconfig, kubeContext string) (*rest.Config, error) {
	if kubeconfig == "" {
		if kubeContext != "" {
			return nil, fmt.Errorf("context %q: ferry serve runs with in-cluster credentials, which have no contexts; "+
				"start it with --kubeconfig", kubeContext)
		}
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("no kubeconfig: start ferry serve with --kubeconfig (in-cluster credentials: %w)", err)
		}
		return cfg, nil
	}
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
	if err != nil {
		// The kubeconfig's contents (tokens, keys) are never in the message: only its path and the context.
		return nil, fmt.Errorf("kubeconfig %s, context %q: %w", kubeconfig, kubeContext, err)
	}
	return cfg, nil
}

func newCluster(t *Target, kubeContext string) (*cluster, error) {
	cfg, err := restConfig(t.cfg.Kubeconfig, kubeContext)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = "ferry"
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = 50, 100
	}
	c := &cluster{t: t, context: kubeContext, spaces: map[string]*space{}}
	if c.watchClient, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("context %q: %w", kubeContext, err)
	}
	if c.watchDynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("context %q: %w", kubeContext, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = t.cfg.Timeout
	if c.client, err = kubernetes.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("context %q: %w", kubeContext, err)
	}
	if c.dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return nil, fmt.Errorf("context %q: %w", kubeContext, err)
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.client.Discovery()))
	return c, nil
}

func (c *cluster) stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.spaces {
		s.stopInformers()
	}
}

// space returns the namespace's informers, started (and synced) on first use after checking that ferry may
// do what it needs there.
func (c *cluster) space(ctx context.Context, namespace string) (*space, error) {
	c.mu.Lock()
	s := c.spaces[namespace]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	// One start at a time, outside mu: Status reads the started spaces meanwhile.
	c.startMu.Lock()
	defer c.startMu.Unlock()
	c.mu.Lock()
	s = c.spaces[namespace]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.t.cfg.Timeout)
	defer cancel()
	hasRoutes := c.hasHTTPRoute()
	if err := c.checkAccess(ctx, namespace, hasRoutes); err != nil {
		return nil, err
	}
	s, err := startSpace(ctx, c, namespace, hasRoutes)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.spaces[namespace] = s
	c.mu.Unlock()
	return s, nil
}

func (c *cluster) hasHTTPRoute() bool {
	_, err := c.mapping(gvkHTTPRoute)
	return err == nil
}

// mapping maps a kind to its resource through discovery, refreshed when a kind is not found.
func (c *cluster) mapping(gvk schema.GroupVersionKind) (*meta.RESTMapping, error) {
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if meta.IsNoMatchError(err) {
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, fmt.Errorf("kind %s: %w", gvk, err)
	}
	return m, nil
}

// notOwnedError is an object of the manifests that exists and is not ferry's for the environment.
type notOwnedError struct{ kind, name, namespace string }

func (e *notOwnedError) Error() string {
	return fmt.Sprintf("%s %s already exists in namespace %s and is not ferry's for this environment (it lacks the "+
		"label %s=%s or belongs to another environment): ferry never changes what it did not create; delete it "+
		"or take it out of the manifests", strings.ToLower(e.kind), e.name, e.namespace, LabelManagedBy, ManagedBy)
}

// accessError names the permissions ferry lacks.
type accessError struct {
	context, namespace string
	missing            []string
}

func (e *accessError) Error() string {
	return fmt.Sprintf("ferry's credentials (context %q) may not %s in namespace %s; grant the Role in docs/kubernetes.md (RBAC)",
		e.context, strings.Join(e.missing, ", "), e.namespace)
}

// Permission is what ferry does with one resource in a namespace.
type Permission struct {
	Group, Resource string
	Verbs           []string
}

// Permissions is what ferry needs in a namespace: the minimal Role of docs/kubernetes.md. Pods are only
// read (health and reasons); the objects of the manifests other than these kinds need the same verbs as
// ConfigMaps.
var Permissions = []Permission{
	{"apps", "deployments", []string{"get", "list", "watch", "create", "patch", "delete"}},
	{"", "services", []string{"get", "list", "watch", "create", "patch", "delete"}},
	{"", "configmaps", []string{"get", "list", "watch", "create", "patch", "delete"}},
	{"", "pods", []string{"list", "watch"}},
	{"discovery.k8s.io", "endpointslices", []string{"list", "watch"}},
	{"gateway.networking.k8s.io", "httproutes", []string{"get", "list", "watch", "create", "patch", "delete"}},
}

// checkAccess asks the API server, through SelfSubjectAccessReviews (which every authenticated user may
// make), whether ferry holds every permission; a missing one is an accessError naming them all.
func (c *cluster) checkAccess(ctx context.Context, namespace string, hasRoutes bool) error {
	e := &accessError{context: c.context, namespace: namespace}
	for _, p := range Permissions {
		if p.Resource == "httproutes" && !hasRoutes {
			continue
		}
		for _, verb := range p.Verbs {
			r := &authzv1.SelfSubjectAccessReview{Spec: authzv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: namespace, Verb: verb, Group: p.Group, Resource: p.Resource}}}
			got, err := c.client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, r, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("context %q: check permissions in namespace %s: %w", c.context, namespace, err)
			}
			if !got.Status.Allowed {
				e.missing = append(e.missing, verb+" "+qualified(p.Group, p.Resource))
			}
		}
	}
	if len(e.missing) > 0 {
		return e
	}
	return nil
}

func qualified(group, resource string) string {
	if group == "" {
		return resource
	}
	return resource + "." + group
}

// apply server-side applies o as ferry, taking over fields another manager changed (that is how drift is
// healed).
func (s *space) apply(ctx context.Context, o *unstructured.Unstructured) error {
	m, err := s.c.mapping(o.GroupVersionKind())
	if err != nil {
		return err
	}
	data, err := o.MarshalJSON()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.t.cfg.Timeout)
	defer cancel()
	force := true
	var res dynamic.ResourceInterface = s.c.dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		res = s.c.dynamic.Resource(m.Resource).Namespace(s.ns)
	}
	// Never take over an object ferry did not create for this environment: a forced apply would.
	live, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
	case live.GetLabels()[LabelManagedBy] != ManagedBy || live.GetAnnotations()[annotEnv] != o.GetAnnotations()[annotEnv]:
		return &notOwnedError{kind: o.GetKind(), name: o.GetName(), namespace: s.ns}
	}
	_, err = res.Patch(ctx, o.GetName(), "application/apply-patch+yaml", data,
		metav1.PatchOptions{FieldManager: FieldManager, Force: &force})
	if err != nil {
		return fmt.Errorf("apply %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

// deleteOwned deletes the object o names when it exists and carries the environment's labels: ferry never
// deletes what is not its own.
func (s *space) deleteOwned(ctx context.Context, key interface{ String() string }, o *unstructured.Unstructured) error {
	m, err := s.c.mapping(o.GroupVersionKind())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.c.t.cfg.Timeout)
	defer cancel()
	var res dynamic.ResourceInterface = s.c.dynamic.Resource(m.Resource)
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		res = s.c.dynamic.Resource(m.Resource).Namespace(s.ns)
	}
	live, err := res.Get(ctx, o.GetName(), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	if live.GetLabels()[LabelManagedBy] != ManagedBy || live.GetAnnotations()[annotEnv] != key.String() {
		return nil
	}
	s.expectDelete(o.GetKind(), o.GetName())
	uid := live.GetUID()
	err = res.Delete(ctx, o.GetName(), metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}})
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return fmt.Errorf("delete %s %s: %w", o.GetKind(), o.GetName(), err)
	}
	return nil
}

func toUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := cleanForApply(&unstructured.Unstructured{Object: m})
	return u, nil
}

var errNoRelease = errors.New("no such release")

// syncTimeout bounds the first sync of a namespace's informers.
func (c *cluster) syncTimeout() time.Duration { return c.t.cfg.Timeout }
