package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
)

// A Session is one sandbox that runs many commands, the steps of one run: they share its mounts, so starting a
// step costs a fork inside it rather than a new sandbox (bubblewrap's namespaces and mounts take milliseconds).
// Inside, a launcher (this same executable, see ServeLauncher) starts each command in a process group of its
// own with the output files ferry hands it, and reports its exit. Commands of one session can see and signal
// each other: they belong to the same run of the same commit.
type Session struct {
	bwrap  *exec.Cmd
	conn   *net.UnixConn
	stderr *cappedBuffer

	wmu    sync.Mutex // one message on the socket at a time
	mu     sync.Mutex
	nextID int64
	calls  map[int64]chan message // waiting for a command's start or exit
	done   chan struct{}          // closed when the launcher is gone
	err    error                  // why, once done is closed
	killed sync.Once
}

// ErrNoLauncher means this executable never called ServeLauncher, so it cannot be a session's launcher.
var ErrNoLauncher = errors.New("this executable does not serve sandbox sessions")

// canLaunch records that main called ServeLauncher: os.Executable() then knows the launcher's argument.
var canLaunch atomic.Bool

// launcherArg is the first argument that makes this executable a session's launcher.
const launcherArg = "ferry-sandbox-launcher"

// ServeLauncher must be called first in main (and in TestMain of tests that open sessions). When the program
// was started as a session's launcher, it serves the session and exits; otherwise it records that this
// executable can be one, and returns.
func ServeLauncher() {
	if len(os.Args) == 2 && os.Args[1] == launcherArg {
		os.Exit(runLauncher(os.NewFile(3, "control")))
	}
	closeInheritedOnExec()
	canLaunch.Store(true)
}

// closeInheritedOnExec keeps the descriptors this process inherited (from a service manager, a shell, a test
// runner) from passing on to the commands it starts: Go marks only its own close-on-exec.
func closeInheritedOnExec() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// message is what ferry and the launcher send each other, one per packet of a SOCK_SEQPACKET socket. Output
// files travel beside a start request as SCM_RIGHTS.
type message struct {
	Op   string   `json:"op,omitempty"` // start, signal (to the launcher); ready, started, exited (from it)
	ID   int64    `json:"id,omitempty"`
	Path string   `json:"path,omitempty"`
	Args []string `json:"args,omitempty"`
	Env  []string `json:"env,omitempty"`
	Dir  string   `json:"dir,omitempty"`
	Sig  int      `json:"sig,omitempty"`
	// Code is the exit code, -1 when a signal ended the command; Err says why a start failed.
	Code int    `json:"code,omitempty"`
	Err  string `json:"err,omitempty"`
}

// maxMessage bounds one message: a command's arguments and environment travel in it.
const maxMessage = 192 << 10

// Open starts a session whose commands reach m and start in dir unless told otherwise. env is the launcher's
// own environment (the commands get theirs with each Start); ferry's recovery finds a session's processes by
// the FERRY_WORKSPACE in it. Close ends the session and everything in it.
func (s *Sandbox) Open(m Mounts, env []string) (*Session, error) {
	if !canLaunch.Load() {
		return nil, ErrNoLauncher
	}
	bin, err := exec.LookPath(s.bwrap())
	if err != nil {
		return nil, fmt.Errorf("%w: %v (install it: apt-get install bubblewrap)", ErrUnavailable, err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("open sandbox session: %w", err)
	}
	// The launcher is this executable, run through a descriptor: its path may be hidden inside (a test
	// binary under /tmp, say), and the descriptor needs no path at all.
	self, err := os.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("open sandbox session: %w", err)
	}
	defer self.Close()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open sandbox session: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "session"), os.NewFile(uintptr(fds[1]), "launcher")
	defer theirs.Close()
	c, err := net.FileConn(ours)
	ours.Close()
	if err != nil {
		return nil, fmt.Errorf("open sandbox session: %w", err)
	}
	conn := c.(*net.UnixConn)

	argv := append([]string{bin}, s.args("", m)...)
	argv = append(argv, "--", "/proc/self/fd/4", launcherArg)
	ss := &Session{
		bwrap:  &exec.Cmd{Path: bin, Args: argv, Env: env},
		conn:   conn,
		stderr: &cappedBuffer{max: 4 << 10},
		calls:  map[int64]chan message{},
		done:   make(chan struct{}),
	}
	ss.bwrap.Stderr = ss.stderr
	ss.bwrap.ExtraFiles = []*os.File{theirs, self} // fd 3 and fd 4 inside
	ss.bwrap.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := ss.bwrap.Start(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("open sandbox session: %w", err)
	}
	theirs.Close() // only the launcher holds its end now: the socket ends when it does
	first, _, err := ss.read()
	if err != nil || first.Op != "ready" {
		ss.kill()
		why := strings.TrimSpace(ss.stderr.String())
		if why == "" && err != nil {
			why = err.Error()
		}
		return nil, fmt.Errorf("%w: launcher did not start: %s", ErrUnavailable, why)
	}
	go ss.receive()
	return ss, nil
}

