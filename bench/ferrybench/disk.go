package main

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"time"
)

// benchDisk measures what n releases of a small Go binary leave in the data folder, deployed one after
// another (a passed run, a direct rollout), once with every release kept (--keep-releases 0) and once with
// retention (--keep-releases keep). Each release is the same binary with its commit appended, so every
// release stores a new blob, as a rebuilt binary does.
func benchDisk(args []string) error {
	fs := flag.NewFlagSet("disk", flag.ExitOnError)
	n := fs.Int("n", 100, "releases to deploy")
	keep := fs.Int("keep", 5, "--keep-releases of the second server")
	fs.Parse(args)
	bin, err := os.MkdirTemp("", "ferrybench-app-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(bin)
	app := filepath.Join(bin, "app")
	build := exec.Command("go", "build", "-o", app, "./internal/testapp/app")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the app: %v\n%s", err, out)
	}
	info, err := os.Stat(app)
	if err != nil {
		return err
	}
	fmt.Printf("app binary: %.1f MB; %d releases\n", float64(info.Size())/1e6, *n)
	for _, k := range []int{0, *keep} {
		sizes, took, err := deployMany(app, *n, k)
		if err != nil {
			return fmt.Errorf("--keep-releases %d: %w", k, err)
		}
		fmt.Printf("--keep-releases %d: %.1f MB after %d releases (%.2f MB per release) in %s\n", k,
			float64(sizes["total"])/1e6, *n, float64(sizes["total"])/1e6/float64(*n), took.Round(time.Second))
		var names []string
		for name := range sizes {
			if name != "total" {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			fmt.Printf("  %-12s %8.1f MB\n", name, float64(sizes[name])/1e6)
		}
	}
	return nil
}

// deployMany starts a server with --keep-releases keep, deploys n releases and returns the data folder's size
// by first-level folder, and the time it took.
func deployMany(app string, n, keep int) (map[string]int64, time.Duration, error) {
	serveArgs = []string{"--keep-releases", strconv.Itoa(keep)}
	s, err := startServer()
	if err != nil {
		return nil, 0, err
	}
	defer s.stop()
	listen := freeAddr()
	r, err := repo(filepath.Join(s.dir, "src"), fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: compile
        run: mkdir -p dist && cp app.bin dist/app && printf %%s "$FERRY_COMMIT" >> dist/app
        artifacts: [dist]
environments:
  - name: production
    service: {run: ./dist/app, listen: "%s", health: {path: /healthz, interval: 100ms}}
`, listen))
	if err != nil {
		return nil, 0, err
	}
	data, err := os.ReadFile(app)
	if err != nil {
		return nil, 0, err
	}
	if err := os.WriteFile(filepath.Join(r, "app.bin"), data, 0o755); err != nil {
		return nil, 0, err
	}
	if _, err := commit(r, "app"); err != nil {
		return nil, 0, err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "bench", "repo": r, "poll": "0"}, nil); err != nil {
		return nil, 0, err
	}
	start := time.Now()
	for i := range n {
		if i > 0 {
			if _, err := commit(r, fmt.Sprint("release ", i+1)); err != nil {
				return nil, 0, err
			}
		}
		var run runView
		if err := s.api("POST", "/api/v1/projects/bench/trigger", map[string]any{}, &run); err != nil {
			return nil, 0, err
		}
		rv, err := s.waitRun(run.ID, 20*time.Millisecond)
		if err != nil || rv.State != "passed" {
			return nil, 0, fmt.Errorf("run %d: %s %s: %v", run.ID, rv.State, rv.Reason, err)
		}
		if err := s.waitLive(rv.ReleaseID); err != nil {
			return nil, 0, err
		}
	}
	took := time.Since(start)
	time.Sleep(2 * time.Second) // the sweep after the last rollout
	return du(filepath.Join(s.dir, "data")), took, nil
}

// waitLive waits until the release is live in the environment.
func (s *server) waitLive(release int64) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		var st struct {
			Environments []struct {
				LiveReleaseID int64 `json:"live_release_id"`
				Rollout       *struct{ State, Reason string }
			} `json:"environments"`
		}
		if err := s.api("GET", "/api/v1/projects/bench/status", nil, &st); err != nil {
			return err
		}
		if len(st.Environments) > 0 {
			e := st.Environments[0]
			if e.LiveReleaseID == release {
				return nil
			}
			if e.Rollout != nil && (e.Rollout.State == "failed" || e.Rollout.State == "rolled_back") {
				return fmt.Errorf("release %d: rollout %s: %s", release, e.Rollout.State, e.Rollout.Reason)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("release %d never went live", release)
}

// du sums the sizes of the regular files under dir, by first-level entry and in total.
func du(dir string) map[string]int64 {
	out := map[string]int64{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		top := rel
		if i := indexSep(rel); i >= 0 {
			top = rel[:i]
		}
		out[top] += info.Size()
		out["total"] += info.Size()
		return nil
	})
	return out
}

func indexSep(p string) int {
	for i := range len(p) {
		if p[i] == filepath.Separator {
			return i
		}
	}
	return -1
}
