package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// receiver is a webhook endpoint that checks ferry's signature, and can be told to fail.
type receiver struct {
	mu     sync.Mutex
	events []string
	bad    []string
	fail   atomic.Int32 // answer 500 to this many more requests; -1: always
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if n := rc.fail.Load(); n != 0 {
		if n > 0 {
			rc.fail.Add(-1)
		}
		http.Error(w, "not now", 500)
		return
	}
	m := hmac.New(sha256.New, []byte("notify-key"))
	m.Write(body)
	var ev struct {
		Event, Project, Text string
	}
	json.Unmarshal(body, &ev)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if r.Header.Get("X-Ferry-Signature-256") != "sha256="+hex.EncodeToString(m.Sum(nil)) || r.Header.Get("X-Ferry-Event") != ev.Event {
		rc.bad = append(rc.bad, string(body))
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.events = append(rc.events, ev.Event+" "+ev.Project)
}

func (rc *receiver) got() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.events...)
}

func TestNotificationsAreSignedRetriedAndSurviveRestart(t *testing.T) {
	rc := &receiver{}
	rc.fail.Store(1) // the first delivery fails and is retried
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	repo := newRemote(t)
	f := startFerry(t, "--notify-webhook", hook.URL, "--notify-secret", "notify-key")
	f.addProject("app", repo.URL, "--poll", "0")

	repo.commit("main", "broken", map[string]string{".ferry.yaml": "version: 1\nstages:\n  - name: test\n    steps:\n      - {name: unit, run: 'exit 1'}\n"})
	f.waitRun(f.trigger("app"))
	waitFor(t, 30*time.Second, "run.failed delivered", func() bool { return strings.Join(rc.got(), ",") == "run.failed app" })

	repo.commit("main", "fixed", map[string]string{".ferry.yaml": passingPipeline})
	f.waitRun(f.trigger("app"))
	waitFor(t, 30*time.Second, "run.recovered delivered", func() bool { return len(rc.got()) == 2 })
	if got := rc.got(); got[1] != "run.recovered app" {
		t.Errorf("events %v", got)
	}
	var ns []struct {
		Event, State string
		Attempts     int
		LastError    string `json:"last_error"`
	}
	json.Unmarshal([]byte(f.mustCLI("notifications", "app", "--json")), &ns)
	if len(ns) != 2 || ns[1].Event != "run.failed" || ns[1].State != "delivered" || ns[1].Attempts != 2 || ns[0].Attempts != 1 {
		t.Errorf("notifications %+v", ns)
	}

	// The sink is down; the server dies with a notification pending; after a restart it is delivered.
	rc.fail.Store(-1)
	repo.commit("main", "broken again", map[string]string{".ferry.yaml": "version: 1\nstages:\n  - name: test\n    steps:\n      - {name: unit, run: 'exit 1'}\n"})
	f.waitRun(f.trigger("app"))
	waitFor(t, 30*time.Second, "a failed attempt", func() bool {
		json.Unmarshal([]byte(f.mustCLI("notifications", "app", "--json")), &ns)
		return len(ns) == 3 && ns[0].Attempts >= 1 && ns[0].State == "pending" && ns[0].LastError == "HTTP 500"
	})
	f.kill9()
	rc.fail.Store(0)
	f.start()
	waitFor(t, 60*time.Second, "the pending notification after a restart", func() bool { return len(rc.got()) == 3 })
	if got := rc.got(); got[2] != "run.failed app" {
		t.Errorf("events %v", got)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) != 0 {
		t.Errorf("badly signed deliveries: %v", rc.bad)
	}
}

