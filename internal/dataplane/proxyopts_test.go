package dataplane

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/proxy"
)

// TestEnvironmentProxyOptionsApplyAndSurviveRestart: an environment's proxy limits take effect on its
// listener and come back when the data plane restarts from its saved state.
func TestEnvironmentProxyOptionsApplyAndSurviveRestart(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	const env = "shop/production"
	post := func() int {
		t.Helper()
		resp, err := http.Post("http://"+addr+"/", "text/plain", strings.NewReader(strings.Repeat("x", 2000)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	p := &Plane{DataDir: dir, StopGrace: time.Second}
	if err := p.Apply(Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: []Release{release("r1", 1)},
		Route: Route{Stable: "r1"}, Proxy: proxy.Options{MaxBodyBytes: 1000}}}}); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p, env, "r1")
	if code := post(); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 2000-byte body over a 1000-byte limit: %d, want 413", code)
	}
	p.Close()

	p2 := &Plane{DataDir: dir, StopGrace: time.Second}
	t.Cleanup(p2.Close)
	if err := p2.Restore(); err != nil {
		t.Fatal(err)
	}
	waitHealthy(t, p2, env, "r1")
	if code := post(); code != http.StatusRequestEntityTooLarge {
		t.Errorf("after a restart: %d, want 413", code)
	}
}
