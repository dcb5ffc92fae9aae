package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/demoapp"
)

// ofrepFlags are the flags the OFREP benchmark serves: a targeted flag (a rule on the e-mail, then a split)
// and a static one.
const ofrepFlags = `flags:
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
`

// benchOFREP deploys a release with flags, then measures OFREP evaluations per second with wrk: ferry serve
// on one core (taskset, GOMAXPROCS=1), wrk on the other, over loopback.
func benchOFREP(args []string) error {
	fs := flag.NewFlagSet("ofrep", flag.ExitOnError)
	duration := fs.Duration("d", 10*time.Second, "how long wrk sends requests")
	conns := fs.Int("c", 32, "wrk connections")
	fs.Parse(args)
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("needs wrk (apt-get install wrk)")
	}
	os.Setenv("GOMAXPROCS", "1")
	s, err := startServer("taskset", "-c", "0")
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
    service: {run: "cd dist && exec ./app", listen: "%s", health: {path: /healthz, interval: 100ms}}
`, listen)
	r, err := repo(filepath.Join(s.dir, "src"), pl)
	if err != nil {
		return err
	}
	files := demoapp.App("good", "ok")
	files[".ferry/flags.yaml"] = ofrepFlags
	writeFiles(r, files)
	if _, err := commit(r, "flags"); err != nil {
		return err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "bench", "repo": r, "poll": "0"}, nil); err != nil {
		return err
	}
	var run runView
	if err := s.api("POST", "/api/v1/projects/bench/trigger", map[string]any{}, &run); err != nil {
		return err
	}
	if rv, err := s.waitRun(run.ID, 50*time.Millisecond); err != nil || rv.State != "passed" {
		return fmt.Errorf("run %s %s: %v", rv.State, rv.Reason, err)
	}
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		var st struct {
			Environments []struct {
				LiveReleaseID int64 `json:"live_release_id"`
			} `json:"environments"`
		}
		s.api("GET", "/api/v1/projects/bench/status", nil, &st)
		if len(st.Environments) > 0 && st.Environments[0].LiveReleaseID != 0 {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the release did not go live")
		}
	}
	var tok struct{ Token string }
	if err := s.api("POST", "/api/v1/tokens", map[string]any{"name": "bench", "role": "flags", "project": "bench", "env": "production"}, &tok); err != nil {
		return err
	}
	script := filepath.Join(s.dir, "ofrep.lua")
	body := `{"context":{"targetingKey":"user-42","email":"bob@example.org"}}`
	os.WriteFile(script, []byte(fmt.Sprintf(`wrk.method = "POST"
wrk.body = '%s'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
`, body, tok.Token)), 0o600)
	for _, target := range []struct{ name, path string }{
		{"single, targeted flag (rule then split)", "/ofrep/v1/evaluate/flags/new-checkout"},
		{"single, static flag", "/ofrep/v1/evaluate/flags/checkout-copy"},
		{"bulk, both flags", "/ofrep/v1/evaluate/flags"},
	} {
		cmd := exec.Command("taskset", "-c", "1", "wrk", "-t1", fmt.Sprintf("-c%d", *conns), "-d", duration.String(),
			"--latency", "-s", script, "http://"+s.addr+target.path)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("wrk: %v\n%s", err, out)
		}
		fmt.Printf("OFREP %s: %s, p99 %s, %s\n", target.name, field(out, "Requests/sec:"), field(out, "99%"), field(out, "Non-2xx"))
	}
	return nil
}

// field is the value after label in wrk's output, or "-".
func field(out []byte, label string) string {
	for _, line := range strings.Split(string(out), "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), label); ok {
			return strings.TrimSpace(strings.TrimPrefix(rest, ":"))
		}
	}
	return "-"
}
