package dataplane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/testapp"
)

var appBinary string

func TestMain(m *testing.M) { testapp.Main(m, &appBinary) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// reserveAddr binds a free address on 127.0.0.1 and keeps it bound until free is called, so that nothing
// started in between (a server picking its own free ports) can take it.
func reserveAddr(t *testing.T) (addr string, free func()) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().String(), func() { l.Close() }
}

func release(id string, instances int) Release {
	return Release{ID: id, Dir: filepath.Dir(appBinary), Run: "./app", Env: map[string]string{"RELEASE": id}, Instances: instances,
		Health: Health{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: time.Second}}
}

// load sends requests one after another until stopped and counts the failures.
type load struct {
	ok, failed atomic.Int64
	lastErr    atomic.Value
	stop       chan struct{}
	wg         sync.WaitGroup
}

func startLoad(addr string, workers int) *load {
	l := &load{stop: make(chan struct{})}
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(2 * time.Minute)
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				default:
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
					l.failed.Add(1)
					l.lastErr.Store(err.Error())
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	return l
}

func (l *load) finish() (ok, failed int64, last string) {
	close(l.stop)
	l.wg.Wait()
	s, _ := l.lastErr.Load().(string)
	return l.ok.Load(), l.failed.Load(), s
}

func body(t *testing.T, addr string, header ...string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	if len(header) == 2 {
		req.Header.Set(header[0], header[1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func waitHealthy(t *testing.T, p *Plane, env, id string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, e := range p.State().Environments {
			for _, r := range e.Releases {
				if e.Name == env && r.ID == id && r.Healthy {
					time.Sleep(100 * time.Millisecond) // let the route follow
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("release %s of %s never became healthy: %+v", id, env, p.State())
}

func TestDeploySwitchAndInstanceDeathWithoutFailedRequests(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	var logs strings.Builder
	var logMu sync.Mutex
	p := &Plane{DataDir: dir, StopGrace: 2 * time.Second,
		Logger: slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(b) }), nil))}
	t.Cleanup(p.Close)
	defer func() {
		if t.Failed() {
			logMu.Lock()
			t.Log(logs.String())
			logMu.Unlock()
		}
	}()
	const env = "shop/production"
	apply := func(d Desired) {
		t.Helper()
		if err := p.Apply(d); err != nil {
			t.Fatal(err)
		}
	}
	apply(Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{release("r1", 2)}, Route: Route{Stable: "r1"}}}})
	waitHealthy(t, p, env, "r1")
	if b := body(t, addr); !strings.Contains(b, "hello from r1") {
		t.Fatalf("answer %q", b)
	}

	ld := startLoad(addr, 4)
	// r2 starts beside r1 and gets no traffic until it is healthy and routed.
	apply(Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{release("r1", 2), release("r2", 2)},
		Route: Route{Stable: "r1", Canary: "r2", CanaryWeight: 50}}}})
	waitHealthy(t, p, env, "r2")
	if b := body(t, addr, "X-Ferry-Version", "canary"); !strings.Contains(b, "hello from r2") {
		t.Errorf("forced canary answered %q", b)
	}
	if b := body(t, addr, "X-Ferry-Version", "stable"); !strings.Contains(b, "hello from r1") {
		t.Errorf("forced stable answered %q", b)
	}
	r1pids := []int{}
	for _, e := range p.State().Environments {
		for _, r := range e.Releases {
			if r.ID == "r1" {
				for _, in := range r.Instances {
					r1pids = append(r1pids, in.PID)
				}
			}
		}
	}
	// Promote: r2 is stable, r1 drains and stops.
	apply(Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{release("r2", 2)}, Route: Route{Stable: "r2"}}}})
	deadline := time.Now().Add(30 * time.Second)
	for _, pid := range r1pids {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("r1 instance %d still running", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// An instance dies: its sibling takes the requests and it comes back.
	victim := p.State().Environments[0].Releases[0].Instances[0].PID
	syscall.Kill(victim, syscall.SIGKILL)
	time.Sleep(time.Second)

	ok, failed, last := ld.finish()
	if failed != 0 || ok < 100 {
		t.Errorf("load: %d ok, %d failed (last: %s)", ok, failed, last)
	}
	t.Logf("load: %d requests, %d failed", ok, failed)
	if b := body(t, addr); !strings.Contains(b, "hello from r2") {
		t.Errorf("after promotion: %q", b)
	}
}

func TestRestoreAndSocketAPI(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	p := &Plane{DataDir: dir, StopGrace: time.Second}
	l, err := Listen(filepath.Join(dir, "dataplane.sock"))
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: p.Handler(nil)}
	go hs.Serve(l)
	t.Cleanup(func() { hs.Close() })
	if _, err := Listen(filepath.Join(dir, "dataplane.sock")); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Listen: %v", err)
	}
	c := NewClient(filepath.Join(dir, "dataplane.sock"))
	ctx := context.Background()
	const env = "app/staging"
	d := Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{release("r7", 1)}, Route: Route{Stable: "r7"}}}}
	if _, err := c.Apply(ctx, d); err != nil {
		t.Fatal(err)
	}
	// Bad input changes nothing: a route to a release that does not run is refused.
	bad := Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{release("r7", 1)}, Route: Route{Stable: "r9"}}}}
	if _, err := c.Apply(ctx, bad); err == nil || !strings.Contains(err.Error(), "r9") {
		t.Errorf("bad desired state: %v", err)
	}
	waitHealthy(t, p, env, "r7")
	body(t, addr)
	body(t, addr)
	st, err := c.State(ctx)
	if err != nil || len(st.Environments) != 1 || st.Environments[0].Route.Stable != "r7" {
		t.Fatalf("state %+v, %v", st, err)
	}
	sum, err := c.Stats(ctx, env, "r7", 30*time.Second)
	if err != nil || sum.Requests < 2 || sum.Errors != 0 {
		t.Errorf("stats %+v, %v", sum, err)
	}
	var metrics strings.Builder
	if err := c.Metrics(ctx, &metrics); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`ferry_proxy_requests_total{env="app/staging",release="r7",role="stable"} 2`,
		`ferry_proxy_errors_total{env="app/staging",release="r7",role="stable"} 0`,
		`ferry_proxy_request_duration_seconds_count{env="app/staging",release="r7",role="stable"} 2`,
		`ferry_route_weight_percent{env="app/staging",release="r7",role="stable"} 100`,
		`ferry_instances{env="app/staging",release="r7",state="healthy"} 1`,
	} {
		if !strings.Contains(metrics.String(), want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics.String())
		}
	}
	p.Close()

	// A new data plane on the same folder serves the saved desired state again.
	p2 := &Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(p2.Close)
	if err := p2.Restore(); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p2, env, "r7")
	if b := body(t, addr); !strings.Contains(b, "hello from r7") {
		t.Errorf("after restore: %q", b)
	}
	if info, _ := os.Stat(filepath.Join(dir, "dataplane.sock")); info.Mode().Perm() != 0o600 {
		t.Errorf("socket mode %v", info.Mode().Perm())
	}
}

