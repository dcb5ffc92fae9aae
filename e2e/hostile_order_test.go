package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/demoapp"
)

// orderPipeline ships a prebuilt app (bin/app, committed) that answers with the commit it was built from.
const orderPipeline = `version: 1
stages:
  - name: build
    steps:
      - name: package
        run: |
          mkdir -p dist
          cp bin/app dist/app
          echo "$FERRY_COMMIT" > dist/version.txt
        artifacts: [dist]
environments:
  - name: production
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 1, health: {path: /healthz, interval: 100ms}}
    strategy: direct
`

// buildApp compiles the sample service (internal/demoapp) once for a test; the repository commits the binary,
// so runs only copy it.
func buildApp(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range demoapp.App("", "ok") {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	cmd := exec.Command("go", "build", "-o", "app.bin", "./app")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build app: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "app.bin"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// hook is a signed GitHub push delivery to a project's webhook.
type hook struct {
	f        *ferry
	project  string
	secret   string
	delivery string // X-GitHub-Delivery; "" sends none
	commit   string
}

// send posts the delivery and returns the status and the answer's body.
func (h hook) send(t *testing.T) (int, string) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","before":"%040d","after":%q}`, 0, h.commit))
	req, _ := http.NewRequest("POST", h.f.url("/api/v1/projects/"+h.project+"/webhook"), bytes.NewReader(body))
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-Hub-Signature-256", "sha256="+sign(h.secret, body))
	if h.delivery != "" {
		req.Header.Set("X-GitHub-Delivery", h.delivery)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// liveCommit is the commit of the release live in the project's production ("" for none).
func (f *ferry) liveCommit(project string) string {
	f.t.Helper()
	id := f.envStatus(project, "production").LiveReleaseID
	if id == 0 {
		return ""
	}
	var rel struct {
		Release struct {
			Commit string `json:"commit"`
		} `json:"release"`
	}
	if code := f.api("GET", fmt.Sprintf("/api/v1/releases/%d", id), nil, &rel); code != 200 {
		f.t.Fatalf("release %d: HTTP %d", id, code)
	}
	return rel.Release.Commit
}

// settle waits until the project has no run queued or running and no rollout pending or in flight.
func (f *ferry) settle(project string) {
	f.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		busy := false
		for _, r := range f.runs(project) {
			if r.State == "queued" || r.State == "running" {
				busy = true
			}
		}
		for _, ro := range f.rollouts(project) {
			if ro.State == "pending" || ro.State == "progressing" || ro.State == "paused" {
				busy = true
			}
		}
		if !busy {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s did not settle\n%s", project, f.logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (f *ferry) rollouts(project string) []rollout {
	f.t.Helper()
	var rs []rollout
	if code := f.api("GET", "/api/v1/projects/"+project+"/rollouts?limit=1000", nil, &rs); code != 200 {
		f.t.Fatalf("rollouts: HTTP %d", code)
	}
	return rs
}

func TestHostileReplayedWebhookDeploysNothingOlder(t *testing.T) {
	repo := newRemote(t)
	addr := freeAddr(t)
	app := buildApp(t)
	c1 := repo.commit("main", "one", map[string]string{".ferry.yaml": fmt.Sprintf(orderPipeline, addr), "bin/app": app})
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0", "--webhook-secret", "s3cret")
	first := hook{f: f, project: "app", secret: "s3cret", delivery: "delivery-1", commit: c1}
	if code, body := first.send(t); code != 202 || !strings.Contains(body, "queued") {
		t.Fatalf("first push: HTTP %d %s", code, body)
	}
	f.settle("app")
	c2 := repo.commit("main", "two", map[string]string{"two.txt": "2"})
	if code, body := (hook{f: f, project: "app", secret: "s3cret", delivery: "delivery-2", commit: c2}).send(t); code != 202 || !strings.Contains(body, "queued") {
		t.Fatalf("second push: HTTP %d %s", code, body)
	}
	f.settle("app")
	if got := f.liveCommit("app"); got != c2 {
		t.Fatalf("production runs %s, want %s\n%s", got, c2, f.logs)
	}
	runs := len(f.runs("app"))

	// The attacker captured the first delivery and sends it again: as it was, with a fresh id, with none.
	for _, tt := range []struct {
		name string
		h    hook
		code int
		want string
	}{
		{"same delivery again", first, 200, "duplicate delivery delivery-1"},
		{"fresh delivery id", hook{f: f, project: "app", secret: "s3cret", delivery: "delivery-replayed", commit: c1}, 202, "older than the project's head"},
		{"no delivery id", hook{f: f, project: "app", secret: "s3cret", commit: c1}, 202, "older than the project's head"},
	} {
		if code, body := tt.h.send(t); code != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("%s: HTTP %d %s, want %d with %q", tt.name, code, body, tt.code, tt.want)
		}
	}
	if n := len(f.runs("app")); n != runs {
		t.Errorf("replayed deliveries started %d runs", n-runs)
	}

	// Even a run of the old commit (asked for by hand) passes and records its release, but does not deploy.
	old := f.waitRun(f.trigger("app", "--commit", c1))
	if old.State != "passed" || old.ReleaseID == 0 {
		t.Fatalf("run of the old commit: %s %q", old.State, old.Reason)
	}
	f.settle("app")
	var superseded *rollout
	for _, ro := range f.rollouts("app") {
		if ro.ReleaseID == old.ReleaseID {
			superseded = &ro
		}
	}
	if superseded == nil || superseded.State != "superseded" || !strings.Contains(superseded.Reason, c2) {
		t.Errorf("rollout of the old release: %+v, want superseded naming %s", superseded, c2)
	}
	if got := f.liveCommit("app"); got != c2 {
		t.Errorf("production runs %s after the replay, want %s", got, c2)
	}
	if got := versionAt(addr); got != "hello from "+c2 {
		t.Errorf("production answers %q, want hello from %s", got, c2)
	}
}

func TestHostileConcurrentPushesLeaveNewestLive(t *testing.T) {
	repo := newRemote(t)
	addr := freeAddr(t)
	app := buildApp(t)
	// A chain of 100 commits, pushed at once; each gets its own signed delivery.
	repo.commit("main", "commit 1", map[string]string{".ferry.yaml": fmt.Sprintf(orderPipeline, addr), "bin/app": app})
	for i := 2; i <= 100; i++ {
		os.WriteFile(filepath.Join(repo.work, "n.txt"), []byte(fmt.Sprint(i)), 0o644)
		git(t, repo.work, "add", "-A")
		git(t, repo.work, "commit", "--quiet", "-m", fmt.Sprintf("commit %d", i))
	}
	git(t, repo.work, "push", "--quiet", "origin", "HEAD:refs/heads/main")
	chain := strings.Fields(git(t, repo.work, "rev-list", "--reverse", "HEAD"))
	if len(chain) != 100 {
		t.Fatalf("%d commits", len(chain))
	}
	index := map[string]int{}
	for i, c := range chain {
		index[c] = i + 1
	}
	f := startFerry(t)
	f.addProject("app", repo.URL, "--poll", "0", "--webhook-secret", "s3cret")

	// 50 senders deliver the 100 pushes in a shuffled order.
	order := rand.New(rand.NewPCG(9, 100)).Perm(100)
	work := make(chan int)
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				h := hook{f: f, project: "app", secret: "s3cret", delivery: fmt.Sprintf("push-%d", i+1), commit: chain[i]}
				if code, body := h.send(t); code != 202 {
					t.Errorf("push %d: HTTP %d %s", i+1, code, body)
				}
			}
		}()
	}
	for _, i := range order {
		work <- i
	}
	close(work)
	wg.Wait()
	f.settle("app")

	newest := chain[99]
	if got := f.liveCommit("app"); got != newest {
		t.Fatalf("production runs commit #%d, want #100\n%s", index[got], f.logs)
	}
	if got := versionAt(addr); got != "hello from "+newest {
		t.Errorf("production answers %q, want commit #100", got)
	}
	// And it never went back on its way there: each deploy that went live is newer than the one before.
	rs := f.rollouts("app")
	sort.Slice(rs, func(i, j int) bool { return rs[i].ID < rs[j].ID })
	last, deployed := 0, 0
	for _, ro := range rs {
		if ro.State != "succeeded" {
			continue
		}
		var rel struct {
			Release struct {
				Commit string `json:"commit"`
			} `json:"release"`
		}
		if code := f.api("GET", fmt.Sprintf("/api/v1/releases/%d", ro.ReleaseID), nil, &rel); code != 200 {
			t.Fatalf("release id %d of rollout %d: HTTP %d", ro.ReleaseID, ro.ID, code)
		}
		n := index[rel.Release.Commit]
		if n <= last {
			t.Errorf("rollout %d deployed commit #%d after #%d", ro.ID, n, last)
		}
		last = n
		deployed++
	}
	t.Logf("100 pushes: %d runs, %d deploys", len(f.runs("app")), deployed)
}

