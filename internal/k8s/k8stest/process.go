package k8stest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// spawn starts commands from one goroutine locked to its OS thread for the life of the process. Linux sends
// the parent-death signal when the *thread* that forked a child exits, not the process, and the Go runtime
// may end idle threads: a thread that never exits makes the signal mean "the test binary is gone".
var spawn = sync.OnceValue(func() chan<- spawnReq {
	reqs := make(chan spawnReq)
	go func() {
		runtime.LockOSThread() // never unlocked: the goroutine and its thread live until the process exits
		for r := range reqs {
			r.done <- r.cmd.Start()
		}
	}()
	return reqs
})

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// process is one component of the control plane, running in its own process group.
type process struct {
	Name    string
	LogFile string
	cmd     *exec.Cmd
	log     *os.File
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed
}

// startProcess runs bin with args and env added to this process's environment, logging to logFile. The child
// is killed when the test binary dies (Pdeathsig) and stopped with its whole group by stop.
func startProcess(name, bin, logFile string, env []string, args ...string) (*process, error) {
	log, err := os.Create(logFile)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	fmt.Fprintf(log, "# %s %s\n", bin, strings.Join(args, " "))

	done := make(chan error)
	spawn() <- spawnReq{cmd: cmd, done: done}
	if err := <-done; err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{Name: name, LogFile: logFile, cmd: cmd, log: log, exited: make(chan struct{})}
	go func() {
		p.waitErr = cmd.Wait()
		log.Close()
		close(p.exited)
	}()
	return p, nil
}

// PID is the process id of the component (the leader of its process group).
func (p *process) PID() int { return p.cmd.Process.Pid }

// Exited says whether the process has ended, and how.
func (p *process) Exited() (bool, error) {
	select {
	case <-p.exited:
		return true, p.waitErr
	default:
		return false, nil
	}
}

// stop sends SIGTERM to the process group, and SIGKILL after grace. It returns once the process has exited.
func (p *process) stop(grace time.Duration) {
	if ok, _ := p.Exited(); ok {
		return
	}
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-p.exited
	}
	// Whatever the group leader left behind goes too.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
}

// tail is the end of the process's log, at most n lines.
func (p *process) tail(n int) string {
	data, err := os.ReadFile(p.LogFile)
	if err != nil {
		return fmt.Sprintf("(read %s: %v)", p.LogFile, err)
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = append([][]byte{fmt.Appendf(nil, "... (%d lines before; whole log in %s)", len(lines)-n, p.LogFile)}, lines[len(lines)-n:]...)
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// errExited says a component ended while the control plane needed it.
var errExited = errors.New("exited")
