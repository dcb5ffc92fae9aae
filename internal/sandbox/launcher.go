package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// launcher runs inside a session's sandbox, as the same user as the commands it starts: it has no more rights
// than they do, only the socket to ferry.
type launcher struct {
	conn   *net.UnixConn
	wmu    sync.Mutex
	mu     sync.Mutex
	groups map[int64]int // command → its process group
}

// commandMarker is put in each command's environment, so that what a command started and moved out of its
// process group (setsid daemons) is still found when the command is killed.
const commandMarker = "FERRY_SANDBOX_COMMAND"

// runLauncher serves one session over control: it starts what ferry asks, signals what ferry asks, reports
// each exit, and returns when ferry closes the socket (bubblewrap then ends the sandbox and all in it).
func runLauncher(control *os.File) int {
	// Not dumpable: the commands run as the same user and must not trace the launcher or open its descriptors
	// through /proc. Its inherited descriptors do not pass on to the commands.
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0)
	syscall.Close(4) // this executable, as bubblewrap ran it
	closeInheritedOnExec()
	c, err := net.FileConn(control)
	control.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox launcher:", err)
		return 1
	}
	l := &launcher{conn: c.(*net.UnixConn), groups: map[int64]int{}}
	l.send(message{Op: "ready"})
	for {
		m, fds, err := readMessage(l.conn)
		if err != nil {
			return 0
		}
		switch m.Op {
		case "start":
			l.start(m, fds)
		case "signal":
			closeAll(fds)
			l.signal(m.ID, syscall.Signal(m.Sig))
		default:
			closeAll(fds)
		}
	}
}

func (l *launcher) send(m message) {
	b, _ := json.Marshal(m)
	l.wmu.Lock()
	defer l.wmu.Unlock()
	_, _, _ = l.conn.WriteMsgUnix(b, nil, nil)
}

// start starts one command with the two descriptors that came with the request as its stdout and stderr.
func (l *launcher) start(m message, fds []int) {
	if len(fds) != 2 || len(m.Args) == 0 {
		closeAll(fds)
		l.send(message{Op: "failed", ID: m.ID, Err: "bad start request"})
		return
	}
	stdout, stderr := os.NewFile(uintptr(fds[0]), "stdout"), os.NewFile(uintptr(fds[1]), "stderr")
	path, err := lookPath(m.Path, m.Env)
	if err != nil {
		stdout.Close()
		stderr.Close()
		l.send(message{Op: "failed", ID: m.ID, Err: err.Error()})
		return
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   m.Args,
		Env:    append(m.Env, commandMarker+"="+strconv.FormatInt(m.ID, 10)),
		Dir:    m.Dir,
		Stdout: stdout,
		Stderr: stderr,
		// Its own group, so signals reach the command and its children and not the launcher; killed if the
		// launcher dies.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL},
	}
	err = cmd.Start()
	stdout.Close()
	stderr.Close()
	if err != nil {
		l.send(message{Op: "failed", ID: m.ID, Err: err.Error()})
		return
	}
	l.mu.Lock()
	l.groups[m.ID] = cmd.Process.Pid
	l.mu.Unlock()
	l.send(message{Op: "started", ID: m.ID})
	go func() {
		_ = cmd.Wait()
		l.send(message{Op: "exited", ID: m.ID, Code: cmd.ProcessState.ExitCode()})
	}()
}

// signal sends sig to a command's process group; SIGKILL also ends what the command moved out of it.
func (l *launcher) signal(id int64, sig syscall.Signal) {
	l.mu.Lock()
	group, ok := l.groups[id]
	l.mu.Unlock()
	if !ok {
		return
	}
	_ = syscall.Kill(-group, sig)
	if sig == syscall.SIGKILL {
		killMarked(commandMarker + "=" + strconv.FormatInt(id, 10))
	}
}

// killMarked kills every process of the sandbox whose environment holds marker. /proc is the sandbox's own, so
// only its processes are listed.
func killMarked(marker string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	want := []byte(marker + "\x00")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(env, want) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// lookPath finds name on the PATH of the command's own environment, as a shell would.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	var path string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: executable file not found in $PATH", name)
}
