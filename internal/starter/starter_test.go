package starter

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		fsys fs.FS
		want Kind
	}{
		{"go", fstest.MapFS{"go.mod": file("module x\n")}, Go},
		{"go wins over node", fstest.MapFS{"go.mod": file(""), "package.json": file("{}")}, Go},
		{"node", fstest.MapFS{"package.json": file("{}"), "requirements.txt": file("")}, Node},
		{"python pyproject", fstest.MapFS{"pyproject.toml": file("")}, Python},
		{"python requirements", fstest.MapFS{"requirements.txt": file("")}, Python},
		{"python setup.py", fstest.MapFS{"setup.py": file("")}, Python},
		{"generic", fstest.MapFS{"Makefile": file("all:\n")}, Generic},
		{"empty", fstest.MapFS{}, Generic},
		{"nil", nil, Generic},
		{"only in a subdirectory", fstest.MapFS{"tools/go.mod": file("")}, Generic},
		{"a directory named go.mod", fstest.MapFS{"go.mod/x": file("")}, Generic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Detect(tt.fsys); got != tt.want {
				t.Errorf("Detect = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	path, kind, err := Write(dir)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if want := filepath.Join(dir, ".ferry.yaml"); path != want || kind != Go {
		t.Errorf("Write = %q, %q; want %q, %q", path, kind, want, Go)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := Pipeline(Go, os.DirFS(dir)); !bytes.Equal(got, want) {
		t.Errorf("written file differs from Pipeline(Go):\n%s", got)
	}
}

func TestWriteRefusesToOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, ".ferry.yaml")
	mine := []byte("version: 1 # mine, hand-written\n")
	if err := os.WriteFile(path, mine, 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, err := Write(dir)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Write over an existing file: err = %v; want fs.ErrExist", err)
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, mine) {
		t.Errorf("existing file changed to:\n%s", got)
	}
}

func TestWriteMissingDir(t *testing.T) {
	_, _, err := Write(filepath.Join(t.TempDir(), "nope"))
	if err == nil || errors.Is(err, fs.ErrExist) {
		t.Fatalf("Write into a missing directory: err = %v", err)
	}
}
