// Command ferrybench measures a built ferry binary end to end: webhook-to-first-step latency, the server's
// memory while a step prints a gigabyte, and per-step overhead of a run through the server. It starts its own
// `ferry serve` on loopback with a throw-away data folder; see bench/README.md for the figures.
//
//	go run ./bench/ferrybench -ferry bin/ferry webhook -n 20
//	go run ./bench/ferrybench -ferry bin/ferry logmem -bytes 1073741824
//	go run ./bench/ferrybench -ferry bin/ferry steps -n 50
//	go run ./bench/ferrybench -ferry bin/ferry rollback
//	go run ./bench/ferrybench -ferry bin/ferry disk -n 100 -keep 5
//	go run ./bench/ferrybench -ferry bin/ferry soak -minutes 10 -every 20s -rate 100 -kill-every 10
package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var ferryBin = flag.String("ferry", "bin/ferry", "ferry binary to measure")

// serveArgs are extra flags for the ferry serve that startServer starts.
var serveArgs []string

func main() {
	flag.Parse()
	if flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: ferrybench [-ferry BIN] webhook|logmem|steps|rollback|ofrep|disk|soak [flags]")
		os.Exit(2)
	}
	var err error
	switch flag.Arg(0) {
	case "webhook":
		err = benchWebhook(flag.Args()[1:])
	case "logmem":
		err = benchLogMem(flag.Args()[1:])
	case "steps":
		err = benchSteps(flag.Args()[1:])
	case "rollback":
		err = benchRollback(flag.Args()[1:])
	case "ofrep":
		err = benchOFREP(flag.Args()[1:])
	case "disk":
		err = benchDisk(flag.Args()[1:])
	case "soak":
		err = benchSoak(flag.Args()[1:])
	default:
		err = fmt.Errorf("unknown benchmark %q", flag.Arg(0))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ferrybench:", err)
		os.Exit(1)
	}
}

// server is a started `ferry serve`.
type server struct {
	cmd   *exec.Cmd
	addr  string
	token string
	dir   string
}

// startServer starts ferry serve, behind the wrapper command given (such as taskset -c 0), if any.
func startServer(wrapper ...string) (*server, error) {
	dir, err := os.MkdirTemp("", "ferrybench-")
	if err != nil {
		return nil, err
	}
	argv := append(wrapper, *ferryBin, "serve", "--listen", "127.0.0.1:0", "--data", filepath.Join(dir, "data"))
	argv = append(argv, serveArgs...)
	s := &server{dir: dir}
	if err := s.launch(argv); err != nil {
		return nil, err
	}
	return s, nil
}

// launch runs argv, a ferry serve, and reads its address and, on a first start, its admin token from what
// it prints; a token it does not print (a restart on the same data) leaves s.token as it was.
func (s *server) launch(argv []string) error {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "FERRY_TOKEN=")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return err
	}
	s.cmd, s.addr = cmd, ""
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if tok, ok := strings.CutPrefix(strings.TrimSpace(line), "export FERRY_TOKEN="); ok {
			s.token = tok
		}
		if rest, ok := strings.CutPrefix(line, "ferry: serving on http://"); ok {
			s.addr, _, _ = strings.Cut(rest, " ")
			break
		}
	}
	go io.Copy(io.Discard, out)
	if s.addr == "" {
		return fmt.Errorf("ferry serve did not start")
	}
	return nil
}

// stop stops the server, then the data plane it may have started (which outlives servers by design).
func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	s.cmd.Wait()
	if _, err := os.Stat(filepath.Join(s.dir, "data", "dataplane.sock")); err == nil {
		exec.Command(*ferryBin, "dataplane", "stop", "--data", filepath.Join(s.dir, "data")).Run()
	}
	os.RemoveAll(s.dir)
}

// freeAddr is a loopback address nothing listens on, for an environment to take.
func freeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (s *server) api(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, _ := json.Marshal(in)
		body = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, "http://"+s.addr+path, body)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: HTTP %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

