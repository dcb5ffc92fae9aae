package local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/deploytest"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/testapp"
)

var appBinary string

func TestMain(m *testing.M) { testapp.Main(m, &appBinary) }

// TestContract runs the deploy.Target contract against the local target driving a real data plane over its
// socket, with the test app as every release.
func TestContract(t *testing.T) {
	deploytest.Run(t, newHarness)
}

// newHarness starts a data plane in a temporary folder, serves its socket API, and gives the suite a local
// target over it.
func newHarness(t *testing.T) *deploytest.Harness {
	dir := t.TempDir()
	plane := &dataplane.Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(plane.Close)
	sock := filepath.Join(dir, "dataplane.sock")
	l, err := dataplane.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: plane.Handler(nil)}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	arts := &artifact.Store{Dir: filepath.Join(dir, "blobs")}
	ws := t.TempDir()
	data, err := os.ReadFile(appBinary)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ws, "app"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	files, err := arts.Collect(ws, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := arts.PutBundle(files, []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	target := func() *Target {
		return &Target{DataPlane: dataplane.NewClient(sock), Artifacts: arts, DataDir: dir}
	}
	tg := target()

	var envs, releases atomic.Int64
	spec := func(listen string, env map[string]string) *pipeline.Environment {
		return &pipeline.Environment{Name: "production", Target: "local", Service: pipeline.Service{Run: "./app", Listen: listen,
			Instances: 2, Env: env, Health: pipeline.Health{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: time.Second}}}
	}
	release := func(env deploy.Environment, name, mode string) deploy.Release {
		return deploy.Release{ID: fmt.Sprint(releases.Add(1)), Bundle: bundle,
			Spec: spec(env.Spec.Service.Listen, map[string]string{"RELEASE": name, "MODE": mode})}
	}
	client := &http.Client{Timeout: 10 * time.Second}
	return &deploytest.Harness{
		Target: tg,
		Reopen: func(t *testing.T) deploy.Target { return target() },
		Env: func(t *testing.T) deploy.Environment {
			key := store.EnvKey{Project: "contract", Env: fmt.Sprintf("env%d", envs.Add(1))}
			return deploy.Environment{Key: key, Spec: spec(freeAddr(t), nil)}
		},
		Release: func(t *testing.T, env deploy.Environment, name string, healthy bool) deploy.Release {
			if healthy {
				return release(env, name, "")
			}
			return release(env, name, "sick")
		},
		Crashing: func(t *testing.T, env deploy.Environment, name string) deploy.Release {
			return release(env, name, "crash")
		},
		Get: func(t *testing.T, env deploy.Environment) (string, error) {
			resp, err := client.Get("http://" + env.Spec.Service.Listen + "/")
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			return string(b), err
		},
		Disturb: func(t *testing.T, env deploy.Environment, release string) {
			st, err := tg.Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			r := st.Env(env.Key).Release(release)
			if r == nil || len(r.Instances) == 0 || r.Instances[0].PID == 0 {
				t.Fatalf("no instance of release %s to kill: %+v", release, r)
			}
			if err := syscall.Kill(r.Instances[0].PID, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		},
		Unrunnable: func(t *testing.T) (deploy.Environment, deploy.Release) {
			// Another process's socket holds the address.
			squatter, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { squatter.Close() })
			env := deploy.Environment{Key: store.EnvKey{Project: "contract", Env: "squatted"}, Spec: spec(squatter.Addr().String(), nil)}
			return env, release(env, "one", "")
		},
		MeasuresTraffic: true,
		SelfHealing:     true,
	}
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

// counting counts the desired states sent to a data plane.
type counting struct {
	DataPlane
	applies atomic.Int64
}

func (c *counting) Apply(ctx context.Context, d dataplane.Desired) (*dataplane.State, error) {
	c.applies.Add(1)
	return c.DataPlane.Apply(ctx, d)
}

// A change of one environment is a change of the data plane's whole desired state: the others keep running
// untouched (same processes), and a change that changes nothing sends nothing.
func TestChangeOfOneEnvironmentLeavesTheOthers(t *testing.T) {
	h := newHarness(t)
	tg := h.Target.(*Target)
	count := &counting{DataPlane: tg.DataPlane}
	tg.DataPlane = count
	ctx := context.Background()

	a, b := h.Env(t), h.Env(t)
	ra, rb := h.Release(t, a, "a", true), h.Release(t, b, "b", true)
	for _, step := range []struct {
		env deploy.Environment
		rel deploy.Release
	}{{a, ra}, {b, rb}} {
		if err := tg.Prepare(ctx, step.env, step.rel); err != nil {
			t.Fatal(err)
		}
		if err := tg.Route(ctx, step.env, deploy.Split{Stable: step.rel.ID}); err != nil {
			t.Fatal(err)
		}
	}
	pidsOf := func() []int {
		deadline := time.Now().Add(60 * time.Second)
		for {
			st, err := tg.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r := st.Env(a.Key).Release(ra.ID); r != nil && r.Healthy {
				var pids []int
				for _, in := range r.Instances {
					pids = append(pids, in.PID)
				}
				return pids
			}
			if time.Now().After(deadline) {
				t.Fatalf("release a never healthy: %+v", st.Env(a.Key))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	before := pidsOf()
	sent := count.applies.Load()

	// The same route and the same release again: nothing to send.
	if err := tg.Route(ctx, b, deploy.Split{Stable: rb.ID}); err != nil {
		t.Fatal(err)
	}
	if err := tg.Prepare(ctx, b, rb); err != nil {
		t.Fatal(err)
	}
	if n := count.applies.Load() - sent; n != 0 {
		t.Errorf("%d desired states sent for changes that change nothing", n)
	}

	// A new release in b, routed and the old one stopped: a runs on, on the same processes.
	rb2 := h.Release(t, b, "b2", true)
	if err := tg.Prepare(ctx, b, rb2); err != nil {
		t.Fatal(err)
	}
	if err := tg.Route(ctx, b, deploy.Split{Stable: rb2.ID}); err != nil {
		t.Fatal(err)
	}
	if err := tg.Stop(ctx, b.Key, rb.ID); err != nil {
		t.Fatal(err)
	}
	if after := pidsOf(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Errorf("a's instances changed while b moved: %v, then %v", before, after)
	}
	if body, err := h.Get(t, a); err != nil || !strings.HasPrefix(body, "hello from a ") {
		t.Errorf("a answers %q, %v", body, err)
	}
}
