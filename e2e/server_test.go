package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAPIRequiresToken(t *testing.T) {
	f := startFerry(t)
	for _, tc := range []struct {
		path, auth string
		want       int
	}{
		{"/healthz", "", 200},
		{"/api/v1/projects", "", 401},
		{"/api/v1/projects", "Bearer wrong", 401},
		{"/api/v1/runs/1", "", 401},
		{"/api/v1/projects", "Bearer " + f.token, 200},
	} {
		req, _ := http.NewRequest("GET", f.url(tc.path), nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET %s (%q) = %d %s, want %d", tc.path, tc.auth, resp.StatusCode, body, tc.want)
		}
	}
	// Bad input gets a 4xx with a reason and changes nothing.
	code := f.api("POST", "/api/v1/projects", map[string]any{"name": "Bad Name", "repo": "x"}, nil)
	if code != 400 {
		t.Errorf("bad project name: HTTP %d", code)
	}
	_, errOut, exit := f.cli("", "project", "add", "ok", "--repo", "/tmp/x", "--branch", "--upload-pack=touch /tmp/pwned")
	if exit == 0 || !strings.Contains(errOut, "invalid branch name") {
		t.Errorf("option-like branch accepted: exit %d %s", exit, errOut)
	}
	if out := f.mustCLI("project", "list", "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("projects after bad input: %s", out)
	}
	// The token is stored only as a hash.
	db, _ := os.ReadFile(filepath.Join(f.data, "ferry.db"))
	if bytes.Contains(db, []byte(f.token)) {
		t.Error("the admin token is stored in clear in the database")
	}
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

func TestWebhooks(t *testing.T) {
	repo := newRemote(t)
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0", "--webhook-secret", "s3cret")
	post := func(headers map[string]string, body []byte) int {
		req, _ := http.NewRequest("POST", f.url("/api/v1/projects/app/webhook"), bytes.NewReader(body))
		for k, v := range headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	payload := func(ref, sha string) []byte {
		return []byte(fmt.Sprintf(`{"ref":%q,"before":"0000000000000000000000000000000000000000","after":%q,"checkout_sha":%q}`, ref, sha, sha))
	}
	runCount := func() int { return len(f.runs("app")) }

	c1 := repo.commit("main", "one", map[string]string{".ferry.yaml": passingPipeline})
	body := payload("refs/heads/main", c1)
	for name, h := range map[string]map[string]string{
		"missing signature":  {"X-GitHub-Event": "push"},
		"wrong signature":    {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("wrong", body)},
		"gitlab wrong token": {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "nope"},
		"gitea wrong":        {"X-Gitea-Event": "push", "X-Gitea-Signature": sign("nope", body)},
	} {
		if code := post(h, body); code != 401 {
			t.Errorf("%s: HTTP %d, want 401", name, code)
		}
	}
	if n := runCount(); n != 0 {
		t.Fatalf("%d runs after refused webhooks", n)
	}

	// A push to another branch is accepted and ignored.
	other := repo.commit("feature", "feature work", map[string]string{"f": "1"})
	ob := payload("refs/heads/feature", other)
	if code := post(map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("s3cret", ob)}, ob); code != 202 {
		t.Errorf("push to another branch: HTTP %d, want 202", code)
	}
	if n := runCount(); n != 0 {
		t.Fatalf("a push to another branch started %d runs", n)
	}

	// A good GitHub push starts a run of exactly that commit.
	start := time.Now()
	if code := post(map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("s3cret", body)}, body); code != 202 {
		t.Fatalf("good github webhook: HTTP %d", code)
	}
	waitFor(t, 10*time.Second, "the webhook's run", func() bool { return runCount() == 1 })
	r := f.runs("app")[0]
	if r.Commit != c1 || r.Trigger != "webhook" {
		t.Errorf("run %+v", r)
	}
	t.Logf("webhook to queued run: %s", time.Since(start))
	f.waitRun(r.ID)
	// The same delivery again starts nothing.
	post(map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("s3cret", body)}, body)

	c2 := repo.commit("main", "two", map[string]string{"a": "2"})
	if code := post(map[string]string{"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": "s3cret"}, payload("refs/heads/main", c2)); code != 202 {
		t.Fatalf("good gitlab webhook: HTTP %d", code)
	}
	c3 := repo.commit("main", "three", map[string]string{"a": "3"})
	b3 := payload("refs/heads/main", c3)
	if code := post(map[string]string{"X-Gitea-Event": "push", "X-Gitea-Signature": sign("s3cret", b3)}, b3); code != 202 {
		t.Fatalf("good gitea webhook: HTTP %d", code)
	}
	waitFor(t, 10*time.Second, "runs of the gitlab and gitea pushes", func() bool { return runCount() == 3 })
	got := map[string]bool{}
	for _, r := range f.runs("app") {
		got[r.Commit] = true
	}
	if !got[c2] || !got[c3] {
		t.Errorf("runs %v lack %s or %s", got, c2, c3)
	}
	if code := post(map[string]string{"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + sign("s3cret", []byte("{"))}, []byte("{")); code != 400 {
		t.Errorf("malformed signed payload: HTTP %d, want 400", code)
	}

	// Every delivery is counted by outcome in /metrics, and so are the runs and their steps.
	for _, r := range f.runs("app") {
		f.waitRun(r.ID)
	}
	req, _ := http.NewRequest("GET", f.url("/metrics"), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`ferry_webhook_deliveries_total{outcome="refused",project="app"} 4`,
		`ferry_webhook_deliveries_total{outcome="queued",project="app"} 3`,
		`ferry_webhook_deliveries_total{outcome="ignored",project="app"} 2`,
		`ferry_webhook_deliveries_total{outcome="bad",project="app"} 1`,
		`ferry_runs_total{project="app",state="passed"} 3`,
		`ferry_step_duration_seconds_count{project="app",stage="test",state="passed"} 6`,
		`ferry_stage_duration_seconds_count{project="app",stage="test"} 3`,
	} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestSecretsAreMaskedInLogs(t *testing.T) {
	repo := newRemote(t)
	const secret = "hunter2-very-secret-value"
	repo.commit("main", "secrets", map[string]string{".ferry.yaml": `version: 1
stages:
  - name: test
    steps:
      - name: leak
        secrets: [API_KEY]
        run: |
          echo "plain: $API_KEY"
          # The value split across two writes, with a pause between them.
          printf 'split: %s' "$(printf %s "$API_KEY" | cut -c1-8)"
          sleep 0.3
          printf '%s end\n' "$(printf %s "$API_KEY" | cut -c9-)"
          test "$(printf %s "$API_KEY" | wc -c)" -eq 25
      - name: nosecret
        run: test -z "$API_KEY"
`})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")
	if _, errOut, code := f.cli(secret+"\n", "secret", "set", "app", "API_KEY"); code != 0 {
		t.Fatalf("secret set: %s", errOut)
	}
	if out := f.mustCLI("secret", "list", "app"); !strings.Contains(out, "API_KEY") || strings.Contains(out, secret) {
		t.Errorf("secret list:\n%s", out)
	}
	r := f.waitRun(f.trigger("app"))
	if r.State != "passed" {
		t.Fatalf("run %s: %s", r.State, r.Reason)
	}
	logs := f.mustCLI("logs", fmt.Sprint(r.ID))
	if strings.Contains(logs, "hunter2") || !strings.Contains(logs, "plain: ***") || !strings.Contains(logs, "split: *** end") {
		t.Errorf("logs not masked:\n%s", logs)
	}
	for _, dir := range []string{"logs", "."} {
		entries, _ := os.ReadDir(filepath.Join(f.data, dir))
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			data, _ := os.ReadFile(filepath.Join(f.data, dir, e.Name()))
			if bytes.Contains(data, []byte(secret)) {
				t.Errorf("%s/%s holds the secret in clear", dir, e.Name())
			}
		}
	}
	f.mustCLI("secret", "rm", "app", "API_KEY")
	r2 := f.waitRun(f.trigger("app"))
	if r2.State != "failed" || !strings.Contains(r2.step("test/leak").Reason, "secret API_KEY is not set") {
		t.Errorf("run without the secret: %s %q", r2.State, r2.step("test/leak").Reason)
	}
}

func TestGatesAgainstBaseline(t *testing.T) {
	repo := newRemote(t)
	pipelineWith := func(latency string) map[string]string {
		return map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: benchmark
    steps:
      - name: latency
        run: echo '{"metrics":[{"name":"latency_p95_ms","value":%s,"unit":"ms","direction":"lower_is_better"}]}' > "$FERRY_METRICS"
        gates:
          - metric: latency_p95_ms
            max: 100
            max_increase: 10%%
  - name: evaluate
    steps:
      - name: eval
        run: |
          echo '{"pass_rate": 0.96}' > "$FERRY_METRICS"
        gates:
          - {metric: pass_rate, min: 0.9}
          - {metric: hallucination_rate, max: 0.05}
`, latency)}
	}
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0")

	repo.commit("main", "baseline", pipelineWith("40"))
	r1 := f.waitRun(f.trigger("app"))
	// The eval gate names a metric the step never wrote: it fails with that reason.
	if r1.State != "failed" || !strings.Contains(r1.step("evaluate/eval").Reason, "hallucination_rate") ||
		!strings.Contains(r1.step("evaluate/eval").Reason, "metric missing") {
		t.Fatalf("run 1: %s, eval %q", r1.State, r1.step("evaluate/eval").Reason)
	}
	if v := r1.step("benchmark/latency").Verdicts; len(v) != 2 || !v[1].Pass || v[1].Reason != "no baseline" {
		t.Errorf("first verdicts %+v", v)
	}

	fix := func(m map[string]string) map[string]string {
		m[".ferry.yaml"] = strings.Replace(m[".ferry.yaml"], `"pass_rate": 0.96`, `"pass_rate": 0.96, "hallucination_rate": 0.01`, 1)
		return m
	}
	repo.commit("main", "baseline fixed", fix(pipelineWith("40")))
	if r := f.waitRun(f.trigger("app")); r.State != "passed" {
		t.Fatalf("run 2: %s %s", r.State, r.Reason)
	}
	repo.commit("main", "a bit slower", fix(pipelineWith("43")))
	r3 := f.waitRun(f.trigger("app"))
	if r3.State != "passed" {
		t.Fatalf("run 3 (+7.5%%): %s %s", r3.State, r3.Reason)
	}
	if v := r3.step("benchmark/latency").Verdicts[1]; v.Baseline == nil || *v.Baseline != 40 || *v.Current != 43 {
		t.Errorf("run 3 verdict %+v", v)
	}
	repo.commit("main", "much slower", fix(pipelineWith("50")))
	r4 := f.waitRun(f.trigger("app"))
	if r4.State != "failed" || r4.FailedStep != "benchmark/latency" || !strings.Contains(r4.Reason, "max_increase 10%") {
		t.Fatalf("run 4 (+16%% over 43): %s %q", r4.State, r4.Reason)
	}
	show := f.mustCLI("run", "show", fmt.Sprint(r4.ID))
	for _, want := range []string{"METRIC", "BASELINE", "latency_p95_ms", "43", "50", "FAIL"} {
		if !strings.Contains(show, want) {
			t.Errorf("run show lacks %q:\n%s", want, show)
		}
	}
}

func TestKillNineMidRunAndRestart(t *testing.T) {
	repo := newRemote(t)
	// A folder shared with the step (--sandbox-bind): the retry finds the first attempt's mark there.
	dir := t.TempDir()
	repo.commit("main", "long", map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - {name: compile, run: echo compiled-before-the-crash}
  - name: test
    steps:
      - name: long
        run: |
          if [ -e %[1]s/once ]; then echo "the retry passes"; exit 0; fi
          touch %[1]s/once
          echo "long step started"
          sleep 3031 &
          wait
`, dir)})
	f := startFerry(t, "--sandbox-bind", dir)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	waitFor(t, 30*time.Second, "the long step", func() bool { return liveProcesses("sleep 3031") > 0 })
	waitFor(t, 10*time.Second, "the step's log line", func() bool {
		out, _, _ := f.cli("", "logs", fmt.Sprint(id))
		return strings.Contains(out, "long step started")
	})

	f.kill9()
	f.start()

	r := f.getRun(id)
	if r.State != "error" || r.Reason != "interrupted by server restart" {
		t.Fatalf("run after restart: %s %q", r.State, r.Reason)
	}
	if s := r.step("build/compile"); s.State != "passed" {
		t.Errorf("finished step lost: %+v", s)
	}
	if s := r.step("test/long"); s.State != "error" {
		t.Errorf("interrupted step: %+v", s)
	}
	waitFor(t, 5*time.Second, "the interrupted step's processes to be gone", func() bool { return liveProcesses("sleep 3031") == 0 })
	logs := f.mustCLI("logs", fmt.Sprint(id))
	if !strings.Contains(logs, "compiled-before-the-crash") || !strings.Contains(logs, "long step started") {
		t.Errorf("log lines lost:\n%s", logs)
	}
	// The interrupted commit is built again, once, by a run that names the one it retries.
	retry := f.waitRun(id + 1)
	if retry.Commit != r.Commit || retry.Trigger != fmt.Sprintf("retry of run %d after restart", id) || retry.State != "passed" {
		t.Errorf("retry = %+v, want a passed run of %.7s triggered as a retry of run %d", retry, r.Commit, id)
	}
	// The restarted server runs new work as usual.
	repo.commit("main", "quick", map[string]string{".ferry.yaml": passingPipeline})
	if r := f.waitRun(f.trigger("app")); r.State != "passed" {
		t.Errorf("run after restart: %s %s", r.State, r.Reason)
	}
}

