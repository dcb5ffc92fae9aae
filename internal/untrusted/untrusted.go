// Package untrusted reads files that a commit or a step wrote: the pipeline file, the flags file, a step's
// metrics file. Such a file may be a symlink to /dev/zero, a FIFO nobody writes to, a link out of the checkout
// or a gigabyte, so it is read only when it is a regular file inside its folder, and never past a size limit.
//
// It imports nothing of ferry's, so the engine, the server and the CLI can all use it.
package untrusted

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

var (
	// ErrNotRegular is returned for a FIFO, a device, a socket or a folder where a file was expected.
	ErrNotRegular = errors.New("not a regular file")
	// ErrSymlink is returned by ReadFileNoSymlink for a symlink.
	ErrSymlink = errors.New("is a symlink")
	// ErrOutside is returned for a symlink that leads out of the folder the file was read from.
	ErrOutside = errors.New("is a symlink that leads out of its folder")
)

// TooLargeError is returned for a file larger than the limit it was read with.
type TooLargeError struct {
	Limit int64
}

func (e *TooLargeError) Error() string { return "larger than " + FormatSize(e.Limit) }

// ReadFile reads name (slash-separated, relative to dir) when it is a regular file of at most limit bytes.
// Symlinks are followed only while they stay inside dir. A missing file's error wraps fs.ErrNotExist.
func ReadFile(dir, name string, limit int64) ([]byte, error) {
	return read(dir, name, limit, true)
}

// ReadFileNoSymlink is ReadFile for a file that ferry itself created for a step to fill: it must still be a
// regular file, not a symlink the step put in its place.
func ReadFileNoSymlink(dir, name string, limit int64) ([]byte, error) {
	return read(dir, name, limit, false)
}

func read(dir, name string, limit int64, follow bool) ([]byte, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	// Look before opening: opening a FIFO waits for a writer, and opening a device may do anything.
	var before fs.FileInfo
	if follow {
		before, err = root.Stat(name)
	} else {
		before, err = root.Lstat(name)
	}
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			if li, lerr := root.Lstat(name); lerr == nil && li.Mode()&fs.ModeSymlink != 0 {
				return nil, fmt.Errorf("%s %w", name, ErrOutside)
			}
		}
		return nil, err
	}
	switch {
	case before.Mode()&fs.ModeSymlink != 0:
		return nil, fmt.Errorf("%s %w", name, ErrSymlink)
	case !before.Mode().IsRegular():
		return nil, fmt.Errorf("%s: %w", name, ErrNotRegular)
	case before.Size() > limit:
		return nil, fmt.Errorf("%s: %w", name, &TooLargeError{Limit: limit})
	}
	// O_NONBLOCK: a FIFO swapped in since the look above must not make the open wait.
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", name, ErrNotRegular)
	}
	if !os.SameFile(before, info) {
		return nil, fmt.Errorf("%s: replaced while being read", name)
	}
	// The file may still grow after the look above: never read more than one byte past the limit.
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s: %w", name, &TooLargeError{Limit: limit})
	}
	return data, nil
}

// FormatSize writes a byte count the way ferry's flags take it: 64MiB, 512KiB, 100B.
func FormatSize(n int64) string {
	for _, u := range []struct {
		name  string
		shift uint
	}{{"GiB", 30}, {"MiB", 20}, {"KiB", 10}} {
		if n >= 1<<u.shift && n%(1<<u.shift) == 0 {
			return fmt.Sprintf("%d%s", n>>u.shift, u.name)
		}
	}
	return fmt.Sprintf("%dB", n)
}
