package controlplane

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

func TestLockDataDirRefusesASecondHolder(t *testing.T) {
	dir := t.TempDir()
	unlock, err := LockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file: a second open in this process conflicts just as another process would.
	_, err = LockDataDir(dir)
	if err == nil {
		t.Fatal("second lock of the same data folder succeeded")
	}
	if want := "in use by ferry serve (pid " + strconv.Itoa(os.Getpid()) + ")"; !strings.Contains(err.Error(), want) {
		t.Errorf("second lock: %v, want it to contain %q", err, want)
	}
	unlock()
	unlock2, err := LockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlock2()
}
