package artifact

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A step can leave anything where its artifacts should be. Opening a FIFO waits for a writer forever and
// /dev/zero never ends: only regular files and directories are kept, and the rest is refused unopened.
func TestCollectRefusesWhatIsNotAFile(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"ok.txt": "ok", "dir/a.txt": "a"})
	mkfifo := func(rel string) {
		if err := syscall.Mkfifo(filepath.Join(root, rel), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkfifo("pipe")
	os.MkdirAll(filepath.Join(root, "withfifo"), 0o755)
	writeFiles(t, root, map[string]string{"withfifo/a.txt": "a"})
	mkfifo("withfifo/pipe")
	os.Symlink("pipe", filepath.Join(root, "link-to-pipe"))
	// A character device like /dev/zero, made inside the checkout (a step running as root could).
	if err := syscall.Mknod(filepath.Join(root, "zero"), syscall.S_IFCHR|0o666, 1<<8|5); err != nil {
		t.Fatalf("mknod: %v", err)
	}
	l, err := net.Listen("unix", filepath.Join(root, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	for pat, want := range map[string]string{
		"pipe":         "artifact pipe: not a regular file or a directory (a FIFO)",
		"withfifo":     "artifact withfifo/pipe: not a regular file or a directory (a FIFO)",
		"link-to-pipe": "artifact link-to-pipe: not a regular file or a directory (a FIFO)",
		"zero":         "artifact zero: not a regular file or a directory (a device)",
		"sock":         "artifact sock: not a regular file or a directory (a socket)",
	} {
		t.Run(pat, func(t *testing.T) {
			s := &Store{Dir: t.TempDir()}
			done := make(chan error, 1)
			go func() {
				_, err := s.Collect(root, []string{"ok.txt", pat})
				done <- err
			}()
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Collect hangs on a file that is not regular")
			}
			if !errors.Is(err, ErrNotRegular) || err.Error() != want {
				t.Errorf("Collect(%s) = %v, want %q", pat, err, want)
			}
		})
	}
}

func TestCollectStopsWhenCanceled(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"dist/a": "a", "dist/b": "b"})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &Store{Dir: t.TempDir()}
	got, err := s.CollectContext(ctx, root, []string{"dist"})
	if !errors.Is(err, context.Canceled) || got != nil {
		t.Fatalf("CollectContext after cancel = %v, %v; want context.Canceled", got, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir, "sha256")); len(entries) != 0 {
		t.Errorf("a canceled collection stored %d blobs", len(entries))
	}
	if !strings.Contains(err.Error(), "artifacts") {
		t.Errorf("error %q does not say what was canceled", err)
	}
}
