package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/demoapp"
)

// appPipeline is a pipeline that builds the sample service (internal/demoapp) into dist/ and deploys it to the environments given in YAML
// (a format string whose arguments follow).
func appPipeline(environments string, args ...any) string {
	return fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: |
          mkdir -p dist
          CGO_ENABLED=0 go build -o dist/app ./app
          cp mode.txt version.txt dist/
        artifacts: [dist]
environments:
`+environments, args...)
}

// appFiles are the files of a commit of the deploy tests' repository: the sample service answering "hello
// from VERSION" and behaving as mode says (ok, sick, fail, broken, slow), built and deployed by pipeline.
func appFiles(pipeline, version, mode string) map[string]string {
	files := demoapp.App(version, mode)
	files[".ferry.yaml"] = pipeline
	return files
}

func deployPipeline(staging, production string) string {
	return appPipeline(`  - name: staging
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 100ms}}
    strategy: blue_green
    analysis:
      interval: 300ms
      checks:
        - {http: {path: /healthz, expect_status: 200}}
  - name: production
    after: staging
    production: true
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 100ms}}
    strategy:
      canary:
        steps: [{weight: 50, pause: 1s}]
    analysis:
      interval: 500ms
      failure_limit: 0
      min_requests: 10
      checks:
        - {metric: error_rate, max: 5%%}
        - {metric: latency_p99, max: 150ms}
    bake: 1s
`, staging, production)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// loadGen sends requests to an address until stopped, remembering failures and the versions that answered.
type loadGen struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	lastErr    string
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
}

// startDirectShop starts ferry with the project shop, whose production runs two instances of the test app
// on a free address and deploys directly. deploy commits version and fails the test unless its run passes
// and its rollout succeeds.
func startDirectShop(t *testing.T) (f *ferry, production string, deploy func(version string)) {
	t.Helper()
	repo := newRemote(t)
	production = freeAddr(t)
	pl := appPipeline(`  - name: production
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 100ms}}
    strategy: direct
