package ui

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/controlplane"
	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/gate"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

// fixture is a real server over a real SQLite store, with the dashboard mounted as ferry serve mounts it, and
// a history written straight into the store.
type fixture struct {
	t      *testing.T
	url    string
	store  store.Store
	data   string
	admin  string
	run    *store.Run
	failed *store.Run
	ro     *store.Rollout
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	// The data plane runs in process on the data folder's socket, where the server finds and adopts it.
	l, err := dataplane.Listen(filepath.Join(dir, "dataplane.sock"))
	if err != nil {
		t.Fatal(err)
	}
	plane := &dataplane.Plane{DataDir: dir}
	hs := &http.Server{Handler: plane.Handler(func() {})}
	go hs.Serve(l)
	t.Cleanup(func() { plane.Close(); hs.Close() })
	srv, err := controlplane.Open(controlplane.Config{DataDir: dir, Store: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tok, err := srv.EnsureAdminToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	h, err := Mount(srv.Handler(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	f := &fixture{t: t, url: ts.URL, store: db, data: dir, admin: tok}
	f.seed()
	return f
}

func (f *fixture) seed() {
	t, ctx, s := f.t, context.Background(), f.store
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateProject(ctx, &store.Project{Name: "web", Repo: "https://git.example/web.git", Branch: "main", Concurrency: 1}))
	start := time.Now().Add(-10 * time.Minute).UTC()
	f.run = &store.Run{Project: "web", Branch: "main", Commit: "0123456789abcdef", Trigger: "webhook", State: store.RunPassed,
		CreatedAt: start, StartedAt: start, FinishedAt: start.Add(42 * time.Second)}
	must(s.CreateRun(ctx, f.run))
	cur := 180.0
	base := 100.0
	must(s.PutSteps(ctx, f.run.ID, []*store.Step{
		{Stage: "build", Name: "compile", State: store.StepPassed, Attempts: 1, StartedAt: start, FinishedAt: start.Add(3 * time.Second)},
		{Index: 1, Stage: "test", Name: "unit", State: store.StepPassed, Attempts: 2, StartedAt: start.Add(3 * time.Second), FinishedAt: start.Add(9 * time.Second)},
		{Index: 2, Stage: "test", Name: "bench", State: store.StepPassed, Attempts: 1,
			Verdicts: []gate.Verdict{{Metric: "p99_ms", Bound: "max_increase 100%", Baseline: &base, Current: &cur, Change: "80.0%, worse", Pass: true}}},
	}))
	f.failed = &store.Run{Project: "web", Branch: "main", Commit: "fedcba9876543210", Trigger: "poll", State: store.RunFailed,
		FailedStep: "test/unit", Reason: "step test/unit failed: exit status 1", CreatedAt: start.Add(time.Minute)}
	must(s.CreateRun(ctx, f.failed))
	arts := &artifact.Store{Dir: filepath.Join(f.data, "blobs")}
	digest, size, err := arts.Put(strings.NewReader("#!/bin/sh\n"))
	must(err)
	bundle, err := arts.PutBundle([]store.Artifact{{Path: "app", Digest: digest, Size: size, Mode: 0o755}}, []byte(seedPipeline))
	must(err)
	set, err := flags.Parse(".ferry/flags.yaml", []byte("flags:\n  new-checkout:\n    variants: {on: true, off: false}\n    default: off\n"))
	must(err)
	flagsJSON, err := json.Marshal(set)
	must(err)
	old := &store.Release{Project: "web", RunID: f.run.ID, Branch: "main", Commit: "aaaaaaaaaaaa", Message: "first", Author: "Ada",
		Bundle: bundle, Pipeline: seedPipeline}
	old.Flags = string(flagsJSON)
	must(s.CreateRelease(ctx, old))
	must(s.SetFlagOverride(ctx, &store.FlagOverride{Project: "web", Env: "production", Flag: "new-checkout", Variant: "on", Actor: "alice"}))
	rel := &store.Release{Project: "web", RunID: f.run.ID, Branch: "main", Commit: f.run.Commit, Message: "Add the checkout page\n\nlong text",
		Author: "Ada", Bundle: bundle, Pipeline: seedPipeline}
	must(s.CreateRelease(ctx, rel))
	must(s.PutEnvironment(ctx, &store.Environment{Project: "web", Name: "production", LiveReleaseID: old.ID}))
	f.ro = &store.Rollout{Project: "web", Env: "production", ReleaseID: rel.ID, FromReleaseID: old.ID, Strategy: "canary",
		State: store.RolloutProgressing, Step: 1, Steps: 3, Weight: 10, Reason: "step 1: 10% on release " + fmt.Sprint(rel.ID),
		Analysis:  []byte(`{"verdict":"fail","at":"2026-11-22T10:00:00Z","results":[{"check":"error_rate max 1%","verdict":"fail","value":"4.1%","bound":"max 1%","reason":"error_rate 4.1% > max 1%"}]}`),
		StepSince: start, CreatedAt: start, UpdatedAt: start}
	must(s.CreateRollout(ctx, f.ro))
	must(s.UpdateRollout(ctx, f.ro, store.RolloutEvent{State: store.RolloutProgressing, Step: 1, Weight: 10, Time: start.Add(time.Second)}))
	for i := range 5 {
		at := start.Add(time.Duration(i+1) * 5 * time.Second)
		must(s.AddRolloutSamples(ctx, f.ro.ID, []store.RolloutSample{
			{Time: at, Role: "canary", Requests: 100, Errors: int64(i), P99: 0.120, Span: 5 * time.Second},
			{Time: at, Role: "stable", Requests: 900, Errors: 0, P99: 0.040, Span: 5 * time.Second},
		}))
	}
	must(s.AddAudit(ctx, &store.AuditEntry{Time: start, Actor: "alice", Action: "secret.set", Project: "web", Target: "API_KEY"}))
	must(os.WriteFile(filepath.Join(f.data, "logs", fmt.Sprintf("%d.log", f.run.ID)), []byte(
		start.Format(time.RFC3339Nano)+"\tbuild/compile\tcompiling <main>\n"+
			start.Format(time.RFC3339Nano)+"\ttest/unit\tok  web 0.2s\n"+
			start.Format(time.RFC3339Nano)+"\ttest/unit\tPASS\n"), 0o600))
}

// seedPipeline is the pipeline file of the seeded releases: production is a canary held to an error rate.
var seedPipeline = fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - {name: compile, run: "true"}
environments:
  - name: production
    production: true
    service: {run: "./app", listen: "%s"}
    strategy:
      canary:
        steps: [{weight: 10, pause: 1m}, {weight: 50, pause: 1m}]
    analysis:
      interval: 5s
      checks:
        - {metric: error_rate, max: 1%%}
        - {metric: latency_p99, max: 300ms}
`, freeAddr())

// browser is an HTTP client with a cookie jar that does not follow redirects.
func (f *fixture) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// signin signs c in with token and fails the test if that does not work.
func (f *fixture) signin(c *http.Client, token string) {
	f.t.Helper()
	res, err := c.PostForm(f.url+"/ui/signin", url.Values{"token": {token}, "next": {"/ui/"}})
	if err != nil {
		f.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign in: %s, want 303", res.Status)
	}
}

func (f *fixture) get(c *http.Client, path string, want int) string {
	f.t.Helper()
	res, err := c.Get(f.url + path)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		f.t.Fatalf("GET %s: %s, want %d\n%s", path, res.Status, want, b)
	}
	return string(b)
}

func contains(t *testing.T, page, what string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(page, w) {
			t.Errorf("%s does not show %q", what, w)
		}
	}
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	c := f.browser()

	res, err := c.Get(f.url + "/ui/projects/web")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || loc != "/ui/signin?next=%2Fui%2Fprojects%2Fweb" {
		t.Fatalf("signed out: %s to %q, want 303 to the sign-in page", res.Status, loc)
	}
	if res, _ := c.Get(f.url + "/"); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/ui/" {
		t.Errorf("GET /: %s to %q, want 302 to /ui/", res.Status, res.Header.Get("Location"))
	}

	res, err = c.PostForm(f.url+"/ui/signin", url.Values{"token": {"not-a-token"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), "not valid") {
		t.Errorf("bad token: %s, want 401 saying the token is not valid", res.Status)
	}
	if len(c.Jar.Cookies(mustURL(t, f.url+"/ui/"))) != 0 {
		t.Errorf("a bad token set a cookie")
	}

	// A good token sets an HttpOnly, SameSite=Strict cookie and goes back where the browser was; a next that
	// leaves the dashboard goes to /ui/ instead.
	for next, want := range map[string]string{"/ui/projects/web": "/ui/projects/web", "//evil.example/": "/ui/", "https://evil.example/ui/": "/ui/"} {
		res, err = f.browser().PostForm(f.url+"/ui/signin", url.Values{"token": {f.admin}, "next": {next}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != want {
			t.Errorf("sign in with next %q: %s to %q, want 303 to %q", next, res.Status, res.Header.Get("Location"), want)
		}
		ck := res.Header.Get("Set-Cookie")
		for _, attr := range []string{"HttpOnly", "SameSite=Strict", "Path=/ui/"} {
			if !strings.Contains(ck, attr) {
				t.Errorf("session cookie %q lacks %s", ck, attr)
			}
		}
	}

	f.signin(c, f.admin)
	page := f.get(c, "/ui/", http.StatusOK)
	contains(t, page, "projects page", "web", "production")
	res, err = c.PostForm(f.url+"/ui/signout", url.Values{"csrf": {between(page, `name="csrf" value="`, `"`)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res, _ := c.Get(f.url + "/ui/"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign out: %s, want 303 to sign in", res.Status)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestPagesShowTheHistory(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.signin(c, f.admin)

	contains(t, f.get(c, "/ui/", http.StatusOK), "projects page",
		`href="/ui/projects/web"`, "#"+fmt.Sprint(f.failed.ID), "s-failed", "fedcba9876", "production", "v1", "canary 10%")
	contains(t, f.get(c, "/ui/projects/web", http.StatusOK), "project page",
		"Add the checkout page", "at test/unit", "42.0s", "#"+fmt.Sprint(f.ro.ID), "step 1: 10% on release", "<svg")

	run := f.get(c, fmt.Sprintf("/ui/runs/%d", f.run.ID), http.StatusOK)
	contains(t, run, "run page", "build", "compile", "unit", "2 attempts", "bench", "p99_ms", "max_increase 100%",
		"80.0%, worse", fmt.Sprintf(`data-events="/ui/runs/%d/events"`, f.run.ID))
	if strings.Index(run, ">build<") > strings.Index(run, ">test<") {
		t.Errorf("run page shows stage test before build")
	}
	contains(t, f.get(c, fmt.Sprintf("/ui/runs/%d", f.failed.ID), http.StatusOK), "failed run page",
		"step test/unit failed: exit status 1")

	env := f.get(c, "/ui/projects/web/environments/production", http.StatusOK)
	contains(t, env, "environment page", "Rollout #"+fmt.Sprint(f.ro.ID), "v1 → v2", ">10%<", "error_rate max 1%", "4.1%",
		"error_rate 4.1% &gt; max 1%", "canary", "stable", `action="/ui/projects/web/environments/production/abort"`,
		`data-confirm="Abort the rollout in web/production`, "<svg", "Feature flags", "new-checkout", "override on", "drift",
		"Application output", `href="/ui/projects/web/environments/production/logs"`, "release v1 has no instance logs in web/production")
	contains(t, f.get(c, "/ui/projects/web/environments/production/logs", http.StatusOK), "environment output page",
		"Output of web/production", "ferry logs --env web/production --follow", `data-refresh="2"`)
	contains(t, f.get(c, "/ui/projects/web/dora", http.StatusOK), "DORA page",
		"Deployment frequency", "Lead time for changes", "Change failure rate", "Failed deployment recovery time", "Deployment rework rate")
	contains(t, f.get(c, "/ui/audit?project=web", http.StatusOK), "audit page", "alice", "secret.set", "API_KEY")

	f.get(c, "/ui/runs/9999", http.StatusNotFound)
	f.get(c, "/ui/projects/nope", http.StatusNotFound)
	f.get(c, "/ui/projects/web/environments/nope", http.StatusNotFound)
	f.get(c, "/ui/projects/web/dora?window=forever", http.StatusBadRequest)
	req, _ := http.NewRequest(http.MethodGet, f.url+"/api/v1/projects/web/dora?end=yesterday", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != http.StatusBadRequest {
		t.Errorf("DORA with a bad end: %v %v, want 400", res.Status, err)
	}
}

func TestActionsConfirmAndCheckCSRF(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.signin(c, f.admin)
	page := f.get(c, "/ui/projects/web/environments/production", http.StatusOK)
	csrf := between(page, `name="csrf" value="`, `"`)
	if csrf == "" {
		t.Fatal("environment page has no CSRF field")
	}
	post := func(form url.Values) (*http.Response, string) {
		return postAction(t, f, c, "pause", form)
	}
	state := func() store.RolloutState {
		ro, err := f.store.GetRollout(context.Background(), f.ro.ID)
		if err != nil {
			t.Fatal(err)
		}
		return ro.State
	}

	if res, _ := post(url.Values{"confirm": {"yes"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("pause without CSRF: %s, want 403", res.Status)
	}
	if res, _ := post(url.Values{"confirm": {"yes"}, "csrf": {csrf + "0"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("pause with a wrong CSRF: %s, want 403", res.Status)
	}
	res, body := post(url.Values{"csrf": {csrf}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Pause the rollout in web/production") || !strings.Contains(body, `name="confirm" value="yes"`) {
		t.Errorf("pause without confirming: %s, want the question as a page", res.Status)
	}
	if s := state(); s != store.RolloutProgressing {
		t.Fatalf("rollout %s before the human confirmed", s)
	}
	res, body = post(url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/ui/projects/web/environments/production?done=pause" {
		t.Errorf("confirmed pause: %s to %q\n%s", res.Status, res.Header.Get("Location"), body)
	}
	if s := state(); s != store.RolloutPaused {
		t.Errorf("rollout %s after a confirmed pause, want paused", s)
	}
	entries, err := f.store.ListAudit(context.Background(), "web", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 || entries[0].Action != "pause" || entries[0].Actor != "admin" {
		t.Errorf("audit after the pause: %+v, want pause by admin first", entries)
	}
	// The API's own refusal comes through with its status and reason.
	if res, _ := postAction(t, f, c, "resume", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("resume: %s, want 303", res.Status)
	}
	res, body = postAction(t, f, c, "resume", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if res.StatusCode != http.StatusConflict || !strings.Contains(body, "not paused") {
		t.Errorf("resuming a rollout that is not paused: %s, want 409 with the API's reason\n%s", res.Status, body)
	}
}

func TestFlagKillSwitch(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.signin(c, f.admin)
	page := f.get(c, "/ui/projects/web/environments/production", http.StatusOK)
	contains(t, page, "environment page", `action="/ui/projects/web/environments/production/flags/new-checkout/override"`,
		`<option>on</option><option>off</option>`, `data-op="clear"`)
	csrf := between(page, `<meta name="csrf" content="`, `"`)
	post := func(op string, form url.Values) (*http.Response, string) {
		res, err := c.PostForm(f.url+"/ui/projects/web/environments/production/flags/new-checkout/"+op, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	overrides := func() []store.FlagOverride {
		os, err := f.store.FlagOverrides(context.Background(), "web", "production")
		if err != nil {
			t.Fatal(err)
		}
		return os
	}

	// Asked first, with the variant carried through the question.
	res, body := post("override", url.Values{"csrf": {csrf}, "variant": {"off"}})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Force flag new-checkout to off for everyone in web/production") ||
		!strings.Contains(body, `name="variant" value="off"`) {
		t.Fatalf("override without confirming: %s\n%s", res.Status, body)
	}
	if os := overrides(); len(os) != 1 || os[0].Variant != "on" {
		t.Fatalf("overrides before the human confirmed: %+v", os)
	}
	if res, _ := post("override", url.Values{"csrf": {csrf}, "variant": {"off"}, "confirm": {"yes"}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("confirmed override: %s", res.Status)
	}
	if os := overrides(); len(os) != 1 || os[0].Variant != "off" || os[0].Actor != "admin" {
		t.Errorf("overrides after the kill switch: %+v, want off by admin", os)
	}
	// The API's refusal of a variant the flag does not have comes through.
	if res, body := post("override", url.Values{"csrf": {csrf}, "variant": {"maybe"}, "confirm": {"yes"}}); res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "no variant") {
		t.Errorf("override to no variant: %s\n%s", res.Status, body)
	}
	if res, _ := post("override", url.Values{"variant": {"off"}, "confirm": {"yes"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("override without CSRF: %s, want 403", res.Status)
	}
	if res, _ := post("clear", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("clear: %s", res.Status)
	}
	if os := overrides(); len(os) != 0 {
		t.Errorf("overrides after clear: %+v", os)
	}
}

func TestReadOnlyTokenSeesEverythingAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	req, _ := http.NewRequest(http.MethodPost, f.url+"/api/v1/tokens", strings.NewReader(`{"name":"viewer","role":"read"}`))
	req.Header.Set("Authorization", "Bearer "+f.admin)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created api.TokenCreated
	json.NewDecoder(res.Body).Decode(&created)
	res.Body.Close()

	c := f.browser()
	f.signin(c, created.Token)
	page := f.get(c, "/ui/projects/web/environments/production", http.StatusOK)
	contains(t, page, "environment page for a read-only token", "read-only", "Rollout #", "error_rate max 1%")
	if strings.Contains(page, "data-confirm") {
		t.Errorf("a read-only token is offered actions")
	}
	csrf := between(page, `<meta name="csrf" content="`, `"`)
	if csrf == "" {
		t.Fatal("no CSRF value on the page")
	}
	// Without the CSRF value the dashboard refuses before asking the API.
	res, err = c.PostForm(f.url+"/ui/projects/web/environments/production/abort", url.Values{"confirm": {"yes"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("abort without CSRF: %s, want 403", res.Status)
	}
	res, err = c.PostForm(f.url+"/ui/projects/web/environments/production/abort", url.Values{"confirm": {"yes"}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusForbidden || !strings.Contains(string(b), "read-only") {
		t.Errorf("abort with a read-only token: %s, want 403 from the API saying read-only\n%s", res.Status, b)
	}
	ro, _ := f.store.GetRollout(context.Background(), f.ro.ID)
	if ro.State != store.RolloutProgressing {
		t.Errorf("rollout %s after a read-only abort, want progressing", ro.State)
	}
}

// postAction posts a form to an environment action of the seeded production environment.
func postAction(t *testing.T, f *fixture, c *http.Client, action string, form url.Values) (*http.Response, string) {
	t.Helper()
	res, err := c.PostForm(f.url+"/ui/projects/web/environments/production/"+action, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func between(s, from, to string) string {
	_, rest, ok := strings.Cut(s, from)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, to)
	return v
}

func TestRunEventsStreamTheLog(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.signin(c, f.admin)
	read := func(lastID string) []string {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/ui/runs/%d/events", f.url, f.run.ID), nil)
		if lastID != "" {
			req.Header.Set("Last-Event-ID", lastID)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("events content type %q", ct)
		}
		var events []string
		sc := bufio.NewScanner(res.Body)
		var ev, data string
		for sc.Scan() {
			switch line := sc.Text(); {
			case strings.HasPrefix(line, "event: "):
				ev = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				data = strings.TrimPrefix(line, "data: ")
			case line == "" && ev != "":
				if ev == "line" {
					var ln api.LogLine
					if err := json.Unmarshal([]byte(data), &ln); err != nil {
						t.Fatalf("line event %q: %v", data, err)
					}
					events = append(events, ln.Step+" "+ln.Text)
				} else {
					events = append(events, ev)
				}
				ev = ""
			}
		}
		return events
	}
	got := strings.Join(read(""), "|")
	if want := "build/compile compiling <main>|test/unit ok  web 0.2s|test/unit PASS|end"; got != want {
		t.Errorf("events:\n%s\nwant\n%s", got, want)
	}
	if got, want := strings.Join(read("2"), "|"), "test/unit PASS|end"; got != want {
		t.Errorf("events after Last-Event-ID 2: %s, want %s", got, want)
	}
	// A run that does not exist: the API's refusal, then the end, so the browser does not come back for more.
	f.run.ID = 9999
	if got, want := strings.Join(read(""), "|"), "failed|end"; got != want {
		t.Errorf("events of a missing run: %s, want %s", got, want)
	}
}

// TestRunPageCollapsesLongArtifactLists: a step that kept a node_modules folder lists its files collapsed,
// at most artifactsShown of them, with the size and a count of the rest; a short list stays inline.
func TestRunPageCollapsesLongArtifactLists(t *testing.T) {
	f := newFixture(t)
	c := f.browser()
	f.signin(c, f.admin)
	ctx := context.Background()
	run := &store.Run{Project: "web", Branch: "main", Commit: "abcdefabcdef", Trigger: "manual", State: store.RunPassed}
	if err := f.store.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	many := []store.Artifact{{Path: "node_modules/.bin/ejs", Link: "../ejs/bin/cli.js"}} // sorted, as collected
	for i := range 250 {
		many = append(many, store.Artifact{Path: fmt.Sprintf("node_modules/pkg%03d/index.js", i), Digest: "sha256:00", Size: 1000})
	}
	if err := f.store.PutSteps(ctx, run.ID, []*store.Step{
		{Stage: "build", Name: "install", State: store.StepPassed, Attempts: 1, Artifacts: many},
		{Index: 1, Stage: "build", Name: "compile", State: store.StepPassed, Attempts: 1,
			Artifacts: []store.Artifact{{Path: "dist/app", Digest: "sha256:01", Size: 8400000}}},
	}); err != nil {
		t.Fatal(err)
	}
	page := f.get(c, fmt.Sprintf("/ui/runs/%d", run.ID), http.StatusOK)
	contains(t, page, "run page", `<details class="artifacts">`, "251 artifacts, 250.0 KB", "node_modules/.bin/ejs</code> → <code>../ejs/bin/cli.js",
		"… and 51 more", "Artifacts: <code>dist/app</code> (8400000 B)")
	if strings.Contains(page, "pkg249") {
		t.Error("the run page writes out more than the first artifacts of a long list")
	}
	if strings.Index(page, `id="log"`) > 40000 {
		t.Errorf("the log starts %d bytes into the page", strings.Index(page, `id="log"`))
	}
}
