package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
)

// kubeGateway stands in for a Gateway API implementation in front of the namespace shop, which does not run
// here, and for the application behind it (kwok's pods run nothing): for every request it reads the
// HTTPRoute from the API server and takes the rule a Gateway would (one whose header matches the request
// beats one without; else the first rule, by weight), and answers as the release of the Service copy it
// lands on (shop-rN is release N): a 500 on the path its container's FAIL_PATH names, else 200. It
// remembers which release answered each request that carried x-ferry-canary.
type kubeGateway struct {
	cp *k8stest.ControlPlane

	mu       sync.Mutex
	probes   []string // "header value→release that answered"
	failPath map[string]string
	n        int
}

func startKubeGateway(t *testing.T, cp *k8stest.ControlPlane) (*kubeGateway, string) {
	g := &kubeGateway{cp: cp, failPath: map[string]string{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: g}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return g, "http://" + l.Addr().String()
}

func (g *kubeGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rules, err := routeRules(ctx, g.cp, "shop")
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	var chosen map[string]any
	for _, rule := range rules {
		rm := rule.(map[string]any)
		matches, _ := rm["matches"].([]any)
		for _, m := range matches {
			headers, _ := m.(map[string]any)["headers"].([]any)
			for _, h := range headers {
				hm := h.(map[string]any)
				if v := r.Header.Get(hm["name"].(string)); v != "" && v == hm["value"] {
					chosen = rm
				}
			}
		}
	}
	if chosen == nil && len(rules) > 0 {
		chosen = rules[0].(map[string]any)
	}
	if chosen == nil {
		http.Error(w, "no rule", http.StatusNotFound)
		return
	}
	backend := g.pick(chosen["backendRefs"].([]any))
	release, _ := strings.CutPrefix(backend, "shop-r")
	if v := r.Header.Get("x-ferry-canary"); v != "" {
		g.mu.Lock()
		g.probes = append(g.probes, v+"→"+release)
		g.mu.Unlock()
	}
	if p := g.failPathOf(ctx, release); p != "" && r.URL.Path == p {
		http.Error(w, "broken", http.StatusInternalServerError)
		return
	}
	fmt.Fprintf(w, "hello from release %s\n", release)
}

// pick takes a backend by weight, in turn: of every 100 requests, each backend gets its share.
func (g *kubeGateway) pick(refs []any) string {
	g.mu.Lock()
	n := int64(g.n % 100)
	g.n++
	g.mu.Unlock()
	total := int64(0)
	for _, b := range refs {
		w, _ := b.(map[string]any)["weight"].(int64)
		total += w
	}
	cum := int64(0)
	for _, b := range refs {
		m := b.(map[string]any)
		w, _ := m["weight"].(int64)
		if cum += w; total > 0 && n*total < cum*100 {
			return m["name"].(string)
		}
	}
	return refs[0].(map[string]any)["name"].(string)
}

func (g *kubeGateway) failPathOf(ctx context.Context, release string) string {
	g.mu.Lock()
	p, ok := g.failPath[release]
	g.mu.Unlock()
	if ok {
		return p
	}
	p, err := releaseEnv(ctx, g.cp, release, "FAIL_PATH")
	if err != nil {
		return ""
	}
	g.mu.Lock()
	g.failPath[release] = p
	g.mu.Unlock()
	return p
}

// headerRuleCount counts the rules of the HTTPRoute shop that match a header.
func headerRuleCount(t *testing.T, cp *k8stest.ControlPlane) int {
	rules, err := routeRules(context.Background(), cp, "shop")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rule := range rules {
		// Not any match: the API server gives a rule without matches the default one (path prefix /).
		matches, _ := rule.(map[string]any)["matches"].([]any)
		for _, m := range matches {
			if h, _ := m.(map[string]any)["headers"].([]any); len(h) > 0 {
				n++
				break
			}
		}
	}
	return n
}

// TestKubernetesHTTPCheckRollsBack: a production canary on the kubernetes target judged by an http check
// through the Gateway (url). The check's requests carry x-ferry-canary and the route's header rule sends
// them to the canary alone: a good release goes live; one whose /checkout answers 500 is rolled back by the
// check, the weights go back to the stable release, and the header rule leaves the route.
func TestKubernetesHTTPCheckRollsBack(t *testing.T) {
	cp := startKube(t, "shop")
	gw, gwURL := startKubeGateway(t, cp)
	repo := newRemote(t)
	f := startFerry(t, "--kubeconfig", cp.Kubeconfig)
	f.addProject("shop", repo.URL, "--poll", "0")
	canary := `    strategy: {canary: {steps: [{weight: 10, pause: 3s}]}}
    analysis:
      interval: 1s
      failure_limit: 0
      checks:
        - http: {url: '` + gwURL + `', path: /checkout, expect_status: 200}
`
	deploy := func(version, failPath string) (int64, rollout) {
		t.Helper()
		id := pushKube(t, f, repo, version, kubeProduction(version, "", canary), kubeAppEnv("FAIL_PATH", failPath))
		return id, f.waitRollout("shop", "production", id)
	}

	r1, ro := deploy("v1", "")
	if ro.State != "succeeded" {
		t.Fatalf("v1: %+v\n%s", ro, f.logs)
	}
	r2, ro := deploy("v2", "")
	if ro.State != "succeeded" {
		t.Fatalf("v2, a good release checked through the gateway: %+v\n%s", ro, f.logs)
	}
	if got, want := routeBackends(t, cp, "shop"), fmt.Sprintf("shop-r%d=100", r2); got != want {
		t.Errorf("route once v2 is live: %s, want %s", got, want)
	}
	r3, ro := deploy("v3", "/checkout")
	if ro.State != "rolled_back" || !strings.Contains(ro.Reason, "status 500, want 200") {
		t.Fatalf("v3, its /checkout answering 500: %+v, want rolled_back by the http check\n%s", ro, f.logs)
	}
	waitFor(t, 30*time.Second, "the route back on v2 without header rules", func() bool {
		return routeBackends(t, cp, "shop") == fmt.Sprintf("shop-r%d=100", r2) && headerRuleCount(t, cp) == 0
	})
	gw.mu.Lock()
	defer gw.mu.Unlock()
	var v2Probes, v3Probes int
	for _, p := range gw.probes {
		value, answered, _ := strings.Cut(p, "→")
		if value != answered {
			t.Errorf("a probe with x-ferry-canary: %s was answered by release %s", value, answered)
		}
		switch value {
		case fmt.Sprint(r2):
			v2Probes++
		case fmt.Sprint(r3):
			v3Probes++
		case fmt.Sprint(r1):
			t.Errorf("the first release, which had no canary step, was probed with the canary header")
		}
	}
	if v2Probes == 0 || v3Probes == 0 {
		t.Errorf("probes with the canary header: v2 %d, v3 %d; want both", v2Probes, v3Probes)
	}
}
