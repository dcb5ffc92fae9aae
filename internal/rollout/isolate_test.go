package rollout

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// envAt is an environment named production of the test app listening on addr.
func envAt(addr, release string) string {
	return fmt.Sprintf(`  - name: production
    service: {run: ./app, listen: "%s", instances: 1, env: {RELEASE: "%s"}, health: {path: /healthz, interval: 50ms}}
    strategy: direct
`, addr, release)
}

func TestSecondProjectOnTakenAddressFailsAtOnceAndFirstKeepsDeploying(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.st.CreateProject(ctx, &store.Project{Name: "rival", Repo: "y", Branch: "main", Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	s1 := f.release(1, envAt(f.listen, "s1"))
	ro, _ := f.ctl.Enqueue(ctx, "shop", "production", s1)
	if got := f.drive(f.ctl, ro.ID); got.State != store.RolloutSucceeded {
		t.Fatalf("shop's first deploy: %s %q", got.State, got.Reason)
	}

	// rival's production wants shop's address. Its rollout fails in the very step that starts it.
	r1 := f.releaseOf("rival", 1, envAt(f.listen, "rival"))
	rr, err := f.ctl.Enqueue(ctx, "rival", "production", r1)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ctl.Step(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.GetRollout(ctx, rr.ID)
	want := fmt.Sprintf("listen address %s is taken by project shop (environment production)", f.listen)
	if got.State != store.RolloutFailed || !strings.Contains(got.Reason, want) {
		t.Fatalf("rival's rollout: %s %q, want failed with %q", got.State, got.Reason, want)
	}
	if f.running(r1) {
		t.Error("rival's release was started on an address it cannot have")
	}

	// shop goes on deploying, and its address still answers with its release.
	s2 := f.release(2, envAt(f.listen, "s2"))
	ro2, _ := f.ctl.Enqueue(ctx, "shop", "production", s2)
	if got := f.drive(f.ctl, ro2.ID); got.State != store.RolloutSucceeded || f.live() != s2 {
		t.Fatalf("shop's next deploy: %s %q, live %d", got.State, got.Reason, f.live())
	}
	if b := f.get(""); !strings.HasPrefix(b, "200 hello from s2") {
		t.Errorf("shop's address answers %q", b)
	}
}

func TestAddressTakenOutsideFerryFailsOnlyThatRollout(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.st.CreateProject(ctx, &store.Project{Name: "rival", Repo: "y", Branch: "main", Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()

	// Both rollouts start in the same step: rival's address cannot be bound, shop's can.
	r1 := f.releaseOf("rival", 1, envAt(squatter.Addr().String(), "rival"))
	rr, _ := f.ctl.Enqueue(ctx, "rival", "production", r1)
	s1 := f.release(1, envAt(f.listen, "s1"))
	ro, _ := f.ctl.Enqueue(ctx, "shop", "production", s1)
	if err := f.ctl.Step(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.GetRollout(ctx, rr.ID)
	if got.State != store.RolloutFailed || !strings.Contains(got.Reason, squatter.Addr().String()) ||
		!strings.Contains(got.Reason, "address already in use") {
		t.Fatalf("rival's rollout: %s %q", got.State, got.Reason)
	}
	if got := f.drive(f.ctl, ro.ID); got.State != store.RolloutSucceeded {
		t.Fatalf("shop's deploy beside it: %s %q", got.State, got.Reason)
	}
	if b := f.get(""); !strings.HasPrefix(b, "200 hello from s1") {
		t.Errorf("shop's address answers %q", b)
	}
}

// An environment the store no longer names (its project was removed) is taken down: traffic off, releases
// stopped, its address free again; another project's environment goes on serving.
func TestRemovedProjectIsTakenDown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.st.CreateProject(ctx, &store.Project{Name: "other", Repo: "y", Branch: "main", Concurrency: 1}); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	otherAddr := l.Addr().String()
	l.Close()
	s1 := f.release(1, envAt(f.listen, "s1"))
	o1 := f.releaseOf("other", 1, envAt(otherAddr, "o1"))
	for _, p := range []struct {
		project string
		id      int64
	}{{"shop", s1}, {"other", o1}} {
		ro, err := f.ctl.Enqueue(ctx, p.project, "production", p.id)
		if err != nil {
			t.Fatal(err)
		}
		if got := f.drive(f.ctl, ro.ID); got.State != store.RolloutSucceeded {
			t.Fatalf("%s's deploy: %s %q", p.project, got.State, got.Reason)
		}
	}
	if err := f.st.DeleteProject(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := f.ctl.Step(ctx); err != nil {
		t.Fatal(err)
	}
	if f.running(o1) {
		t.Error("the removed project's release still runs")
	}
	// Its address is free once the data plane closed the listener.
	deadline := time.Now().Add(30 * time.Second)
	for {
		l, err := net.Listen("tcp", otherAddr)
		if err == nil {
			l.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the removed environment's address is still held: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b := f.get(""); !strings.HasPrefix(b, "200 hello from s1") {
		t.Errorf("shop's address answers %q", b)
	}
}