// Done is closed when the session has ended: closed, or its launcher killed by one of its commands.
func (ss *Session) Done() <-chan struct{} { return ss.done }

// Start starts cmd (its Path, Args, Dir, Env, Stdout and Stderr as set; Stdout and Stderr must be files, Stdin
// must be nil: the command reads /dev/null) in the session.
func (ss *Session) Start(cmd *exec.Cmd) (*Process, error) {
	out, ok1 := cmd.Stdout.(*os.File)
	errf, ok2 := cmd.Stderr.(*os.File)
	if !ok1 || !ok2 || cmd.Stdin != nil {
		return nil, errors.New("sandbox session: stdout and stderr must be files and stdin unset")
	}
	select {
	case <-ss.done:
		return nil, ss.err
	default:
	}
	prog := cmd.Path
	if cmd.Err != nil || !strings.Contains(prog, "/") {
		prog = cmd.Args[0]
	}
	ss.mu.Lock()
	ss.nextID++
	id := ss.nextID
	reply := make(chan message, 2)
	ss.calls[id] = reply
	ss.mu.Unlock()

	req := message{Op: "start", ID: id, Path: prog, Args: cmd.Args, Env: cmd.Env, Dir: cmd.Dir}
	if err := ss.send(req, int(out.Fd()), int(errf.Fd())); err != nil {
		ss.forget(id)
		select {
		case <-ss.done:
			return nil, ss.err
		default:
			return nil, err
		}
	}
	select {
	case m := <-reply:
		if m.Op != "started" {
			ss.forget(id)
			return nil, fmt.Errorf("start %s: %s", prog, m.Err)
		}
	case <-ss.done:
		ss.forget(id)
		return nil, ss.err
	}
	return &Process{session: ss, id: id, exit: reply}, nil
}

// Close ends the session: every process in it is killed.
func (ss *Session) Close() {
	ss.kill()
	<-ss.done
}

// kill ends bubblewrap's process group, and with it the sandbox's PID namespace: the kernel kills all in it.
func (ss *Session) kill() {
	ss.killed.Do(func() {
		_ = syscall.Kill(-ss.bwrap.Process.Pid, syscall.SIGKILL)
		ss.conn.Close()
		_ = ss.bwrap.Wait()
	})
}

func (ss *Session) forget(id int64) {
	ss.mu.Lock()
	delete(ss.calls, id)
	ss.mu.Unlock()
}

func (ss *Session) send(m message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxMessage {
		return fmt.Errorf("sandbox session: command and environment take %d KiB, over %d KiB", len(b)>>10, maxMessage>>10)
	}
	var oob []byte
	if len(fds) > 0 {
		oob = syscall.UnixRights(fds...)
	}
	ss.wmu.Lock()
	defer ss.wmu.Unlock()
	if _, _, err := ss.conn.WriteMsgUnix(b, oob, nil); err != nil {
		return fmt.Errorf("sandbox session: %w", err)
	}
	return nil
}

func (ss *Session) read() (message, []int, error) {
	return readMessage(ss.conn)
}

// receive hands each message from the launcher to whoever waits for it, until the launcher is gone.
func (ss *Session) receive() {
	for {
		m, _, err := ss.read()
		if err != nil {
			ss.mu.Lock()
			ss.err = fmt.Errorf("sandbox session ended: %s", ended(err, ss.stderr.String()))
			close(ss.done)
			ss.mu.Unlock()
			go ss.kill() // whatever the launcher left runs no longer
			return
		}
		ss.mu.Lock()
		reply, ok := ss.calls[m.ID]
		if ok && m.Op == "exited" {
			delete(ss.calls, m.ID)
		}
		ss.mu.Unlock()
		if ok {
			reply <- m
		}
	}
}

func ended(err error, stderr string) string {
	if s := strings.TrimSpace(stderr); s != "" {
		return s
	}
	if errors.Is(err, errClosed) {
		return "its launcher was killed"
	}
	return err.Error()
}

var errClosed = errors.New("connection closed")

// readMessage reads one message and the descriptors that came with it.
func readMessage(conn *net.UnixConn) (message, []int, error) {
	buf := make([]byte, maxMessage+1)
	oob := make([]byte, syscall.CmsgSpace(4*4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if errors.Is(err, io.EOF) {
		return message{}, nil, errClosed
	}
	if err != nil {
		return message{}, nil, err
	}
	var fds []int
	if oobn > 0 {
		cms, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return message{}, nil, err
		}
		for _, cm := range cms {
			if got, err := syscall.ParseUnixRights(&cm); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if n == 0 {
		closeAll(fds)
		return message{}, nil, errClosed
	}
	var m message
	if err := json.Unmarshal(buf[:n], &m); err != nil {
		closeAll(fds)
		return message{}, nil, fmt.Errorf("bad message: %w", err)
	}
	return m, fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		syscall.Close(fd)
	}
}

// cappedBuffer keeps the first max bytes written to it: bubblewrap's error, not whatever follows.
type cappedBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if room := c.max - c.buf.Len(); room > 0 {
		c.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (c *cappedBuffer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}
