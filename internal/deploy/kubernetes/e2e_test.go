package kubernetes_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
	"github.com/ferry-cd/ferry/internal/pipeline"
)

// waitFor polls tg's status of env until cond holds; the bound only turns a broken target into a failure.
func waitFor(t *testing.T, tg deploy.Target, env deploy.Environment, what string, cond func(*deploy.EnvStatus) bool) *deploy.EnvStatus {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := tg.Status(context.Background())
		if err != nil {
			t.Fatalf("status: %v", err)
		}
		es := st.Env(env.Key)
		if cond(es) {
			return es
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s; last status: %+v", what, es)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func isHealthy(id string) func(*deploy.EnvStatus) bool {
	return func(es *deploy.EnvStatus) bool { r := es.Release(id); return r != nil && r.Healthy }
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// weights reads the live HTTPRoute's backends of its first rule: name → weight.
func weights(t *testing.T, cp *k8stest.ControlPlane, ns string) map[string]int64 {
	t.Helper()
	route, err := cp.Dynamic.Resource(httpRoutes).Namespace(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	must(t, "get route", err)
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	out := map[string]int64{}
	for _, r := range rules[0].(map[string]any)["backendRefs"].([]any) {
		m := r.(map[string]any)
		out[m["name"].(string)], _ = m["weight"].(int64)
	}
	return out
}

// deploy prepares rel, waits for it healthy and routes split.
func prepared(t *testing.T, tg deploy.Target, env deploy.Environment, rel deploy.Release) {
	t.Helper()
	must(t, "prepare "+rel.ID, tg.Prepare(context.Background(), env, rel))
	waitFor(t, tg, env, "release "+rel.ID+" healthy", isHealthy(rel.ID))
}

func route(t *testing.T, tg deploy.Target, env deploy.Environment, split deploy.Split) {
	t.Helper()
	must(t, fmt.Sprintf("route %+v", split), tg.Route(context.Background(), env, split))
	waitFor(t, tg, env, "the split", func(es *deploy.EnvStatus) bool { return es != nil && es.Split == split })
}

func answersFrom(t *testing.T, h *harness, env deploy.Environment, n int) map[string]int {
	t.Helper()
	got := map[string]int{}
	for range n {
		body, err := h.get(t, env)
		must(t, "request", err)
		got[strings.Fields(strings.TrimPrefix(body, "hello from "))[0]]++
	}
	return got
}

// TestStagingThenProductionCanary walks a release through staging (direct: the Service's selector) and
// production (canary: the HTTPRoute's weights, step by step), then rolls a bad release back (weights back
// on stable first, then the canary stopped), and keeps a release that never becomes healthy from traffic.
// The target is driven as the rollout controller drives it.
func TestStagingThenProductionCanary(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubeconfig: cp.Kubeconfig, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	ctx := context.Background()

	staging := h.env(t, pipeline.Direct, false)
	production := h.env(t, pipeline.Canary, true)
	prodNS := production.Spec.Kubernetes.Namespace

	// Release one, then two, through staging.
	s1, s2 := release(staging, "one", true, false), release(staging, "two", true, false)
	prepared(t, tg, staging, s1)
	route(t, tg, staging, deploy.Split{Stable: s1.ID})
	prepared(t, tg, staging, s2)
	route(t, tg, staging, deploy.Split{Stable: s2.ID})
	must(t, "stop one in staging", tg.Stop(ctx, staging.Key, s1.ID))
	if got := answersFrom(t, h, staging, 10); got["two"] != 10 {
		t.Errorf("staging after the direct switch: %v", got)
	}
	svc, err := cp.Client.CoreV1().Services(staging.Spec.Kubernetes.Namespace).Get(ctx, "shop", metav1.GetOptions{})
	must(t, "get staging service", err)
	if svc.Spec.Selector[kubernetes.LabelRelease] != s2.ID {
		t.Errorf("staging Service selects %v, want release %s", svc.Spec.Selector, s2.ID)
	}

	// Production: one is live; two goes through the canary steps.
	p1, p2 := release(production, "one", true, false), release(production, "two", true, false)
	prepared(t, tg, production, p1)
	route(t, tg, production, deploy.Split{Stable: p1.ID})
	prepared(t, tg, production, p2)
	for _, w := range []int{10, 50} {
		route(t, tg, production, deploy.Split{Stable: p1.ID, Canary: p2.ID, CanaryWeight: w})
		want := map[string]int64{"shop-r" + p1.ID: int64(100 - w), "shop-r" + p2.ID: int64(w)}
		if got := weights(t, cp, prodNS); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("route weights at step %d%%: %v, want %v", w, got, want)
		}
	}
	route(t, tg, production, deploy.Split{Stable: p2.ID})
	must(t, "stop one", tg.Stop(ctx, production.Key, p1.ID))
	if got := weights(t, cp, prodNS); fmt.Sprint(got) != fmt.Sprint(map[string]int64{"shop-r" + p2.ID: 100}) {
		t.Errorf("weights after the promotion: %v", got)
	}

	// A bad release (its analysis fails): back on stable at once, then stopped.
	p3 := release(production, "three", true, false)
	prepared(t, tg, production, p3)
	route(t, tg, production, deploy.Split{Stable: p2.ID, Canary: p3.ID, CanaryWeight: 10})
	back := time.Now()
	must(t, "route back", tg.Route(ctx, production, deploy.Split{Stable: p2.ID}))
	onStable := time.Since(back)
	must(t, "stop three", tg.Stop(ctx, production.Key, p3.ID))
	t.Logf("figure: rollback: weights on stable after %s (one Route), canary copy deleted after %s", onStable, time.Since(back))
	if got := weights(t, cp, prodNS); fmt.Sprint(got) != fmt.Sprint(map[string]int64{"shop-r" + p2.ID: 100}) {
		t.Errorf("weights after the rollback: %v", got)
	}
	waitFor(t, tg, production, "three gone", func(es *deploy.EnvStatus) bool { return es.Release(p3.ID) == nil })
	if got := answersFrom(t, h, production, 20); got["two"] != 20 {
		t.Errorf("production after the rollback: %v", got)
	}

	// A release that never becomes healthy is reported with the cluster's reason and never routed.
	p4 := release(production, "four", false, false)
	must(t, "prepare four", tg.Prepare(ctx, production, p4))
	es := waitFor(t, tg, production, "four not healthy with a reason", func(es *deploy.EnvStatus) bool {
		r := es.Release(p4.ID)
		return r != nil && strings.Contains(r.Reason, "Unschedulable")
	})
	if r := es.Release(p4.ID); r.Healthy {
		t.Errorf("four: %+v", r)
	}
	must(t, "stop four", tg.Stop(ctx, production.Key, p4.ID))
}

// TestFailedWithTheClustersReason: a quota the release cannot fit and an image that cannot be pulled mark it
// Failed, with the cluster's words.
func TestFailedWithTheClustersReason(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubeconfig: cp.Kubeconfig, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	ctx := context.Background()

	t.Run("quota", func(t *testing.T) {
		env := h.env(t, pipeline.Canary, true)
		ns := env.Spec.Kubernetes.Namespace
		q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: "no-pods"},
			Spec: corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("0")}}}
		_, err := cp.Client.CoreV1().ResourceQuotas(ns).Create(ctx, q, metav1.CreateOptions{})
		must(t, "create quota", err)
		rel := release(env, "one", true, false)
		must(t, "prepare", tg.Prepare(ctx, env, rel))
		es := waitFor(t, tg, env, "the release failed", func(es *deploy.EnvStatus) bool { r := es.Release(rel.ID); return r != nil && r.Failed })
		if r := es.Release(rel.ID); !strings.Contains(r.Reason, "exceeded quota") || r.Healthy {
			t.Errorf("release in a namespace with no room: %+v", r)
		}
	})
	t.Run("image pull", func(t *testing.T) {
		env := h.env(t, pipeline.Canary, true)
		rel := release(env, "one", true, false)
		rel.Manifests = bytes.Replace(rel.Manifests, []byte(`{name: CRASH, value: "false"}`), []byte(`{name: PULL, value: "fail"}`), 1)
		must(t, "prepare", tg.Prepare(ctx, env, rel))
		es := waitFor(t, tg, env, "the release failed", func(es *deploy.EnvStatus) bool { r := es.Release(rel.ID); return r != nil && r.Failed })
		if r := es.Release(rel.ID); !strings.Contains(r.Reason, "ImagePullBackOff") || !strings.Contains(r.Reason, digest("one")) {
			t.Errorf("release whose image cannot be pulled: %+v", r)
		}
	})
}

