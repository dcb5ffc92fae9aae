// Package sandbox runs untrusted commands (pipeline steps, a release's instances) out of reach of ferry's own
// files, with the kernel's namespaces through bubblewrap (bwrap, Debian's package bubblewrap).
//
// Inside a sandbox a command sees the machine's file system read-only, with ferry's data folder and the other
// folders in Hide replaced by empty ones, a private /tmp, its own /proc and /dev, and only the folders it was
// given writable (a step: its checkout, its scratch folder and its project's cache). It runs in its own user,
// PID, IPC, UTS and cgroup namespaces, with no capabilities, no way to gain privileges and no way to make
// further user namespaces, so it cannot unmount what hides ferry's folders, see or signal ferry's processes, or
// reach the data plane's socket. The network is shared: steps fetch dependencies and apps listen on ports.
//
// It imports nothing of ferry.
package sandbox

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Sandbox says how to isolate commands. A nil *Sandbox runs them directly, as ferry's own user with everything
// it can reach: only for code the operator trusts (ferry exec on one's own checkout, --isolation=none).
type Sandbox struct {
	// Bwrap is the bubblewrap executable; "bwrap" found on PATH when empty.
	Bwrap string
	// Hide lists folders (and files) replaced inside the sandbox by empty ones: ferry's data folder first.
	// Paths that do not exist are skipped.
	Hide []string
	// Bind lists folders every sandboxed command may write to, at the same path: what an operator shares on
	// purpose (a socket folder, a cache all projects trust).
	Bind []string
	// PerCommand asks that commands which could share a session (the steps of one run) each get a sandbox of
	// their own: a few milliseconds more per command, no launcher inside.
	PerCommand bool
}

// Mounts are what one command may reach beyond the read-only machine.
type Mounts struct {
	// Writable folders are bound read-write at the same path.
	Writable []string
	// ReadOnly folders are bound read-only at the same path, even inside a hidden folder.
	ReadOnly []string
}

// ErrUnavailable means bubblewrap is missing or cannot make namespaces on this machine.
var ErrUnavailable = errors.New("bubblewrap (bwrap) cannot isolate commands here")

// DefaultHidden returns the folders of the given home that hold credentials of the machine's user, and the
// system's password hashes: hidden from every sandbox on top of ferry's own data.
func DefaultHidden(home string) []string {
	out := []string{"/etc/shadow", "/etc/gshadow", "/etc/ssh"}
	if home == "" || home == "/" {
		return out
	}
	for _, p := range []string{".ssh", ".gnupg", ".aws", ".azure", ".kube", ".docker", ".config/gcloud", ".config/gh",
		".netrc", ".git-credentials", ".pgpass", ".ferry"} {
		out = append(out, filepath.Join(home, p))
	}
	return out
}

