package kubernetes

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/informers"
	appslisters "k8s.io/client-go/listers/apps/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

// space is one namespace ferry serves: informers over the objects carrying ferry's labels (watches, no
// polling), and what ferry remembers there.
type space struct {
	c  *cluster
	ns string

	stopCh      chan struct{}
	deployments appslisters.DeploymentLister
	services    corelisters.ServiceLister
	configMaps  corelisters.ConfigMapLister
	pods        corelisters.PodLister
	slices      discoverylisters.EndpointSliceLister

	mu       sync.Mutex
	deleting map[string]time.Time          // kind/name ferry is deleting: not drift
	parsed   map[string]parsedRecord       // Deployment copy name → its release, parsed once
	lost     map[string]*release           // copy name → release whose copy was deleted behind ferry's back
	splits   map[store.EnvKey]deploy.Split // the last split seen, for a state ConfigMap deleted behind ferry's back
	watchErr error                         // the last error of a watch, for a sync that does not finish
}

type parsedRecord struct {
	raw string
	r   *release
}

var selector = labels.Set{LabelManagedBy: ManagedBy}.AsSelector().String()

func startSpace(ctx context.Context, c *cluster, ns string, hasRoutes bool) (*space, error) {
	s := &space{c: c, ns: ns, stopCh: make(chan struct{}), deleting: map[string]time.Time{}, parsed: map[string]parsedRecord{},
		lost: map[string]*release{}, splits: map[store.EnvKey]deploy.Split{}}
	tweak := func(o *metav1.ListOptions) { o.LabelSelector = selector }
	f := informers.NewSharedInformerFactoryWithOptions(c.watchClient, 0, informers.WithNamespace(ns), informers.WithTweakListOptions(tweak))
	dep, svc, cm, pod := f.Apps().V1().Deployments(), f.Core().V1().Services(), f.Core().V1().ConfigMaps(), f.Core().V1().Pods()
	eps := f.Discovery().V1().EndpointSlices()
	s.deployments, s.services, s.configMaps, s.pods, s.slices = dep.Lister(), svc.Lister(), cm.Lister(), pod.Lister(), eps.Lister()
	synced := []cache.InformerSynced{}
	for _, inf := range []cache.SharedIndexInformer{dep.Informer(), svc.Informer(), cm.Informer(), pod.Informer(), eps.Informer()} {
		s.watch(inf, inf != pod.Informer() && inf != eps.Informer())
		synced = append(synced, inf.HasSynced)
	}
	var df dynamicinformer.DynamicSharedInformerFactory
	if hasRoutes {
		m, err := c.mapping(gvkHTTPRoute)
		if err != nil {
			return nil, err
		}
		df = dynamicinformer.NewFilteredDynamicSharedInformerFactory(c.watchDynamic, 0, ns, tweak)
		inf := df.ForResource(m.Resource).Informer()
		s.watch(inf, true)
		synced = append(synced, inf.HasSynced)
		df.Start(s.stopCh)
	}
	f.Start(s.stopCh)
	sctx, cancel := context.WithTimeout(ctx, c.syncTimeout())
	defer cancel()
	if !cache.WaitForCacheSync(sctx.Done(), synced...) {
		close(s.stopCh)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.watchErr != nil {
			return nil, fmt.Errorf("context %q, namespace %s: watch: %w", c.context, ns, s.watchErr)
		}
		return nil, fmt.Errorf("context %q, namespace %s: the API server did not answer within %s", c.context, ns, c.syncTimeout())
	}
	return s, nil
}

func (s *space) stopInformers() {
	select {
	case <-s.stopCh:
	default:
		close(s.stopCh)
	}
}

// watch reports what changes in the objects ferry applied (drift) to the target, and keeps the watch's
// last error.
func (s *space) watch(inf cache.SharedIndexInformer, drift bool) {
	_ = inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
		s.mu.Lock()
		s.watchErr = err
		s.mu.Unlock()
	})
	if !drift {
		return
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.c.t.changed(s, obj, false) },
		UpdateFunc: func(_, obj any) { s.c.t.changed(s, obj, false) },
		DeleteFunc: func(obj any) {
			if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = d.Obj
			}
			s.c.t.changed(s, obj, true)
		},
	})
}

// expectDelete marks an object ferry deletes, so its deletion is not reported as drift.
func (s *space) expectDelete(kind, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleting[kind+"/"+name] = time.Now()
}

// deletedByFerry reports (once) whether ferry deleted the object.
func (s *space) deletedByFerry(kind, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.deleting[kind+"/"+name]
	delete(s.deleting, kind+"/"+name)
	return ok
}

func envSelector(key store.EnvKey, part string) labels.Selector {
	l := envLabels(key)
	if part != "" {
		l[LabelPart] = part
	}
	return labels.SelectorFromSet(l)
}

// copies are the environment's Deployment copies, one per release.
func (s *space) copies(key store.EnvKey) []*appsv1.Deployment {
	ds, _ := s.deployments.Deployments(s.ns).List(envSelector(key, PartCopy))
	ds = slices.DeleteFunc(ds, func(d *appsv1.Deployment) bool { return d.Annotations[annotEnv] != key.String() })
	slices.SortFunc(ds, func(a, b *appsv1.Deployment) int { return cmpID(a.Labels[LabelRelease], b.Labels[LabelRelease]) })
	return ds
}

