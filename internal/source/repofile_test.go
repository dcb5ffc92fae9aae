package source

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestReadRepoFile(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(outside, []byte("password"), 0o600)
	os.MkdirAll(filepath.Join(dir, ".ferry"), 0o755)
	os.WriteFile(filepath.Join(dir, ".ferry", "flags.yaml"), []byte("flags: {}\n"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "escape.yaml"))
	os.Symlink(filepath.Dir(outside), filepath.Join(dir, "escape-dir"))

	if data, ok, err := ReadRepoFile(dir, ".ferry/flags.yaml"); err != nil || !ok || string(data) != "flags: {}\n" {
		t.Errorf("read the flags file: %q %v %v", data, ok, err)
	}
	if data, ok, err := ReadRepoFile(dir, ".ferry/none.yaml"); err != nil || ok || data != nil {
		t.Errorf("a missing file: %q %v %v, want not found and no error", data, ok, err)
	}
	for _, name := range []string{"escape.yaml", "escape-dir/secret", "../" + filepath.Base(dir) + "/x"} {
		if data, _, err := ReadRepoFile(dir, name); err == nil || len(data) != 0 {
			t.Errorf("%s leads out of the checkout and was read: %q %v", name, data, err)
		}
	}
}

func TestReadRepoFileRefusesWhatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml"))
	syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.yaml"), make([]byte, MaxRepoFileBytes+1), 0o644)
	for name, want := range map[string]string{
		"zero.yaml": "zero.yaml is a symlink that leads out of its folder",
		"fifo.yaml": "fifo.yaml: not a regular file",
		"big.yaml":  "big.yaml: larger than 1MiB",
	} {
		data, ok, err := ReadRepoFile(dir, name)
		if err == nil || ok || data != nil || err.Error() != want {
			t.Errorf("%s: %d bytes, %v, %v; want the error %q", name, len(data), ok, err, want)
		}
	}
}
