package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/demoapp"
)

// benchSoak is the flat-over-time soak: a real ferry serve and its data plane, steady load on production over
// loopback, a commit every interval (every fifth a canary that fails its requests and is rolled back),
// optionally a kill -9 of the server every few deploys. After each deploy it records RSS, Go heap,
// goroutines and open files of both processes, and at the end the growth per deploy (least squares over the
// second half of the run, once the 2-minute figures grace has filled): the figure that must read about zero.
//
//	go run ./bench/ferrybench -ferry bin/ferry soak -minutes 10 -every 20s -rate 100 -kill-every 10
func benchSoak(args []string) error {
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	minutes := fs.Float64("minutes", 5, "how long to run")
	every := fs.Duration("every", 20*time.Second, "time between commits")
	rate := fs.Int("rate", 100, "requests per second on production")
	killEvery := fs.Int("kill-every", 0, "kill -9 the server after every N deploys and start it again (0: never)")
	fs.Parse(args)

	dir, err := os.MkdirTemp("", "ferrysoak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data := filepath.Join(dir, "data")
	// The service is built once and committed (one blob, however many commits); each commit's pipeline copies
	// it, so a deploy costs a run, not a compile.
	app := filepath.Join(dir, "bin", "app")
	src := filepath.Join(dir, "appsrc")
	writeFiles(src, demoapp.App("x", "ok"))
	build := exec.Command("go", "build", "-o", app, "./app")
	build.Dir, build.Env = src, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build the sample service: %v\n%s", err, out)
	}
	listen := freeAddr()
	pl := fmt.Sprintf(`version: 1
stages:
  - name: build
    steps:
      - name: copy
        run: mkdir -p dist && cp prebuilt/app dist/app && cp version.txt mode.txt dist/
        artifacts: [dist]
environments:
  - name: production
    production: true
    service: {run: "cd dist && exec ./app", listen: "%s", instances: 2, health: {path: /healthz, interval: 200ms}}
    strategy:
      canary:
        steps: [{weight: 20, pause: 3s}]
    analysis:
      interval: 1s
      min_requests: 10
      checks:
        - {metric: error_rate, max: 5%%}
`, listen)
	s := &server{dir: dir}
	if err := s.start(data); err != nil {
		return err
	}
	defer func() {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
		exec.Command(*ferryBin, "dataplane", "stop", "--data", data).Run()
	}()
	r, err := repo(filepath.Join(dir, "src"), pl)
	if err != nil {
		return err
	}
	bin, err := os.ReadFile(app)
	if err != nil {
		return err
	}
	os.MkdirAll(filepath.Join(r, "prebuilt"), 0o755)
	if err := os.WriteFile(filepath.Join(r, "prebuilt", "app"), bin, 0o755); err != nil {
		return err
	}
	if err := s.api("POST", "/api/v1/projects", map[string]any{"name": "soak", "repo": r, "poll": "0"}, nil); err != nil {
		return err
	}
	deploy := func(n int) (string, error) {
		version, mode := fmt.Sprintf("v%d", n), "ok"
		if n%5 == 0 {
			mode = "broken" // answers 500: the analysis rolls it back
		}
		writeFiles(r, demoapp.App(version, mode))
		if _, err := commit(r, version); err != nil {
			return "", err
		}
		var run runView
		if err := s.api("POST", "/api/v1/projects/soak/trigger", map[string]any{}, &run); err != nil {
			return "", err
		}
		rv, err := s.waitRun(run.ID, 100*time.Millisecond)
		if err != nil || rv.State != "passed" {
			return "", fmt.Errorf("run %d: %v %v", run.ID, rv, err)
		}
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if st := s.rolloutState(); st == "succeeded" || st == "rolled_back" || st == "failed" || st == "aborted" {
				return st, nil
			}
			time.Sleep(200 * time.Millisecond)
		}
		return "", fmt.Errorf("the rollout of %s never ended", version)
	}
	if _, err := deploy(1); err != nil {
		return err
	}
	ld := startSoakLoad(listen, *rate)
	fmt.Printf("# soak: %s, %g min, a commit every %s, %d req/s, kill -9 every %d deploys\n", *ferryBin, *minutes, *every, *rate, *killEvery)
	fmt.Println("deploy\toutcome\tserver_rss_mb\tserver_anon_mb\tserver_heap_mb\tserver_goroutines\tserver_fds\tdp_rss_mb\tdp_anon_mb\tdp_heap_mb\tdp_goroutines\tdp_fds\tok\tfailed")
	var samples []sample
	// Interrupted (SIGINT, SIGTERM), the soak ends after the deploy under way and still stops what it started.
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt, syscall.SIGTERM)
	end := time.Now().Add(time.Duration(*minutes * float64(time.Minute)))
	for n := 2; time.Now().Before(end) && len(interrupted) == 0; n++ {
		next := time.Now().Add(*every)
		outcome, err := deploy(n)
		if err != nil {
			fmt.Println("#", err)
			outcome = "error"
		}
		if *killEvery > 0 && (n-1)%*killEvery == 0 {
			s.cmd.Process.Kill()
			s.cmd.Wait()
			if err := s.start(data); err != nil {
				return err
			}
			outcome += "+kill9"
		}
		time.Sleep(time.Until(next))
		sm := s.measure(data)
		ok, failed := ld.ok.Load(), ld.failed.Load()
		fmt.Printf("%d\t%s\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%.1f\t%.1f\t%.1f\t%.0f\t%.0f\t%d\t%d\n", n, outcome,
			sm.v[0]/1e6, sm.v[8]/1e6, sm.v[1]/1e6, sm.v[2], sm.v[3], sm.v[4]/1e6, sm.v[9]/1e6, sm.v[5]/1e6, sm.v[6], sm.v[7], ok, failed)
		samples = append(samples, sm)
	}
	ld.stop()
	if len(samples) < 4 {
		return fmt.Errorf("only %d deploys measured: run longer", len(samples))
	}
	half := samples[len(samples)/2:]
	names := []string{"server RSS (KB)", "server heap (KB)", "server goroutines", "server open files",
		"data plane RSS (KB)", "data plane heap (KB)", "data plane goroutines", "data plane open files",
		"server anon RSS (KB)", "data plane anon RSS (KB)"}
	fmt.Printf("# growth per deploy, least squares over deploys %d..%d (second half):\n", len(samples)-len(half)+2, len(samples)+1)
	for i, name := range names {
		scale := 1.0
		if strings.Contains(name, "KB") {
			scale = 1e-3
		}
		fmt.Printf("#   %-24s %+.2f\n", name, slope(half, i)*scale)
	}
	fmt.Printf("# requests: %d ok, %d failed (the bad canaries' share)\n", ld.ok.Load(), ld.failed.Load())
	return nil
}

