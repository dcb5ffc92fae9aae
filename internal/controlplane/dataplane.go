package controlplane

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/proxy"
)

// lazyDataPlane is the data plane of the data folder, started the first time there is something to run, so a
// control plane that only runs pipelines never starts one. The local target (deploy/local) drives it.
type lazyDataPlane struct {
	dataDir string
	// command starts the data plane: `<this executable> dataplane --data DIR args...` when empty.
	command []string
	args    []string
	log     *slog.Logger

	mu     sync.Mutex
	client *dataplane.Client
}

func (l *lazyDataPlane) get(ctx context.Context, start bool) (*dataplane.Client, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.client != nil {
		return l.client, nil
	}
	if !start {
		// One that outlived a previous server is adopted as soon as it is seen.
		l.client = l.running(ctx)
		return l.client, nil
	}
	c, err := l.ensure(ctx)
	if err != nil {
		return nil, err
	}
	l.client = c
	return c, nil
}

// State reports an empty state while no data plane runs; the controller's first Apply with an environment in
// it starts one. A data plane left running by a previous server is adopted at once.
func (l *lazyDataPlane) State(ctx context.Context) (*dataplane.State, error) {
	c, err := l.get(ctx, false)
	if err != nil || c == nil {
		return &dataplane.State{}, err
	}
	return c.State(ctx)
}

// Desired starts the data plane when none runs: the local target reads the desired state only to change it.
// A data plane started now restores the state it saved first, so the change lands on every environment that
// ran before, not on an empty state.
func (l *lazyDataPlane) Desired(ctx context.Context) (*dataplane.Desired, error) {
	c, err := l.get(ctx, true)
	if err != nil {
		return nil, err
	}
	return c.Desired(ctx)
}

// Stats returns a release's figures; while no data plane runs there are none.
func (l *lazyDataPlane) Stats(ctx context.Context, env, release string, span time.Duration) (*proxy.Summary, error) {
	c, err := l.get(ctx, false)
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, fmt.Errorf("the data plane is not running: %w", dataplane.ErrNotFound)
	}
	return c.Stats(ctx, env, release, span)
}

func (l *lazyDataPlane) Apply(ctx context.Context, d dataplane.Desired) (*dataplane.State, error) {
	c, err := l.get(ctx, len(d.Environments) > 0)
	if err != nil || c == nil {
		return &dataplane.State{}, err
	}
	return c.Apply(ctx, d)
}

// Metrics writes the data plane's Prometheus exposition to w; nothing while none runs.
func (l *lazyDataPlane) Metrics(ctx context.Context, w io.Writer) error {
	c, err := l.get(ctx, false)
	if err != nil || c == nil {
		return err
	}
	return c.Metrics(ctx, w)
}

// ensure connects to the data plane of the data folder, starting one when none answers. The data
// plane is started in a session of its own, so it outlives this server: a kill -9 of `ferry serve` leaves
// the proxies and instances serving.
func (l *lazyDataPlane) ensure(ctx context.Context) (*dataplane.Client, error) {
	if c := l.running(ctx); c != nil {
		return c, nil
	}
	sock := filepath.Join(l.dataDir, "dataplane.sock")
	c := dataplane.NewClient(sock)
	try := func() bool {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := c.State(ctx)
		return err == nil
	}
	exe := l.command
	if len(exe) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("start data plane: %w", err)
		}
		exe = append([]string{self, "dataplane", "--data", l.dataDir}, l.args...)
	}
	logf, err := os.OpenFile(filepath.Join(l.dataDir, "dataplane.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start data plane: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(exe[0], exe[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Env = dataPlaneEnv()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start data plane: %w", err)
	}
	pid := cmd.Process.Pid
	// Reap it if it exits while this server runs; it is not this server's child to wait for otherwise.
	go cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for !try() {
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("data plane (pid %d) did not answer on %s; see %s", pid, sock, filepath.Join(l.dataDir, "dataplane.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	l.log.Info("data plane started", "pid", pid, "socket", sock)
	return c, nil
}

// running returns a client of the data plane already running for the data folder, or nil.
func (l *lazyDataPlane) running(ctx context.Context) *dataplane.Client {
	sock := filepath.Join(l.dataDir, "dataplane.sock")
	if _, err := os.Stat(sock); err != nil {
		return nil
	}
	c := dataplane.NewClient(sock)
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := c.State(ctx); err != nil {
		return nil
	}
	return c
}

// dataPlaneEnv is the data plane's environment: ferry's own, less its API token.
func dataPlaneEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if len(kv) >= 12 && kv[:12] == "FERRY_TOKEN=" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// live returns the desired state of the data plane that runs, without starting one: nil when none runs.
func (l *lazyDataPlane) live(ctx context.Context) (*dataplane.Desired, error) {
	c, err := l.get(ctx, false)
	if err != nil || c == nil {
		return nil, err
	}
	return c.Desired(ctx)
}
