package dataplane

// An instance is one process of a release on this machine, in a read-only copy of its bundle, behind the
// environment's proxy. This file owns one instance: start, health checks, restart with backoff.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/sandbox"
)

// InstanceSpec says how to run the instances of one release.
type InstanceSpec struct {
	// Dir is the unpacked release the command runs in.
	Dir string
	// Run is a shell command, run with `sh -c`; PORT is set to the instance's port.
	Run string
	Env map[string]string
	// HealthPath is fetched on the instance's port; any 2xx or 3xx is healthy.
	HealthPath     string
	HealthInterval time.Duration
	HealthTimeout  time.Duration
	// LogPath receives the instance's output (appended); empty discards it.
	LogPath string
	// Sandbox isolates the instance's processes: they see Dir read-only, a private /tmp, the machine read-only
	// and nothing of ferry's data. Nil runs them as the data plane's own user with all it can reach.
	Sandbox *sandbox.Sandbox
	// MinBackoff and MaxBackoff bound the wait before a restart: it doubles from the first to the second and
	// resets once the instance was healthy for a minute. 500 ms and 30 s when zero.
	MinBackoff, MaxBackoff time.Duration
}

// InstanceState is what an instance is doing.
type InstanceState string

const (
	InstanceStarting  InstanceState = "starting"  // started, not healthy yet
	InstanceHealthy   InstanceState = "healthy"   // the last health check passed
	InstanceUnhealthy InstanceState = "unhealthy" // was healthy, the last health check failed
	InstanceExited    InstanceState = "exited"    // the process ended; waiting to restart
	InstanceStopped   InstanceState = "stopped"   // stopped on purpose
)

// InstanceStatus is a snapshot of an instance.
type InstanceStatus struct {
	State    InstanceState
	PID      int
	Port     int
	Restarts int
	// LastExit describes the last time the process ended on its own.
	LastExit string
	Since    time.Time
	// LastProbe is what the last health check saw ("GET /healthz answered 404", "GET /healthz: connection
	// refused"); LastOutput the last lines the process printed (each cut to 200 bytes), so that an instance
	// that never becomes healthy says why.
	LastProbe  string   `json:",omitempty"`
	LastOutput []string `json:",omitempty"`
}

// Instance runs one process of a release and keeps it running: when it exits it is started again after a
// backoff (see InstanceSpec).
type Instance struct {
	Spec InstanceSpec
	// OnChange is called after every state change, without locks held.
	OnChange func(InstanceStatus)

	mu        sync.Mutex
	status    InstanceStatus
	cancel    context.CancelFunc
	done      chan struct{}
	stopGrace atomic.Int64
}

// Start starts the supervision loop; the process starts at once.
func (in *Instance) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	in.mu.Lock()
	in.cancel, in.done = cancel, make(chan struct{})
	in.mu.Unlock()
	go func() {
		defer close(in.done)
		in.supervise(ctx)
	}()
}

// Stop ends the instance: SIGTERM to its process group, SIGKILL after grace, and waits for it.
func (in *Instance) Stop(grace time.Duration) {
	in.mu.Lock()
	cancel, done := in.cancel, in.done
	in.mu.Unlock()
	if cancel == nil {
		return
	}
	in.stopGrace.Store(int64(grace))
	cancel()
	<-done
}

// Status returns a snapshot.
func (in *Instance) Status() InstanceStatus {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.status
}

func (in *Instance) set(f func(*InstanceStatus)) {
	in.mu.Lock()
	before := in.status.State
	f(&in.status)
	if in.status.State != before {
		in.status.Since = time.Now()
	}
	st := in.status
	in.mu.Unlock()
	if in.OnChange != nil {
		in.OnChange(st)
	}
}

