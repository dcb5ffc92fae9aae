package proxy

import (
	"fmt"
	"testing"
)

// TestForgetAndPruneKeepOnlyLiveReleases routes through many releases in turn, as deploys do, and checks that
// what the proxy holds comes back to the releases and instances the route names.
func TestForgetAndPruneKeepOnlyLiveReleases(t *testing.T) {
	p := &Proxy{Name: t.Name()}
	addr := startServe(t, p)
	c := newClient(t)
	var prev *upstream
	for i := range 20 {
		u := newUpstream(t, fmt.Sprintf("r%d", i))
		route := Route{Stable: u.asStable()}
		if prev != nil {
			route.Stable.Weight = 50
			route.Canary = u.asCanary(50)
			route.Stable = prev.asStable()
		}
		p.SetRoute(route)
		get(t, c, "http://"+addr+"/")
		if prev != nil {
			// The canary is promoted: only it stays.
			p.SetRoute(Route{Stable: u.asStable()})
			if p.Forget(u.version) {
				t.Fatalf("Forget dropped the figures of %s, which the route names", u.version)
			}
			if !p.Forget(prev.version) {
				t.Fatalf("Forget kept the figures of %s, which the route no longer names", prev.version)
			}
		}
		p.Prune()
		prev = u
	}
	if got, want := p.Footprint(), (Footprint{Windows: 1, Backends: 1}); got != want {
		t.Errorf("after 20 releases the proxy holds %+v, want %+v (the live release only)", got, want)
	}
	if p.Stats(prev.version) == nil {
		t.Errorf("the live release lost its figures")
	}
	if _, body := get(t, c, "http://"+addr+"/"); body == "" {
		t.Errorf("the live release no longer answers")
	}
}

// TestPruneKeepsBusyBackends: an instance that still answers a request is not closed under it.
func TestPruneKeepsBusyBackends(t *testing.T) {
	old := newUpstream(t, "old")
	p := newProxy(t, Route{Stable: old.asStable()})
	addr := startServe(t, p)
	c := newClient(t)
	done := make(chan string, 1)
	go func() {
		resp, err := c.Get("http://" + addr + "/slow")
		if err != nil {
			done <- ""
			return
		}
		resp.Body.Close()
		done <- resp.Status
	}()
	old.waitStarted(t)
	p.SetRoute(Route{Stable: newUpstream(t, "new").asStable()})
	if n := p.Prune(); n != 0 {
		t.Fatalf("Prune dropped %d backends while one had a request in flight", n)
	}
	old.unblock()
	if body := <-done; body == "" {
		t.Fatalf("the request in flight got no answer")
	}
	eventually(t, "the idle old backend pruned", func() bool { return p.Prune() == 1 })
}
