package rollout

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

// envWithHosts is the production environment of the test app on addr answering hosts only.
func envWithHosts(addr, release, hosts string) string {
	return fmt.Sprintf(`  - name: production
    service: {run: ./app, listen: "%s", hosts: %s, instances: 1, env: {RELEASE: "%s"}, health: {path: /healthz, interval: 50ms}}
    strategy: direct
`, addr, hosts, release)
}

func getHost(addr, host string) string {
	req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	req.Host = host
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func TestProjectsShareAnAddressByHostAndClashOnOne(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, name := range []string{"blog", "thief"} {
		if err := f.st.CreateProject(ctx, &store.Project{Name: name, Repo: "y", Branch: "main", Concurrency: 1}); err != nil {
			t.Fatal(err)
		}
	}
	s1 := f.release(1, envWithHosts(f.listen, "s1", "[shop.example.com]"))
	ro, _ := f.ctl.Enqueue(ctx, "shop", "production", s1)
	if got := f.drive(f.ctl, ro.ID); got.State != store.RolloutSucceeded {
		t.Fatalf("shop: %s %q", got.State, got.Reason)
	}
	b1 := f.releaseOf("blog", 1, envWithHosts(f.listen, "b1", "['*.blog.example.com']"))
	rb, _ := f.ctl.Enqueue(ctx, "blog", "production", b1)
	if got := f.drive(f.ctl, rb.ID); got.State != store.RolloutSucceeded {
		t.Fatalf("blog beside shop: %s %q", got.State, got.Reason)
	}
	if a, b := getHost(f.listen, "shop.example.com"), getHost(f.listen, "en.blog.example.com"); !strings.HasPrefix(a, "200 hello from s1") || !strings.HasPrefix(b, "200 hello from b1") {
		t.Fatalf("shop answers %q, blog %q", a, b)
	}

	// A third project naming shop's host fails at once; shop and blog keep serving.
	t1 := f.releaseOf("thief", 1, envWithHosts(f.listen, "t1", "[shop.example.com]"))
	rt, _ := f.ctl.Enqueue(ctx, "thief", "production", t1)
	if err := f.ctl.Step(ctx); err != nil {
		t.Fatal(err)
	}
	got, _ := f.st.GetRollout(ctx, rt.ID)
	if want := "is taken by project shop (environment production)"; got.State != store.RolloutFailed || !strings.Contains(got.Reason, want) {
		t.Fatalf("thief: %s %q; want failed with %q", got.State, got.Reason, want)
	}
	if f.running(t1) {
		t.Error("thief's release was started")
	}
	if a := getHost(f.listen, "shop.example.com"); !strings.HasPrefix(a, "200 hello from s1") {
		t.Errorf("shop answers %q after the clash", a)
	}
}
