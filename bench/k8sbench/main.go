// Command k8sbench measures the Kubernetes target against a real control plane (internal/k8s/k8stest: etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler, kwok's fake node):
//
//   - idle: requests to the API server per minute while N environments sit idle, managed by nothing and then
//     under ferry's management (its informers: watches, not polling), from apiserver_request_total read on the
//     API server's /metrics before and after a fixed window; and the memory ferry's target holds for them;
//   - rollback: a canary at 10 % on the HTTPRoute taken back as the rollout controller does after a failed
//     analysis, timed to the weights on stable and to the canary's copy gone;
//   - drift: a kubectl-style image edit of the live copy, timed to its report in Status and to its heal.
//
// Run it from the repository root (it needs the binaries scripts/k8s-binaries.sh builds):
//
//	FERRY_K8S_BIN="$(scripts/k8s-binaries.sh)" go run ./bench/k8sbench -envs 100 -window 60s -runs 10
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/k8s/k8stest"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

const app = `apiVersion: apps/v1
kind: Deployment
metadata: {name: shop}
spec:
  replicas: 1
  selector: {matchLabels: {app: shop}}
  template:
    metadata: {labels: {app: shop}}
    spec:
      containers: [{name: shop, image: "registry.example.com/shop:dev", env: [{name: V, value: %q}]}]
---
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

var routes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

func main() {
	envs := flag.Int("envs", 100, "idle environments, one namespace each; 0 skips the idle figures")
	window := flag.Duration("window", 60*time.Second, "how long the API server's requests are counted in each phase")
	runs := flag.Int("runs", 10, "rollbacks and drift edits timed")
	flag.Parse()
	if err := run(*envs, *window, *runs); err != nil {
		fmt.Fprintln(os.Stderr, "k8sbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	ctx    context.Context
	cp     *k8stest.ControlPlane
	nextID int
}

func run(envs int, window time.Duration, runs int) error {
	ctx := context.Background()
	cp, err := k8stest.Start(ctx)
	if err != nil {
		return err
	}
	defer os.RemoveAll(cp.Dir)
	defer cp.Stop()
	host, _ := os.Hostname()
	fmt.Printf("# %s, %d cores, %s, control plane started in %s (%s)\n", time.Now().UTC().Format(time.DateOnly),
		runtime.NumCPU(), runtime.Version(), cp.StartedIn.Round(time.Millisecond), host)
	b := &bench{ctx: ctx, cp: cp}
	if envs > 0 {
		if err := b.idle(envs, window); err != nil {
			return err
		}
	}
	if err := b.rollback(runs); err != nil {
		return err
	}
	return b.drift(runs)
}

func (b *bench) target() *kubernetes.Target {
	return kubernetes.New(kubernetes.Config{Kubeconfig: b.cp.Kubeconfig, Timeout: 30 * time.Second})
}

func (b *bench) namespace(name string) (deploy.Environment, error) {
	_, err := b.cp.Client.CoreV1().Namespaces().Create(b.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		return deploy.Environment{}, err
	}
	return envIn(name), nil
}

// envIn is an environment in namespace ns: a canary through the HTTPRoute, drift healed.
func envIn(ns string) deploy.Environment {
	k := &pipeline.KubernetesTarget{Namespace: ns, Manifests: "deploy/k8s", Heal: true,
		Workload: pipeline.ObjectRef{Kind: pipeline.KindDeployment, Name: "shop"},
		Service:  pipeline.ObjectRef{Kind: pipeline.KindService, Name: "shop"},
		Route:    pipeline.ObjectRef{Kind: pipeline.KindHTTPRoute, Name: "shop"}}
	spec := &pipeline.Environment{Name: ns, Target: pipeline.TargetKubernetes, Kubernetes: k,
		Strategy: pipeline.Strategy{Kind: pipeline.Canary, Steps: []pipeline.CanaryStep{{Weight: 10}}}}
	return deploy.Environment{Key: store.EnvKey{Project: "bench", Env: ns}, Spec: spec}
}

func (b *bench) release(env deploy.Environment) deploy.Release {
	b.nextID++
	spec := *env.Spec
	return deploy.Release{ID: strconv.Itoa(b.nextID), Spec: &spec, Manifests: fmt.Appendf(nil, app, strconv.Itoa(b.nextID)),
		Images: []string{fmt.Sprintf("registry.example.com/shop@sha256:%064d", b.nextID)}}
}

// ready prepares rel in env and waits until it is healthy.
func (b *bench) ready(tg deploy.Target, env deploy.Environment, rel deploy.Release) error {
	if err := tg.Prepare(b.ctx, env, rel); err != nil {
		return err
	}
	return healthy(b.ctx, tg, map[store.EnvKey]string{env.Key: rel.ID}, time.Minute)
}

// live makes the namespace ns an environment whose one release is ready and takes all its traffic.
func (b *bench) live(tg deploy.Target, ns string) (deploy.Environment, deploy.Release, error) {
	env, err := b.namespace(ns)
	if err != nil {
		return env, deploy.Release{}, err
	}
	rel := b.release(env)
	if err := b.ready(tg, env, rel); err != nil {
		return env, rel, err
	}
	return env, rel, tg.Route(b.ctx, env, deploy.Split{Stable: rel.ID})
}

// healthy waits until every release named is healthy in its environment.
func healthy(ctx context.Context, tg deploy.Target, want map[store.EnvKey]string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		st, err := tg.Status(ctx)
		if err == nil {
			n := 0
			for k, id := range want {
				if r := st.Env(k).Release(id); r != nil && r.Healthy {
					n++
				}
			}
			if n == len(want) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%d of %d releases healthy after %s", n, len(want), within)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idle deploys envs environments, then counts the API server's requests over window with nothing managing
// them, and again with ferry's target watching all of them.
func (b *bench) idle(envs int, window time.Duration) error {
	tg := b.target()
	want := map[store.EnvKey]string{}
	var namespaces []string
	for i := range envs {
		env, err := b.namespace(fmt.Sprintf("idle-%03d", i))
		if err != nil {
			return err
		}
		rel := b.release(env)
		if err := tg.Prepare(b.ctx, env, rel); err != nil {
			return err
		}
		want[env.Key] = rel.ID
		namespaces = append(namespaces, env.Spec.Kubernetes.Namespace)
	}
	if err := healthy(b.ctx, tg, want, 5*time.Minute); err != nil {
		return err
	}
	for i, ns := range namespaces {
		env := envIn(ns)
		if err := tg.Route(b.ctx, env, deploy.Split{Stable: want[env.Key]}); err != nil {
			return fmt.Errorf("route %d: %w", i, err)
		}
	}
	tg.Close()
	fmt.Printf("\n## %d idle environments (Deployment 1 replica, Service, HTTPRoute, state ConfigMap each; one namespace each)\n\n", envs)

	settle := 15 * time.Second
	time.Sleep(settle)
	heapBefore, rssBefore := memory()
	nothing, err := b.count(window)
	if err != nil {
		return err
	}

	tg = b.target()
	defer tg.Close()
	start := time.Now()
	for _, ns := range namespaces {
		if err := tg.Watch(b.ctx, "", ns); err != nil {
			return err
		}
	}
	if err := healthy(b.ctx, tg, want, time.Minute); err != nil {
		return err
	}
	adopted := time.Since(start)
	time.Sleep(settle)
	managed, err := b.count(window)
	if err != nil {
		return err
	}
	heapAfter, rssAfter := memory()
	perMin := func(c counts) float64 { return float64(c.total) / window.Minutes() }
	fmt.Printf("| over %s | requests/min to the API server | of which WATCH, LIST, GET, other |\n|---|---|---|\n", window)
	fmt.Printf("| managed by nothing (controllers, scheduler, kwok) | %.0f | %s |\n", perMin(nothing), nothing.verbs(window))
	fmt.Printf("| managed by ferry's target | %.0f | %s |\n", perMin(managed), managed.verbs(window))
	fmt.Printf("| **ferry's share** | **%.0f** | |\n\n", perMin(managed)-perMin(nothing))
	fmt.Printf("Adopting the %d environments (informers started and synced, all reported healthy): %s\n\n", envs, adopted.Round(time.Millisecond))
	fmt.Printf("| memory of the process running the target | Go heap in use after GC | RSS |\n|---|---|---|\n")
	fmt.Printf("| no target | %.1f MiB | %.1f MiB |\n", mib(heapBefore), mib(rssBefore))
	fmt.Printf("| target watching %d environments | %.1f MiB | %.1f MiB |\n", envs, mib(heapAfter), mib(rssAfter))
	fmt.Printf("| **target's share** | **%.1f MiB** | %.1f MiB |\n", mib(heapAfter-heapBefore), mib(rssAfter-rssBefore))
	runtime.KeepAlive(tg)
	return nil
}

type counts struct {
	total  int64
	byVerb map[string]int64
}

func (c counts) verbs(window time.Duration) string {
	var out []string
	other := c.total
	for _, v := range []string{"WATCH", "LIST", "GET"} {
		out = append(out, fmt.Sprintf("%.0f", float64(c.byVerb[v])/window.Minutes()))
		other -= c.byVerb[v]
	}
	return strings.Join(append(out, fmt.Sprintf("%.0f", float64(other)/window.Minutes())), ", ")
}

// count reads apiserver_request_total before and after window; the two reads of /metrics are in both
// phases alike.
func (b *bench) count(window time.Duration) (counts, error) {
	before, err := b.requests()
	if err != nil {
		return counts{}, err
	}
	time.Sleep(window)
	after, err := b.requests()
	if err != nil {
		return counts{}, err
	}
	c := counts{byVerb: map[string]int64{}}
	for v, n := range after.byVerb {
		c.byVerb[v] = n - before.byVerb[v]
		c.total += n - before.byVerb[v]
	}
	return c, nil
}

func (b *bench) requests() (counts, error) {
	raw, err := b.cp.Client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(b.ctx)
	if err != nil {
		return counts{}, fmt.Errorf("read the API server's metrics: %w", err)
	}
	c := counts{byVerb: map[string]int64{}}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		verb := ""
		if _, rest, ok := strings.Cut(line, `verb="`); ok {
			verb, _, _ = strings.Cut(rest, `"`)
		}
		c.byVerb[verb] += int64(v)
		c.total += int64(v)
	}
	return c, sc.Err()
}

