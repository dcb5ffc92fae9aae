package kubernetes_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// The test app's manifests: a Deployment, its Service and an HTTPRoute to it. HELLO is what its pods
// answer; CRASH makes the test kubelet report them crash-looping; a node selector no node matches keeps
// them from ever running.
const appManifests = `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
        - name: shop
          image: registry.example.com/shop:dev
          env: [{name: HELLO, value: %q}, {name: CRASH, value: %q}]
          ports: [{containerPort: 8080, name: http}]
%s---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: gateway}]
  rules:
    - backendRefs: [{name: shop, port: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: shop-settings}
data: {greeting: hello}
`

// manifests renders the test app for a release called name.
func manifests(name string, healthy, crash bool) []byte {
	sel := ""
	if !healthy {
		sel = "      nodeSelector: {ferry-test/no-such-node: \"true\"}\n"
	}
	return fmt.Appendf(nil, appManifests, name, fmt.Sprint(crash), sel)
}

// digest is a made-up image digest for a release name.
func digest(name string) string {
	sum := sha256.Sum256([]byte(name))
	return "registry.example.com/shop@sha256:" + hex.EncodeToString(sum[:])
}

func envSpec(ns string, kind pipeline.StrategyKind, route bool) *pipeline.Environment {
	k := &pipeline.KubernetesTarget{Namespace: ns, Manifests: "deploy/k8s", Heal: true,
		Workload: pipeline.ObjectRef{Kind: pipeline.KindDeployment, Name: "shop"},
		Service:  pipeline.ObjectRef{Kind: pipeline.KindService, Name: "shop"}}
	if route {
		k.Route = pipeline.ObjectRef{Kind: pipeline.KindHTTPRoute, Name: "shop"}
	}
	s := pipeline.Strategy{Kind: kind}
	if kind == pipeline.Canary {
		s.Steps = []pipeline.CanaryStep{{Weight: 10}, {Weight: 50}}
	}
	return &pipeline.Environment{Name: ns, Target: pipeline.TargetKubernetes, Kubernetes: k, Strategy: s}
}

var releaseIDs atomic.Int64

// harness is the contract's Harness over the shared control plane, with ferry's credentials the admin's.
type harness struct {
	cp         *k8stest.ControlPlane
	kubeconfig string
	mu         sync.Mutex
	namespaces []string
	kubelets   map[string]*kubelet
}

func newTarget(t *testing.T, kubeconfig string) *kubernetes.Target {
	tg := kubernetes.New(kubernetes.Config{Kubeconfig: kubeconfig, Timeout: 20 * time.Second})
	t.Cleanup(tg.Close)
	return tg
}

func newHarness(t *testing.T) *deploytestHarness {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubeconfig: cp.Kubeconfig, kubelets: map[string]*kubelet{}}
	return h.contract(t)
}

func (h *harness) env(t *testing.T, kind pipeline.StrategyKind, route bool) deploy.Environment {
	ns := h.cp.Namespace(t)
	h.mu.Lock()
	h.namespaces = append(h.namespaces, ns)
	h.kubelets[ns] = startKubelet(t, h.cp, ns)
	h.mu.Unlock()
	return deploy.Environment{Key: store.EnvKey{Project: "shop", Env: ns}, Spec: envSpec(ns, kind, route)}
}

func release(env deploy.Environment, name string, healthy, crash bool) deploy.Release {
	spec := *env.Spec
	return deploy.Release{ID: fmt.Sprint(releaseIDs.Add(1)), Spec: &spec, Manifests: manifests(name, healthy, crash),
		Images: []string{digest(name)}}
}

// get is the test's router: it follows the environment's HTTPRoute weights (or, without a route, its
// Service) to a ready endpoint of the chosen Service, and sends the request to that pod's server.
func (h *harness) get(t *testing.T, env deploy.Environment) (string, error) {
	ctx := context.Background()
	ns := env.Spec.Kubernetes.Namespace
	svc := env.Spec.Kubernetes.Service.Name
	if env.Spec.Kubernetes.Route.Name != "" {
		route, err := h.cp.Dynamic.Resource(httpRoutes).Namespace(ns).Get(ctx, env.Spec.Kubernetes.Route.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		if svc, err = pickBackend(route, nil); err != nil {
			return "", err
		}
	}
	addr, err := h.endpoint(ctx, ns, svc)
	if err != nil {
		return "", err
	}
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return string(body), err
}

// endpoint picks a ready endpoint of the Service svc and returns its pod's server address.
func (h *harness) endpoint(ctx context.Context, ns, svc string) (string, error) {
	slices, err := h.cp.Client.DiscoveryV1().EndpointSlices(ns).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=" + svc})
	if err != nil {
		return "", err
	}
	var pods []string
	for _, s := range slices.Items {
		for _, ep := range s.Endpoints {
			if ep.TargetRef != nil && (ep.Conditions.Ready == nil || *ep.Conditions.Ready) {
				pods = append(pods, ep.TargetRef.Name)
			}
		}
	}
	if len(pods) == 0 {
		return "", fmt.Errorf("service %s has no ready endpoint", svc)
	}
	h.mu.Lock()
	k := h.kubelets[ns]
	h.mu.Unlock()
	addr := k.addr(pods[rand.IntN(len(pods))])
	if addr == "" {
		return "", fmt.Errorf("no server for the endpoint's pod")
	}
	return addr, nil
}

// pickBackend picks a backend by weight of the route's rule that req matches (ruleFor); a nil req is a
// request with no headers to the path /.
func pickBackend(route *unstructured.Unstructured, req *http.Request) (string, error) {
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	rule := ruleFor(rules, req)
	if rule == nil {
		return "", errors.New("no rule of the route matches the request")
	}
	refs, _ := rule["backendRefs"].([]any)
	total := int64(0)
	for _, r := range refs {
		w, ok := r.(map[string]any)["weight"].(int64)
		if !ok {
			w = 1
		}
		total += w
	}
	if total == 0 {
		return "", errors.New("every backend of the route has weight 0")
	}
	n := rand.Int64N(total)
	for _, r := range refs {
		m := r.(map[string]any)
		w, ok := m["weight"].(int64)
		if !ok {
			w = 1
		}
		if n < w {
			return m["name"].(string), nil
		}
		n -= w
	}
	return "", errors.New("unreachable")
}

// disturb scales the release's copy to zero as someone with kubectl would.
func (h *harness) disturb(t *testing.T, env deploy.Environment, release string) {
	ctx := context.Background()
	ns := env.Spec.Kubernetes.Namespace
	d, err := h.cp.Client.AppsV1().Deployments(ns).Get(ctx, "shop-r"+release, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("disturb: %v", err)
	}
	zero := int32(0)
	d.Spec.Replicas = &zero
	if _, err := h.cp.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatalf("disturb: %v", err)
	}
}

