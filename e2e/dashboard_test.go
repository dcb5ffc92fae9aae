package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browser starts Debian's headless Chromium for one test, at a laptop's window size. CI installs the
// chromium package; the test fails without it rather than skip, since the dashboard is a feature users see.
func browser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("the dashboard test needs Chromium (Debian package chromium): ", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(bctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return bctx
}

// do runs browser actions and fails the test with what was being done.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	if err := chromedp.Do(c, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// eval runs one action that gives a value and fails the test with what was being done.
func eval[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// waitText waits until the page's element sel contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	js := fmt.Sprintf(`(() => { const e = document.querySelector(%q); return !!e && e.textContent.includes(%q); })()`, sel, want)
	c, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	_, err := chromedp.Run(c, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(40*time.Second)))
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("wait for %q in %s: %v\npage:\n%s", want, sel, err, page)
	}
}

// screenshot saves the page under $FERRY_SCREENSHOTS (docs/screenshots when refreshing the README's pictures).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("FERRY_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := eval(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestDashboardInABrowser drives the dashboard in headless Chromium against a real server: sign-in, the
// pages with real data, a log that streams into an open page while its step runs, a canary drawn against
// stable, and a rollback clicked, confirmed and carried out.
func TestDashboardInABrowser(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the dashboard test builds its app with go")
	}
	ctx := browser(t)
	repo := newRemote(t)
	production := freeAddr(t)
	shared := t.TempDir() // shared with the sandboxed step (--sandbox-bind)
	gate := filepath.Join(shared, "go-on")
	pipeline := appPipeline(`  - name: production
    production: true
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 100ms}}
    strategy:
      canary:
        steps: [{weight: 30, pause: 6s}]
    analysis:
      interval: 500ms
      min_requests: 5
      checks:
        - {metric: error_rate, max: 5%%}
        - {metric: latency_p99, max: 200ms}
`, production)
	// A test stage whose step prints while it waits for the test to let it finish: the page must show its
	// lines while it runs.
	pipeline = strings.Replace(pipeline, "environments:\n", fmt.Sprintf(`  - name: test
    steps:
      - name: integration
        run: |
          if [ -f version.txt ] && grep -q v2 version.txt; then
            until [ -f %s ]; do echo "waiting for the fixture"; sleep 0.2; done
          fi
          echo "all 12 integration tests passed"
environments:
`, gate), 1)
	f := startFerry(t, buildsGo, "--sandbox-bind", shared)
	f.addProject("shop", repo.URL, "--poll", "0")

	repo.commit("main", "v1", appFiles(pipeline, "v1", "ok"))
	r1 := f.waitRun(f.trigger("shop"))
	if r1.State != "passed" {
		t.Fatalf("run of v1: %s %s", r1.State, r1.Reason)
	}
	if ro := f.waitRollout("shop", "production", r1.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("v1 rollout: %+v", ro)
	}

	// Sign in: a wrong token is refused on the page, the admin token lands on the projects.
	do(t, ctx, "open the dashboard", chromedp.Navigate(f.url("/")), chromedp.WaitVisible(chromedp.CSS("#token")))
	screenshot(t, ctx, "signin")
	do(t, ctx, "sign in with a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "wrong"), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS(".error")))
	do(t, ctx, "sign in", chromedp.SetValue(chromedp.CSS("#token"), f.token), chromedp.Submit(chromedp.CSS("#token")), chromedp.WaitVisible(chromedp.CSS(".project")))
	waitText(t, ctx, ".project", "shop")
	waitText(t, ctx, ".project .envs", "v1")
	waitText(t, ctx, ".project .envs", "healthy")

	// v2: its run waits in the test stage; the run page shows the log lines as they come.
	repo.commit("main", "v2", appFiles(pipeline, "v2", "ok"))
	id := f.trigger("shop")
	do(t, ctx, "open the run", chromedp.Navigate(f.url(fmt.Sprintf("/ui/runs/%d", id))), chromedp.WaitVisible(chromedp.CSS("#log-lines")))
	waitText(t, ctx, "#log-lines", "waiting for the fixture")
	waitText(t, ctx, "#log-state", "following")
	waitText(t, ctx, ".pipeline", "integration")
	waitText(t, ctx, `.step[data-step="test/integration"]`, "running")
	screenshot(t, ctx, "run")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitText(t, ctx, "#log-lines", "all 12 integration tests passed")
	waitText(t, ctx, "#log-state", "finished")
	waitText(t, ctx, `.step[data-step="test/integration"]`, "passed")
	r2 := f.waitRun(id)
	if r2.State != "passed" {
		t.Fatalf("run of v2: %s %s", r2.State, r2.Reason)
	}

	// The canary of v2 under load: the environment page draws it against stable while it holds at 30%.
	load := startLoadGen(production, 2)
	defer load.finish()
	env := f.url("/ui/projects/shop/environments/production")
	do(t, ctx, "open the environment", chromedp.Navigate(env), chromedp.WaitVisible(chromedp.CSS("h1")))
	waitText(t, ctx, ".rollout h2", "v1 → v2")
	waitText(t, ctx, ".rollout .weight", "30%")
	waitText(t, ctx, ".analysis", "error_rate")
	waitText(t, ctx, ".analysis caption", "Latest analysis: pass")
	eval(t, ctx, "wait for canary and stable on the charts", chromedp.Poll[bool](
		`document.querySelectorAll(".charts svg .series-0").length > 0 && document.querySelectorAll(".charts svg .series-1").length > 0`,
		chromedp.WithPollingTimeout(20*time.Second)))
	screenshot(t, ctx, "environment-canary")
	if ro := f.waitRollout("shop", "production", r2.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("v2 rollout: %+v", ro)
	}

	// Roll back from the page: the button asks first, Cancel does nothing, Confirm rolls back.
	do(t, ctx, "reload", chromedp.Navigate(env), chromedp.WaitVisible(chromedp.CSS(`button[data-action="rollback"]`)))
	do(t, ctx, "ask to roll back", chromedp.Click(chromedp.CSS(`button[data-action="rollback"]`)), chromedp.WaitVisible(chromedp.CSS("#confirm")))
	if !eval(t, ctx, "is the dialog open", chromedp.Evaluate[bool](`document.getElementById("confirm").open`)) {
		t.Fatal("the rollback button did not ask first")
	}
	waitText(t, ctx, "#confirm-text", "Roll shop/production back")
	do(t, ctx, "cancel", chromedp.Click(chromedp.CSS(`#confirm button[value=cancel]`)), chromedp.WaitNotVisible(chromedp.CSS("#confirm")))
	if e := f.envStatus("shop", "production"); e.LiveReleaseID != r2.ReleaseID {
		t.Fatalf("live release %d after cancel, want %d", e.LiveReleaseID, r2.ReleaseID)
	}
	do(t, ctx, "roll back", chromedp.Click(chromedp.CSS(`button[data-action="rollback"]`)), chromedp.WaitVisible(chromedp.CSS("#confirm-ok")),
		chromedp.Click(chromedp.CSS("#confirm-ok")), chromedp.WaitVisible(chromedp.CSS(".notice")))
	waitText(t, ctx, ".notice", "Rollback requested")
	waitFor(t, time.Minute, "the rollback", func() bool {
		e := f.envStatus("shop", "production")
		return e.LiveReleaseID == r1.ReleaseID && e.Rollout != nil && e.Rollout.State == "succeeded"
	})
	settled(t, production, "hello from v1", "after the rollback from the dashboard")
	waitText(t, ctx, ".history", "rollback")
	screenshot(t, ctx, "environment")
	load.finish()

	// The other pages, with what just happened.
	do(t, ctx, "open the project", chromedp.Navigate(f.url("/ui/projects/shop")), chromedp.WaitVisible(chromedp.CSS("table.runs")))
	waitText(t, ctx, "table.runs", fmt.Sprintf("#%d", id))
	screenshot(t, ctx, "project")
	do(t, ctx, "open DORA", chromedp.Navigate(f.url("/ui/projects/shop/dora")), chromedp.WaitVisible(chromedp.CSS(".dora")))
	waitText(t, ctx, ".dora", "Deployment frequency")
	waitText(t, ctx, ".dora", "1 of 2 deployments") // v2 was rolled back by hand while live
	screenshot(t, ctx, "dora")
	do(t, ctx, "open the audit", chromedp.Navigate(f.url("/ui/audit")), chromedp.WaitVisible(chromedp.CSS("table.audit")))
	waitText(t, ctx, "table.audit", "rollback")
	waitText(t, ctx, "table.audit", "admin")
	screenshot(t, ctx, "audit")
	do(t, ctx, "open the projects", chromedp.Navigate(f.url("/ui/")), chromedp.WaitVisible(chromedp.CSS(".project")))
	screenshot(t, ctx, "projects")

	// A phone's width: the environment page still reads without sideways scrolling of the page itself.
	do(t, ctx, "phone width", chromedp.EmulateViewport(390, 844), chromedp.Navigate(env), chromedp.WaitVisible(chromedp.CSS("h1")))
	if eval(t, ctx, "measure the page", chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`)) {
		t.Errorf("the environment page is wider than a phone")
	}
	screenshot(t, ctx, "environment-phone")
}
