package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
)

// kubeApp are the manifests of a service on Kubernetes; a "sick" one can never be scheduled.
func kubeApp(sick bool) string {
	sel := ""
	if sick {
		sel = "      nodeSelector: {ferry-test/no-such-node: \"true\"}\n"
	}
	return `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers:
        - {name: shop, image: registry.example.com/shop:dev}
` + sel + `---
apiVersion: v1
kind: Service
metadata: {name: shop}
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80}]
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: shop}
spec:
  parentRefs: [{name: gateway}]
  rules: [{backendRefs: [{name: shop, port: 80}]}]
`
}

func kubePipeline(version string) string {
	return kubeBuild(version) + `  - name: staging
    target: kubernetes
    kubernetes: {namespace: shop-staging, manifests: deploy/staging, workload: deployment/shop, service: service/shop}
    strategy: direct
  - name: production
    after: staging
    production: true
    target: kubernetes
    kubernetes: {namespace: shop, manifests: deploy/production, workload: deployment/shop, service: service/shop, route: httproute/shop}
    strategy: {canary: {steps: [{weight: 50, pause: 1s}]}}
`
}

// TestKubernetesRollout: push → run → release with an image → staging direct → production canary through
// the HTTPRoute's weights, on a real control plane; a release that never becomes healthy in production fails
// its rollout and the weights stay on the live release.
func TestKubernetesRollout(t *testing.T) {
	ctx := context.Background()
	cp := startKube(t, "shop-staging", "shop")
	backends := func() string { return routeBackends(t, cp, "shop") }

	repo := newRemote(t)
	f := startFerry(t, "--kubeconfig", cp.Kubeconfig)
	f.addProject("shop", repo.URL, "--poll", "0")
	deploy := func(version string, sickInProduction bool) (*run, rollout, rollout) {
		t.Helper()
		repo.commit("main", version, map[string]string{".ferry.yaml": kubePipeline(version),
			"deploy/staging/app.yaml": kubeApp(false), "deploy/production/app.yaml": kubeApp(sickInProduction)})
		r := f.waitRun(f.trigger("shop"))
		if r.State != "passed" {
			t.Fatalf("run of %s: %s %s\n%s", version, r.State, r.Reason, f.mustCLI("logs", fmt.Sprint(r.ID)))
		}
		s := f.waitRollout("shop", "staging", r.ReleaseID)
		if s.State != "succeeded" {
			t.Fatalf("%s in staging: %+v\n%s", version, s, f.logs)
		}
		return r, s, f.waitRollout("shop", "production", r.ReleaseID)
	}

	r1, _, p1 := deploy("v1", false)
	if p1.State != "succeeded" {
		t.Fatalf("v1 in production: %+v\n%s", p1, f.logs)
	}
	if got, want := backends(), fmt.Sprintf("shop-r%d=100", r1.ReleaseID); got != want {
		t.Errorf("production route after v1: %s, want %s", got, want)
	}
	if out := f.mustCLI("release", "show", "shop", fmt.Sprint(r1.ReleaseVersion), "--manifests", "--env", "production"); !strings.Contains(out, "kind: HTTPRoute") {
		t.Errorf("ferry release show --manifests:\n%s", out)
	}

	r2, _, p2 := deploy("v2", false)
	if p2.State != "succeeded" {
		t.Fatalf("v2 in production: %+v\n%s", p2, f.logs)
	}
	waitFor(t, 30*time.Second, "v1's copy deleted", func() bool {
		_, err := cp.Client.AppsV1().Deployments("shop").Get(ctx, fmt.Sprintf("shop-r%d", r1.ReleaseID), metav1.GetOptions{})
		return err != nil
	})
	if got, want := backends(), fmt.Sprintf("shop-r%d=100", r2.ReleaseID); got != want {
		t.Errorf("production route after v2: %s, want %s", got, want)
	}

	_, _, p3 := deploy("v3", true)
	if p3.State != "failed" {
		t.Errorf("v3, never schedulable in production: %+v", p3)
	}
	// The cluster's own words, from the pod's PodScheduled condition, not only "did not become healthy".
	if !strings.Contains(p3.Reason, "0/1 nodes are available") || !strings.Contains(p3.Reason, "node affinity/selector") {
		t.Errorf("v3's reason does not carry the scheduler's: %q", p3.Reason)
	}
	if got, want := backends(), fmt.Sprintf("shop-r%d=100", r2.ReleaseID); got != want {
		t.Errorf("production route after v3 failed: %s, want %s", got, want)
	}
	t.Logf("v3's rollout: %s", p3.Reason)
}

