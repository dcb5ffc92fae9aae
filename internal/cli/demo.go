package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/demoapp"
	"github.com/ferry-cd/ferry/internal/retention"
	"github.com/ferry-cd/ferry/internal/ui"
)

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	var dataDir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Show the whole loop: a repository, a server, runs, a release deployed as a canary, a rollback",
		Long: `Create an example git repository (a small Go web app with a pipeline and a production environment), start a
ferry server on a loopback port and add the repository as a project polled every second. Then:
  1. commit a passing change: its run passes and the release goes live in production;
  2. commit a change that breaks a unit test: the run fails and nothing deploys;
  3. commit a change whose tests pass but that answers 500: it goes out as a canary under load, the analysis
     sees the errors and rolls it back automatically.
After step 1 it evaluates the release's feature flag over OFREP, as an OpenFeature SDK would, then flips it
off for everyone with an override (the kill switch) and clears it. The dashboard is served throughout.
Needs only Go and git. With --keep the server stays up afterwards so you can try the other commands.`,
		Args: maxArgs(0),
		RunE: func(c *cobra.Command, args []string) error {
			return a.demo(c.Context(), dataDir, keep)
		},
	}
	c.Flags().BoolVar(&keep, "keep", false, "keep the server running after the demo (Ctrl-C stops it)")
	c.Flags().StringVar(&dataDir, "dir", "", "folder for the example repository and server data (default: a new temporary folder)")
	return c
}