`, production)
	f = startFerry(t, buildsGo)
	f.addProject("shop", repo.URL, "--poll", "0")
	deploy = func(version string) {
		t.Helper()
		repo.commit("main", version, appFiles(pl, version, "ok"))
		r := f.waitRun(f.trigger("shop"))
		if r.State != "passed" {
			t.Fatalf("run %s: %s", r.State, r.Reason)
		}
		if ro := f.waitRollout("shop", "production", r.ReleaseID); ro.State != "succeeded" {
			t.Fatalf("%s: %+v", version, ro)
		}
	}
	return f, production, deploy
}

func startLoadGen(addr string, workers int) *loadGen {
	g := &loadGen{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(4 * time.Minute) // bounded whatever happens
	for range workers {
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for time.Now().Before(deadline) {
				select {
				case <-g.stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				resp, err := client.Get("http://" + addr + "/")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					g.failed.Add(1)
					g.mu.Lock()
					g.lastErr = err.Error()
					g.mu.Unlock()
				} else {
					g.ok.Add(1)
				}
			}
		}()
	}
	return g
}

// finish stops the load, once however often it is called, and returns what it counted.
func (g *loadGen) finish() (int64, int64, string) {
	g.stopOnce.Do(func() { close(g.stop) })
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ok.Load(), g.failed.Load(), g.lastErr
}

type rollout struct {
	ID        int64  `json:"id"`
	Env       string `json:"env"`
	ReleaseID int64  `json:"release_id"`
	State     string `json:"state"`
	Reason    string `json:"reason"`
	Step      int    `json:"step"`
	Weight    int    `json:"weight"`
	// The versions users see (v7) of ReleaseID and of the release it moved from.
	ReleaseVersion     int64 `json:"release_version"`
	FromReleaseVersion int64 `json:"from_release_version"`
}

type envStatus struct {
	Name          string   `json:"name"`
	LiveReleaseID int64    `json:"live_release_id"`
	Rollout       *rollout `json:"rollout"`
	// LiveReleaseVersion is the live release's version (v7).
	LiveReleaseVersion int64 `json:"live_release_version"`
}

func (f *ferry) envStatus(project, env string) envStatus {
	f.t.Helper()
	var st struct {
		Environments []envStatus `json:"environments"`
	}
	if code := f.api("GET", "/api/v1/projects/"+project+"/status", nil, &st); code != 200 {
		f.t.Fatalf("status: HTTP %d", code)
	}
	for _, e := range st.Environments {
		if e.Name == env {
			return e
		}
	}
	return envStatus{Name: env}
}

// waitRollout waits until the environment's rollout of release is final.
func (f *ferry) waitRollout(project, env string, release int64) rollout {
	f.t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		e := f.envStatus(project, env)
		if r := e.Rollout; r != nil && r.ReleaseID == release {
			switch r.State {
			case "succeeded", "rolled_back", "aborted", "failed", "superseded":
				return *r
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: no final rollout of release %d: %+v\n%s", env, release, e.Rollout, f.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// settled waits until addr answers want (the data plane applies a recorded rollback a moment after the store
// says so), then checks that 20 answers in a row are want: all traffic is back.
func settled(t *testing.T, addr, want, when string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for versionAt(addr) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s answers %q, want %q", when, addr, versionAt(addr), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 20; i++ {
		if got := versionAt(addr); got != want {
			t.Fatalf("%s: answer %d was %q, want %q", when, i, got, want)
		}
	}
}

// canaryAnswer asks the canary, as a tester would, with X-Ferry-Version.
func canaryAnswer(addr string) string {
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Header.Set("X-Ferry-Version", "canary")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func versionAt(addr string) string {
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

func TestDeliveryStagingToProductionWithAnalysis(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the deploy test builds its app with go")
	}
	repo := newRemote(t)
	staging, production := freeAddr(t), freeAddr(t)
	files := func(version, mode string) map[string]string {
		return appFiles(deployPipeline(staging, production), version, mode)
	}
	f := startFerry(t, buildsGo)
	f.addProject("shop", repo.URL, "--poll", "0")

	deploy := func(version, mode string) (run *run, stagingRollout, prodRollout rollout) {
		t.Helper()
		repo.commit("main", version, files(version, mode))
		r := f.waitRun(f.trigger("shop"))
		if r.State != "passed" {
			t.Fatalf("run of %s: %s %s\n%s", version, r.State, r.Reason, f.mustCLI("logs", fmt.Sprint(r.ID)))
		}
		s := f.waitRollout("shop", "staging", r.ReleaseID)
		if s.State != "succeeded" {
			return r, s, rollout{}
		}
		return r, s, f.waitRollout("shop", "production", r.ReleaseID)
	}

	// v1: the first deploy of both environments.
	r1, s1, p1 := deploy("v1", "ok")
	if s1.State != "succeeded" || p1.State != "succeeded" {
		t.Fatalf("v1: staging %+v, production %+v", s1, p1)
	}
	if got := versionAt(production); got != "hello from v1" {
		t.Fatalf("production answers %q", got)
	}
	_ = r1

	// v2 under load: blue-green in staging, canary in production, not one failed request.
	load := startLoadGen(production, 4)
	stagingLoad := startLoadGen(staging, 2)
	r2, s2, p2 := deploy("v2", "ok")
	if s2.State != "succeeded" || p2.State != "succeeded" {
		t.Fatalf("v2: staging %+v, production %+v", s2, p2)
	}
	if got := versionAt(production); got != "hello from v2" {
		t.Errorf("production answers %q after v2", got)
	}
	ok, failed, last := load.finish()
	sok, sfailed, slast := stagingLoad.finish()
	t.Logf("v2 deploy under load: production %d ok %d failed; staging %d ok %d failed", ok, failed, sok, sfailed)
	if failed != 0 || sfailed != 0 || ok < 100 {
		t.Errorf("failed requests during a good deploy: production %d (%s), staging %d (%s)", failed, last, sfailed, slast)
	}

	// v3 answers 500 to half its requests: the production canary is rolled back by the error-rate check.
	load = startLoadGen(production, 4)
	r3, _, p3 := deploy("v3", "fail")
	load.finish()
	if p3.State != "rolled_back" || !strings.Contains(p3.Reason, "error_rate") {
		t.Fatalf("v3 in production: %+v", p3)
	}
	if e := f.envStatus("shop", "production"); e.LiveReleaseID != r2.ReleaseID {
		t.Errorf("production live release %d after rollback, want %d", e.LiveReleaseID, r2.ReleaseID)
	}
	settled(t, production, "hello from v2", "after rollback")
	_ = r3

	// v4 adds 250 ms to every answer: the p99 check rolls it back.
	load = startLoadGen(production, 4)
	_, _, p4 := deploy("v4", "slow")
	load.finish()
	if p4.State != "rolled_back" || !strings.Contains(p4.Reason, "latency_p99") {
		t.Fatalf("v4 in production: %+v", p4)
	}

	// v5 never becomes healthy: its staging rollout fails and it never gets traffic.
	_, s5, _ := deploy("v5", "sick")
	if s5.State != "failed" || !strings.Contains(s5.Reason, "healthy") {
		t.Fatalf("v5 in staging: %+v", s5)
	}
	if got := versionAt(staging); got != "hello from v4" && got != "hello from v3" {
		// staging keeps what it had: v4 passed staging (no metric checks there)
		t.Logf("staging answers %q", got)
	}

	// Manual rollback of production goes back to the previous release at once.
	out := f.mustCLI("rollback", "shop", "production")
	if !strings.Contains(out, "rollout") {
		t.Errorf("rollback: %s", out)
	}
	deadline := time.Now().Add(time.Minute)
	for versionAt(production) != "hello from v1" {
		if time.Now().After(deadline) {
			t.Fatalf("rollback did not bring v1 back: %q", versionAt(production))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The rollback's success is recorded the tick after its switch was applied.
	waitFor(t, 10*time.Second, "the rollback to succeed", func() bool {
		r := f.envStatus("shop", "production").Rollout
		return r != nil && r.State == "succeeded"
	})
	if out := f.mustCLI("status", "shop"); !strings.Contains(out, "production") || !strings.Contains(out, "succeeded") {
		t.Errorf("status:\n%s", out)
	}

	// DORA from the exact records of production (production: true): v1 and v2 deployed; v3 and v4 rolled back
	// by analysis; v2 rolled back by hand while live; v5 never reached production.
	var d struct {
		Environments []struct {
			Env    string `json:"env"`
			Report struct {
				DeploymentFrequency struct{ Deployments int } `json:"deployment_frequency"`
				LeadTime            struct{ Count int }       `json:"lead_time"`
				ChangeFailureRate   struct {
					Deployments, Failures int
				} `json:"change_failure_rate"`
				RecoveryTime struct{ Count int } `json:"recovery_time"`
				ReworkRate   struct {
					Rollouts, Rework int
				} `json:"rework_rate"`
			} `json:"report"`
		} `json:"environments"`
	}
	if err := json.Unmarshal([]byte(f.mustCLI("dora", "shop", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	if len(d.Environments) != 1 || d.Environments[0].Env != "production" {
		t.Fatalf("dora environments: %+v", d.Environments)
	}
	rep := d.Environments[0].Report
	if rep.DeploymentFrequency.Deployments != 2 || rep.LeadTime.Count != 2 || rep.ChangeFailureRate.Deployments != 4 ||
		rep.ChangeFailureRate.Failures != 3 || rep.RecoveryTime.Count != 3 || rep.ReworkRate.Rollouts != 5 || rep.ReworkRate.Rework != 2 {
		t.Errorf("dora report %+v", rep)
	}
	if out := f.mustCLI("dora", "shop"); !strings.Contains(out, "change failure rate") || !strings.Contains(out, "75.0% (3 of 4)") {
		t.Errorf("ferry dora:\n%s", out)
	}
}

func TestKillNineMidCanaryKeepsServingAndResumes(t *testing.T) {
	repo := newRemote(t)
	production := freeAddr(t)
	pl := appPipeline(`  - name: production
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 100ms}}
    strategy:
      canary:
        steps: [{weight: 50, pause: 1h}]
    analysis:
      interval: 500ms
      min_requests: 10
      checks:
        - {metric: error_rate, max: 5%%}