type runView struct {
	ID         int64     `json:"id"`
	State      string    `json:"state"`
	Reason     string    `json:"reason"`
	Commit     string    `json:"commit"`
	ReleaseID  int64     `json:"release_id"`
	CreatedAt  time.Time `json:"created_at"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Steps      []struct {
		State      string    `json:"state"`
		StartedAt  time.Time `json:"started_at"`
		FinishedAt time.Time `json:"finished_at"`
	} `json:"steps"`
}

func (s *server) waitRun(id int64, every time.Duration) (*runView, error) {
	for {
		var r runView
		if err := s.api("GET", fmt.Sprintf("/api/v1/runs/%d", id), nil, &r); err != nil {
			return nil, err
		}
		switch r.State {
		case "passed", "failed", "canceled", "superseded", "error":
			return &r, nil
		}
		time.Sleep(every)
	}
}

// repo makes a git repository with the pipeline and returns its path.
func repo(dir, pipeline string) (string, error) {
	p := filepath.Join(dir, "repo")
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(p, ".ferry.yaml"), []byte(pipeline), 0o644); err != nil {
		return "", err
	}
	if err := gitRun(p, "init", "--quiet", "--initial-branch=main"); err != nil {
		return "", err
	}
	_, err := commit(p, "pipeline")
	return p, err
}

func gitRun(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=b@example.com",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=b@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %v: %v %s", args, err, out)
	}
	return nil
}

func commit(dir, msg string) (string, error) {
	if err := gitRun(dir, "add", "-A"); err != nil {
		return "", err
	}
	if err := gitRun(dir, "commit", "--quiet", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	return strings.TrimSpace(string(out)), err
}

// benchWebhook measures the time from sending a signed GitHub push webhook to the first step's start, as the
// server records it.
func benchWebhook(args []string) error {
	fs := flag.NewFlagSet("webhook", flag.ExitOnError)
	n := fs.Int("n", 20, "pushes to measure")
	fs.Parse(args)
	s, err := startServer()
	if err != nil {
		return err
	}
	defer s.stop()
	dir := filepath.Join(s.dir, "src")
	r, err := repo(dir, "version: 1\nstages:\n  - name: s\n    steps:\n      - {name: first, run: 'true'}\n")
	if err != nil {
		return err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "bench", "repo": r, "poll": "0", "webhook_secret": "k"}, nil); err != nil {
		return err
	}
	var lat []time.Duration
	for i := 0; i < *n; i++ {
		sha, err := commit(r, fmt.Sprintf("push %d", i))
		if err != nil {
			return err
		}
		body := []byte(fmt.Sprintf(`{"ref":"refs/heads/main","after":%q}`, sha))
		m := hmac.New(sha256.New, []byte("k"))
		m.Write(body)
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/api/v1/projects/bench/webhook", bytes.NewReader(body))
		req.Header.Set("X-GitHub-Event", "push")
		req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
		sent := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var ans struct {
			Run struct{ ID int64 } `json:"run"`
		}
		json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if resp.StatusCode != 202 || ans.Run.ID == 0 {
			return fmt.Errorf("webhook answered %d without a run", resp.StatusCode)
		}
		rv, err := s.waitRun(ans.Run.ID, 5*time.Millisecond)
		if err != nil {
			return err
		}
		if rv.State != "passed" || len(rv.Steps) == 0 {
			return fmt.Errorf("run %d %s: %s", rv.ID, rv.State, rv.Reason)
		}
		lat = append(lat, rv.Steps[0].StartedAt.Sub(sent))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	fmt.Printf("webhook → first step started, %d pushes: min %s  median %s  p90 %s  max %s\n", len(lat),
		lat[0].Round(time.Millisecond/10), lat[len(lat)/2].Round(time.Millisecond/10),
		lat[len(lat)*9/10].Round(time.Millisecond/10), lat[len(lat)-1].Round(time.Millisecond/10))
	return nil
}

// benchSteps measures a run of n sequential `true` steps through the server: run duration per step, and the
// gap between one step's end and the next one's start as the store records them.
func benchSteps(args []string) error {
	fs := flag.NewFlagSet("steps", flag.ExitOnError)
	n := fs.Int("n", 50, "steps")
	fs.Parse(args)
	s, err := startServer()
	if err != nil {
		return err
	}
	defer s.stop()
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n")
	for i := 0; i < *n; i++ {
		fmt.Fprintf(&b, "  - name: s%d\n    steps:\n      - {name: t, run: 'true'}\n", i)
	}
	r, err := repo(filepath.Join(s.dir, "src"), b.String())
	if err != nil {
		return err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "bench", "repo": r, "poll": "0"}, nil); err != nil {
		return err
	}
	for round := 0; round < 3; round++ {
		var run runView
		if err := s.api("POST", "/api/v1/projects/bench/trigger", map[string]any{}, &run); err != nil {
			return err
		}
		rv, err := s.waitRun(run.ID, 20*time.Millisecond)
		if err != nil {
			return err
		}
		var gaps, steps time.Duration
		for i, st := range rv.Steps {
			steps += st.FinishedAt.Sub(st.StartedAt)
			if i > 0 {
				gaps += st.StartedAt.Sub(rv.Steps[i-1].FinishedAt)
			}
		}
		stepsWall := rv.Steps[len(rv.Steps)-1].FinishedAt.Sub(rv.Steps[0].StartedAt)
		fmt.Printf("server run %d of %d `true` steps: %s first step start → last step end (%s per step); step duration incl. process %s per step; gap between steps %s per step; whole run incl. checkout and release %s\n",
			round+1, *n, stepsWall.Round(time.Millisecond), (stepsWall / time.Duration(*n)).Round(time.Microsecond),
			(steps / time.Duration(*n)).Round(time.Microsecond), (gaps / time.Duration(*n-1)).Round(time.Microsecond),
			rv.FinishedAt.Sub(rv.StartedAt).Round(time.Millisecond))
	}
	return nil
}

// benchLogMem runs a step that prints size bytes in 100-byte lines and samples the server's resident memory.
func benchLogMem(args []string) error {
	fs := flag.NewFlagSet("logmem", flag.ExitOnError)
	size := fs.Int64("bytes", 1<<30, "bytes the step prints")
	nl := fs.Bool("newlines", true, "print 100-byte lines (false: one endless line)")
	fs.Parse(args)
	s, err := startServer()
	if err != nil {
		return err
	}
	defer s.stop()
	gen := fmt.Sprintf("head -c %d /dev/zero | tr '\\\\0' x", *size)
	if *nl {
		gen += " | fold -w 99"
	}
	pipeline := fmt.Sprintf("version: 1\nstages:\n  - name: s\n    steps:\n      - name: flood\n        timeout: 30m\n        run: %s\n", strconv.Quote(gen))
	r, err := repo(filepath.Join(s.dir, "src"), pipeline)
	if err != nil {
		return err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "bench", "repo": r, "poll": "0"}, nil); err != nil {
		return err
	}
	time.Sleep(time.Second)
	idle := rss(s.cmd.Process.Pid)
	var run runView
	if err := s.api("POST", "/api/v1/projects/bench/trigger", map[string]any{}, &run); err != nil {
		return err
	}
	peak := idle
	start := time.Now()
	done := make(chan *runView, 1)
	go func() { rv, _ := s.waitRun(run.ID, 200*time.Millisecond); done <- rv }()
	var rv *runView
	for rv == nil {
		select {
		case rv = <-done:
		case <-time.After(50 * time.Millisecond):
			peak = max(peak, rss(s.cmd.Process.Pid))
		}
	}
	elapsed := time.Since(start)
	after := rss(s.cmd.Process.Pid)
	logInfo, _ := os.Stat(filepath.Join(s.dir, "data", "logs", fmt.Sprintf("%d.log", run.ID)))
	var logSize int64
	if logInfo != nil {
		logSize = logInfo.Size()
	}
	fmt.Printf("step printing %d MiB (newlines %v): run %s in %s (%.0f MiB/s); server RSS idle %.1f MiB, peak %.1f MiB (+%.1f), after %.1f MiB; log file %d MiB\n",
		*size>>20, *nl, rv.State, elapsed.Round(time.Millisecond), float64(*size)/(1<<20)/elapsed.Seconds(),
		float64(idle)/(1<<20), float64(peak)/(1<<20), float64(peak-idle)/(1<<20), float64(after)/(1<<20), logSize>>20)
	return nil
}

// rss returns a process's resident set size in bytes.
func rss(pid int) int64 { return statusBytes(pid, "VmRSS:") }

// statusBytes reads one "kB" field of /proc/PID/status, in bytes (0 when the process is gone).
func statusBytes(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