func TestHostileWebhookProbingAndSlowBodies(t *testing.T) {
	repo := newRemote(t)
	repo.commit("main", "one", map[string]string{".ferry.yaml": passingPipeline})
	f := startFerry(t, "--read-timeout", "1s")
	f.addProject("guarded", repo.URL, "--poll", "0", "--webhook-secret", "s3cret")
	f.addProject("open", repo.URL, "--poll", "0")
	body := []byte(`{"ref":"refs/heads/main","after":"` + strings.Repeat("a", 40) + `"}`)
	post := func(project, sig string) (int, string) {
		req, _ := http.NewRequest("POST", f.url("/api/v1/projects/"+project+"/webhook"), bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type") + "\n" + string(b)
	}
	// One answer whether the project does not exist, has no secret, or the signature is wrong.
	code, unknown := post("no-such-project", sign("guess", body))
	if code != 401 {
		t.Fatalf("unknown project: HTTP %d", code)
	}
	for name, project := range map[string]string{"no webhook secret": "open", "bad signature": "guarded"} {
		if c, got := post(project, sign("guess", body)); c != code || got != unknown {
			t.Errorf("%s: HTTP %d %q; unknown project: HTTP %d %q", name, c, got, code, unknown)
		}
	}

	// A body over the limit is refused from its length alone.
	req, _ := http.NewRequest("POST", f.url("/api/v1/projects/guarded/webhook"), io.LimitReader(zeros{}, 6<<20))
	req.ContentLength = 6 << 20
	req.Header.Set("X-GitHub-Event", "push")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("6 MiB body: HTTP %d, want 413", resp.StatusCode)
		}
		resp.Body.Close()
	}

	// A slowloris: a signed-looking push whose body comes one byte every 50 ms is cut off by the read timeout.
	conn, err := net.Dial("tcp", f.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /api/v1/projects/guarded/webhook HTTP/1.1\r\nHost: %s\r\nX-GitHub-Event: push\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: 4000\r\n\r\n", f.addr, sign("s3cret", body))
	answered := make(chan string, 1)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			answered <- "connection closed: " + err.Error()
			return
		}
		resp.Body.Close()
		answered <- resp.Status
	}()
	sent := 0
	bounded := time.After(60 * time.Second) // 4000 bytes would take 200 s
	for cut := false; !cut; {
		select {
		case got := <-answered:
			if !strings.HasPrefix(got, "408") && !strings.HasPrefix(got, "connection closed") {
				t.Errorf("slow body answered %q, want 408 or a closed connection", got)
			}
			cut = true
		case <-bounded:
			t.Fatalf("the server still reads a slow body after %d bytes", sent)
		case <-time.After(50 * time.Millisecond):
			if _, err := conn.Write([]byte{' '}); err == nil {
				sent++
			}
		}
	}
	if sent >= 4000 {
		t.Errorf("the whole slow body was read")
	}
	if n := len(f.runs("guarded")); n != 0 {
		t.Errorf("%d runs after refused webhooks", n)
	}
	// The server still serves.
	if code := f.api("GET", "/api/v1/projects", nil, nil); code != 200 {
		t.Errorf("after the slow client: HTTP %d", code)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