`, production)
	files := func(version string) map[string]string { return appFiles(pl, version, "ok") }
	f := startFerry(t, buildsGo)
	f.addProject("shop", repo.URL, "--poll", "0")
	release := func(version string) int64 {
		repo.commit("main", version, files(version))
		r := f.waitRun(f.trigger("shop"))
		if r.State != "passed" {
			t.Fatalf("run %s: %s", r.State, r.Reason)
		}
		return r.ReleaseID
	}
	waitStep := func(rel int64) {
		deadline := time.Now().Add(time.Minute)
		for {
			if r := f.envStatus("shop", "production").Rollout; r != nil && r.ReleaseID == rel && r.Step == 1 && r.State == "progressing" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("release %d never reached step 1: %+v", rel, f.envStatus("shop", "production").Rollout)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	v1 := release("v1")
	if r := f.waitRollout("shop", "production", v1); r.State != "succeeded" {
		t.Fatalf("v1: %+v", r)
	}

	load := startLoadGen(production, 4)
	v2 := release("v2")
	waitStep(v2)
	// The step is recorded before the data plane routes it: wait until the canary takes requests.
	deadline := time.Now().Add(30 * time.Second)
	for canaryAnswer(production) != "hello from v2" {
		if time.Now().After(deadline) {
			t.Fatal("the canary never took requests")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A live display follows the rollout until it ends.
	watch := exec.Command(ferryBin, "rollout", "watch", "shop", "production")
	watch.Env = append(watch.Environ(), "FERRY_SERVER=http://"+f.addr, "FERRY_TOKEN="+f.token)
	var watchOut strings.Builder
	watch.Stdout = &watchOut
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}

	// The control plane dies mid-canary: the data plane keeps serving both versions.
	f.kill9()
	time.Sleep(time.Second)
	seen := map[string]bool{}
	for i := 0; i < 40; i++ {
		seen[versionAt(production)] = true
	}
	if !seen["hello from v1"] || !seen["hello from v2"] {
		t.Errorf("while the server is down, production answered %v", seen)
	}
	f.start()
	if r := f.envStatus("shop", "production").Rollout; r == nil || r.State != "progressing" || r.Step != 1 || r.Weight != 50 {
		t.Fatalf("after restart: %+v", r)
	}
	out := f.mustCLI("promote", "shop", "production")
	if !strings.Contains(out, "promoted") {
		t.Errorf("promote: %s", out)
	}
	if r := f.waitRollout("shop", "production", v2); r.State != "succeeded" {
		t.Fatalf("v2 after promote: %+v", r)
	}
	ok, failed, last := load.finish()
	t.Logf("canary, kill -9, restart, promote under load: %d ok, %d failed", ok, failed)
	if failed != 0 || ok < 100 {
		t.Errorf("%d failed requests (last: %s)", failed, last)
	}
	if err := watch.Wait(); err != nil {
		t.Errorf("rollout watch: %v\n%s", err, watchOut.String())
	}
	if !strings.Contains(watchOut.String(), "SUCCEEDED") {
		t.Errorf("rollout watch output:\n%s", watchOut.String())
	}

	// The proxy's figures reach Prometheus through the server's /metrics, behind the token.
	req, _ := http.NewRequest("GET", f.url("/metrics"), nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("/metrics without a token: %v %v", resp.StatusCode, err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf(`ferry_proxy_requests_total{env="shop/production",release="%d",role="stable"}`, v2); !strings.Contains(string(body), want) {
		t.Errorf("/metrics lacks %s:\n%.2000s", want, body)
	}

	// Abort puts the traffic back on the live release.
	v3 := release("v3")
	waitStep(v3)
	f.mustCLI("abort", "shop", "production")
	if r := f.waitRollout("shop", "production", v3); r.State != "aborted" {
		t.Fatalf("v3 after abort: %+v", r)
	}
	settled(t, production, "hello from v2", "after abort")
}

func TestDirectDeployUnderLoadFailsNoRequest(t *testing.T) {
	_, production, deploy := startDirectShop(t)
	deploy("v1")
	load := startLoadGen(production, 4)
	deploy("v2")
	deploy("v3")
	time.Sleep(500 * time.Millisecond) // the old releases drain and stop under load
	ok, failed, last := load.finish()
	t.Logf("two direct deploys under load: %d ok, %d failed", ok, failed)
	if failed != 0 || ok < 100 {
		t.Errorf("%d failed requests (last: %s)", failed, last)
	}
	if got := versionAt(production); got != "hello from v3" {
		t.Errorf("production answers %q", got)
	}
}
