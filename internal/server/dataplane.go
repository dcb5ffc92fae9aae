package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/dataplane"
)

// ensureDataPlane connects to the data plane of the data folder, starting one when none answers. The data
// plane is started in a session of its own, so it outlives this server: a kill -9 of `ferry serve` leaves
// the proxies and instances serving.
func (s *Server) ensureDataPlane(ctx context.Context) (*dataplane.Client, error) {
	if c := s.runningDataPlane(ctx); c != nil {
		return c, nil
	}
	sock := filepath.Join(s.cfg.DataDir, "dataplane.sock")
	c := dataplane.NewClient(sock)
	try := func() bool {
		ctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := c.State(ctx)
		return err == nil
	}
	exe := s.cfg.DataPlaneCommand
	if len(exe) == 0 {
		self, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("start data plane: %w", err)
		}
		exe = append([]string{self, "dataplane", "--data", s.cfg.DataDir}, s.cfg.DataPlaneArgs...)
	}
	logf, err := os.OpenFile(filepath.Join(s.cfg.DataDir, "dataplane.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
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
			return nil, fmt.Errorf("data plane (pid %d) did not answer on %s; see %s", pid, sock, filepath.Join(s.cfg.DataDir, "dataplane.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.log.Info("data plane started", "pid", pid, "socket", sock)
	return c, nil
}

// runningDataPlane returns a client of the data plane already running for the data folder, or nil.
func (s *Server) runningDataPlane(ctx context.Context) *dataplane.Client {
	sock := filepath.Join(s.cfg.DataDir, "dataplane.sock")
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
