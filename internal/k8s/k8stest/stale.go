package k8stest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ownerFile records, in a control plane's folder, the pid of the test binary that made it.
const ownerFile = "owner.pid"

// dirPattern names the control planes' folders in the temporary directory.
const dirPattern = "ferry-k8s-*"

func writeOwner(dir string) error {
	return os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o600)
}

// removeStale removes the folders of control planes whose test binary is gone: a test binary killed with
// SIGKILL takes its components with it (Pdeathsig) but cannot remove its folder, and etcd's data adds up.
// A folder kept because a test failed goes the same way at the next start.
func removeStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPattern))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // being made, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}
