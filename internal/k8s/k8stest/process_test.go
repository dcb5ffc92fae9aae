package k8stest

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestChildDiesWithTestBinary runs this test binary again as a helper that starts a long sleep the way the
// control plane's components are started, then panics. The sleep must not outlive it.
func TestChildDiesWithTestBinary(t *testing.T) {
	if os.Getenv("K8STEST_PANIC_HELPER") == "1" {
		// Started from a goroutine that then ends, as a test's goroutine would: the thread that forked the
		// child must not be the one that goes away.
		done := make(chan *process)
		go func() {
			p, err := startProcess("sleep", "/bin/sleep", filepath.Join(t.TempDir(), "sleep.log"), nil, "1000")
			if err != nil {
				panic(err)
			}
			done <- p
		}()
		p := <-done
		fmt.Printf("pid %d\n", p.PID())
		panic("the test binary dies with a component running")
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestChildDiesWithTestBinary$")
	cmd.Env = append(os.Environ(), "K8STEST_PANIC_HELPER=1")
	out, _ := cmd.CombinedOutput() // it panics: a non-zero exit is the point
	var pid int
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ = strconv.Atoi(rest)
		}
	}
	if pid == 0 {
		t.Fatalf("the helper printed no pid:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for !gone(pid) {
		select {
		case <-ctx.Done():
			t.Fatalf("sleep (pid %d) outlived the test binary that started it", pid)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// gone says a process no longer runs: it does not exist, or it is a zombie waiting to be reaped by a PID 1
// that does not reap.
func gone(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || strings.HasPrefix(strings.TrimSpace(s[i+1:]), "Z")
}