// sample holds, per process (server, then data plane from 4): RSS, Go heap in use, goroutines, open files;
// then anonymous RSS of the server (8) and the data plane (9), which leaves out the pages of the binary.
type sample struct{ v [10]float64 }

// slope is the least-squares growth of field i per sample.
func slope(ss []sample, i int) float64 {
	n := float64(len(ss))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for k, s := range ss {
		x := float64(k)
		sx, sy, sxx, sxy = sx+x, sy+s.v[i], sxx+x*x, sxy+x*s.v[i]
	}
	return (n*sxy - sx*sy) / (n*sxx - sx*sx)
}

// start runs ferry serve on data, keeping the admin token of the first start.
func (s *server) start(data string) error {
	return s.launch([]string{*ferryBin, "serve", "--listen", "127.0.0.1:0", "--data", data})
}

func (s *server) rolloutState() string {
	var st struct {
		Environments []struct {
			Rollout *struct{ State string } `json:"rollout"`
		} `json:"environments"`
	}
	s.api("GET", "/api/v1/projects/soak/status", nil, &st)
	if len(st.Environments) == 0 || st.Environments[0].Rollout == nil {
		return ""
	}
	return st.Environments[0].Rollout.State
}

// measure reads RSS and open files of both processes from /proc, and Go heap and goroutines from /metrics
// where the binary has the runtime collectors (zero where it has not: a build before they were added).
func (s *server) measure(data string) sample {
	var sm sample
	dpPID := dataPlanePID(data)
	sm.v[0], sm.v[3] = float64(rss(s.cmd.Process.Pid)), float64(openFiles(s.cmd.Process.Pid))
	sm.v[4], sm.v[7] = float64(rss(dpPID)), float64(openFiles(dpPID))
	sm.v[8], sm.v[9] = float64(anonRSS(s.cmd.Process.Pid)), float64(anonRSS(dpPID))
	req, _ := http.NewRequest("GET", "http://"+s.addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return sm
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, _ := strings.Cut(line, " ")
		dp := strings.Contains(name, `component="dataplane"`)
		base, _, _ := strings.Cut(name, "{")
		v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
		if err != nil {
			continue
		}
		off := 0
		if dp {
			off = 4
		}
		switch base {
		case "go_memstats_heap_inuse_bytes":
			sm.v[off+1] = v
		case "go_goroutines":
			sm.v[off+2] = v
		}
	}
	return sm
}

// dataPlanePID asks the data plane of the data folder for its process id over its socket. The connection is
// closed after: the bench must not hold what it measures.
func dataPlanePID(data string) int {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(data, "dataplane.sock"))
	}}
	defer tr.CloseIdleConnections()
	c := &http.Client{Timeout: 5 * time.Second, Transport: tr}
	resp, err := c.Get("http://dataplane/v1/state")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var st struct {
		PID int `json:"pid"`
	}
	json.NewDecoder(resp.Body).Decode(&st)
	return st.PID
}

// anonRSS is a process's anonymous resident memory (heap, stacks): RSS less the mapped pages of its binary,
// which depend on the page cache rather than on what the process holds.
func anonRSS(pid int) int64 { return statusBytes(pid, "RssAnon:") }

func openFiles(pid int) int {
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	return len(fds)
}

type soakLoad struct {
	ok, failed atomic.Int64
	done       chan struct{}
	wg         sync.WaitGroup
}

// startSoakLoad sends rate requests a second to addr, spread over 8 workers, until stopped.
func startSoakLoad(addr string, rate int) *soakLoad {
	l := &soakLoad{done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	const workers = 8
	gap := time.Duration(float64(time.Second) * workers / float64(max(rate, 1)))
	for range workers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			t := time.NewTicker(gap)
			defer t.Stop()
			for {
				select {
				case <-l.done:
					return
				case <-t.C:
				}
				resp, err := client.Get("http://" + addr + "/")
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("HTTP %d", resp.StatusCode)
					}
				}
				if err != nil {
					l.failed.Add(1)
				} else {
					l.ok.Add(1)
				}
			}
		}()
	}
	return l
}

func (l *soakLoad) stop() {
	close(l.done)
	l.wg.Wait()
}