// TestDriftHealed: an edited image and a deleted Service show as drift and are put back; with heal: false
// the drift is only reported.
func TestDriftHealed(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubeconfig: cp.Kubeconfig, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	ctx := context.Background()

	env := h.env(t, pipeline.Canary, true)
	ns := env.Spec.Kubernetes.Namespace
	rel := release(env, "one", true, false)
	prepared(t, tg, env, rel)
	route(t, tg, env, deploy.Split{Stable: rel.ID})

	d, err := cp.Client.AppsV1().Deployments(ns).Get(ctx, "shop-r"+rel.ID, metav1.GetOptions{})
	must(t, "get deployment", err)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != digest("one") {
		t.Fatalf("applied image %q, want the release's digest %q", img, digest("one"))
	}
	d.Spec.Template.Spec.Containers[0].Image = "registry.example.com/shop:latest"
	edited := time.Now()
	_, err = cp.Client.AppsV1().Deployments(ns).Update(ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
	must(t, "edit the image", err)
	es := waitFor(t, tg, env, "the edit reported", func(es *deploy.EnvStatus) bool { return es != nil && len(es.Drift) > 0 })
	reported := time.Since(edited)
	es = waitFor(t, tg, env, "the edit healed", func(es *deploy.EnvStatus) bool {
		return es != nil && len(es.Drift) > 0 && es.Drift[0].Healed
	})
	t.Logf("figure: an edited image reported in Status after %s, healed after %s", reported, time.Since(edited))
	if !strings.Contains(es.Drift[0].What, "kubectl-edit") {
		t.Errorf("drift: %+v", es.Drift[0])
	}
	d, err = cp.Client.AppsV1().Deployments(ns).Get(ctx, "shop-r"+rel.ID, metav1.GetOptions{})
	must(t, "get deployment", err)
	if img := d.Spec.Template.Spec.Containers[0].Image; img != digest("one") {
		t.Errorf("image after the heal %q, want %q", img, digest("one"))
	}

	must(t, "delete the service", cp.Client.CoreV1().Services(ns).Delete(ctx, "shop", metav1.DeleteOptions{}))
	waitFor(t, tg, env, "the deleted Service reported and healed", func(es *deploy.EnvStatus) bool {
		for _, d := range es.Drift {
			if strings.Contains(d.What, "service shop was deleted") && d.Healed {
				return true
			}
		}
		return false
	})
	_, err = cp.Client.CoreV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{})
	must(t, "the Service is back", err)

	t.Run("heal false", func(t *testing.T) {
		env := h.env(t, pipeline.Canary, true)
		env.Spec.Kubernetes.Heal = false
		ns := env.Spec.Kubernetes.Namespace
		rel := release(env, "one", true, false)
		prepared(t, tg, env, rel)
		route(t, tg, env, deploy.Split{Stable: rel.ID})
		must(t, "delete the service", cp.Client.CoreV1().Services(ns).Delete(ctx, "shop", metav1.DeleteOptions{}))
		es := waitFor(t, tg, env, "the drift reported", func(es *deploy.EnvStatus) bool { return es != nil && len(es.Drift) > 0 })
		if es.Drift[0].Healed {
			t.Errorf("healed with heal: false: %+v", es.Drift[0])
		}
		if _, err := cp.Client.CoreV1().Services(ns).Get(ctx, "shop", metav1.GetOptions{}); err == nil {
			t.Error("the Service was put back with heal: false")
		}
	})
}