func (a *app) demo(ctx context.Context, dir string, keep bool) error {
	for _, tool := range []string{"git", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("the demo needs %s on PATH", tool)
		}
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "ferry-demo-")
		if err != nil {
			return err
		}
		dir = d
		if !keep {
			defer os.RemoveAll(d)
		}
	}
	repo := filepath.Join(dir, "repo")
	say := func(format string, args ...any) { fmt.Fprintf(a.stdout, "==> "+format+"\n", args...) }
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	production := l.Addr().String()
	l.Close()

	// The example repository (internal/demoapp): a small Go web app, a pipeline that builds it, runs unit and
	// integration tests in parallel and gates a benchmark, and a production environment that takes each release
	// as a canary under analysis. Commit 2 breaks a unit test; commit 3 passes its tests but answers 500 once
	// deployed.
	files := demoapp.Repo(production)
	write := func(files map[string]string) error {
		for name, content := range files {
			p := filepath.Join(repo, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
				return err
			}
		}
		return nil
	}
	if err := write(files); err != nil {
		return err
	}
	if err := demoGit(ctx, repo, "init", "--quiet", "--initial-branch=main"); err != nil {
		return err
	}
	first, err := demoCommit(ctx, repo, "Add the app, its tests and a pipeline")
	if err != nil {
		return err
	}
	say("example repository %s: commit %s %q", repo, short(first), "Add the app, its tests and a pipeline")

	logger := slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dataDir := filepath.Join(dir, "data")
	// Steps and the app run isolated as under ferry serve; on a machine without bubblewrap the demo, which runs
	// only its own example repository, says so and goes on unisolated rather than stopping a first try. Its one
	// project shares the machine's Go build cache (ferry serve --shared-tool-caches): a cold per-project cache
	// would add a full standard-library build to the first run.
	iso := &isolationFlags{mode: "bwrap", shared: true}
	sb, err := iso.sandbox(dataDir)
	if err != nil {
		say("steps and the app run unisolated: bubblewrap is not available here (ferry serve refuses that by default)")
		sb = nil
	}
	srv, closeAll, err := openServer(dataDir, logger, serverOptions{healthTimeout: time.Minute, sandbox: sb, sharedCaches: iso.sharedCaches(),
		keepReleases: retention.DefaultKeep})
	if err != nil {
		return err
	}
	if !keep {
		// The data plane outlives servers by design; the demo's goes with the demo, after its server.
		defer func() {
			if _, err := os.Stat(filepath.Join(dataDir, "dataplane.sock")); err == nil {
				stopDataPlane(context.WithoutCancel(ctx), filepath.Join(dataDir, "dataplane.sock"))
			}
		}()
	}
	defer closeAll()
	token, err := srv.CreateToken(ctx, "demo")
	if err != nil {
		return err
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	handler, err := ui.Mount(srv.Handler(), logger)
	if err != nil {
		return err
	}
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(serveCtx, sl, handler) }()
	defer func() { stopServe(); <-served }()
	a.server, a.token = "http://"+sl.Addr().String(), token
	say("ferry server on %s, dashboard on %s/ui/ (data in %s)", a.server, a.server, dataDir)

	cl, _ := a.client()
	req := api.ProjectRequest{Name: "demo", Repo: repo, Branch: "main", Poll: "1s"}
	if _, err := cl.AddProject(ctx, req); err != nil {
		return err
	}
	say("project demo added: polling %s every second", repo)

	// 1. A passing commit: run, release, first deploy.
	run1, err := a.demoFollow(ctx, cl, first, 0)
	if err != nil {
		return err
	}
	ro1, err := a.demoRollout(ctx, cl, &run1.Run)
	if err != nil {
		return err
	}
	say("production answers at http://%s: %s", production, demoGet(production))
	if err := a.demoFlags(ctx, cl, say); err != nil {
		return err
	}

	// 2. A broken unit test: the run fails, nothing deploys.
	if err := write(map[string]string{"test/unit.sh": demoapp.BrokenUnitTest}); err != nil {
		return err
	}
	second, err := demoCommit(ctx, repo, "Change the sum (breaks a unit test)")
	if err != nil {
		return err
	}
	say("pushed commit %s %q", short(second), "Change the sum (breaks a unit test)")
	run2, err := a.demoFollow(ctx, cl, second, run1.ID)
	if err != nil {
		return err
	}
	say("nothing deployed; production still answers: %s", demoGet(production))

	// 3. Tests pass but the app answers 500: a canary under load, rolled back by analysis.
	if err := write(map[string]string{"test/unit.sh": files["test/unit.sh"], "version.txt": "v3\n", "mode.txt": "broken\n"}); err != nil {
		return err
	}
	third, err := demoCommit(ctx, repo, "Refactor the handler (answers 500 in production)")
	if err != nil {
		return err
	}
	say("pushed commit %s %q; sending traffic to production", short(third), "Refactor the handler (answers 500 in production)")
	stopLoad := demoLoad(production)
	run3, err := a.demoFollow(ctx, cl, third, run2.ID)
	if err != nil {
		stopLoad()
		return err
	}
	ro3, err := a.demoRollout(ctx, cl, &run3.Run)
	ok, bad := stopLoad()
	if err != nil {
		return err
	}
	say("production answers: %s (%d requests answered 200 during the canary, %d got the canary's 500)", demoGet(production), ok, bad)

	fmt.Fprintln(a.stdout)
	say("summary")
	fmt.Fprintf(a.stdout, "    run %d (%s): %s; %s %s in production\n", run1.ID, short(run1.Commit), run1.State, releaseText(ro1.ReleaseVersion), ro1.State)
	fmt.Fprintf(a.stdout, "    run %d (%s): %s: %s\n", run2.ID, short(run2.Commit), run2.State, run2.Reason)
	fmt.Fprintf(a.stdout, "    run %d (%s): %s; %s %s: %s\n", run3.ID, short(run3.Commit), run3.State, releaseText(ro3.ReleaseVersion), ro3.State, ro3.Reason)
	okDemo := run1.State == api.RunPassed && ro1.State == api.RolloutSucceeded && run2.State == api.RunFailed &&
		run3.State == api.RunPassed && ro3.State == api.RolloutRolledBack
	if keep {
		say("server stays up; dashboard on %s/ui/ (sign in with the token); in another shell:\n    export FERRY_SERVER=%s FERRY_TOKEN=%s\n    ferry status demo; ferry flags demo production\nCtrl-C stops the server; ferry dataplane stop --data %s stops production", a.server, a.server, token, dataDir)
		<-ctx.Done()
	}
	if !okDemo {
		return errors.New("the demo did not end as expected")
	}
	return nil
}

