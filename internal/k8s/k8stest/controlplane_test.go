package k8stest_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
)

func TestMain(m *testing.M) { k8stest.Main(m) }

// waitFor polls cond until it returns nil; the deadline only stops a hung test, it measures nothing.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for {
		err := cond(ctx)
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: %v", what, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func TestStartsWithReadyNode(t *testing.T) {
	cp := k8stest.Shared(t)
	node, err := cp.Client.CoreV1().Nodes().Get(t.Context(), k8stest.NodeName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ready := slices.IndexFunc(node.Status.Conditions, func(c corev1.NodeCondition) bool {
		return c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue
	})
	if ready < 0 {
		t.Fatalf("node %s is not Ready: %+v", node.Name, node.Status.Conditions)
	}

	// The kubeconfig is usable on its own, by its context name.
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: cp.Kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: cp.Context}).ClientConfig()
	if err != nil {
		t.Fatalf("load %s: %v", cp.Kubeconfig, err)
	}
	if cfg.Host != cp.Config.Host {
		t.Errorf("kubeconfig server = %s, want %s", cfg.Host, cp.Config.Host)
	}

	// Figures for the docs, not assertions: start-up time and the resident memory of each component.
	var total int64
	var parts []string
	for _, c := range cp.Components() {
		kb := rssKB(t, c.PID)
		total += kb
		parts = append(parts, fmt.Sprintf("%s %d MB", c.Name, kb/1024))
	}
	t.Logf("control plane started in %s; resident memory %d MB (%s)", cp.StartedIn.Round(time.Millisecond),
		total/1024, strings.Join(parts, ", "))
}

func rssKB(t *testing.T, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("no VmRSS for pid %d", pid)
	return 0
}

func TestDeploymentRollsOnFakeNode(t *testing.T) {
	cp := k8stest.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	deployments := cp.Client.AppsV1().Deployments(ns)

	labels := map[string]string{"app": "shop"}
	replicas := int32(2)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/shop:v1"}}},
			},
		},
	}
	start := time.Now()
	if _, err := deployments.Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deployment shop v1 available", func(ctx context.Context) error {
		return rolledOut(ctx, cp.Client.AppsV1().Deployments(ns), "shop", 2)
	})
	t.Logf("2 replicas available in %s", time.Since(start).Round(time.Millisecond))

	pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Spec.NodeName != k8stest.NodeName || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			t.Errorf("pod %s: node %q, phase %s, IP %q; want Running with an IP on %s",
				p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.PodIP, k8stest.NodeName)
		}
	}

	start = time.Now()
	patch := `{"spec":{"template":{"spec":{"containers":[{"name":"app","image":"example.invalid/shop:v2"}]}}}}`
	if _, err := deployments.Patch(ctx, "shop", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deployment shop v2 rolled out", func(ctx context.Context) error {
		if err := rolledOut(ctx, deployments, "shop", 2); err != nil {
			return err
		}
		rsets, err := cp.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{LabelSelector: "app=shop"})
		if err != nil {
			return err
		}
		var got []string
		for _, rs := range rsets.Items {
			got = append(got, fmt.Sprintf("%s=%d/%d", rs.Spec.Template.Spec.Containers[0].Image, rs.Status.ReadyReplicas, *rs.Spec.Replicas))
		}
		slices.Sort(got)
		if want := []string{"example.invalid/shop:v1=0/0", "example.invalid/shop:v2=2/2"}; !slices.Equal(got, want) {
			return fmt.Errorf("replica sets (image=ready/wanted) %v, want %v", got, want)
		}
		return nil
	})
	t.Logf("image change rolled out in %s", time.Since(start).Round(time.Millisecond))
}

type deploymentGetter interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (*appsv1.Deployment, error)
}

// rolledOut is the Deployment's own account of a finished rollout, as kubectl rollout status reads it.
func rolledOut(ctx context.Context, deployments deploymentGetter, name string, replicas int32) error {
	d, err := deployments.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return err
	}
	s := d.Status
	if s.ObservedGeneration < d.Generation || s.UpdatedReplicas != replicas || s.AvailableReplicas != replicas || s.Replicas != replicas {
		return fmt.Errorf("generation %d observed %d, replicas %d updated %d available %d",
			d.Generation, s.ObservedGeneration, s.Replicas, s.UpdatedReplicas, s.AvailableReplicas)
	}
	for _, c := range s.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status != corev1.ConditionTrue {
			return fmt.Errorf("Available=%s: %s", c.Status, c.Message)
		}
	}
	return nil
}

