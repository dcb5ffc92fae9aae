package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// writeFiles creates files (path relative to root → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o644); err != nil { // whatever the umask
			t.Fatal(err)
		}
	}
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

func readBlob(t *testing.T, s *Store, digest string) string {
	t.Helper()
	f, err := s.Open(digest)
	if err != nil {
		t.Fatalf("open %s: %v", digest, err)
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestPut(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	digest, size, err := s.Put(strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if digest != digestOf("hello") || size != 5 {
		t.Errorf("Put = %s, %d; want %s, 5", digest, size, digestOf("hello"))
	}
	if got := readBlob(t, s, digest); got != "hello" {
		t.Errorf("blob holds %q, want hello", got)
	}
	p, err := s.Path(digest)
	if err != nil {
		t.Fatal(err)
	}
	hexd := strings.TrimPrefix(digest, "sha256:")
	if want := filepath.Join(s.Dir, "sha256", hexd[:2], hexd); p != want {
		t.Errorf("Path = %s, want %s", p, want)
	}
	info, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o400 {
		t.Errorf("blob mode = %v, want owner read-only 0400", info.Mode().Perm())
	}

	// The same content again is the same blob, unchanged.
	d2, size2, err := s.Put(strings.NewReader("hello"))
	if err != nil || d2 != digest || size2 != 5 {
		t.Errorf("second Put = %s, %d, %v; want %s, 5, nil", d2, size2, err, digest)
	}
	if got := readBlob(t, s, digest); got != "hello" {
		t.Errorf("after a second Put, blob holds %q", got)
	}
	// Different content is a different blob.
	d3, _, err := s.Put(strings.NewReader("hello!"))
	if err != nil || d3 == digest {
		t.Errorf("Put of other content = %s, %v; want a new digest", d3, err)
	}
	// No temporary file is left behind.
	if left, _ := os.ReadDir(filepath.Join(s.Dir, "tmp")); len(left) != 0 {
		t.Errorf("tmp holds %d files after Put", len(left))
	}
}

func TestPutEmpty(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	d, size, err := s.Put(strings.NewReader(""))
	if err != nil || d != digestOf("") || size != 0 {
		t.Errorf("Put(empty) = %s, %d, %v", d, size, err)
	}
}

func TestPathRejectsBadDigests(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	for _, d := range []string{
		"",
		"sha256:",
		"md5:" + strings.Repeat("a", 64),
		"sha256:" + strings.Repeat("a", 63),
		"sha256:" + strings.Repeat("A", 64),
		"sha256:../../" + strings.Repeat("a", 58),
		strings.Repeat("a", 64),
	} {
		if p, err := s.Path(d); err == nil {
			t.Errorf("Path(%q) = %s, want an error", d, p)
		}
		if f, err := s.Open(d); err == nil {
			f.Close()
			t.Errorf("Open(%q) succeeded", d)
		}
	}
}

func paths(as []store.Artifact) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Path)
	}
	return out
}

func TestCollect(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app":                  "binary",
		"dist/b.js":            "b",
		"dist/a.js":            "a",
		"dist/sub/z.css":       "z",
		"dist/sub/deeper/y.md": "y",
		"reports/unit.xml":     "unit",
		"reports/e2e.xml":      "e2e",
		"reports/readme.txt":   "no",
	})
	if err := os.Chmod(filepath.Join(root, "app"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name     string
		patterns []string
		want     []string
	}{
		{name: "file", patterns: []string{"app"}, want: []string{"app"}},
		{name: "directory, recursive and sorted", patterns: []string{"dist"},
			want: []string{"dist/a.js", "dist/b.js", "dist/sub/deeper/y.md", "dist/sub/z.css"}},
		{name: "glob", patterns: []string{"reports/*.xml"}, want: []string{"reports/e2e.xml", "reports/unit.xml"}},
		{name: "several patterns, sorted, each file once", patterns: []string{"reports/unit.xml", "app", "reports/*.xml", "./app"},
			want: []string{"app", "reports/e2e.xml", "reports/unit.xml"}},
		{name: "clean path", patterns: []string{"dist/sub/../a.js"}, want: []string{"dist/a.js"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Store{Dir: t.TempDir()}
			got, err := s.Collect(root, tt.patterns)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(paths(got), tt.want) {
				t.Errorf("paths = %q, want %q", paths(got), tt.want)
			}
			for _, a := range got {
				data, err := os.ReadFile(filepath.Join(root, a.Path))
				if err != nil {
					t.Fatal(err)
				}
				if a.Digest != digestOf(string(data)) || a.Size != int64(len(data)) {
					t.Errorf("%s: digest %s size %d, want %s %d", a.Path, a.Digest, a.Size, digestOf(string(data)), len(data))
				}
				if got := readBlob(t, s, a.Digest); got != string(data) {
					t.Errorf("%s: stored %q, want %q", a.Path, got, data)
				}
			}
		})
	}

	s := &Store{Dir: t.TempDir()}
	got, err := s.Collect(root, []string{"app", "dist/a.js"})
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Mode != 0o755 || got[1].Mode != 0o644 {
		t.Errorf("modes = %o, %o; want 755, 644", got[0].Mode, got[1].Mode)
	}
}