func TestOneEnvironmentRefusedOthersApplied(t *testing.T) {
	p := &Plane{DataDir: t.TempDir(), StopGrace: time.Second}
	t.Cleanup(p.Close)
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	good, taken := freeAddr(t), squatter.Addr().String()
	d := Desired{Environments: []Environment{
		{Name: "a/prod", Listen: good, Releases: []Release{release("r1", 1)}, Route: Route{Stable: "r1"}},
		{Name: "b/prod", Listen: taken, Releases: []Release{release("r2", 1)}, Route: Route{Stable: "r2"}},
		{Name: "c/prod", Listen: good, Releases: []Release{release("r3", 1)}, Route: Route{Stable: "r3"}},
		{Name: "d/prod", Listen: freeAddr(t), Releases: []Release{release("r4", 1)}, Route: Route{Stable: "r9"}},
	}}
	err = p.Apply(d)
	var partial *PartialError
	if !errors.As(err, &partial) {
		t.Fatalf("Apply = %v, want a *PartialError", err)
	}
	for env, want := range map[string]string{
		"b/prod": "address already in use",
		"c/prod": "listen address " + good + " is taken by environment a/prod",
		"d/prod": "r9",
	} {
		if !strings.Contains(partial.Envs[env], want) {
			t.Errorf("%s refused with %q, want %q", env, partial.Envs[env], want)
		}
	}
	if _, refused := partial.Envs["a/prod"]; refused || len(p.State().Environments) != 1 {
		t.Fatalf("state %+v, refused %v", p.State(), partial.Envs)
	}
	waitHealthy(t, p, "a/prod", "r1")
	if b := body(t, good); !strings.Contains(b, "hello from r1") {
		t.Errorf("a/prod answers %q", b)
	}
	// A refused change to a running environment leaves it running as it was.
	bad := Desired{Environments: []Environment{{Name: "a/prod", Listen: taken, Releases: []Release{release("r5", 1)}, Route: Route{Stable: "r5"}}}}
	if err := p.Apply(bad); !errors.As(err, &partial) {
		t.Fatalf("Apply = %v", err)
	}
	if b := body(t, good); !strings.Contains(b, "hello from r1") {
		t.Errorf("after a refused change a/prod answers %q", b)
	}
}
