package kubernetes_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/ferry-cd/ferry/internal/analysis"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// headerRules are the route's rules that match the canary header: release id → the backends they send to.
func headerRules(t *testing.T, cp *k8stest.ControlPlane, ns string) map[string]string {
	t.Helper()
	route, err := cp.Dynamic.Resource(httpRoutes).Namespace(ns).Get(context.Background(), "shop", metav1.GetOptions{})
	must(t, "get route", err)
	rules, _, _ := unstructured.NestedSlice(route.Object, "spec", "rules")
	out := map[string]string{}
	for _, r := range rules {
		rm := r.(map[string]any)
		matches, _ := rm["matches"].([]any)
		for _, m := range matches {
			headers, _ := m.(map[string]any)["headers"].([]any)
			for _, h := range headers {
				hm := h.(map[string]any)
				if hm["name"] == kubernetes.CanaryHeader {
					var to []string
					for _, b := range rm["backendRefs"].([]any) {
						bm := b.(map[string]any)
						to = append(to, fmt.Sprintf("%s=%d", bm["name"], bm["weight"]))
					}
					out[hm["value"].(string)] = strings.Join(to, ",")
				}
			}
		}
	}
	return out
}

// checkAnalyzer is the analysis ferry runs for an http check of a kubernetes environment: the check names
// the Gateway's address, and probing the canary sends the header of the route's rule for release.
func checkAnalyzer(gateway, release string) *analysis.Analyzer {
	return &analysis.Analyzer{
		Checks: []pipeline.Check{{HTTP: &pipeline.HTTPCheck{URL: gateway, Path: "/checkout", Method: "GET",
			ExpectStatus: 200, Every: time.Second, Timeout: 10 * time.Second}}},
		Prober: &analysis.Prober{CanaryHeader: kubernetes.CanaryHeader, CanaryValue: release},
	}
}

// TestHTTPCheckThroughTheGateway: while a canary is analysed, the route has a rule that sends requests
// with x-ferry-canary: <release> to the canary's Service alone, so an http check through the Gateway
// measures the canary whatever the weights. A good canary at 10 % passes (every probe answered by the
// canary); a canary whose pods answer 500 on the checked path, at weight 0 so that the stable release keeps
// all users' traffic, fails the check, and its rollback (driven as the rollout controller drives it) takes
// the rule away with the weights. ferry's own rule is never drift. No Gateway implementation runs here:
// the test's gateway (gateway_test.go) follows the route as one would.
func TestHTTPCheckThroughTheGateway(t *testing.T) {
	cp := k8stest.Shared(t)
	h := &harness{cp: cp, kubeconfig: cp.Kubeconfig, kubelets: map[string]*kubelet{}}
	tg := newTarget(t, cp.Kubeconfig)
	env := h.env(t, pipeline.Canary, true)
	ns := env.Spec.Kubernetes.Namespace
	gw := h.gateway(t, env)
	ctx := context.Background()

	v1 := release(env, "v1", true, false)
	prepared(t, tg, env, v1)
	route(t, tg, env, deploy.Split{Stable: v1.ID})
	if got := headerRules(t, cp, ns); len(got) != 0 {
		t.Errorf("header rules without a canary: %v", got)
	}

	// A good canary at 10 %: its check passes, and every request with the header reaches it alone.
	v2 := release(env, "v2", true, false)
	prepared(t, tg, env, v2)
	route(t, tg, env, deploy.Split{Stable: v1.ID, Canary: v2.ID, CanaryWeight: 10})
	if got, want := headerRules(t, cp, ns)[v2.ID], "shop-r"+v2.ID+"=1"; got != want {
		t.Fatalf("header rule of the canary: %q, want %q (all: %v)", got, want, headerRules(t, cp, ns))
	}
	an := checkAnalyzer(gw, v2.ID)
	an.Checks[0].HTTP.ExpectBody = "hello from v2"
	for i := range 10 {
		an.Now = func() time.Time { return time.Now().Add(time.Duration(i) * time.Hour) } // a fresh probe each time
		if ev := an.Evaluate(ctx, time.Second, proxy.Canary, proxy.Stable); ev.Verdict != analysis.Pass {
			t.Fatalf("good canary, probe %d: %s", i, ev.Summary())
		}
	}
	if got := answersFrom(t, h, env, 200); got["v1"] == 0 || got["v2"] == 0 {
		t.Errorf("users' traffic at 10 %%: %v, want both releases", got)
	}
	if es := waitFor(t, tg, env, "status", func(es *deploy.EnvStatus) bool { return es != nil }); len(es.Drift) != 0 {
		t.Errorf("ferry's header rule reported as drift: %+v", es.Drift)
	}
	// onStable routes every request to v2 and checks that the route sends them there and has no header rule.
	onStable := func(when string) {
		t.Helper()
		route(t, tg, env, deploy.Split{Stable: v2.ID})
		if got := headerRules(t, cp, ns); len(got) != 0 {
			t.Errorf("header rules %s: %v", when, got)
		}
		if got, want := weights(t, cp, ns), map[string]int64{"shop-r" + v2.ID: 100}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("weights %s: %v, want %v", when, got, want)
		}
	}
	onStable("once v2 is live")
	must(t, "stop v1", tg.Stop(ctx, env.Key, v1.ID))

	// A bad canary at weight 0: users see none of it, the check through its header rule fails.
	v3 := release(env, "v3", true, false)
	v3.Manifests = []byte(strings.Replace(string(v3.Manifests), "{name: CRASH", "{name: FAIL_PATH, value: /checkout}, {name: CRASH", 1))
	prepared(t, tg, env, v3)
	route(t, tg, env, deploy.Split{Stable: v2.ID, Canary: v3.ID, CanaryWeight: 0})
	ev := checkAnalyzer(gw, v3.ID).Evaluate(ctx, time.Second, proxy.Canary, proxy.Stable)
	if ev.Verdict != analysis.Fail || !strings.Contains(ev.Summary(), "status 500, want 200") {
		t.Fatalf("bad canary: %s, want fail: status 500", ev.Summary())
	}
	if got := answersFrom(t, h, env, 50); got["v2"] != 50 {
		t.Errorf("users' traffic while the bad canary is analysed: %v, want all 50 on v2", got)
	}
	// The rollback, as the controller does it on a failed analysis: the weights (and the rule) back on the
	// stable release first, then the canary stopped.
	onStable("after the rollback")
	must(t, "stop v3", tg.Stop(ctx, env.Key, v3.ID))
	// A probe of v3 now finds no rule of its own: the Gateway sends it to the stable release.
	an = checkAnalyzer(gw, v3.ID)
	an.Checks[0].HTTP.ExpectBody = "hello from v2"
	if ev := an.Evaluate(ctx, time.Second, proxy.Canary, proxy.Stable); ev.Verdict != analysis.Pass {
		t.Errorf("a probe with the header of a rolled back canary: %s, want the stable release's answer", ev.Summary())
	}
}
