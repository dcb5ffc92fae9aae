package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ofrepprovider "github.com/open-feature/go-sdk-contrib/providers/ofrep"
	"github.com/open-feature/go-sdk/openfeature"

	"github.com/ferry-cd/ferry/internal/demoapp"
)

// flagsFile declares one flag of each kind of value, targeting, a split and a progressive rollout.
const flagsFile = `flags:
  new-checkout:
    variants: {on: true, off: false}
    default: off
    rules:
      - if: {attribute: email, ends_with: "@example.com"}
        variant: on
      - rollout: {on: 10%, off: 90%}
  checkout-copy:
    variants: {short: "Buy", long: "Buy now, ship today"}
    default: short
  max-items:
    variants: {few: 3, many: 50}
    default: many
  theme:
    variants: {light: {bg: "#fff"}, dark: {bg: "#000"}}
    default: light
  beta:
    variants: {on: true, off: false}
    default: off
    progressive: {variant: on, steps: [10%, 50%, 100%], interval: 1s}
`

func flagsPipeline(listen, failFile string) string {
	return fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: |
          mkdir -p dist
          CGO_ENABLED=0 go build -o dist/app ./app
        artifacts: [dist]
environments:
  - name: production
    production: true
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 1, env: {FAIL_FILE: "%s"}, health: {path: /healthz, interval: 100ms}}
    strategy: direct
    analysis:
      interval: 300ms
      min_requests: 5
      checks:
        - {metric: error_rate, max: 5%%}