func cmpID(a, b string) int {
	x, errx := strconv.ParseInt(a, 10, 64)
	y, erry := strconv.ParseInt(b, 10, 64)
	if errx == nil && erry == nil {
		return int(x - y)
	}
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func (s *space) copyOf(key store.EnvKey, id string) *appsv1.Deployment {
	for _, d := range s.copies(key) {
		if d.Labels[LabelRelease] == id {
			return d
		}
	}
	return nil
}

// parse reads the release a Deployment copy records.
func (s *space) parse(d *appsv1.Deployment) (*release, error) {
	raw := d.Annotations[annotRelease]
	s.mu.Lock()
	p, ok := s.parsed[d.Name]
	s.mu.Unlock()
	if ok && p.raw == raw {
		return p.r, nil
	}
	var rec releaseRecord
	if err := json.Unmarshal([]byte(raw), &rec); err != nil || rec.Kube == nil {
		return nil, fmt.Errorf("deployment %s: annotation %s is not ferry's: %v", d.Name, annotRelease, err)
	}
	r, err := newRelease(rec)
	if err != nil {
		return nil, fmt.Errorf("deployment %s: %w", d.Name, err)
	}
	s.mu.Lock()
	s.parsed[d.Name] = parsedRecord{raw: raw, r: r}
	s.mu.Unlock()
	return r, nil
}

// releases are the environment's releases, as their copies record them, with those whose copy was
// deleted behind ferry's back.
func (s *space) releases(key store.EnvKey) []*release {
	var out []*release
	seen := map[string]bool{}
	for _, d := range s.copies(key) {
		if r, err := s.parse(d); err == nil {
			out = append(out, r)
			seen[r.rec.ID] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.lost {
		if seen[r.rec.ID] {
			delete(s.lost, name)
			continue
		}
		if k, ok := s.lostKey(name); ok && k == key {
			out = append(out, r)
		}
	}
	return out
}

func (s *space) lostKey(name string) (store.EnvKey, bool) {
	r := s.lost[name]
	if r == nil {
		return store.EnvKey{}, false
	}
	return r.key, true
}

func (s *space) release(key store.EnvKey, id string) (*release, error) {
	for _, r := range s.releases(key) {
		if r.rec.ID == id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("release %s: %w in %s (namespace %s): prepare it first", id, errNoRelease, key, s.ns)
}

// forget drops what the space remembers of a release that stopped.
func (s *space) forget(key store.EnvKey, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, r := range s.lost {
		if r.key == key && r.rec.ID == id {
			delete(s.lost, name)
		}
	}
}

// split is the environment's split as its state ConfigMap records it, or as last seen; nil before any
// route.
func (s *space) split(key store.EnvKey, workload string) (*deploy.Split, bool) {
	cm, err := s.configMaps.ConfigMaps(s.ns).Get(stateName(workload))
	if err == nil && cm.Annotations[annotEnv] == key.String() {
		var sp deploy.Split
		if json.Unmarshal([]byte(cm.Data["split"]), &sp) == nil {
			s.mu.Lock()
			s.splits[key] = sp
			s.mu.Unlock()
			return &sp, cm.Data["heal"] != "false"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sp, ok := s.splits[key]; ok {
		return &sp, true
	}
	return nil, true
}

// liveSplit reads the environment's split from the API server; nil when it has none.
func (s *space) liveSplit(ctx context.Context, key store.EnvKey, workload string) (*deploy.Split, error) {
	ctx, cancel := context.WithTimeout(ctx, s.c.t.cfg.Timeout)
	defer cancel()
	cm, err := s.c.client.CoreV1().ConfigMaps(s.ns).Get(ctx, stateName(workload), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read the split of %s: %w", key, err)
	}
	if cm.Labels[LabelManagedBy] != ManagedBy || cm.Annotations[annotEnv] != key.String() {
		return nil, nil
	}
	var sp deploy.Split
	if err := json.Unmarshal([]byte(cm.Data["split"]), &sp); err != nil {
		return nil, fmt.Errorf("read the split of %s: %w", key, err)
	}
	return &sp, nil
}

// forgetSplit drops the split remembered for a state ConfigMap deleted behind ferry's back.
func (s *space) forgetSplit(key store.EnvKey) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.splits, key)
}

// states are the state ConfigMaps of the namespace.
func (s *space) states() []*corev1.ConfigMap {
	cms, _ := s.configMaps.ConfigMaps(s.ns).List(labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, LabelPart: PartState}))
	return cms
}

// readyEndpoints counts the ready endpoints of a Service ferry applied (EndpointSlices carry its labels).
func (s *space) readyEndpoints(service string) int {
	l, _ := s.slices.EndpointSlices(s.ns).List(labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagedBy, discoveryv1.LabelServiceName: service}))
	n := 0
	for _, es := range l {
		for _, ep := range es.Endpoints {
			if ep.Conditions.Ready == nil || *ep.Conditions.Ready {
				n++
			}
		}
	}
	return n
}

// objKey names an object within a namespace.
type objKey struct {
	gk   schema.GroupKind
	name string
}

func keyOf(o *unstructured.Unstructured) objKey {
	return objKey{o.GroupVersionKind().GroupKind(), o.GetName()}
}
