package kubernetes_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// TestBlueGreenSwitchesTheSelector: the new release runs beside the old one, reachable through its own
// Service (the preview), and the switch is the environment's Service selector.
func TestBlueGreenSwitchesTheSelector(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	ctx := context.Background()
	env := h.env(t, pipeline.BlueGreen, false)
	ns := env.Spec.Kubernetes.Namespace
	blue, green := release(env, "blue", true, false), release(env, "green", true, false)
	selects := func() string {
		s, err := cp.Client.CoreV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
		must(t, "get service", err)
		return s.Spec.Selector[kubernetes.LabelRelease]
	}
	prepared(t, tg, env, blue)
	route(t, tg, env, deploy.Split{Stable: blue.ID})
	prepared(t, tg, env, green)
	route(t, tg, env, deploy.Split{Stable: blue.ID, Canary: green.ID})
	if got := selects(); got != blue.ID {
		t.Errorf("during the preview the Service selects release %s, want %s", got, blue.ID)
	}
	preview, err := cp.Client.CoreV1().Services(ns).Get(ctx, "shop-r"+green.ID, metav1.GetOptions{})
	must(t, "the preview Service", err)
	if preview.Spec.Selector[kubernetes.LabelRelease] != green.ID {
		t.Errorf("preview selects %v", preview.Spec.Selector)
	}
	route(t, tg, env, deploy.Split{Stable: green.ID})
	if got := selects(); got != green.ID {
		t.Errorf("after the switch the Service selects release %s, want %s", got, green.ID)
	}
	if got := answersFrom(t, h, env, 10); got["green"] != 10 {
		t.Errorf("answers after the switch: %v", got)
	}
}

// TestCanaryWithoutARouteByReplicas: the canary's share of the pods is its weight, behind the one Service.
func TestCanaryWithoutARouteByReplicas(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	ctx := context.Background()
	env := h.env(t, pipeline.Canary, false)
	ns := env.Spec.Kubernetes.Namespace
	one, two := release(env, "one", true, false), release(env, "two", true, false)
	replicas := func(id string) int32 {
		d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "shop-r"+id, metav1.GetOptions{})
		must(t, "get deployment", err)
		return *d.Spec.Replicas
	}
	prepared(t, tg, env, one)
	route(t, tg, env, deploy.Split{Stable: one.ID})
	prepared(t, tg, env, two)
	if got := replicas(two.ID); got != 0 {
		t.Errorf("a canary before its first step has %d replicas, want 0 (it would take traffic through the Service)", got)
	}
	route(t, tg, env, deploy.Split{Stable: one.ID, Canary: two.ID, CanaryWeight: 50})
	if a, b := replicas(one.ID), replicas(two.ID); a != 1 || b != 1 {
		t.Errorf("at 50%% of 2 replicas: stable %d, canary %d; want 1 and 1", a, b)
	}
	waitFor(t, tg, env, "both healthy", func(es *deploy.EnvStatus) bool { return isHealthy(one.ID)(es) && isHealthy(two.ID)(es) })
	// The Service's EndpointSlices follow its new selector a moment after the route: the cost of a canary
	// without a route.
	deadline := time.Now().Add(time.Minute)
	for got := answersFrom(t, h, env, 40); got["one"] == 0 || got["two"] == 0; got = answersFrom(t, h, env, 40) {
		if time.Now().After(deadline) {
			t.Fatalf("at 50%% by replicas: %v", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	route(t, tg, env, deploy.Split{Stable: two.ID})
	if got := replicas(two.ID); got != 2 {
		t.Errorf("promoted: %d replicas, want 2", got)
	}
	must(t, "stop one", tg.Stop(ctx, env.Key, one.ID))
}

// TestTakeDown: an environment routed to nothing and stopped leaves nothing of ferry's in its namespace,
// and what ferry does not own is never touched.
func TestTakeDown(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	ctx := context.Background()
	env := h.env(t, pipeline.Canary, true)
	ns := env.Spec.Kubernetes.Namespace
	// Someone else's ConfigMap with the name the release's manifests use: not ferry's, never touched.
	_, err := cp.Apply(ctx, ns, []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs}\ndata: {a: b}\n"))
	must(t, "apply someone else's object", err)
	rel := release(env, "one", true, false)
	theirs := release(env, "one", true, false)
	theirs.Manifests = append(theirs.Manifests, []byte("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: theirs}\ndata: {a: c}\n")...)
	prepared(t, tg, env, rel)
	err = tg.Route(ctx, env, deploy.Split{Stable: rel.ID})
	must(t, "route", err)
	// A release whose manifests name an object that is not ferry's is refused when it would be applied.
	prepared(t, tg, env, theirs)
	err = tg.Route(ctx, env, deploy.Split{Stable: theirs.ID})
	if r := deploy.AsRefused(err); r == nil || !strings.Contains(r.Reason, "configmap theirs already exists") {
		t.Errorf("routing a release that declares someone else's ConfigMap = %v; want a refusal naming it", err)
	}
	must(t, "route back", tg.Route(ctx, env, deploy.Split{Stable: rel.ID}))
	must(t, "stop the refused release", tg.Stop(ctx, env.Key, theirs.ID))
	// The controller takes an environment down: traffic to nothing, then every release stopped.
	must(t, "route to nothing", tg.Route(ctx, deploy.Environment{Key: env.Key}, deploy.Split{}))
	must(t, "stop", tg.Stop(ctx, env.Key, rel.ID))
	waitFor(t, tg, env, "the environment gone", func(es *deploy.EnvStatus) bool { return es == nil })
	for _, kind := range []string{"deployments", "services", "configmaps"} {
		var names []string
		switch kind {
		case "deployments":
			l, _ := cp.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelManagedBy + "=ferry"})
			for _, o := range l.Items {
				names = append(names, o.Name)
			}
		case "services":
			l, _ := cp.Client.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelManagedBy + "=ferry"})
			for _, o := range l.Items {
				names = append(names, o.Name)
			}
		case "configmaps":
			l, _ := cp.Client.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{LabelSelector: kubernetes.LabelManagedBy + "=ferry"})
			for _, o := range l.Items {
				names = append(names, o.Name)
			}
		}
		if len(names) > 0 {
			t.Errorf("%s of ferry's left after the take-down: %v", kind, names)
		}
	}
	if cm, err := cp.Client.CoreV1().ConfigMaps(ns).Get(ctx, "theirs", metav1.GetOptions{}); err != nil || cm.Data["a"] != "b" {
		t.Errorf("someone else's ConfigMap: %v, %v", cm.Data, err)
	}
}