// demoRollout follows the production rollout of a run's release until it ends, printing each transition.
func (a *app) demoRollout(ctx context.Context, cl *api.Client, run *api.Run) (*api.Rollout, error) {
	deadline := time.Now().Add(3 * time.Minute)
	var shown int
	for {
		rs, err := cl.Rollouts(ctx, "demo", "production", 0)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if r.ReleaseID != run.ReleaseID {
				continue
			}
			rv, err := cl.Rollout(ctx, r.ID)
			if err != nil {
				return nil, err
			}
			for _, e := range rv.Events[shown:] {
				fmt.Fprintf(a.stdout, "%s [rollout %d] %-11s %3d%%  %s\n", e.Time.Local().Format("15:04:05.000"), r.ID, e.State, e.Weight, e.Reason)
			}
			shown = len(rv.Events)
			if rv.State.Done() {
				return &rv.Rollout, nil
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("the rollout of %s did not end within 3 minutes", releaseText(run.ReleaseVersion))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func demoGet(addr string) string {
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// demoLoad sends requests to addr from 4 clients until stopped, and counts the answers.
func demoLoad(addr string) (stop func() (ok, bad int64)) {
	var okN, badN atomic.Int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	c := &http.Client{Timeout: 5 * time.Second}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case <-time.After(10 * time.Millisecond):
				}
				resp, err := c.Get("http://" + addr + "/")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err == nil && resp.StatusCode == 200 {
					okN.Add(1)
				} else {
					badN.Add(1)
				}
			}
		}()
	}
	return func() (int64, int64) {
		close(done)
		wg.Wait()
		return okN.Load(), badN.Load()
	}
}

// demoFollow waits for the run of commit, streams its log, and prints it when it ends.
func (a *app) demoFollow(ctx context.Context, cl *api.Client, commit string, after int64) (*api.RunView, error) {
	deadline := time.Now().Add(time.Minute)
	var id int64
	for id == 0 {
		runs, err := cl.Runs(ctx, "demo", 0)
		if err != nil {
			return nil, err
		}
		for _, r := range runs {
			if r.Commit == commit && r.ID > after {
				id = r.ID
			}
		}
		if id != 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no run of %s appeared within a minute", short(commit))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	fmt.Fprintf(a.stdout, "==> run %d started for %s; streaming its log\n", id, short(commit))
	body, err := cl.Logs(ctx, id, "", true)
	if err != nil {
		return nil, err
	}
	err = a.printLog(ctx, body, isTerminal(a.stdout))
	body.Close()
	if err != nil {
		return nil, err
	}
	rv, err := cl.Run(ctx, id)
	if err != nil {
		return nil, err
	}
	fmt.Fprintln(a.stdout)
	printRun(a.stdout, rv)
	fmt.Fprintln(a.stdout)
	return rv, nil
}

func demoGit(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Ferry Demo", "GIT_AUTHOR_EMAIL=demo@example.com",
		"GIT_COMMITTER_NAME=Ferry Demo", "GIT_COMMITTER_EMAIL=demo@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, out)
	}
	return nil
}

func demoCommit(ctx context.Context, dir, msg string) (string, error) {
	if err := demoGit(ctx, dir, "add", "-A"); err != nil {
		return "", err
	}
	if err := demoGit(ctx, dir, "commit", "--quiet", "-m", msg); err != nil {
		return "", err
	}
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return "", err
	}
	return string(out[:len(out)-1]), nil
}

// demoFlags shows the release's flags served over OFREP, as an OpenFeature SDK would ask for them, and the
// kill switch: an override that reaches every evaluation at once.
func (a *app) demoFlags(ctx context.Context, cl *api.Client, say func(string, ...any)) error {
	req := api.TokenRequest{Name: "demo-app", Role: api.RoleFlags, Project: "demo", Env: "production"}
	tok, err := cl.CreateToken(ctx, req)
	if err != nil {
		return err
	}
	evaluate := func(key, email string) (string, error) {
		body := fmt.Sprintf(`{"context":{"targetingKey":%q,"email":%q}}`, email, email)
		r, err := http.NewRequestWithContext(ctx, "POST", a.server+"/ofrep/v1/evaluate/flags/"+key, strings.NewReader(body))
		if err != nil {
			return "", err
		}
		r.Header.Set("Authorization", "Bearer "+tok.Token)
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		var res struct {
			Value   any
			Variant string
			Reason  string
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return "", err
		}
		return fmt.Sprintf("%v (%s)", res.Value, res.Reason), nil
	}
	show := func(when string) error {
		staff, err := evaluate("new-greeting", "ann@example.com")
		if err != nil {
			return err
		}
		customer, err := evaluate("new-greeting", "bob@example.org")
		if err != nil {
			return err
		}
		say("flag new-greeting over OFREP %s: ann@example.com %s, bob@example.org %s", when, staff, customer)
		return nil
	}
	if err := show("from Git"); err != nil {
		return err
	}
	if _, err := cl.SetOverride(ctx, "demo", "production", "new-greeting", "off"); err != nil {
		return err
	}
	if err := show("after ferry flag set demo production new-greeting --variant off"); err != nil {
		return err
	}
	return cl.ClearOverride(ctx, "demo", "production", "new-greeting")
}
