package dataplane

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"
)

func openFiles(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("count open files: %v", err)
	}
	return len(fds)
}

// waitFor polls cond until it holds; hangGuard only bounds a broken plane, it is no assertion about speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s never happened", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestManyDeploysLeaveOnlyLiveReleases deploys release after release through the real data plane, each as a
// canary that takes traffic and is then promoted (every fifth rolled back), and checks that what the plane
// holds per release comes back to the live one: figures windows, backends, stopped releases, goroutines and
// open files do not grow with the number of deploys.
func TestManyDeploysLeaveOnlyLiveReleases(t *testing.T) {
	addr := freeAddr(t)
	p := &Plane{DataDir: t.TempDir(), StopGrace: 2 * time.Second, FiguresGrace: 200 * time.Millisecond}
	t.Cleanup(p.Close)
	const env = "shop/production"
	apply := func(releases []Release, route Route) {
		t.Helper()
		if err := p.Apply(Desired{Environments: []Environment{{Name: env, Listen: addr, Releases: releases, Route: route}}}); err != nil {
			t.Fatal(err)
		}
	}
	live := release("r0", 1)
	apply([]Release{live}, Route{Stable: live.ID})
	waitHealthy(t, p, env, live.ID)
	body(t, addr)

	settled := func() bool {
		f := p.Footprint()
		return len(f) == 1 && f[0] == EnvFootprint{Name: env, Releases: 1, Windows: 1, Backends: 1, Stopped: 0}
	}
	waitFor(t, "the first release settled", settled)
	goroutines, files := runtime.NumGoroutine(), openFiles(t)

	const deploys = 15
	for i := 1; i <= deploys; i++ {
		next := release(fmt.Sprintf("r%d", i), 1)
		apply([]Release{live, next}, Route{Stable: live.ID, Canary: next.ID, CanaryWeight: 50})
		waitHealthy(t, p, env, next.ID)
		body(t, addr, "X-Ferry-Version", "canary")
		body(t, addr, "X-Ferry-Version", "stable")
		if i%5 == 0 { // a bad canary: rolled back
			apply([]Release{live}, Route{Stable: live.ID})
			// The analysis reads the stopped canary's figures right after: they are still there.
			if _, ok := p.Stats(env, next.ID, 10*time.Second); !ok {
				t.Fatalf("the figures of %s are gone right after it stopped", next.ID)
			}
			continue
		}
		apply([]Release{next}, Route{Stable: next.ID})
		live = next
	}
	waitFor(t, "the plane holding the live release only", settled)
	if _, ok := p.Stats(env, "r1", 10*time.Second); ok {
		t.Errorf("a release stopped long ago still has figures")
	}
	if _, ok := p.Stats(env, live.ID, 10*time.Second); !ok {
		t.Errorf("the live release %s has no figures", live.ID)
	}
	// Goroutines and open files come back to where they were with one release: the same one live release,
	// plus at most a few in passing (a connection the test's client keeps, a probe under way).
	const slack = 4
	waitFor(t, fmt.Sprintf("goroutines back to %d (+%d)", goroutines, slack), func() bool { return runtime.NumGoroutine() <= goroutines+slack })
	waitFor(t, fmt.Sprintf("open files back to %d (+%d)", files, slack), func() bool { return openFiles(t) <= files+slack })
	t.Logf("after %d deploys: %+v, %d goroutines (%d before), %d open files (%d before)", deploys, p.Footprint(),
		runtime.NumGoroutine(), goroutines, openFiles(t), files)
}
