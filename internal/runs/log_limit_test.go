package runs

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/engine"
)

func TestRunLogLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "1.log")
	l, err := openRunLog(path)
	if err != nil {
		t.Fatal(err)
	}
	l.limit = 10 << 10
	line := []engine.Line{{Time: time.Now(), Text: strings.Repeat("x", 100)}}
	for range 1000 {
		l.write("test/spam", line)
	}
	l.note("test/spam", []engine.Line{{Time: time.Now(), Text: "ferry: step passed"}})
	l.close()
	if l.failure() != nil {
		t.Fatalf("failure = %v", l.failure())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	kept := 0
	for _, s := range lines {
		if strings.HasSuffix(s, "\t"+line[0].Text) {
			kept++
		}
	}
	if len(data) > 11<<10 || kept < 60 {
		t.Errorf("log holds %d bytes with %d lines of output; want about 10KiB", len(data), kept)
	}
	want := []string{"ferry: log cut at 10KiB (ferry serve --run-log-limit); further output of this run is not kept", "ferry: step passed"}
	if got := lines[len(lines)-2:]; !strings.HasSuffix(got[0], "\ttest/spam\t"+want[0]) || !strings.HasSuffix(got[1], want[1]) {
		t.Errorf("last lines = %q, want the cut, then ferry's note", got)
	}
	if strings.Count(string(data), "log cut") != 1 {
		t.Error("the cut is announced more than once")
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a fresh folder for the test: a real disk that fills up.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a tmpfs (the test needs root): %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

func TestRunLogOnAFullDisk(t *testing.T) {
	dir := mountTmpfs(t, "4m")
	path := filepath.Join(dir, "1.log")
	l, err := openRunLog(path)
	if err != nil {
		t.Fatal(err)
	}
	var failed []error
	l.failed = func(err error) { failed = append(failed, err) }
	line := []engine.Line{{Time: time.Now(), Text: strings.Repeat("y", 4000)}}
	for range 2000 { // 8 MB into 4 MB
		l.write("test/spam", line)
	}
	l.note("ferry", []engine.Line{{Time: time.Now(), Text: "not written after the failure"}})
	l.close()
	if len(failed) != 1 || !errors.Is(failed[0], syscall.ENOSPC) || !errors.Is(l.failure(), syscall.ENOSPC) {
		t.Fatalf("failed heard %v, failure() = %v; want ENOSPC once", failed, l.failure())
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if free := int64(st.Bavail) * st.Bsize; free < diskFullRelief/2 {
		t.Errorf("%d bytes free after the log gave space back, want about %d", free, diskFullRelief)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "\tferry\tferry: log cut: write "+path+": no space left on device") {
		t.Errorf("last line = %.200q", last)
	}
	for i, s := range lines[:len(lines)-1] {
		if _, ok := parseLogLine(s); !ok || !strings.HasSuffix(s, line[0].Text) {
			t.Fatalf("line %d is not a whole line of the step: %.100q", i, s)
		}
	}
}