func TestCollectMissing(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"app": "x"})
	s := &Store{Dir: t.TempDir()}
	for _, pat := range []string{"dist/app", "*.tar.gz", "app/x"} {
		_, err := s.Collect(root, []string{"app", pat})
		if err == nil {
			t.Errorf("Collect(%q) succeeded, want an error", pat)
			continue
		}
		if !strings.Contains(err.Error(), pat) {
			t.Errorf("Collect(%q) = %v, want the error to name the pattern", pat, err)
		}
		if errors.Is(err, ErrEscape) {
			t.Errorf("Collect(%q) = %v, want a missing-file error, not ErrEscape", pat, err)
		}
	}
}

func TestCollectRejectsEscapes(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.txt": "private", "dir/key": "private"})

	root := t.TempDir()
	writeFiles(t, root, map[string]string{"dist/ok.txt": "ok", "other/inside.txt": "inside"})
	symlink(t, filepath.Join(outside, "secret.txt"), filepath.Join(root, "link-file"))
	symlink(t, filepath.Join(outside, "dir"), filepath.Join(root, "link-dir"))
	symlink(t, "../"+filepath.Base(outside)+"/secret.txt", filepath.Join(root, "rel-link"))
	symlink(t, filepath.Join(outside, "secret.txt"), filepath.Join(root, "leaky/secret.txt"))
	symlink(t, filepath.Join(outside, "dir"), filepath.Join(root, "leaky-dir/sub"))
	symlink(t, filepath.Join(outside, "secret.txt"), filepath.Join(root, "globbed/a.txt"))

	for _, pat := range []string{
		"../x",
		"../" + filepath.Base(root) + "/dist/ok.txt",
		"dist/../../x",
		"/etc/passwd",
		filepath.Join(root, "dist/ok.txt"),
		"link-file",
		"link-dir",
		"link-dir/key",
		"rel-link",
		"leaky",
		"leaky-dir",
		"globbed/*.txt",
	} {
		s := &Store{Dir: t.TempDir()}
		got, err := s.Collect(root, []string{pat})
		if !errors.Is(err, ErrEscape) {
			t.Errorf("Collect(%q) = %q, %v; want ErrEscape", pat, paths(got), err)
		}
		if blobs, _ := os.ReadDir(filepath.Join(s.Dir, "sha256")); len(blobs) != 0 {
			for _, d := range blobs {
				sub, _ := os.ReadDir(filepath.Join(s.Dir, "sha256", d.Name()))
				for _, b := range sub {
					if "sha256:"+b.Name() == digestOf("private") {
						t.Errorf("Collect(%q) stored the file outside the workspace", pat)
					}
				}
			}
		}
	}
}

func TestCollectSymlinksInside(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"build/app": "binary", "dist/readme": "read me"})
	symlink(t, "../build/app", filepath.Join(root, "dist/app"))
	symlink(t, filepath.Join(root, "build/app"), filepath.Join(root, "latest"))

	s := &Store{Dir: t.TempDir()}
	got, err := s.Collect(root, []string{"dist", "latest"})
	if err != nil {
		t.Fatalf("Collect with symlinks inside the workspace: %v", err)
	}
	want := []store.Artifact{
		{Path: "dist/app", Digest: digestOf("binary"), Size: 6, Mode: 0o644},
		{Path: "dist/readme", Digest: digestOf("read me"), Size: 7, Mode: 0o644},
		{Path: "latest", Digest: digestOf("binary"), Size: 6, Mode: 0o644},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Collect = %+v, want %+v", got, want)
	}
}

// TestCollectRootThroughSymlink checks that a workspace reached through a symlink still works: escapes are
// judged against the real root.
func TestCollectRootThroughSymlink(t *testing.T) {
	real := t.TempDir()
	writeFiles(t, real, map[string]string{"app": "binary"})
	link := filepath.Join(t.TempDir(), "ws")
	symlink(t, real, link)
	s := &Store{Dir: t.TempDir()}
	got, err := s.Collect(link, []string{"app"})
	if err != nil || !slices.Equal(paths(got), []string{"app"}) {
		t.Errorf("Collect = %q, %v; want [app]", paths(got), err)
	}
}

// TestCollectRootWithGlobCharacters checks a workspace whose path holds glob metacharacters, as a user's
// checkout run with `ferry exec` may: the patterns are globs, the root is not.
func TestCollectRootWithGlobCharacters(t *testing.T) {
	for _, dir := range []string{"proj[old]", "a*b", "what?"} {
		root := filepath.Join(t.TempDir(), dir)
		writeFiles(t, root, map[string]string{"app": "binary", "dist/a.js": "a"})
		s := &Store{Dir: t.TempDir()}
		got, err := s.Collect(root, []string{"app", "dist/*.js"})
		if err != nil || !slices.Equal(paths(got), []string{"app", "dist/a.js"}) {
			t.Errorf("root %q: Collect = %q, %v; want [app dist/a.js]", dir, paths(got), err)
		}
	}
}

