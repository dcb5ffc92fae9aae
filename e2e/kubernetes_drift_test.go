package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestKubernetesDriftShown: a kubectl-style edit of the live Deployment shows in the API, `ferry status` and
// the dashboard, and is healed; with heal: false it stays shown, open, until ferry itself replaces the edited
// copy with the next release.
func TestKubernetesDriftShown(t *testing.T) {
	cp := startKube(t, "shop")
	repo := newRemote(t)
	f := startFerry(t, "--kubeconfig", cp.Kubeconfig)
	f.addProject("shop", repo.URL, "--poll", "0")
	deploy := func(version, kube string) int64 {
		t.Helper()
		id := pushKube(t, f, repo, version, kubeProduction(version, kube, "    strategy: direct\n"), kubeApp(false))
		if ro := f.waitRollout("shop", "production", id); ro.State != "succeeded" {
			t.Fatalf("%s: %+v\n%s", version, ro, f.logs)
		}
		return id
	}
	drifted := func(release int64, healed bool) func() bool {
		copyName := fmt.Sprintf("deployment shop-r%d ", release)
		return func() bool {
			for _, d := range f.kubeEnv("production").Drift {
				if strings.HasPrefix(d.What, copyName) && strings.Contains(d.What, "kubectl-edit") && d.Healed == healed &&
					d.Release == fmt.Sprint(release) && !d.Since.IsZero() {
					return true
				}
			}
			return false
		}
	}

	r1 := deploy("v1", "")
	if d := f.kubeEnv("production").Drift; len(d) != 0 {
		t.Fatalf("drift before any edit: %+v", d)
	}
	want := liveImage(t, cp, r1)
	editImage(t, cp, r1, "registry.example.com/shop:latest")
	edited := time.Now()
	waitFor(t, 30*time.Second, "the edit in the API's status", func() bool { return drifted(r1, false)() || drifted(r1, true)() })
	t.Logf("figure: the edit shown by the API after %s", time.Since(edited))
	waitFor(t, 30*time.Second, "the edit healed in the API's status", drifted(r1, true))
	t.Logf("figure: shown healed after %s", time.Since(edited))
	if got := liveImage(t, cp, r1); got != want {
		t.Errorf("image after the heal %q, want %q", got, want)
	}
	out := f.mustCLI("status", "shop")
	if !strings.Contains(out, "shop/production drift:") || !strings.Contains(out, "healed") || !strings.Contains(out, "kubectl-edit") {
		t.Errorf("ferry status shows no healed drift:\n%s", out)
	}
	if page := dashboardPage(t, f, "/ui/projects/shop/environments/production"); !strings.Contains(page, "Drift") ||
		!strings.Contains(page, fmt.Sprintf("deployment shop-r%d was changed behind ferry&#39;s back by kubectl-edit", r1)) {
		t.Errorf("the dashboard shows no drift:\n%s", page)
	}

	// heal: false: reported, not put back, shown open until the next release replaces the copy.
	r2 := deploy("v2", ", heal: false")
	editImage(t, cp, r2, "registry.example.com/shop:latest")
	waitFor(t, 30*time.Second, "the edit shown open", drifted(r2, false))
	out = f.mustCLI("status", "shop")
	if !strings.Contains(out, "OPEN") || !strings.Contains(out, fmt.Sprintf("deployment shop-r%d was changed", r2)) {
		t.Errorf("ferry status shows no open drift:\n%s", out)
	}
	// It stays open: a window in which ferry would have healed it several times over (the heal above took
	// a fraction of it).
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if !drifted(r2, false)() {
			t.Fatalf("the drift of a heal: false environment closed by itself: %+v", f.kubeEnv("production").Drift)
		}
	}
	if got := liveImage(t, cp, r2); got != "registry.example.com/shop:latest" {
		t.Errorf("heal: false put the image back: %q", got)
	}
	deploy("v3", ", heal: false")
	waitFor(t, 30*time.Second, "the edited copy replaced and its drift closed", drifted(r2, true))
}