// TestRBAC: ferry works with exactly the documented Role, and a Role without one permission is refused
// with a message naming it; an API server nobody answers on is an error, not a hang.
func TestRBAC(t *testing.T) {
	cp := k8stest.Shared(t)
	ctx := context.Background()
	roleRules := func(drop string) []rbacv1.PolicyRule {
		var out []rbacv1.PolicyRule
		for _, p := range kubernetes.Permissions {
			var verbs []string
			for _, v := range p.Verbs {
				if v+" "+p.Resource != drop {
					verbs = append(verbs, v)
				}
			}
			out = append(out, rbacv1.PolicyRule{APIGroups: []string{p.Group}, Resources: []string{p.Resource}, Verbs: verbs})
		}
		return out
	}
	user := func(t *testing.T, h *harness, ns, drop string) *k8stest.User {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "ferry"}, Rules: roleRules(drop)}
		_, err := cp.Client.RbacV1().Roles(ns).Create(ctx, role, metav1.CreateOptions{})
		must(t, "create role", err)
		u, err := cp.NewUser(ctx, ns, "ferry", rbacv1.RoleRef{Kind: "Role", Name: "ferry"})
		must(t, "new user", err)
		return u
	}

	t.Run("the documented role", func(t *testing.T) {
		h := &harness{cp: cp, kubelets: map[string]*kubelet{}}
		env := h.env(t, pipeline.Canary, true)
		u := user(t, h, env.Spec.Kubernetes.Namespace, "")
		tg := newTarget(t, u.Kubeconfig)
		r1, r2 := release(env, "one", true, false), release(env, "two", true, false)
		prepared(t, tg, env, r1)
		route(t, tg, env, deploy.Split{Stable: r1.ID})
		prepared(t, tg, env, r2)
		route(t, tg, env, deploy.Split{Stable: r1.ID, Canary: r2.ID, CanaryWeight: 50})
		route(t, tg, env, deploy.Split{Stable: r2.ID})
		must(t, "stop one", tg.Stop(ctx, env.Key, r1.ID))
		must(t, "stop two", deploy.Target(tg).Stop(ctx, env.Key, "none"))
		if got := answersFrom(t, h, env, 10); got["two"] != 10 {
			t.Errorf("answers: %v", got)
		}
	})
	t.Run("a permission missing", func(t *testing.T) {
		h := &harness{cp: cp, kubelets: map[string]*kubelet{}}
		env := h.env(t, pipeline.Canary, true)
		u := user(t, h, env.Spec.Kubernetes.Namespace, "patch httproutes")
		tg := newTarget(t, u.Kubeconfig)
		err := tg.Prepare(ctx, env, release(env, "one", true, false))
		r := deploy.AsRefused(err)
		if r == nil || !strings.Contains(r.Reason, "may not patch httproutes.gateway.networking.k8s.io") ||
			!strings.Contains(r.Reason, "RBAC") {
			t.Errorf("prepare without patch on httproutes = %v; want a refusal naming the permission", err)
		}
	})
	t.Run("an API server nobody answers on", func(t *testing.T) {
		env := deploy.Environment{Key: envKey("unreachable"), Spec: envSpec("shop", pipeline.Direct, false)}
		cfg := *cp.Config
		cfg.Host = "https://127.0.0.1:1"
		path := t.TempDir() + "/kubeconfig"
		must(t, "write kubeconfig", k8stest.WriteKubeconfig(path, "ferry-test", &cfg))
		tg := kubernetes.New(kubernetes.Config{Kubeconfig: path, Timeout: 2 * time.Second})
		defer tg.Close()
		err := tg.Prepare(ctx, env, release(env, "one", true, false))
		if err == nil || deploy.AsRefused(err) != nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("prepare against nothing = %v; want a transient error naming the address", err)
		}
		if errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("the error does not say where: %v", err)
		}
	})
}
