package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
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
	sum := sha256.Sum256([]byte(version))
	return `version: 1
stages:
  - name: build
    steps:
      - name: image
        run: echo "registry.example.com/shop@sha256:` + hex.EncodeToString(sum[:]) + `" > "$FERRY_IMAGES"
        images: [registry.example.com/shop]
environments:
  - name: staging
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
	cp, err := k8stest.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cp.Stop(); os.RemoveAll(cp.Dir) })
	for _, ns := range []string{"shop-staging", "shop"} {
		if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	routes := schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}
	backends := func() string {
		r, err := cp.Dynamic.Resource(routes).Namespace("shop").Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
		var out []string
		for _, b := range rules[0].(map[string]any)["backendRefs"].([]any) {
			m := b.(map[string]any)
			out = append(out, fmt.Sprintf("%s=%v", m["name"], m["weight"]))
		}
		return strings.Join(out, ",")
	}

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
	if got, want := backends(), fmt.Sprintf("shop-r%d=100", r2.ReleaseID); got != want {
		t.Errorf("production route after v3 failed: %s, want %s", got, want)
	}
	t.Logf("v3's rollout: %s", p3.Reason)
}
