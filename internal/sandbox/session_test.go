package sandbox

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) {
	ServeLauncher() // this test binary is the sessions' launcher
	os.Exit(m.Run())
}

// inSession runs script with sh in the session and returns its output and exit code.
func inSession(t *testing.T, ss *Session, dir, script string) (string, int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, w, w
	cmd.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin"}
	p, err := ss.Start(cmd)
	w.Close()
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	var out bytes.Buffer
	read := make(chan struct{})
	go func() { out.ReadFrom(r); close(read) }()
	err = p.Wait()
	p.Kill()
	<-read
	var exitErr interface{ ExitCode() int }
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("wait: %v", err)
	}
	return out.String(), p.ExitCode()
}

func openSession(t *testing.T, s *Sandbox, m Mounts) *Session {
	t.Helper()
	ss, err := s.Open(m, []string{"PATH=/usr/local/bin:/usr/bin:/bin"})
	if err != nil {
		t.Fatalf("open session: %v", err)
	}
	t.Cleanup(ss.Close)
	return ss
}

func TestSessionIsolatesAsASandboxOfItsOwn(t *testing.T) {
	data := t.TempDir()
	os.WriteFile(filepath.Join(data, "secret.key"), []byte("TOPSECRET"), 0o600)
	ws := filepath.Join(data, "work", "1")
	os.MkdirAll(ws, 0o700)
	ss := openSession(t, &Sandbox{Hide: []string{data}}, Mounts{Writable: []string{ws}})

	out, code := inSession(t, ss, ws, `
cat ../../secret.key 2>&1 || echo "no key"
echo mine > out.txt && echo wrote
touch `+data+`/planted 2>&1 || echo "data read-only"
kill -0 `+strconv.Itoa(os.Getpid())+` 2>&1 && echo "signalled ferry" || true
grep CapEff /proc/self/status
echo "fds: $(ls /proc/self/fd | tr '\n' ' ')"
exit 3
`)
	if code != 3 {
		t.Errorf("exit code = %d, want 3\n%s", code, out)
	}
	for _, bad := range []string{"TOPSECRET", "signalled ferry"} {
		if strings.Contains(out, bad) {
			t.Errorf("the session's command %s:\n%s", bad, out)
		}
	}
	for _, want := range []string{"no key", "wrote", "data read-only", "CapEff:\t0000000000000000"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// ls holds its standard three and the folder it reads: nothing of the launcher's (the socket to ferry).
	if !strings.Contains(out, "fds: 0 1 2 3 \n") {
		t.Errorf("a command holds more descriptors than its own:\n%s", out)
	}
	if b, err := os.ReadFile(filepath.Join(ws, "out.txt")); err != nil || string(b) != "mine\n" {
		t.Errorf("the checkout was not writable through the session: %q, %v", b, err)
	}
}

func TestSessionCommandCannotReachTheLauncher(t *testing.T) {
	ss := openSession(t, &Sandbox{}, Mounts{})
	// The launcher runs as the same user as the commands; it is not dumpable, so a command can neither take its
	// socket to ferry (pidfd_getfd) nor trace it. Sockets cannot be opened through /proc/PID/fd at all.
	out, _ := inSession(t, ss, "/", `python3 - <<'PY'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
    try:
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        continue
    if b"ferry-sandbox-launcher" not in cmd or b"bwrap" in cmd:
        continue
    pidfd = os.pidfd_open(pid)
    fd = libc.syscall(438, pidfd, 3, 0)  # pidfd_getfd
    print("launcher", pid, "getfd", fd, "errno", ctypes.get_errno())
    r = libc.ptrace(16, pid, 0, 0)  # PTRACE_ATTACH
    print("launcher", pid, "ptrace", r, "errno", ctypes.get_errno())
    try:
        open(f"/proc/{pid}/fd/3", "rb")
        print("opened socket")
    except OSError as e:
        print("open socket:", e.errno)
PY`)
	if !strings.Contains(out, "getfd -1 errno 1") || !strings.Contains(out, "ptrace -1 errno 1") || strings.Contains(out, "opened socket") {
		t.Errorf("a command reached the launcher (want getfd and ptrace refused with EPERM):\n%s", out)
	}
}

func TestSessionRunsManyCommandsAndExitCodes(t *testing.T) {
	dir := t.TempDir()
	ss := openSession(t, &Sandbox{}, Mounts{Writable: []string{dir}})
	for i, c := range []struct {
		script string
		code   int
	}{{"true", 0}, {"exit 7", 7}, {"kill -9 $$", -1}, {"nonexistent-program-xyz", 127}} {
		if _, code := inSession(t, ss, dir, c.script); code != c.code {
			t.Errorf("%d: %q exited %d, want %d", i, c.script, code, c.code)
		}
	}
	// A program that cannot be found is a start error, as it is for exec.Cmd.
	cmd := exec.Command("/nonexistent/program")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if _, err := ss.Start(cmd); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("start of a missing program = %v", err)
	}
}

