package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
)

// kubeBuild is the start of a pipeline whose build step makes the image of version (a digest of its own),
// up to its environments.
func kubeBuild(version string) string {
	sum := sha256.Sum256([]byte(version))
	return `version: 1
stages:
  - name: build
    steps:
      - name: image
        run: echo "registry.example.com/shop@sha256:` + hex.EncodeToString(sum[:]) + `" > "$FERRY_IMAGES"
        images: [registry.example.com/shop]
environments:
`
}

// kubeProduction is a pipeline whose one environment, production, runs in the namespace shop of the cluster;
// kube adds keys to its kubernetes map (", heal: false") and extra adds keys to the environment, indented
// by four spaces (strategy, analysis).
func kubeProduction(version, kube, extra string) string {
	return kubeBuild(version) + `  - name: production
    production: true
    target: kubernetes
    kubernetes: {namespace: shop, manifests: deploy/production, workload: deployment/shop, service: service/shop, route: httproute/shop` + kube + `}
` + extra
}

// kubeAppEnv is kubeApp(false) whose container has the environment variable name=value: what the test's
// stand-in for the application reads (see kubeTraffic).
func kubeAppEnv(name, value string) string {
	return strings.Replace(kubeApp(false), "image: registry.example.com/shop:dev}",
		fmt.Sprintf("image: registry.example.com/shop:dev, env: [{name: %s, value: %q}]}", name, value), 1)
}

// pushKube commits the pipeline and manifests, runs them and returns the release made.
func pushKube(t *testing.T, f *ferry, repo *remote, version, pipeline, app string) int64 {
	t.Helper()
	repo.commit("main", version, map[string]string{".ferry.yaml": pipeline, "deploy/production/app.yaml": app})
	r := f.waitRun(f.trigger("shop"))
	if r.State != "passed" || r.ReleaseID == 0 {
		t.Fatalf("run of %s: %s %s\n%s", version, r.State, r.Reason, f.mustCLI("logs", fmt.Sprint(r.ID)))
	}
	return r.ReleaseID
}

// kubeEnv is an environment of GET /api/v1/projects/{name}/status with what a Kubernetes one adds.
type kubeEnv struct {
	Name          string   `json:"name"`
	LiveReleaseID int64    `json:"live_release_id"`
	Rollout       *rollout `json:"rollout"`
	Listen        string   `json:"listen"`
	Drift         []struct {
		Release string    `json:"release"`
		What    string    `json:"what"`
		Since   time.Time `json:"since"`
		Healed  bool      `json:"healed"`
	} `json:"drift"`
}

func (f *ferry) kubeEnv(env string) kubeEnv {
	f.t.Helper()
	var st struct {
		Environments []kubeEnv `json:"environments"`
	}
	if code := f.api("GET", "/api/v1/projects/shop/status", nil, &st); code != 200 {
		f.t.Fatalf("status: HTTP %d", code)
	}
	for _, e := range st.Environments {
		if e.Name == env {
			return e
		}
	}
	return kubeEnv{Name: env}
}

// editImage changes the image of a release's Deployment copy as `kubectl edit` does (its own field manager).
func editImage(t *testing.T, cp *k8stest.ControlPlane, release int64, image string) {
	t.Helper()
	ctx := context.Background()
	name := fmt.Sprintf("shop-r%d", release)
	d, err := cp.Client.AppsV1().Deployments("shop").Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Spec.Template.Spec.Containers[0].Image = image
	if _, err := cp.Client.AppsV1().Deployments("shop").Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"}); err != nil {
		t.Fatalf("edit %s: %v", name, err)
	}
}

func liveImage(t *testing.T, cp *k8stest.ControlPlane, release int64) string {
	t.Helper()
	d, err := cp.Client.AppsV1().Deployments("shop").Get(context.Background(), fmt.Sprintf("shop-r%d", release), metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	return d.Spec.Template.Spec.Containers[0].Image
}

// routeRules reads the rules of the HTTPRoute shop of ns from the API server.
func routeRules(ctx context.Context, cp *k8stest.ControlPlane, ns string) ([]any, error) {
	r, err := cp.Dynamic.Resource(httpRoutes).Namespace(ns).Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
	return rules, nil
}

// releaseEnv reads the environment variable name of the container of release's Deployment copy (shop-rN) in
// the namespace shop: "" when the container has none.
func releaseEnv(ctx context.Context, cp *k8stest.ControlPlane, release, name string) (string, error) {
	d, err := cp.Client.AppsV1().Deployments("shop").Get(ctx, "shop-r"+release, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	v := ""
	for _, e := range d.Spec.Template.Spec.Containers[0].Env {
		if e.Name == name {
			v = e.Value
		}
	}
	return v, nil
}
