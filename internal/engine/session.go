package engine

import (
	"os/exec"
	"sync"

	"github.com/ferry-cd/ferry/internal/sandbox"
)

// runSandbox is the sandbox session a job's steps share: opened at the first step, closed when the job ends.
// Starting a step in it is a fork, where a sandbox of its own per step costs bubblewrap's few milliseconds.
type runSandbox struct {
	mu      sync.Mutex
	session *sandbox.Session
	failed  bool // sessions cannot open here: each step gets a sandbox of its own
}

// start starts a step's command: in the job's session when the engine isolates steps and this executable can
// launch sessions, else in a sandbox of its own (or directly, without a sandbox).
func (e *Engine) start(job *Job, cmd *exec.Cmd) (*sandbox.Process, error) {
	mounts := sandbox.Mounts{Writable: e.writable(job)}
	if e.Sandbox == nil || job.sandbox == nil {
		return e.Sandbox.Start(cmd, mounts)
	}
	rs := job.sandbox
	rs.mu.Lock()
	if rs.session != nil {
		select {
		case <-rs.session.Done():
			// A step killed the launcher (kill -9 -1, say): the next step gets a new session.
			rs.session.Close()
			rs.session = nil
		default:
		}
	}
	if rs.session == nil && !rs.failed {
		s, err := e.Sandbox.Open(mounts, []string{"PATH=" + sandboxPath, "FERRY_WORKSPACE=" + job.Workspace})
		if err != nil {
			rs.failed = true
		} else {
			rs.session = s
		}
	}
	s := rs.session
	rs.mu.Unlock()
	if s == nil {
		return e.Sandbox.Start(cmd, mounts)
	}
	return s.Start(cmd)
}

// sandboxPath is the launcher's own PATH; each step finds its programs on its own environment's PATH.
const sandboxPath = "/usr/local/bin:/usr/bin:/bin"

func (rs *runSandbox) close() {
	if rs == nil {
		return
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	if rs.session != nil {
		rs.session.Close()
		rs.session = nil
	}
}
