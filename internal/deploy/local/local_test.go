package local

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
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