`, listen, failFile)
}

// flagFiles are the files of a commit of the flags test's repository: the sample service (internal/demoapp),
// which answers 500 while failFile exists, and its flags; extra is more flags.
func flagFiles(listen, failFile, extra string) map[string]string {
	files := demoapp.App("v1", "ok")
	files[".ferry.yaml"] = flagsPipeline(listen, failFile)
	files[".ferry/flags.yaml"] = flagsFile + extra
	return files
}

type flagView struct {
	Key      string
	Git      string
	Drift    bool
	Override *struct{ Variant, Actor string }
	Rollout  *struct {
		State        string
		Step, Share  int
		Reason, Spec string
	}
	Events []struct {
		State string
		Share int
	}
}

func (f *ferry) flags(project, env string) map[string]flagView {
	f.t.Helper()
	var v struct{ Flags []flagView }
	if err := json.Unmarshal([]byte(f.mustCLI("flags", project, env, "--json")), &v); err != nil {
		f.t.Fatal(err)
	}
	m := map[string]flagView{}
	for _, fl := range v.Flags {
		m[fl.Key] = fl
	}
	return m
}

// TestFeatureFlagsOverOFREP ships flags declared in Git with a release and serves them to the real
// OpenFeature Go SDK over OFREP: targeting, splits, every kind of value, a kill switch, a progressive rollout
// that completes under analysis and one that an analysis failure reverts, and a broken flags file that is
// refused with its line and column while the live flags keep serving.
func TestFeatureFlagsOverOFREP(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatal("the flags test builds its app with go")
	}
	repo := newRemote(t)
	listen := freeAddr(t)
	shared := t.TempDir()
	failFile := filepath.Join(shared, "fail")
	f := startFerry(t, buildsGo, "--sandbox-bind", shared)
	f.addProject("shop", repo.URL, "--poll", "0")

	repo.commit("main", "v1", flagFiles(listen, failFile, ""))
	r1 := f.waitRun(f.trigger("shop"))
	if r1.State != "passed" {
		t.Fatalf("run of v1: %s %s", r1.State, r1.Reason)
	}
	if ro := f.waitRollout("shop", "production", r1.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("v1 rollout: %+v", ro)
	}
	load := startLoadGen(listen, 2)
	defer load.finish()

	// Tokens: a flags token reads one environment over OFREP and nothing else.
	var tc struct{ Token string }
	if err := json.Unmarshal([]byte(f.mustCLI("token", "create", "checkout-app", "--flags", "shop/production", "--json")), &tc); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := f.cli("", "token", "create", "x", "--flags", "nope/production"); code == 0 || !strings.Contains(stderr, "project nope not found") {
		t.Errorf("a flags token for a missing project: exit %d, %q", code, stderr)
	}
	if _, stderr, code := f.cli("", "token", "create", "x", "--flags", "shop"); code == 0 || !strings.Contains(stderr, "PROJECT/ENV") {
		t.Errorf("a flags token without an environment: exit %d, %q", code, stderr)
	}
	ofrepStatus := func(token string) int {
		req, _ := http.NewRequest("POST", f.url("/ofrep/v1/evaluate/flags/checkout-copy"), strings.NewReader(`{"context":{"targetingKey":"u"}}`))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := ofrepStatus(""); got != 401 {
		t.Errorf("OFREP without a token: %d, want 401", got)
	}
	if got := ofrepStatus(f.token); got != 403 {
		t.Errorf("OFREP with the admin token: %d, want 403 (flags tokens are scoped to an environment)", got)
	}
	if got := ofrepStatus(tc.Token); got != 200 {
		t.Errorf("OFREP with the flags token: %d, want 200", got)
	}
	req, _ := http.NewRequest("GET", f.url("/api/v1/projects"), nil)
	req.Header.Set("Authorization", "Bearer "+tc.Token)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 403 {
		t.Errorf("the API with a flags token: %v %v, want 403", res.Status, err)
	}

	// The real OpenFeature SDK with its OFREP provider, as an application would use it.
	provider := ofrepprovider.NewProvider(f.url(""), ofrepprovider.WithBearerToken(tc.Token))
	if err := openfeature.SetNamedProviderAndWait("e2e-flags", provider); err != nil {
		t.Fatal(err)
	}
	client := openfeature.NewClient("e2e-flags")
	ctx := context.Background()
	staff := openfeature.NewEvaluationContext("user-1", map[string]any{"email": "ann@example.com"})
	customer := openfeature.NewEvaluationContext("user-2", map[string]any{"email": "bob@example.org"})

	b, err := client.BooleanValueDetails(ctx, "new-checkout", false, staff)
	if err != nil || !b.Value || b.Reason != openfeature.TargetingMatchReason || b.Variant != "on" {
		t.Errorf("new-checkout for staff: %+v, %v", b, err)
	}
	b, err = client.BooleanValueDetails(ctx, "new-checkout", true, customer)
	if err != nil || b.Reason != openfeature.SplitReason {
		t.Errorf("new-checkout for a customer: %+v, %v", b, err)
	}
	split := b.Value
	s, err := client.StringValueDetails(ctx, "checkout-copy", "?", customer)
	if err != nil || s.Value != "Buy" || s.Reason != openfeature.StaticReason {
		t.Errorf("checkout-copy: %+v, %v", s, err)
	}
	n, err := client.IntValueDetails(ctx, "max-items", 0, customer)
	if err != nil || n.Value != 50 {
		t.Errorf("max-items: %+v, %v", n, err)
	}
	o, err := client.ObjectValueDetails(ctx, "theme", nil, customer)
	if m, _ := o.Value.(map[string]any); err != nil || m["bg"] != "#fff" {
		t.Errorf("theme: %+v, %v", o, err)
	}
	missing, err := client.BooleanValueDetails(ctx, "no-such-flag", true, customer)
	if err == nil || !missing.Value || missing.ErrorCode != openfeature.FlagNotFoundCode {
		t.Errorf("a missing flag: %+v, %v; want the default and FLAG_NOT_FOUND", missing, err)
	}

	// The progressive rollout of beta steps 10% → 50% → 100% while the analysis passes.
	waitFor(t, time.Minute, "beta's progressive rollout to succeed", func() bool {
		r := f.flags("shop", "production")["beta"].Rollout
		return r != nil && r.State == "succeeded"
	})
	beta := f.flags("shop", "production")["beta"]
	shares := []int{}
	for _, ev := range beta.Events {
		shares = append(shares, ev.Share)
	}
	if fmt.Sprint(shares) != "[1000 5000 10000 10000]" || beta.Rollout.Share != 10000 {
		t.Errorf("beta's rollout went through shares %v (rollout %+v), want 10%%, 50%%, 100%%, then succeeded", shares, beta.Rollout)
	}
	waitFor(t, 5*time.Second, "everyone on beta", func() bool {
		v, err := client.BooleanValue(ctx, "beta", false, customer)
		return err == nil && v
	})

	// The kill switch: within a second everyone gets off, audited and shown as drift; cleared, Git decides.
	start := time.Now()
	f.mustCLI("flag", "set", "shop", "production", "new-checkout", "--variant", "off")
	waitFor(t, 3*time.Second, "the override to reach the SDK", func() bool {
		v, err := client.BooleanValueDetails(ctx, "new-checkout", true, staff)
		return err == nil && !v.Value && v.Reason == openfeature.StaticReason
	})
	t.Logf("kill switch effective after %s", time.Since(start).Round(time.Millisecond))
	if nc := f.flags("shop", "production")["new-checkout"]; nc.Override == nil || nc.Override.Variant != "off" || nc.Override.Actor != "admin" || !nc.Drift {
		t.Errorf("new-checkout after the override: %+v", nc)
	}
	if !strings.Contains(f.mustCLI("audit", "shop"), "flag.override") {
		t.Errorf("the override is not in the audit log")
	}
	if _, stderr, code := f.cli("", "flag", "set", "shop", "production", "new-checkout", "--variant", "maybe"); code == 0 || !strings.Contains(stderr, "no variant") {
		t.Errorf("an override to no variant: exit %d, %q", code, stderr)
	}
	f.mustCLI("flag", "clear", "shop", "production", "new-checkout")
	waitFor(t, 3*time.Second, "Git to decide again", func() bool {
		v, err := client.BooleanValueDetails(ctx, "new-checkout", !split, customer)
		return err == nil && v.Value == split && v.Reason == openfeature.SplitReason
	})

	// A broken flags file fails the run with its position; production keeps its flags.
	repo.commit("main", "v2 broken flags", flagFiles(listen, failFile, "  broken:\n    variants: {a: 1}\n    default: b\n"))
	r2 := f.waitRun(f.trigger("shop"))
	if r2.State != "error" || !strings.Contains(r2.Reason, ".ferry/flags.yaml:") {
		t.Errorf("run with a broken flags file: %s %q, want an error at .ferry/flags.yaml:LINE:COL", r2.State, r2.Reason)
	}
	if v, err := client.StringValue(ctx, "checkout-copy", "?", customer); err != nil || v != "Buy" {
		t.Errorf("checkout-copy after the broken commit: %q, %v", v, err)
	}

	// An override that a release then agrees with is cleared when that release goes live.
	f.mustCLI("flag", "set", "shop", "production", "checkout-copy", "--variant", "long")
	if cc := f.flags("shop", "production")["checkout-copy"]; cc.Override == nil || !cc.Drift || cc.Git != "short" {
		t.Errorf("checkout-copy overridden: %+v, want drift from Git's short", cc)
	}

	// v3 makes long the default of checkout-copy and starts a new progressive flag; the live release then
	// fails and the new flag goes back to 0%.
	v3 := flagFiles(listen, failFile, "  gamma:\n    variants: {on: true, off: false}\n    default: off\n    progressive: {variant: on, steps: [20%, 100%], interval: 2s}\n")
	v3[".ferry/flags.yaml"] = strings.Replace(v3[".ferry/flags.yaml"], "default: short", "default: long", 1)
	repo.commit("main", "v3", v3)
	r3 := f.waitRun(f.trigger("shop"))
	if r3.State != "passed" {
		t.Fatalf("run of v3: %s %s", r3.State, r3.Reason)
	}
	if ro := f.waitRollout("shop", "production", r3.ReleaseID); ro.State != "succeeded" {
		t.Fatalf("v3 rollout: %+v", ro)
	}
	waitFor(t, 30*time.Second, "gamma's rollout to start", func() bool {
		r := f.flags("shop", "production")["gamma"].Rollout
		return r != nil && r.State == "progressing" && r.Share == 2000
	})
	if got := f.flags("shop", "production")["beta"].Rollout; got == nil || got.State != "succeeded" {
		t.Errorf("beta after v3, which declares the same rollout: %+v, want it carried on", got)
	}
	waitFor(t, 10*time.Second, "the override Git now agrees with to be cleared", func() bool {
		cc := f.flags("shop", "production")["checkout-copy"]
		return cc.Override == nil && cc.Git == "long" && !cc.Drift
	})
	if audit := f.mustCLI("audit", "shop"); !strings.Contains(audit, "matches Git") {
		t.Errorf("the automatic clear is not in the audit log:\n%s", audit)
	}
	if err := os.WriteFile(failFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "gamma's rollout to revert", func() bool {
		r := f.flags("shop", "production")["gamma"].Rollout
		return r != nil && r.State == "reverted"
	})
	gamma := f.flags("shop", "production")["gamma"]
	if gamma.Rollout.Share != 0 || !strings.Contains(gamma.Rollout.Reason, "error_rate") {
		t.Errorf("gamma after the failure: %+v, want share 0 and the failed check", gamma.Rollout)
	}
	for i := range 50 {
		key := fmt.Sprintf("user-%d", i)
		if v, err := client.BooleanValue(ctx, "gamma", false, openfeature.NewEvaluationContext(key, nil)); err != nil || v {
			t.Fatalf("gamma for %s after the revert: %v, %v; want off for everyone", key, v, err)
		}
	}
	os.Remove(failFile)
}
