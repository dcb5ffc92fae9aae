package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ferry-cd/ferry/internal/store"
)

// TestSymlinksInsideTheReleaseStayLinks collects a tree shaped as npm and pnpm make node_modules: .bin links to
// files of the release and a folder linked into a store folder stay symlinks, and unpacking makes them again.
func TestSymlinksInsideTheReleaseStayLinks(t *testing.T) {
	root := t.TempDir()
	writeFiles(t, root, map[string]string{
		"app/node_modules/ejs/bin/cli.js":                            "#!/usr/bin/env node\nrequire('../lib/ejs')\n",
		"app/node_modules/ejs/lib/ejs.js":                            "module.exports = {}\n",
		"app/node_modules/.pnpm/express@4/node_modules/express/i.js": "express\n",
		"app/outside-the-release.txt":                                "not kept\n",
	})
	symlink(t, "../ejs/bin/cli.js", filepath.Join(root, "app/node_modules/.bin/ejs"))
	symlink(t, ".pnpm/express@4/node_modules/express", filepath.Join(root, "app/node_modules/express"))
	symlink(t, "../outside-the-release.txt", filepath.Join(root, "app/node_modules/copied.txt"))
	symlink(t, filepath.Join(root, "app/node_modules/ejs/lib/ejs.js"), filepath.Join(root, "app/node_modules/absolute.js"))

	s := &Store{Dir: t.TempDir()}
	files, err := s.Collect(root, []string{"app/node_modules"})
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, f := range files {
		if f.Link != "" {
			links[f.Path] = f.Link
		}
	}
	want := map[string]string{
		"app/node_modules/.bin/ejs":    "../ejs/bin/cli.js",
		"app/node_modules/express":     ".pnpm/express@4/node_modules/express",
		"app/node_modules/absolute.js": "ejs/lib/ejs.js", // an absolute link inside the release becomes relative
	}
	if len(links) != len(want) {
		t.Errorf("links kept: %v, want %v", links, want)
	}
	for p, to := range want {
		if links[p] != to {
			t.Errorf("%s links to %q, want %q", p, links[p], to)
		}
	}
	// A link to a file the release does not have is kept as a copy of it, as before.
	if i := slices.IndexFunc(files, func(f store.Artifact) bool { return f.Path == "app/node_modules/copied.txt" }); i < 0 ||
		files[i].Link != "" || files[i].Digest != digestOf("not kept\n") {
		t.Errorf("copied.txt: %+v", files)
	}

	bundle, err := s.PutBundle(files, []byte("version: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "releases", "1")
	if err := s.Unpack(bundle, dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { removeTree(dir) })
	for p, to := range want {
		got, err := os.Readlink(filepath.Join(dir, p))
		if err != nil || got != to {
			t.Errorf("unpacked %s: Readlink = %q, %v; want %q", p, got, err, to)
		}
	}
	if b, err := os.ReadFile(filepath.Join(dir, "app/node_modules/.bin/ejs")); err != nil || !strings.Contains(string(b), "require") {
		t.Errorf("reading through .bin/ejs: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "app/node_modules/express/i.js")); err != nil || string(b) != "express\n" {
		t.Errorf("reading through the linked folder: %q, %v", b, err)
	}
}

// TestUnpackRefusesLinksThatLeave is the hostile side: a bundle whose links leave the release, directly,
// through another link, point at nothing, or sit inside a link, is not unpacked, and nothing is left behind.
func TestUnpackRefusesLinksThatLeave(t *testing.T) {
	s := &Store{Dir: t.TempDir()}
	file, _, err := s.Put(strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string][]store.Artifact{
		"dot-dot":       {{Path: "a/up", Link: "../../etc"}},
		"absolute":      {{Path: "abs", Link: "/etc/passwd"}},
		"through link":  {{Path: "here", Link: "."}, {Path: "up", Link: "here/.."}},
		"chain out":     {{Path: "l", Link: "."}, {Path: "m/n", Link: "../l/../x"}},
		"dangling":      {{Path: "f", Digest: file, Mode: 0o644}, {Path: "nothing", Link: "f-missing"}},
		"inside a link": {{Path: "d", Link: "."}, {Path: "d/e", Link: "../f"}, {Path: "f", Digest: file, Mode: 0o644}},
	} {
		t.Run(name, func(t *testing.T) {
			bundle := putManifest(t, s, files)
			parent := t.TempDir()
			err := s.Unpack(bundle, filepath.Join(parent, "rel"))
			if err == nil {
				t.Fatalf("a bundle with %+v was unpacked", files)
			}
			if name != "dangling" && name != "chain out" && !errors.Is(err, ErrEscape) { // those two point at nothing inside
				t.Errorf("err = %v, want ErrEscape", err)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}

	// Collecting: a link out of the workspace fails the step (ErrEscape), even inside a kept folder.
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret": "private"})
	root := t.TempDir()
	writeFiles(t, root, map[string]string{"node_modules/a/index.js": "a"})
	symlink(t, filepath.Join(outside, "secret"), filepath.Join(root, "node_modules/.bin/evil"))
	if _, err := s.Collect(root, []string{"node_modules"}); !errors.Is(err, ErrEscape) {
		t.Errorf("Collect with a link out: %v", err)
	}
}

// putManifest stores a manifest as written, without PutBundle's checks: what a tampered store would hold.
func putManifest(t *testing.T, s *Store, files []store.Artifact) string {
	t.Helper()
	data := `{"files":[`
	for i, f := range files {
		if i > 0 {
			data += ","
		}
		data += `{"path":"` + f.Path + `","digest":"` + f.Digest + `","mode":` + "420" + `,"link":"` + f.Link + `"}`
	}
	data += `],"pipeline":""}`
	d, _, err := s.Put(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return d
}
