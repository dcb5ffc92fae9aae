package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/demoapp"
)

// benchRollback deploys a good release, then one that fails every request as a canary at 25 %, under steady
// load, and measures the time from the first failed answer to the last: how long users saw the bad release
// before all traffic was back on stable. It also counts failed answers.
func benchRollback(args []string) error {
	fs := flag.NewFlagSet("rollback", flag.ExitOnError)
	interval := fs.Duration("interval", time.Second, "analysis interval")
	fs.Parse(args)
	s, err := startServer()
	if err != nil {
		return err
	}
	defer s.stop()
	listen := freeAddr()
	pl := fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: mkdir -p dist && CGO_ENABLED=0 go build -o dist/app ./app && cp version.txt mode.txt dist/
        artifacts: [dist]
environments:
  - name: production
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 100ms}}
    strategy:
      canary:
        steps: [{weight: 25, pause: 1h}]
    analysis:
      interval: %s
      min_requests: 20
      checks:
        - {metric: error_rate, max: 1%%}
`, listen, *interval)
	dir := filepath.Join(s.dir, "src")
	r, err := repo(dir, pl)
	if err != nil {
		return err
	}
	// The sample service (internal/demoapp): release "bad" answers 500 to every request.
	write := func(version string) error {
		mode := "ok"
		if version == "bad" {
			mode = "broken"
		}
		writeFiles(r, demoapp.App(version, mode))
		_, err := commit(r, version)
		return err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "bench", "repo": r, "poll": "0"}, nil); err != nil {
		return err
	}
	deploy := func(version string) error {
		if err := write(version); err != nil {
			return err
		}
		var run runView
		if err := s.api("POST", "/api/v1/projects/bench/trigger", map[string]any{}, &run); err != nil {
			return err
		}
		rv, err := s.waitRun(run.ID, 50*time.Millisecond)
		if err != nil || rv.State != "passed" {
			return fmt.Errorf("run %s %s: %v", rv.State, rv.Reason, err)
		}
		return nil
	}
	rolloutState := func() (string, string) {
		var st struct {
			Environments []struct {
				Rollout *struct{ State, Reason string } `json:"rollout"`
			} `json:"environments"`
		}
		s.api("GET", "/api/v1/projects/bench/status", nil, &st)
		if len(st.Environments) == 0 || st.Environments[0].Rollout == nil {
			return "", ""
		}
		return st.Environments[0].Rollout.State, st.Environments[0].Rollout.Reason
	}
	if err := deploy("good"); err != nil {
		return err
	}
	for st, _ := rolloutState(); st != "succeeded"; st, _ = rolloutState() {
		time.Sleep(50 * time.Millisecond)
	}

	// Steady load: 8 workers, each request timed; first and last 500 remembered.
	var mu sync.Mutex
	var first, last time.Time
	var total, bad int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := client.Get("http://" + listen + "/")
				now := time.Now()
				failed := err != nil
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					failed = resp.StatusCode != 200
				}
				mu.Lock()
				total++
				if failed {
					bad++
					if first.IsZero() {
						first = now
					}
					last = now
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond)
			}
		}()
	}
	if err := deploy("bad"); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	st, reason := rolloutState()
	for st != "rolled_back" && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		st, reason = rolloutState()
	}
	time.Sleep(2 * time.Second) // any bad answer still to come would show now
	close(stop)
	wg.Wait()
	fmt.Printf("canary 25%% answering 500, analysis every %s: first failed answer → last failed answer %s; %d of %d requests failed; rollout %s: %s\n",
		*interval, last.Sub(first).Round(time.Millisecond), bad, total, st, reason)
	return nil
}

// writeFiles writes files, by slash-separated path, into the repository folder r.
func writeFiles(r string, files map[string]string) {
	for name, content := range files {
		os.MkdirAll(filepath.Join(r, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(r, name), []byte(content), 0o644)
	}
}