func TestSessionSignalAndKillReachWhatTheCommandStarted(t *testing.T) {
	dir := t.TempDir()
	ss := openSession(t, &Sandbox{}, Mounts{Writable: []string{dir}})
	cmd := exec.Command("sh", "-c", `trap 'echo got TERM > term.txt; exit 0' TERM; setsid sleep $((4700+11)) & echo $! > bg.txt; while :; do sleep 0.05; done`)
	cmd.Dir, cmd.Stdout, cmd.Stderr = dir, os.Stderr, os.Stderr
	p, err := ss.Start(cmd)
	if err != nil {
		t.Fatal(err)
	}
	// (The script spells the number so that only the daemon's command line holds "sleep 4711".)
	waitFor(t, func() bool { return countProcs("sleep 4711") == 1 })
	p.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- p.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("the command did not end on SIGTERM")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "term.txt")); string(b) != "got TERM\n" {
		t.Errorf("the command's trap did not run: %q", b)
	}
	if n := countProcs("sleep 4711"); n != 1 {
		t.Fatalf("%d daemons of the command are running after its group's SIGTERM, want the one it moved out", n)
	}
	// Kill ends what left the command's process group too, and the session goes on.
	p.Kill()
	waitFor(t, func() bool { return countProcs("sleep 4711") == 0 })
	if out, code := inSession(t, ss, dir, "echo still here"); code != 0 || out != "still here\n" {
		t.Errorf("after a kill, the session ran %q, %d", out, code)
	}
}

func TestSessionEndsWithTheLauncherAndOnClose(t *testing.T) {
	dir := t.TempDir()
	ss := openSession(t, &Sandbox{}, Mounts{Writable: []string{dir}})
	// A command killing everything it may (the launcher included) ends the session, not ferry.
	cmd := exec.Command("sh", "-c", "kill -9 -1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	// The launcher may die before it says the command started.
	p, err := ss.Start(cmd)
	if err == nil {
		err = p.Wait()
	}
	if err == nil || !strings.Contains(err.Error(), "sandbox session ended") {
		t.Errorf("a command that killed its session's launcher: %v", err)
	}
	select {
	case <-ss.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the session did not end with its launcher")
	}
	cmd = exec.Command("true")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if _, err := ss.Start(cmd); err == nil || !strings.Contains(err.Error(), "sandbox session ended") {
		t.Errorf("start in an ended session = %v", err)
	}

	ss2 := openSession(t, &Sandbox{}, Mounts{Writable: []string{dir}})
	cmd = exec.Command("sh", "-c", "sleep $((4700+12)) & sleep $((4700+12))")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if _, err := ss2.Start(cmd); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return countProcs("sleep 4712") == 2 })
	ss2.Close()
	waitFor(t, func() bool { return countProcs("sleep 4712") == 0 })
}

func TestOpenWithoutLauncherOrBwrap(t *testing.T) {
	if _, err := (&Sandbox{Bwrap: "/nonexistent/bwrap"}).Open(Mounts{}, nil); !errors.Is(err, ErrUnavailable) {
		t.Errorf("open without bwrap = %v, want ErrUnavailable", err)
	}
	canLaunch.Store(false)
	defer canLaunch.Store(true)
	if _, err := (&Sandbox{}).Open(Mounts{}, nil); !errors.Is(err, ErrNoLauncher) {
		t.Errorf("open from an executable that serves no launcher = %v", err)
	}
}
