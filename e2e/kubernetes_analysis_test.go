package e2e

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ferry-cd/ferry/internal/analysis/promtest"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
)

// kubeTraffic stands in for the Gateway's and the application's metrics on a cluster whose pods run nothing
// (kwok marks them Ready and starts no container). Every 100 ms it reads the HTTPRoute's backend weights
// from the API server and counts that many requests to each routed release (shop-rN is version N), of which
// the share the release's container says in ERROR_RATE fail with 500; /metrics exposes the counters as
// http_requests_total{namespace, version, code}, the series a mesh or an instrumented app exports, and a
// real Prometheus scrapes them.
//
// Why this and not a test kubelet starting a process per pod: what the scenario proves is the analysis path,
// ferry → Prometheus → verdict → HTTPRoute weights; traffic that follows the route's weights and an error
// rate that belongs to a release give Prometheus the same series without root, a network namespace or a
// router following the route (the kubernetes package's own tests run that kubelet for real traffic).
type kubeTraffic struct {
	cp *k8stest.ControlPlane

	mu       sync.Mutex
	requests map[string]float64 // version → requests so far
	errors   map[string]float64
	rates    map[string]float64 // version → ERROR_RATE of its copy, read once
}

func startKubeTraffic(t *testing.T, cp *k8stest.ControlPlane) string {
	k := &kubeTraffic{cp: cp, requests: map[string]float64{}, errors: map[string]float64{}, rates: map[string]float64{}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(k.metrics)}
	go srv.Serve(l)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for tick := time.NewTicker(100 * time.Millisecond); ; {
			select {
			case <-ctx.Done():
				tick.Stop()
				return
			case <-tick.C:
				k.serve(ctx)
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done; srv.Close() })
	return l.Addr().String()
}

// serve counts one tick of traffic as the route splits it.
func (k *kubeTraffic) serve(ctx context.Context) {
	rules, err := routeRules(ctx, k.cp, "shop")
	if err != nil || len(rules) == 0 {
		return
	}
	refs, _ := rules[0].(map[string]any)["backendRefs"].([]any)
	for _, b := range refs {
		m, _ := b.(map[string]any)
		name, _ := m["name"].(string)
		w, _ := m["weight"].(int64)
		version, ok := strings.CutPrefix(name, "shop-r")
		if !ok || w <= 0 {
			continue
		}
		rate := k.rate(ctx, version)
		k.mu.Lock()
		k.requests[version] += float64(w)
		k.errors[version] += float64(w) * rate
		k.mu.Unlock()
	}
}

func (k *kubeTraffic) rate(ctx context.Context, version string) float64 {
	k.mu.Lock()
	r, ok := k.rates[version]
	k.mu.Unlock()
	if ok {
		return r
	}
	v, err := releaseEnv(ctx, k.cp, version, "ERROR_RATE")
	if err != nil {
		return 0
	}
	r, _ = strconv.ParseFloat(v, 64)
	k.mu.Lock()
	k.rates[version] = r
	k.mu.Unlock()
	return r
}

func (k *kubeTraffic) metrics(w http.ResponseWriter, _ *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	versions := make([]string, 0, len(k.requests))
	for v := range k.requests {
		versions = append(versions, v)
	}
	sort.Strings(versions)
	fmt.Fprintln(w, "# TYPE http_requests_total counter")
	for _, v := range versions {
		errs := float64(int64(k.errors[v]))
		fmt.Fprintf(w, "http_requests_total{namespace=\"shop\",version=%q,code=\"200\"} %d\n", v, int64(k.requests[v]-errs))
		fmt.Fprintf(w, "http_requests_total{namespace=\"shop\",version=%q,code=\"500\"} %d\n", v, int64(errs))
	}
}

// TestKubernetesAnalysisRollsBack: a production canary on the kubernetes target analysed by a Prometheus
// query over the release's own series: a good release goes live, a bad one (half its requests fail) is
// rolled back by the analysis and the HTTPRoute's weights go back to the stable release.
func TestKubernetesAnalysisRollsBack(t *testing.T) {
	cp := startKube(t, "shop")
	prom := promtest.Start(t, startKubeTraffic(t, cp))
	backends := func() string { return routeBackends(t, cp, "shop") }
	repo := newRemote(t)
	f := startFerry(t, "--kubeconfig", cp.Kubeconfig)
	f.addProject("shop", repo.URL, "--poll", "0")
	canary := `    strategy: {canary: {steps: [{weight: 20, pause: 3s}]}}
    analysis:
      interval: 2s
      failure_limit: 0
      min_requests: 0
      checks:
        - prometheus:
            url: ` + prom + `
            query: >-
              sum(rate(http_requests_total{namespace="{{ .Namespace }}", version="{{ .Version }}", code="500"}[{{ .Interval }}]))
              / sum(rate(http_requests_total{namespace="{{ .Namespace }}", version="{{ .Version }}"}[{{ .Interval }}]))
            max: 0.01
`
	deploy := func(version, errorRate string) (int64, rollout) {
		t.Helper()
		id := pushKube(t, f, repo, version, kubeProduction(version, "", canary), kubeAppEnv("ERROR_RATE", errorRate))
		return id, f.waitRollout("shop", "production", id)
	}

	_, ro := deploy("v1", "0")
	if ro.State != "succeeded" {
		t.Fatalf("v1: %+v\n%s", ro, f.logs)
	}
	r2, ro := deploy("v2", "0")
	if ro.State != "succeeded" {
		t.Fatalf("v2, a good release analysed: %+v\n%s", ro, f.logs)
	}
	if got, want := backends(), fmt.Sprintf("shop-r%d=100", r2); got != want {
		t.Errorf("route once v2 is live: %s, want %s", got, want)
	}

	r3, ro := deploy("v3", "0.5")
	if ro.State != "rolled_back" {
		t.Fatalf("v3, half its requests failing: %+v\n%s", ro, f.logs)
	}
	if !strings.Contains(ro.Reason, "prometheus") && !strings.Contains(ro.Reason, "analysis") {
		t.Errorf("v3's rollback reason does not name the analysis: %q", ro.Reason)
	}
	rolledBack := time.Now()
	waitFor(t, 30*time.Second, "the route back on v2", func() bool { return backends() == fmt.Sprintf("shop-r%d=100", r2) })
	t.Logf("figure: route back on stable %s after the API said rolled_back (%s)", time.Since(rolledBack), ro.Reason)
	waitFor(t, 30*time.Second, "v3's copy scaled down or gone", func() bool {
		d, err := cp.Client.AppsV1().Deployments("shop").Get(context.Background(), fmt.Sprintf("shop-r%d", r3), metav1.GetOptions{})
		return err != nil || d.Spec.Replicas != nil && *d.Spec.Replicas == 0
	})
	if e := f.kubeEnv("production"); e.LiveReleaseID != r2 {
		t.Errorf("live release %d after v3's rollback, want %d", e.LiveReleaseID, r2)
	}
}