func TestRender(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		root := t.TempDir()
		for name, text := range files {
			p := filepath.Join(root, name)
			must(t, "mkdir", os.MkdirAll(filepath.Dir(p), 0o755))
			must(t, "write", os.WriteFile(p, []byte(text), 0o644))
		}
		return root
	}
	deployment := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop}\nspec: {selector: {matchLabels: {app: shop}}}\n"
	service := "apiVersion: v1\nkind: Service\nmetadata: {name: shop}\n"
	tests := []struct {
		name  string
		files map[string]string
		path  string
		want  []string // substrings of the rendered stream
		err   string
	}{
		{"a folder of YAML files", map[string]string{"k8s/a.yaml": deployment, "k8s/b.yml": service, "k8s/README.md": "x"}, "k8s",
			[]string{"kind: Deployment", "kind: Service"}, ""},
		{"one file", map[string]string{"k8s/a.yaml": deployment}, "k8s/a.yaml", []string{"kind: Deployment"}, ""},
		{"a kustomization", map[string]string{"base/a.yaml": deployment, "base/kustomization.yaml": "resources: [a.yaml]\n",
			"prod/kustomization.yaml": "resources: [../base]\nnamePrefix: prod-\nlabels: [{pairs: {tier: web}}]\n"}, "prod",
			[]string{"name: prod-shop", "tier: web"}, ""},
		{"a kustomization reaching out of its root", map[string]string{"prod/kustomization.yaml": "resources: [/etc/passwd]\n"}, "prod",
			nil, "kustomize"},
		{"a path out of the checkout", nil, "../x", nil, "not a path inside the repository"},
		{"a folder without YAML", map[string]string{"k8s/README.md": "x"}, "k8s", nil, "no .yaml"},
		{"a document without a kind", map[string]string{"k8s/a.yaml": "apiVersion: v1\nmetadata: {name: x}\n"}, "k8s", nil, "no apiVersion, kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := write(t, tt.files)
			out, err := kubernetes.Render(root, tt.path)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Render = %v; want an error with %q", err, tt.err)
				}
				return
			}
			must(t, "render", err)
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("rendered %q lacks %q", out, w)
				}
			}
			again, _ := kubernetes.Render(root, tt.path)
			if string(again) != string(out) {
				t.Error("rendering twice gave different bytes")
			}
		})
	}
}