// Check runs `true` in a sandbox: nil when isolation works here, otherwise ErrUnavailable with bwrap's words.
func (s *Sandbox) Check() error {
	cmd := exec.Command("true")
	p, err := s.Start(cmd, Mounts{})
	if err != nil {
		return err
	}
	if err := p.Wait(); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

func (s *Sandbox) bwrap() string {
	if s.Bwrap != "" {
		return s.Bwrap
	}
	return "bwrap"
}

// args builds bubblewrap's arguments. Later mounts go on top of earlier ones: the machine read-only first, then
// the hidden folders emptied, then what the command may reach bound back inside them.
func (s *Sandbox) args(dir string, m Mounts) []string {
	a := []string{
		"--die-with-parent", // the sandbox dies with whoever started it, server or data plane
		"--new-session",     // no controlling terminal to push input into
		"--unshare-all", "--share-net", "--unshare-user", "--disable-userns",
		"--cap-drop", "ALL",
		"--hostname", "ferry-sandbox",
		"--ro-bind", "/", "/",
		"--dev", "/dev",
		"--proc", "/proc",
		"--tmpfs", "/tmp",
		"--tmpfs", "/dev/shm",
	}
	if os.Getuid() == 0 {
		// Nobody inside: tools that refuse to run as root, or act differently, see an ordinary user.
		a = append(a, "--uid", "65534", "--gid", "65534")
	}
	// Shared folders before the hidden ones, so that what is hidden stays hidden even inside them.
	for _, b := range s.Bind {
		a = append(a, "--bind", b, b)
	}
	var emptied []string
	for _, h := range s.Hide {
		fi, err := os.Stat(h)
		switch {
		case err != nil:
		case fi.IsDir():
			a = append(a, "--tmpfs", h)
			emptied = append(emptied, h)
		default:
			a = append(a, "--ro-bind", "/dev/null", h)
		}
	}
	for _, w := range m.Writable {
		a = append(a, "--bind", w, w)
	}
	for _, r := range m.ReadOnly {
		a = append(a, "--ro-bind", r, r)
	}
	// Read-only once what is bound inside has its mount point: writing where ferry's data was fails plainly.
	for _, h := range emptied {
		a = append(a, "--remount-ro", h)
	}
	if dir != "" {
		a = append(a, "--chdir", dir)
	}
	return a
}

// Process is a command started by Start or Session.Start: in a sandbox of its own, in a session's, or
// directly when the sandbox is nil.
type Process struct {
	cmd *exec.Cmd // nil in a session
	// group is the process group the command's own processes are in: signals for them go there.
	group int
	// outer is bubblewrap's process group; killing it ends the whole sandbox. 0 when not sandboxed.
	outer int

	// In a session, the launcher signals the command, and tells its exit.
	session *Session
	id      int64
	exit    chan message
	code    int
}

// Start starts cmd (its Path, Args, Dir, Env, Stdin, Stdout and Stderr as set) inside the sandbox, with m
// reachable. cmd.SysProcAttr and cmd.ExtraFiles must be unset. With a nil sandbox cmd runs directly in a
// process group of its own.
func (s *Sandbox) Start(cmd *exec.Cmd, m Mounts) (*Process, error) {
	if s == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		return &Process{cmd: cmd, group: cmd.Process.Pid}, nil
	}
	bin, err := exec.LookPath(s.bwrap())
	if err != nil {
		return nil, fmt.Errorf("%w: %v (install it: apt-get install bubblewrap)", ErrUnavailable, err)
	}
	// The program as exec.Command resolved it; when it found none, the sandbox's PATH decides (same machine).
	prog := cmd.Path
	if cmd.Err != nil || !strings.Contains(prog, "/") {
		prog = cmd.Args[0]
	}
	argv := append([]string{bin}, s.args(cmd.Dir, m)...)
	argv = append(argv, "--info-fd", "3", "--", prog)
	argv = append(argv, cmd.Args[1:]...)
	cmd.Path, cmd.Args, cmd.Err = bin, argv, nil
	cmd.Dir = ""
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, err
	}
	w.Close()
	p := &Process{cmd: cmd, group: cmd.Process.Pid, outer: cmd.Process.Pid}
	// bwrap writes the sandbox's first process once the namespaces are made, then closes the pipe; if it fails
	// first, the pipe closes empty and the command's own output (bwrap's error) says why.
	if child, ok := readChildPID(r); ok {
		p.group = child
	}
	return p, nil
}

func readChildPID(r io.Reader) (int, bool) {
	var info struct {
		ChildPID int `json:"child-pid"`
	}
	if err := json.NewDecoder(bufio.NewReader(r)).Decode(&info); err != nil || info.ChildPID <= 0 {
		return 0, false
	}
	return info.ChildPID, true
}

// PID is the process ferry started: bubblewrap, the command itself, or the session's bubblewrap.
func (p *Process) PID() int {
	if p.session != nil {
		return p.session.bwrap.Process.Pid
	}
	return p.cmd.Process.Pid
}

// Signal sends sig to the command's processes (not to bubblewrap), so a step or an app can shut down cleanly.
func (p *Process) Signal(sig syscall.Signal) {
	if p.session != nil {
		_ = p.session.send(message{Op: "signal", ID: p.id, Sig: int(sig)})
		return
	}
	_ = syscall.Kill(-p.group, sig)
}

// Kill ends every process of the command at once, those that left its process group included: in a sandbox,
// ending bubblewrap ends its PID namespace and the kernel kills all that is in it; in a session, the launcher
// also kills what carries the command's mark.
func (p *Process) Kill() {
	if p.session != nil {
		p.Signal(syscall.SIGKILL)
		return
	}
	_ = syscall.Kill(-p.group, syscall.SIGKILL)
	if p.outer != 0 {
		_ = syscall.Kill(-p.outer, syscall.SIGKILL)
	}
}

// Wait waits for the command to end. A command that exits non-zero or is killed returns an error with an
// ExitCode method (*exec.ExitError, or ExitError in a session).
func (p *Process) Wait() error {
	if p.session == nil {
		return p.cmd.Wait()
	}
	select {
	case m := <-p.exit:
		p.code = m.Code
	case <-p.session.done:
		// The launcher may have told the exit just before the session ended: that exit stands.
		select {
		case m := <-p.exit:
			p.code = m.Code
		default:
			p.code = -1
			return p.session.err
		}
	}
	if p.code != 0 {
		return ExitError{Code: p.code}
	}
	return nil
}

// ExitCode is the command's exit code once Wait returned, -1 when a signal ended it.
func (p *Process) ExitCode() int {
	if p.session != nil {
		return p.code
	}
	return p.cmd.ProcessState.ExitCode()
}

// ExitError is how a command of a session ended other than with exit code 0.
type ExitError struct{ Code int }

func (e ExitError) Error() string {
	if e.Code < 0 {
		return "signal: killed"
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// ExitCode is the exit code, -1 when a signal ended the command.
func (e ExitError) ExitCode() int { return e.Code }
