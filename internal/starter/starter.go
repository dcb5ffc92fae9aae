// Package starter owns what `ferry init` writes: a commented starter .ferry.yaml chosen from what the
// repository looks like (Go, Node, Python, or anything else).
//
// It reads the repository through fs.FS and writes nothing but the one new file in Write; it never
// overwrites a file.
package starter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ferry-cd/ferry/internal/pipeline"
)

// Kind is the kind of repository a starter pipeline is written for.
type Kind string

const (
	Go      Kind = "go"
	Node    Kind = "node"
	Python  Kind = "python"
	Generic Kind = "generic" // anything else: placeholder steps, and make when there is a Makefile
)

// Detect tells the kind of the repository rooted at fsys from the files at its root: go.mod, then
// package.json, then pyproject.toml, requirements.txt or setup.py; Generic when none is there.
func Detect(fsys fs.FS) Kind {
	switch {
	case hasFile(fsys, "go.mod"):
		return Go
	case hasFile(fsys, "package.json"):
		return Node
	case hasFile(fsys, "pyproject.toml"), hasFile(fsys, "requirements.txt"), hasFile(fsys, "setup.py"):
		return Python
	}
	return Generic
}

// Write detects the kind of the repository in dir and writes a starter pipeline to dir/.ferry.yaml. It never
// overwrites: when the file exists it returns an error wrapping fs.ErrExist and leaves the file as it was.
func Write(dir string) (path string, kind Kind, err error) {
	fsys := os.DirFS(dir)
	kind = Detect(fsys)
	data := Pipeline(kind, fsys)
	path = filepath.Join(dir, pipeline.FileName)

	// O_EXCL makes "does it exist" and "create it" one step, so a file appearing meanwhile is not clobbered.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return path, kind, fmt.Errorf("%s already exists and ferry init never overwrites it; edit it, or move it away and run ferry init again: %w", path, err)
	}
	if err != nil {
		return path, kind, fmt.Errorf("create pipeline file: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path) // a half-written file would make the next ferry init refuse
		return path, kind, fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return path, kind, fmt.Errorf("write %s: %w", path, err)
	}
	return path, kind, nil
}

// hasFile reports whether name is a regular file in fsys. A nil fsys has no files.
func hasFile(fsys fs.FS, name string) bool {
	if fsys == nil {
		return false
	}
	fi, err := fs.Stat(fsys, name)
	return err == nil && fi.Mode().IsRegular()
}

// readFile returns the content of name, or nil when fsys is nil or the file cannot be read.
func readFile(fsys fs.FS, name string) []byte {
	if fsys == nil {
		return nil
	}
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil
	}
	return data
}
