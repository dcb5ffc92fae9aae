package artifact

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func TestUnpackWritesReadOnlyRelease(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	ws := t.TempDir()
	os.MkdirAll(filepath.Join(ws, "dist", "static"), 0o755)
	os.WriteFile(filepath.Join(ws, "dist", "app"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.WriteFile(filepath.Join(ws, "dist", "static", "index.html"), []byte("<p>hi</p>"), 0o644)
	files, err := s.Collect(ws, []string{"dist"})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err := s.PutBundle(files, []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "releases", "7")
	if err := s.Unpack(bundle, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error { return os.Chmod(p, 0o755) }) })
	data, err := os.ReadFile(filepath.Join(dir, "dist", "app"))
	if err != nil || string(data) != "#!/bin/sh\necho hi\n" {
		t.Fatalf("app = %q, %v", data, err)
	}
	for p, want := range map[string]os.FileMode{"dist/app": 0o500, "dist/static/index.html": 0o400, "dist": 0o500, ".": 0o500} {
		info, err := os.Stat(filepath.Join(dir, p))
		if err != nil || info.Mode().Perm() != want {
			t.Errorf("%s mode %v (%v), want %v", p, info.Mode().Perm(), err, want)
		}
	}
	// Unpacking again is a no-op: the release is immutable.
	if err := s.Unpack(bundle, dir); err != nil {
		t.Errorf("second unpack: %v", err)
	}
	// A manifest naming a path outside the release is refused.
	bad, _ := s.PutBundle([]store.Artifact{{Path: "../evil", Digest: files[0].Digest, Mode: 0o644}}, nil)
	if err := s.Unpack(bad, filepath.Join(t.TempDir(), "x")); err == nil {
		t.Error("a bundle escaping its folder was unpacked")
	}
}