func TestPutBundle(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	files := []store.Artifact{
		{Path: "dist/app", Digest: digestOf("binary"), Size: 6, Mode: 0o755},
		{Path: "a.txt", Digest: digestOf("a"), Size: 1, Mode: 0o644},
		{Path: "dist/z.css", Digest: digestOf("z"), Size: 1, Mode: 0o644},
	}
	pipelineFile := []byte("version: 1\n")

	d1, err := s.PutBundle(files, pipelineFile)
	if err != nil {
		t.Fatal(err)
	}
	reversed := slices.Clone(files)
	slices.Reverse(reversed)
	withDup := append(slices.Clone(files), files[1])
	for name, fs := range map[string][]store.Artifact{"reversed": reversed, "with a duplicate": withDup} {
		d, err := s.PutBundle(fs, pipelineFile)
		if err != nil || d != d1 {
			t.Errorf("%s: PutBundle = %s, %v; want the same digest %s", name, d, err, d1)
		}
	}
	if !slices.Equal(files, []store.Artifact{
		{Path: "dist/app", Digest: digestOf("binary"), Size: 6, Mode: 0o755},
		{Path: "a.txt", Digest: digestOf("a"), Size: 1, Mode: 0o644},
		{Path: "dist/z.css", Digest: digestOf("z"), Size: 1, Mode: 0o644},
	}) {
		t.Errorf("PutBundle changed its argument: %+v", files)
	}
	if d, _ := s.PutBundle(files, []byte("version: 2\n")); d == d1 {
		t.Error("a different pipeline file gave the same bundle digest")
	}
	if d, _ := s.PutBundle(files[:2], pipelineFile); d == d1 {
		t.Error("different files gave the same bundle digest")
	}

	m, err := s.ReadManifest(d1)
	if err != nil {
		t.Fatal(err)
	}
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b store.Artifact) int { return strings.Compare(a.Path, b.Path) })
	if !slices.Equal(m.Files, sorted) {
		t.Errorf("manifest files = %+v, want %+v", m.Files, sorted)
	}
	if m.Pipeline != digestOf(string(pipelineFile)) {
		t.Errorf("manifest pipeline = %s, want %s", m.Pipeline, digestOf(string(pipelineFile)))
	}
	if got := readBlob(t, s, m.Pipeline); got != string(pipelineFile) {
		t.Errorf("pipeline blob = %q, want %q", got, pipelineFile)
	}
}

func TestPutBundleConflict(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	_, err := s.PutBundle([]store.Artifact{
		{Path: "dist/app", Digest: digestOf("one"), Size: 3},
		{Path: "other", Digest: digestOf("x"), Size: 1},
		{Path: "dist/app", Digest: digestOf("two"), Size: 3},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "dist/app") {
		t.Errorf("PutBundle with two contents for dist/app = %v, want an error naming it", err)
	}
}

func TestPutBundleEmpty(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	d, err := s.PutBundle(nil, []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.ReadManifest(d)
	if err != nil || len(m.Files) != 0 {
		t.Errorf("ReadManifest = %+v, %v; want no files", m, err)
	}
}

func TestReadManifestErrors(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	if _, err := s.ReadManifest("sha256:" + strings.Repeat("0", 64)); err == nil {
		t.Error("ReadManifest of a missing blob succeeded")
	}
	d, _, err := s.Put(strings.NewReader("not json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReadManifest(d); err == nil {
		t.Error("ReadManifest of a blob that is not a manifest succeeded")
	}
	if _, err := s.ReadManifest("bad"); err == nil {
		t.Error("ReadManifest of a bad digest succeeded")
	}
}

// TestPutBundleSamePathTwiceAnyOrder checks determinism when two steps keep the same file (same content) with
// different modes: that is a conflict, whatever the order the files came in, since a release cannot say which
// mode the file has.
func TestPutBundleSamePathTwiceAnyOrder(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	exec := store.Artifact{Path: "dist/app", Digest: digestOf("binary"), Size: 6, Mode: 0o755}
	plain := store.Artifact{Path: "dist/app", Digest: digestOf("binary"), Size: 6, Mode: 0o644}
	for _, files := range [][]store.Artifact{{exec, plain}, {plain, exec}} {
		if _, err := s.PutBundle(files, nil); err == nil || !strings.Contains(err.Error(), "dist/app") {
			t.Errorf("PutBundle(%v) = %v, want a conflict naming dist/app", files, err)
		}
	}
	if _, err := s.PutBundle([]store.Artifact{exec, exec}, nil); err != nil {
		t.Errorf("the same file kept twice: %v", err)
	}
}