// A project's own sinks get that project's events, besides the server's sinks, which get every project's.
func TestProjectNotificationSinks(t *testing.T) {
	server, own := &receiver{}, &receiver{}
	serverHook, ownHook := httptest.NewServer(server), httptest.NewServer(own)
	t.Cleanup(serverHook.Close)
	t.Cleanup(ownHook.Close)
	f := startFerry(t, "--notify-webhook", serverHook.URL, "--notify-secret", "notify-key")
	broken := map[string]string{".ferry.yaml": "version: 1\nstages:\n  - name: test\n    steps:\n      - {name: unit, run: 'exit 1'}\n"}
	repoA, repoB := newRemote(t), newRemote(t)
	repoA.commit("main", "broken", broken)
	repoB.commit("main", "broken", broken)

	// A sink that is no URL is refused, and the project is not added.
	if _, stderr, code := f.cli("", "project", "add", "a", "--repo", repoA.URL, "--poll", "0", "--notify-webhook", "ftp://x"); code == 0 || !strings.Contains(stderr, "invalid notify webhook") {
		t.Fatalf("project with a bad sink: exit %d, %q", code, stderr)
	}
	f.addProject("a", repoA.URL, "--poll", "0", "--notify-webhook", ownHook.URL)
	f.addProject("b", repoB.URL, "--poll", "0")
	var projects []struct {
		Name   string
		Notify []struct{ Kind, URL string }
	}
	json.Unmarshal([]byte(f.mustCLI("project", "list", "--json")), &projects)
	f.waitRun(f.trigger("a"))
	f.waitRun(f.trigger("b"))
	waitFor(t, 30*time.Second, "both failures at the server's sink", func() bool { return len(server.got()) == 2 })
	waitFor(t, 30*time.Second, "a's failure at its own sink", func() bool { return len(own.got()) == 1 })
	time.Sleep(700 * time.Millisecond) // one more delivery round: nothing else may arrive
	if got := strings.Join(own.got(), ","); got != "run.failed a" {
		t.Errorf("the project's own sink got %q, want only a's failure", got)
	}
	if len(projects) != 2 || projects[0].Name != "a" || len(projects[0].Notify) != 1 ||
		projects[0].Notify[0].Kind != "webhook" || projects[0].Notify[0].URL != ownHook.URL+"/" || len(projects[1].Notify) != 0 {
		t.Errorf("project list shows %+v, want a with its webhook sink (scheme and host only) and b with none", projects)
	}
}

// The forge's status API is a hosted service that cannot run here: a local server stands in for GitHub's and
// checks each request against its documented contract (path, bearer token, JSON state).
func TestCommitStatusesReachTheForge(t *testing.T) {
	var mu sync.Mutex
	var states []string
	forge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		if r.Method != "POST" || !strings.HasPrefix(r.URL.Path, "/repos/acme/shop/statuses/") ||
			r.Header.Get("Authorization") != "Bearer forge-token" || body["context"] != "ferry" {
			http.Error(w, "contract broken", 400)
			return
		}
		mu.Lock()
		states = append(states, body["state"])
		mu.Unlock()
		w.WriteHeader(201)
	}))
	t.Cleanup(forge.Close)
	repo := newRemote(t)
	repo.commit("main", "one", map[string]string{".ferry.yaml": passingPipeline})
	f := startFerry(t)
	f.addProject("shop", repo.URL, "--poll", "0", "--status-provider", "github", "--status-api", forge.URL, "--status-repo", "acme/shop")
	if _, errOut, code := f.cli("forge-token\n", "secret", "set", "shop", "FERRY_STATUS_TOKEN"); code != 0 {
		t.Fatal(errOut)
	}
	f.waitRun(f.trigger("shop"))
	waitFor(t, 30*time.Second, "the final status", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(states) == 3
	})
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(states, ",") != "pending,pending,success" {
		t.Errorf("states %v", states)
	}
	if _, errOut, code := f.cli("", "project", "add", "bad", "--repo", repo.URL, "--status-provider", "bitbucket", "--status-api", forge.URL, "--status-repo", "a/b"); code == 0 ||
		!strings.Contains(errOut, "status provider") {
		t.Errorf("unknown provider accepted: %s", errOut)
	}
}