func (h *harness) reopen(t *testing.T) deploy.Target {
	tg := newTarget(t, h.kubeconfig)
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, ns := range h.namespaces {
		if err := tg.Watch(context.Background(), "", ns); err != nil {
			t.Fatalf("watch %s: %v", ns, err)
		}
	}
	return tg
}

// kubelet plays the part of the kubelets kwok leaves out: for every running pod of the namespace it
// serves HTTP on a loopback port ("hello from HELLO", and a 500 on the path FAIL_PATH names), and it
// reports the pods of a crashing release as a kubelet would (restarts, CrashLoopBackOff, not ready).
type kubelet struct {
	mu      sync.Mutex
	servers map[string]*httptest.Server // by pod name
}

func startKubelet(t *testing.T, cp *k8stest.ControlPlane, ns string) *kubelet {
	k := &kubelet{servers: map[string]*httptest.Server{}}
	stop := make(chan struct{})
	f := informers.NewSharedInformerFactoryWithOptions(cp.Client, 0, informers.WithNamespace(ns))
	inf := f.Core().V1().Pods().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { k.pod(cp, obj.(*corev1.Pod)) },
		UpdateFunc: func(_, obj any) { k.pod(cp, obj.(*corev1.Pod)) },
		DeleteFunc: func(obj any) {
			if p, ok := obj.(*corev1.Pod); ok {
				k.gone(p.Name)
			}
		},
	})
	f.Start(stop)
	t.Cleanup(func() {
		close(stop)
		k.mu.Lock()
		defer k.mu.Unlock()
		for _, s := range k.servers {
			s.Close()
		}
	})
	return k
}

func podEnv(p *corev1.Pod, name string) string {
	for _, c := range p.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return e.Value
			}
		}
	}
	return ""
}

func (k *kubelet) pod(cp *k8stest.ControlPlane, p *corev1.Pod) {
	if p.Status.PodIP == "" || p.DeletionTimestamp != nil {
		return
	}
	if podEnv(p, "CRASH") == "true" {
		crash(cp, p)
		return
	}
	if podEnv(p, "PULL") == "fail" {
		failPull(cp, p)
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.servers[p.Name] != nil {
		return
	}
	hello, broken := podEnv(p, "HELLO"), podEnv(p, "FAIL_PATH")
	k.servers[p.Name] = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken != "" && r.URL.Path == broken {
			http.Error(w, "broken in "+hello, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "hello from %s\n", hello)
	}))
}

// crash reports the pod's container as crash-looping, once.
func crash(cp *k8stest.ControlPlane, p *corev1.Pod) {
	if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].RestartCount > 0 {
		return
	}
	p = p.DeepCopy()
	now := metav1.Now()
	for i := range p.Status.Conditions {
		if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			c.Status, c.LastTransitionTime = corev1.ConditionFalse, now
		}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
		RestartCount: 3, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
			Message: "back-off 40s restarting failed container"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
	_, err := cp.Client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		fmt.Printf("test kubelet: report pod %s crashing: %v\n", p.Name, err)
	}
}

// failPull reports the pod's image as one that cannot be pulled, as a kubelet would, once.
func failPull(cp *k8stest.ControlPlane, p *corev1.Pod) {
	if len(p.Status.ContainerStatuses) > 0 && p.Status.ContainerStatuses[0].State.Waiting != nil {
		return
	}
	p = p.DeepCopy()
	for i := range p.Status.Conditions {
		if c := &p.Status.Conditions[i]; c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			c.Status, c.LastTransitionTime = corev1.ConditionFalse, metav1.Now()
		}
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: p.Spec.Containers[0].Name, Image: p.Spec.Containers[0].Image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
			Message: "Back-off pulling image \"" + p.Spec.Containers[0].Image + "\""}}}}
	_, err := cp.Client.CoreV1().Pods(p.Namespace).UpdateStatus(context.Background(), p, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
		fmt.Printf("test kubelet: report pod %s failing to pull: %v\n", p.Name, err)
	}
}

func (k *kubelet) gone(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.servers[name]; s != nil {
		s.Close()
		delete(k.servers, name)
	}
}

func (k *kubelet) addr(pod string) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s := k.servers[pod]; s != nil {
		return strings.TrimPrefix(s.URL, "http://")
	}
	return ""
}

func envKey(name string) store.EnvKey { return store.EnvKey{Project: "shop", Env: name} }