// startKube starts a control plane with the namespaces, stopped with the test.
func startKube(t *testing.T, namespaces ...string) *k8stest.ControlPlane {
	t.Helper()
	ctx := context.Background()
	cp, err := k8stest.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cp.Stop(); os.RemoveAll(cp.Dir) })
	for _, ns := range namespaces {
		if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return cp
}

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// routeBackends reads the HTTPRoute shop of ns from the API server: "shop-r1=70,shop-r2=30".
func routeBackends(t *testing.T, cp *k8stest.ControlPlane, ns string) string {
	rules, err := routeRules(context.Background(), cp, ns)
	if err != nil {
		return err.Error()
	}
	var out []string
	for _, b := range rules[0].(map[string]any)["backendRefs"].([]any) {
		m := b.(map[string]any)
		out = append(out, fmt.Sprintf("%s=%v", m["name"], m["weight"]))
	}
	return strings.Join(out, ",")
}

// TestKubernetesKill9MidCanary: ferry serve killed with SIGKILL while a production canary holds 30% leaves
// the HTTPRoute at those weights while no server runs; the next server on the same data folder resumes the
// rollout from the store and the cluster (same step, same weights, nothing re-applied from scratch), and a
// promote takes it live.
func TestKubernetesKill9MidCanary(t *testing.T) {
	cp := startKube(t, "shop")
	backends := func() string { return routeBackends(t, cp, "shop") }
	repo := newRemote(t)
	f := startFerry(t, "--kubeconfig", cp.Kubeconfig)
	f.addProject("shop", repo.URL, "--poll", "0")
	canary := "    strategy: {canary: {steps: [{weight: 30, pause: 1h}, {weight: 60, pause: 1h}]}}\n"

	r1 := pushKube(t, f, repo, "v1", kubeProduction("v1", "", canary), kubeApp(false))
	if ro := f.waitRollout("shop", "production", r1); ro.State != "succeeded" {
		t.Fatalf("v1: %+v\n%s", ro, f.logs)
	}
	r2 := pushKube(t, f, repo, "v2", kubeProduction("v2", "", canary), kubeApp(false))
	held := fmt.Sprintf("shop-r%d=70,shop-r%d=30", r1, r2)
	waitFor(t, 60*time.Second, "the canary at 30% on the route", func() bool {
		ro := f.kubeEnv("production").Rollout
		return ro != nil && ro.ReleaseID == r2 && ro.Step == 1 && ro.Weight == 30 && backends() == held
	})
	before := f.kubeEnv("production").Rollout

	f.kill9()
	// No ferry runs: the cluster keeps serving at the weights it had, with both copies up.
	for i := 0; i < 5; i++ {
		if got := backends(); got != held {
			t.Fatalf("route with ferry dead: %s, want %s", got, held)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, id := range []int64{r1, r2} {
		if _, err := cp.Client.AppsV1().Deployments("shop").Get(context.Background(), fmt.Sprintf("shop-r%d", id), metav1.GetOptions{}); err != nil {
			t.Errorf("copy of release %d with ferry dead: %v", id, err)
		}
	}

	f.start()
	after := f.kubeEnv("production")
	if ro := after.Rollout; ro == nil || ro.ID != before.ID || ro.State != before.State || ro.Step != 1 || ro.Weight != 30 {
		t.Fatalf("rollout after the restart: %+v, before the kill: %+v", after.Rollout, before)
	}
	// The restarted server adopts what runs: Status reads the route and both releases from the cluster.
	waitFor(t, 30*time.Second, "the restarted server reporting the route", func() bool {
		return f.kubeEnv("production").Listen == "httproute/shop/shop"
	})
	if got := backends(); got != held {
		t.Errorf("route after the restart: %s, want %s", got, held)
	}
	f.mustCLI("promote", "shop", "production")
	if ro := f.waitRollout("shop", "production", r2); ro.State != "succeeded" {
		t.Fatalf("v2 after the restart and a promote: %+v\n%s", ro, f.logs)
	}
	if got, want := backends(), fmt.Sprintf("shop-r%d=100", r2); got != want {
		t.Errorf("route once v2 is live: %s, want %s", got, want)
	}
	if e := f.kubeEnv("production"); e.LiveReleaseID != r2 {
		t.Errorf("live release %d, want %d", e.LiveReleaseID, r2)
	}
}