func TestLogsFollowStreamsLive(t *testing.T) {
	repo := newRemote(t)
	dir := t.TempDir()
	repo.commit("main", "slow printer", map[string]string{".ferry.yaml": fmt.Sprintf(`version: 1
stages:
  - name: test
    steps:
      - name: printer
        run: |
          echo first-line
          i=0; while [ ! -f %s/go ]; do i=$((i+1)); [ $i -lt 600 ] || exit 1; sleep 0.05; done
          echo second-line
`, dir)})
	f := startFerry(t, "--sandbox-bind", dir)
	f.addProject("app", repo.URL, "--poll", "0")
	id := f.trigger("app")
	req, _ := http.NewRequest("GET", f.url(fmt.Sprintf("/api/v1/runs/%d/logs?follow=1", id)), nil)
	req.Header.Set("Authorization", "Bearer "+f.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		buf := make([]byte, 64<<10)
		var acc string
		for {
			n, err := resp.Body.Read(buf)
			acc += string(buf[:n])
			for {
				i := strings.IndexByte(acc, '\n')
				if i < 0 {
					break
				}
				lines <- acc[:i]
				acc = acc[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	// first-line arrives while the step is still running: the stream is live, not replayed at the end.
	for got := false; !got; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("stream ended before first-line")
			}
			got = strings.Contains(l, "first-line")
		case <-time.After(30 * time.Second):
			t.Fatal("first-line not streamed")
		}
	}
	if st := f.getRun(id).State; st != "running" {
		t.Fatalf("run is %s while its log streams", st)
	}
	os.WriteFile(filepath.Join(dir, "go"), nil, 0o644)
	var rest []string
	for l := range lines {
		rest = append(rest, l)
	}
	if !strings.Contains(strings.Join(rest, "\n"), "second-line") {
		t.Errorf("follow ended without second-line: %v", rest)
	}
	if st := f.getRun(id).State; st != "passed" {
		t.Errorf("run %s after the stream ended", st)
	}
}

func TestReadOnlyTokensAndAudit(t *testing.T) {
	f := startFerry(t)
	out := f.mustCLI("token", "create", "viewer", "--read-only", "--json")
	var tc struct{ Token, Role string }
	if err := json.Unmarshal([]byte(out), &tc); err != nil || tc.Role != "read" || !strings.HasPrefix(tc.Token, "ferry_") {
		t.Fatalf("token create: %s %v", out, err)
	}
	f.mustCLI("project", "add", "app", "--repo", "/tmp/nowhere", "--poll", "0", "--no-check")
	f.cli("value\n", "secret", "set", "app", "API_KEY")

	viewer := *f
	viewer.token = tc.Token
	if out := viewer.mustCLI("project", "list"); !strings.Contains(out, "app") {
		t.Errorf("a read token cannot read: %s", out)
	}
	_, errOut, code := viewer.cli("", "project", "add", "evil", "--repo", "/tmp/x")
	if code == 0 || !strings.Contains(errOut, "read-only") || !strings.Contains(errOut, "403") {
		t.Errorf("a read token added a project: exit %d %s", code, errOut)
	}
	if _, _, code := viewer.cli("x\n", "secret", "set", "app", "OTHER"); code == 0 {
		t.Error("a read token set a secret")
	}

	var entries []struct{ Actor, Action, Project, Target, Detail string }
	json.Unmarshal([]byte(f.mustCLI("audit", "--json")), &entries)
	got := []string{}
	for _, e := range entries {
		got = append(got, e.Actor+" "+e.Action+" "+e.Project+" "+e.Target)
	}
	want := []string{"admin secret.set app API_KEY", "admin project.add app /tmp/nowhere", "admin token.create  viewer"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if out := f.mustCLI("audit", "app"); !strings.Contains(out, "secret.set") || strings.Contains(out, "token.create") {
		t.Errorf("audit app:\n%s", out)
	}
}
