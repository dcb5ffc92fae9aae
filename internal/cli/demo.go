package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/store"
)

// The demo's example repository: a tiny "app" built by a shell script, unit and integration tests that run in
// parallel, and a benchmark with a gate. The second commit breaks a unit test.
var demoFiles = map[string]string{
	".ferry.yaml": `version: 1
env:
  GREETING: hello
stages:
  - name: build
    steps:
      - name: compile
        run: |
          mkdir -p dist
          printf '#!/bin/sh\necho "%s from %s"\n' "$GREETING" "$FERRY_COMMIT" > dist/app
          chmod +x dist/app
        artifacts: [dist/app]
  - name: test
    steps:                       # the steps of one stage run in parallel
      - name: unit
        run: sh test/unit.sh
        timeout: 1m
      - name: integration
        run: ./dist/app | grep -q hello
  - name: benchmark
    steps:
      - name: latency
        run: |
          echo '{"metrics":[{"name":"latency_p95_ms","value":12.5,"unit":"ms","direction":"lower_is_better"}]}' > "$FERRY_METRICS"
        gates:
          - metric: latency_p95_ms
            max: 50
            max_increase: 10%
`,
	"test/unit.sh": `#!/bin/sh
sum=$((2 + 2))
echo "checking 2 + 2 = $sum"
[ "$sum" -eq 4 ]
echo "ok: all unit tests passed"
`,
}

const demoBrokenTest = `#!/bin/sh
sum=$((2 + 3))
echo "checking 2 + 2 = $sum"
if [ "$sum" -ne 4 ]; then echo "FAIL: expected 4, got $sum" >&2; exit 1; fi
`

func (a *app) demoCommand() *cobra.Command {
	var keep bool
	var dataDir string
	c := &cobra.Command{
		Use:   "demo",
		Short: "Show the whole loop: an example repository, a server, a passing and a failing commit",
		Long: `Create an example git repository with a pipeline, start a ferry server on a loopback port, add the
repository as a project polled every second, then commit a passing change and a change that breaks a unit
test, streaming both runs and printing them. Needs only git. With --keep the server stays up afterwards so
you can try the other commands against it.`,
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
	if _, err := exec.LookPath("git"); err != nil {
		return errors.New("the demo needs git on PATH")
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

	if err := os.MkdirAll(filepath.Join(repo, "test"), 0o755); err != nil {
		return err
	}
	for name, content := range demoFiles {
		if err := os.WriteFile(filepath.Join(repo, name), []byte(content), 0o755); err != nil {
			return err
		}
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
	srv, closeAll, err := openServer(filepath.Join(dir, "data"), logger, false, 0)
	if err != nil {
		return err
	}
	defer closeAll()
	token, err := srv.CreateToken(ctx, "demo")
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan struct{})
	go func() { defer close(served); srv.Serve(serveCtx, l) }()
	defer func() { stopServe(); <-served }()
	a.server, a.token = "http://"+l.Addr().String(), token
	say("ferry server on %s (data in %s)", a.server, filepath.Join(dir, "data"))

	cl, _ := a.client()
	req := server.ProjectRequest{Name: "demo", Repo: repo, Branch: "main", Poll: "1s"}
	if err := cl.call(ctx, "POST", "/api/v1/projects", req, nil); err != nil {
		return err
	}
	say("project demo added: polling %s every second", repo)

	run1, err := a.demoFollow(ctx, cl, first, 0)
	if err != nil {
		return err
	}

	if err := os.WriteFile(filepath.Join(repo, "test", "unit.sh"), []byte(demoBrokenTest), 0o755); err != nil {
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

	fmt.Fprintln(a.stdout)
	say("summary")
	fmt.Fprintf(a.stdout, "    run %d (%s): %s, release %d\n", run1.ID, short(run1.Commit), run1.State, run1.ReleaseID)
	fmt.Fprintf(a.stdout, "    run %d (%s): %s: %s\n", run2.ID, short(run2.Commit), run2.State, run2.Reason)
	ok := run1.State == store.RunPassed && run2.State == store.RunFailed
	if keep {
		say("server stays up; in another shell:\n    export FERRY_SERVER=%s FERRY_TOKEN=%s\n    ferry runs demo\nCtrl-C stops it", a.server, token)
		<-ctx.Done()
	}
	if !ok {
		return errors.New("the demo did not end as expected: the first run should pass and the second fail")
	}
	return nil
}

// demoFollow waits for the run of commit, streams its log, and prints it when it ends.
func (a *app) demoFollow(ctx context.Context, cl *client, commit string, after int64) (*server.RunView, error) {
	deadline := time.Now().Add(time.Minute)
	var id int64
	for id == 0 {
		var runs []store.Run
		if err := cl.call(ctx, "GET", "/api/v1/projects/demo/runs", nil, &runs); err != nil {
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
	resp, err := cl.request(ctx, "GET", fmt.Sprintf("/api/v1/runs/%d/logs?follow=1", id), nil, "")
	if err != nil {
		return nil, err
	}
	err = a.printLog(ctx, resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	var rv server.RunView
	if err := cl.call(ctx, "GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, &rv); err != nil {
		return nil, err
	}
	fmt.Fprintln(a.stdout)
	printRun(a.stdout, &rv)
	fmt.Fprintln(a.stdout)
	return &rv, nil
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