func memory() (heap, rss uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	data, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			rss = kb * 1024
		}
	}
	return m.HeapInuse, rss
}

func mib(n uint64) float64 { return float64(int64(n)) / (1 << 20) }

// weights reads the HTTPRoute's backend weights: "shop-r1=90,shop-r2=10".
func (b *bench) weights(ns string) string {
	r, err := b.cp.Dynamic.Resource(routes).Namespace(ns).Get(b.ctx, "shop", metav1.GetOptions{})
	if err != nil {
		return err.Error()
	}
	rules, _, _ := unstructured.NestedSlice(r.Object, "spec", "rules")
	var out []string
	for _, x := range rules[0].(map[string]any)["backendRefs"].([]any) {
		m := x.(map[string]any)
		out = append(out, fmt.Sprintf("%s=%v", m["name"], m["weight"]))
	}
	return strings.Join(out, ",")
}

// rollback times what the rollout controller asks of the target once an analysis fails: the split back on
// stable (one Route: the HTTPRoute's weights), then the canary stopped (its copy deleted, so scaled to zero).
func (b *bench) rollback(runs int) error {
	tg := b.target()
	defer tg.Close()
	env, stable, err := b.live(tg, "rollback")
	if err != nil {
		return err
	}
	var onStable, zero []time.Duration
	for range runs {
		canary := b.release(env)
		if err := b.ready(tg, env, canary); err != nil {
			return err
		}
		if err := tg.Route(b.ctx, env, deploy.Split{Stable: stable.ID, Canary: canary.ID, CanaryWeight: 10}); err != nil {
			return err
		}
		start := time.Now()
		if err := tg.Route(b.ctx, env, deploy.Split{Stable: stable.ID}); err != nil {
			return err
		}
		if got, want := b.weights("rollback"), "shop-r"+stable.ID+"=100"; got != want {
			return fmt.Errorf("weights after the rollback %s, want %s", got, want)
		}
		onStable = append(onStable, time.Since(start))
		if err := tg.Stop(b.ctx, env.Key, canary.ID); err != nil {
			return err
		}
		for {
			if _, err := b.cp.Client.AppsV1().Deployments("rollback").Get(b.ctx, "shop-r"+canary.ID, metav1.GetOptions{}); err != nil {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		zero = append(zero, time.Since(start))
	}
	fmt.Printf("\n## Rollback on the target, %d runs (canary at 10%% on the HTTPRoute)\n\n", runs)
	fmt.Printf("| from the rollback's first call to the target | min | median | max |\n|---|---|---|---|\n")
	fmt.Printf("| HTTPRoute weights back on stable (read from the API server) | %s |\n", spread(onStable))
	fmt.Printf("| canary's copy deleted (scaled to zero) | %s |\n", spread(zero))
	return nil
}

// drift times a kubectl-style edit of the live copy's image to its report in Status and to its heal.
func (b *bench) drift(runs int) error {
	tg := b.target()
	defer tg.Close()
	env, rel, err := b.live(tg, "drift")
	if err != nil {
		return err
	}
	prefix := "deployment shop-r" + rel.ID + " "
	seen := func() (reported, healed int) {
		st, err := tg.Status(b.ctx)
		if err != nil {
			return 0, 0
		}
		for _, d := range st.Env(env.Key).Drift {
			if strings.HasPrefix(d.What, prefix) {
				reported++
				if d.Healed {
					healed++
				}
			}
		}
		return reported, healed
	}
	var reports, heals []time.Duration
	for i := range runs {
		var start time.Time
		// As kubectl edit does: read, change, write; again when the object changed in between (its status).
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			d, err := b.cp.Client.AppsV1().Deployments("drift").Get(b.ctx, "shop-r"+rel.ID, metav1.GetOptions{})
			if err != nil {
				return err
			}
			d.Spec.Template.Spec.Containers[0].Image = fmt.Sprintf("registry.example.com/shop:edit-%d", i)
			start = time.Now()
			_, err = b.cp.Client.AppsV1().Deployments("drift").Update(b.ctx, d, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
			return err
		})
		if err != nil {
			return err
		}
		var reported time.Duration
		for deadline := start.Add(time.Minute); ; time.Sleep(time.Millisecond) {
			r, h := seen()
			if reported == 0 && r > i {
				reported = time.Since(start)
			}
			if h > i {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("edit %d not healed within a minute", i)
			}
		}
		reports, heals = append(reports, reported), append(heals, time.Since(start))
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("\n## Drift, %d kubectl-style image edits of the live copy\n\n", runs)
	fmt.Printf("| from the edit's answer | min | median | max |\n|---|---|---|---|\n")
	fmt.Printf("| reported in Status (what `ferry status` and the API show) | %s |\n", spread(reports))
	fmt.Printf("| healed (re-applied, seen back as ferry applied it) | %s |\n", spread(heals))
	return nil
}

func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) string { return d.Round(100 * time.Microsecond).String() }
	return r(s[0]) + " | " + r(s[len(s)/2]) + " | " + r(s[len(s)-1])
}
