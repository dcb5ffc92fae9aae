package runs

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// Recover ends the runs a dead server left running: their processes are killed, the run becomes error, and
// its commit is queued again once (see retryInterrupted). Queued runs stay queued and are dispatched as usual.
// Call it before Run.
func (m *Manager) Recover(ctx context.Context) error {
	runs, err := m.store.RunsInState(ctx, store.RunRunning)
	if err != nil {
		return err
	}
	for _, r := range runs {
		killed := killRunProcesses(m.workspace(r.ID))
		m.log.Warn("run interrupted by server restart", "project", r.Project, "run", r.ID, "processes_killed", killed)
		steps, err := m.store.ListSteps(ctx, r.ID)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		for _, st := range steps {
			if st.State.Done() {
				continue
			}
			if st.State == store.StepRunning {
				st.State, st.Reason = store.StepError, "interrupted by server restart"
			} else {
				st.State, st.Reason = store.StepSkipped, "interrupted by server restart"
			}
			st.FinishedAt = now
			if err := m.store.UpdateStep(ctx, st); err != nil {
				return err
			}
		}
		r.State, r.Reason, r.FinishedAt = store.RunError, "interrupted by server restart", now
		if err := m.store.UpdateRun(ctx, r); err != nil {
			return err
		}
		m.cleanup(r.ID)
		m.retryInterrupted(ctx, r)
	}
	return nil
}

// killRunProcesses kills every process whose environment names the run's workspace: the steps of a run that a
// dead server started, with their children, even those that left the step's process group.
func killRunProcesses(workspace string) int {
	marker := []byte("FERRY_WORKSPACE=" + workspace + "\x00")
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil || !strings.Contains(string(env), string(marker)) {
			continue
		}
		if syscall.Kill(pid, syscall.SIGKILL) == nil {
			n++
		}
	}
	return n
}
