package untrusted

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestReadFile(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.key")
	if err := os.WriteFile(outside, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		make      func(t *testing.T, dir string) // makes dir/f
		noSymlink bool
		want      string
		wantErr   error  // errors.Is
		wantText  string // in the error
	}{
		{name: "regular file", make: write("hello"), want: "hello"},
		{name: "at the limit", make: write(strings.Repeat("x", 16)), want: strings.Repeat("x", 16)},
		{name: "past the limit", make: write(strings.Repeat("x", 17)), wantText: "f: larger than 16B"},
		{name: "missing", make: func(*testing.T, string) {}, wantErr: fs.ErrNotExist},
		{name: "symlink inside", make: link("other", write("inside")), want: "inside"},
		{name: "symlink inside refused", make: link("other", write("inside")), noSymlink: true, wantErr: ErrSymlink},
		{name: "symlink to /dev/zero", make: symlinkTo("/dev/zero"), wantErr: ErrOutside},
		{name: "symlink to /dev/zero refused", make: symlinkTo("/dev/zero"), noSymlink: true, wantErr: ErrSymlink},
		{name: "symlink out of the folder", make: symlinkTo(outside), wantErr: ErrOutside},
		{name: "relative symlink out", make: symlinkTo("../../../../../../../.." + outside), wantErr: ErrOutside},
		{name: "fifo", make: fifo, wantErr: ErrNotRegular},
		{name: "fifo behind a symlink", make: link("p", fifo), wantErr: ErrNotRegular},
		{name: "folder", make: func(t *testing.T, dir string) { os.Mkdir(filepath.Join(dir, "f"), 0o755) }, wantErr: ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.make(t, dir)
			read := ReadFile
			if tt.noSymlink {
				read = ReadFileNoSymlink
			}
			got, err := read(dir, "f", 16)
			if tt.wantErr == nil && tt.wantText == "" {
				if err != nil || string(got) != tt.want {
					t.Fatalf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error", got)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("error %q, want %q", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q lacks %q", err, tt.wantText)
			}
			if strings.Contains(err.Error(), "TOP-SECRET") {
				t.Errorf("error quotes the file outside: %q", err)
			}
		})
	}
}

func write(content string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func symlinkTo(target string) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		if err := os.Symlink(target, filepath.Join(dir, "f")); err != nil {
			t.Fatal(err)
		}
	}
}

// link makes the file as name, then f a symlink to it.
func link(name string, make func(*testing.T, string)) func(*testing.T, string) {
	return func(t *testing.T, dir string) {
		make(t, dir)
		if err := os.Rename(filepath.Join(dir, "f"), filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
		symlinkTo(name)(t, dir)
	}
}

func fifo(t *testing.T, dir string) {
	if err := syscall.Mkfifo(filepath.Join(dir, "f"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 100: "100B", 1 << 10: "1KiB", 1536: "1536B", 64 << 20: "64MiB", 3 << 30: "3GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