func (in *Instance) supervise(ctx context.Context) {
	backoff := durOr(in.Spec.MinBackoff, 500*time.Millisecond)
	for {
		healthySince, exit := in.runOnce(ctx)
		if ctx.Err() != nil {
			in.set(func(s *InstanceStatus) { s.State, s.PID = InstanceStopped, 0 })
			return
		}
		if !healthySince.IsZero() && time.Since(healthySince) > time.Minute {
			backoff = durOr(in.Spec.MinBackoff, 500*time.Millisecond)
		}
		in.set(func(s *InstanceStatus) { s.State, s.PID, s.LastExit = InstanceExited, 0, exit; s.Restarts++ })
		select {
		case <-ctx.Done():
			in.set(func(s *InstanceStatus) { s.State = InstanceStopped })
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, durOr(in.Spec.MaxBackoff, 30*time.Second))
	}
}

// runOnce starts the process on a fresh port and checks its health until it exits or ctx is done.
func (in *Instance) runOnce(ctx context.Context) (healthySince time.Time, exit string) {
	port, err := freePort()
	if err != nil {
		return time.Time{}, fmt.Sprintf("no free port: %v", err)
	}
	cmd := exec.Command("sh", "-c", in.Spec.Run)
	cmd.Dir = in.Spec.Dir
	cmd.Env = in.env(port)
	out := &tail{}
	cmd.Stdout, cmd.Stderr = out, out
	if in.Spec.LogPath != "" {
		if logf, err := os.OpenFile(in.Spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err == nil {
			w := io.MultiWriter(logf, out)
			cmd.Stdout, cmd.Stderr = w, w
			defer logf.Close()
		}
	}
	// Output goes through a pipe (for the tail); a child left holding it must not keep Wait from returning.
	cmd.WaitDelay = time.Second
	proc, err := in.Spec.Sandbox.Start(cmd, sandbox.Mounts{ReadOnly: []string{in.Spec.Dir}})
	if err != nil {
		return time.Time{}, fmt.Sprintf("start: %v", err)
	}
	pid := proc.PID()
	in.set(func(s *InstanceStatus) { s.State, s.PID, s.Port = InstanceStarting, pid, port })
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	interval := durOr(in.Spec.HealthInterval, time.Second)
	client := &http.Client{Timeout: durOr(in.Spec.HealthTimeout, 2*time.Second)}
	url := "http://127.0.0.1:" + strconv.Itoa(port) + in.Spec.HealthPath
	tick := time.NewTimer(0)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			proc.Kill() // children die with the instance
			in.set(func(s *InstanceStatus) { s.LastOutput = out.Lines() })
			return healthySince, exitText(err)
		case <-ctx.Done():
			in.terminate(proc, exited)
			return healthySince, ""
		case <-tick.C:
			ok, seen := probe(ctx, client, in.Spec.HealthPath, url)
			if ctx.Err() != nil {
				continue // stopping: the probe was cut short, not answered
			}
			in.set(func(s *InstanceStatus) {
				s.LastProbe, s.LastOutput = seen, out.Lines()
				switch {
				case ok:
					s.State = InstanceHealthy
				case s.State == InstanceHealthy:
					s.State = InstanceUnhealthy
				}
			})
			if ok && healthySince.IsZero() {
				healthySince = time.Now()
			} else if !ok {
				healthySince = time.Time{}
			}
			tick.Reset(interval)
		}
	}
}

func (in *Instance) terminate(proc *sandbox.Process, exited chan error) {
	proc.Signal(syscall.SIGTERM)
	grace := time.Duration(in.stopGrace.Load())
	if grace <= 0 {
		grace = 10 * time.Second
	}
	select {
	case <-exited:
		proc.Kill() // what the instance left behind
		return
	case <-time.After(grace):
	}
	proc.Kill()
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
	}
}

func exitText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return "killed by " + ws.Signal().String()
		}
		return fmt.Sprintf("exit status %d", ee.ExitCode())
	}
	return err.Error()
}

func (in *Instance) env(port int) []string {
	env := map[string]string{}
	for _, k := range []string{"PATH", "HOME", "LANG", "TZ", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	for k, v := range in.Spec.Env {
		env[k] = v
	}
	if in.Spec.Sandbox != nil {
		env["TMPDIR"] = "/tmp" // the sandbox's own; the data plane's may be hidden
	}
	env["PORT"] = strconv.Itoa(port)
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func durOr(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
