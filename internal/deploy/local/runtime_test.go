package local

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// servePlane runs a data plane on dir with its socket API, as `ferry dataplane` does; stop ends both.
func servePlane(t *testing.T, dir string) (stop func()) {
	t.Helper()
	plane := &dataplane.Plane{DataDir: dir, StopGrace: time.Second}
	if err := plane.Restore(); err != nil {
		t.Fatal(err)
	}
	l, err := dataplane.Listen(filepath.Join(dir, "dataplane.sock"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: plane.Handler(nil)}
	go srv.Serve(l)
	var stopped bool
	stop = func() {
		if !stopped {
			stopped = true
			srv.Close()
			plane.Close()
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestInstancesGetWhatRunsAndTheirSecrets checks the variables an instance is given (the FERRY_ ones, the
// service's env, its secrets), and that a data plane that restarted gets the secrets again by a second
// Prepare, which the controller makes because Status no longer lists the release.
func TestInstancesGetWhatRunsAndTheirSecrets(t *testing.T) {
	const value = "pa55-Word-for-db"
	dir := t.TempDir()
	stop := servePlane(t, dir)
	arts := &artifact.Store{Dir: filepath.Join(dir, "blobs")}
	ws := t.TempDir()
	data, err := os.ReadFile(appBinary)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(ws, "app"), data, 0o755)
	files, err := arts.Collect(ws, []string{"app"})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := arts.PutBundle(files, []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{DataPlane: dataplane.NewClient(filepath.Join(dir, "dataplane.sock")), Artifacts: arts, DataDir: dir}
	listen := freeAddr(t)
	spec := &pipeline.Environment{Name: "production", Target: "local", Service: pipeline.Service{Run: "./app", Listen: listen,
		Instances: 1, Env: map[string]string{"APP_MODE": "eu"}, Secrets: []string{"DB_PASSWORD"},
		Health: pipeline.Health{Path: "/healthz", Interval: 50 * time.Millisecond, Timeout: time.Second}}}
	env := deploy.Environment{Key: store.EnvKey{Project: "shop", Env: "production"}, Spec: spec}
	rel := deploy.Release{ID: "42", Version: 7, Bundle: bundle, Commit: "0123456789abcdef0123456789abcdef01234567", Spec: spec,
		Secrets: map[string]string{"DB_PASSWORD": value}}
	ctx := context.Background()
	up := func() {
		t.Helper()
		if err := tg.Prepare(ctx, env, rel); err != nil {
			t.Fatal(err)
		}
		if err := tg.Route(ctx, env, deploy.Split{Stable: rel.ID}); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			st, err := tg.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if r := st.Env(env.Key).Release(rel.ID); r != nil && r.Healthy {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("release never healthy: %+v", st)
			}
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(100 * time.Millisecond) // let the route follow
	}
	get := func(name string) string {
		t.Helper()
		resp, err := http.Get("http://" + listen + "/env/" + name)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	up()
	for name, want := range map[string]string{
		"FERRY_PROJECT": "shop", "FERRY_ENVIRONMENT": "production", "FERRY_RELEASE": "7", "FERRY_RELEASE_ID": "42",
		"FERRY_COMMIT": rel.Commit, "APP_MODE": "eu", "DB_PASSWORD": value,
	} {
		if got := get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}

	// The data plane restarts (a crash, a reboot): it restores the release without its secret, and Status
	// does not list it, so the controller prepares it again with them.
	stop()
	servePlane(t, dir)
	st, err := tg.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r := st.Env(env.Key).Release(rel.ID); r != nil {
		t.Fatalf("a release waiting for its secrets is listed: %+v", r)
	}
	up()
	if got := get("DB_PASSWORD"); got != value {
		t.Errorf("after the data plane restarted, DB_PASSWORD = %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "dataplane.json")); strings.Contains(string(b), value) {
		t.Errorf("the data plane's state file holds the secret:\n%s", b)
	}
}