var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

func TestHTTPRouteWeightsPatch(t *testing.T) {
	cp := k8stest.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()

	route := `
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: shop
spec:
  parentRefs: [{name: gateway}]
  rules:
    - backendRefs:
        - {name: shop-stable, port: 80, weight: 90}
        - {name: shop-canary, port: 80, weight: 10}
`
	if _, err := cp.Apply(ctx, ns, []byte(route)); err != nil {
		t.Fatal(err)
	}
	routes := cp.Dynamic.Resource(httpRoutes).Namespace(ns)
	patch := `[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":50},
	           {"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":50}]`
	if _, err := routes.Patch(ctx, "shop", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	got, err := routes.Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := weights(t, got); !slices.Equal(w, []int64{50, 50}) {
		t.Errorf("weights after patch = %v, want [50 50]", w)
	}

	// The CRD's schema is enforced: a negative weight is refused and changes nothing.
	bad := `[{"op":"replace","path":"/spec/rules/0/backendRefs/1/weight","value":-1}]`
	_, err = routes.Patch(ctx, "shop", types.JSONPatchType, []byte(bad), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) {
		t.Fatalf("negative weight: err = %v, want Invalid", err)
	}
	got, err = routes.Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if w := weights(t, got); !slices.Equal(w, []int64{50, 50}) {
		t.Errorf("weights after a refused patch = %v, want [50 50]", w)
	}
}

func weights(t *testing.T, route *unstructured.Unstructured) []int64 {
	t.Helper()
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	if len(rules) != 1 {
		t.Fatalf("route has %d rules, want 1", len(rules))
	}
	refs, _, _ := unstructured.NestedSlice(rules[0].(map[string]any), "backendRefs")
	var out []int64
	for _, r := range refs {
		w, _, _ := unstructured.NestedInt64(r.(map[string]any), "weight")
		out = append(out, w)
	}
	return out
}

func TestUserHasOnlyItsRole(t *testing.T) {
	cp := k8stest.Shared(t)
	ns := cp.Namespace(t)
	ctx := t.Context()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "deployment-reader", Namespace: ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list", "watch"}}},
	}
	if _, err := cp.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	user, err := cp.NewUser(ctx, ns, "ferry", rbacv1.RoleRef{Kind: "Role", Name: role.Name})
	if err != nil {
		t.Fatal(err)
	}
	if want := "system:serviceaccount:" + ns + ":ferry"; user.Name != want {
		t.Errorf("user name = %q, want %q", user.Name, want)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", user.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BearerToken != user.Config.BearerToken {
		t.Error("the user's kubeconfig does not hold its token")
	}

	if _, err := user.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list deployments with the role: %v", err)
	}
	denied := []struct {
		what string
		call func() error
	}{
		{"create deployment", func() error {
			_, err := user.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
			return err
		}},
		{"list secrets", func() error {
			_, err := user.Client.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
			return err
		}},
		{"list deployments in another namespace", func() error {
			_, err := user.Client.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{})
			return err
		}},
	}
	for _, d := range denied {
		if err := d.call(); !apierrors.IsForbidden(err) {
			t.Errorf("%s: err = %v, want Forbidden", d.what, err)
		}
	}
}

func TestMissingBinariesNameTheScript(t *testing.T) {
	for _, dir := range []string{"", t.TempDir()} {
		t.Setenv(k8stest.EnvBin, dir)
		_, err := k8stest.FindBinaries()
		if err == nil || !strings.Contains(err.Error(), "scripts/k8s-binaries.sh") || !strings.Contains(err.Error(), k8stest.EnvBin) {
			t.Errorf("%s=%q: err = %v, want one naming %s and scripts/k8s-binaries.sh", k8stest.EnvBin, dir, err, k8stest.EnvBin)
		}
	}
}
