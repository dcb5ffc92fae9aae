// Package artifact owns content-addressed blobs and release bundles. A blob is stored once under its SHA-256
// and never changes; a bundle is a manifest blob naming the files of a release.
package artifact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// ErrNotRegular is returned for an artifact that is neither a regular file nor a directory.
var ErrNotRegular = errors.New("not a regular file or a directory")

// ErrEscape is returned for an artifact path that leaves the workspace: absolute, "..", or a symlink out.
var ErrEscape = errors.New("path escapes the workspace")

// Store keeps blobs under Dir/sha256/XX/HEX.
type Store struct {
	Dir string

	// mu orders Put's reuse of a blob that exists against Sweep's removal of it: a blob Put reused is newer
	// than any cutoff Sweep was given before.
	mu sync.RWMutex
}

// Path returns where the blob with digest lives ("sha256:<hex>").
func (s *Store) Path(digest string) (string, error) {
	hexd, ok := strings.CutPrefix(digest, "sha256:")
	if !ok || len(hexd) != 64 || strings.Trim(hexd, "0123456789abcdef") != "" {
		return "", fmt.Errorf("bad digest %q", digest)
	}
	return filepath.Join(s.Dir, "sha256", hexd[:2], hexd), nil
}

// Open opens a blob for reading.
func (s *Store) Open(digest string) (*os.File, error) {
	p, err := s.Path(digest)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Put stores what r yields and returns its digest and size. Storing the same content twice is a no-op.
func (s *Store) Put(r io.Reader) (digest string, size int64, err error) {
	tmpDir := filepath.Join(s.Dir, "tmp")
	if err := os.MkdirAll(tmpDir, 0o700); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	tmp, err := os.CreateTemp(tmpDir, "blob-*")
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	size, err = io.Copy(io.MultiWriter(tmp, h), r)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	dst, _ := s.Path(digest)
	if s.reuse(dst) {
		return digest, size, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o400); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", 0, fmt.Errorf("put blob: %w", err)
	}
	return digest, size, nil
}

// reuse reports whether the blob at p exists, and marks it used now (its modification time), so that a Sweep
// with an earlier cutoff keeps it.
func (s *Store) reuse(p string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := time.Now()
	return os.Chtimes(p, now, now) == nil
}

// Sweep removes every blob that keep does not name and that was stored or last reused before cutoff, and
// returns how many it removed and their bytes. The caller names in keep every blob a record references;
// cutoff protects the blobs of work in flight (a run that started at cutoff or later stored or reused its
// blobs since, so they are newer).
func (s *Store) Sweep(keep map[string]bool, cutoff time.Time) (removed int, bytes int64, err error) {
	root := filepath.Join(s.Dir, "sha256")
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil || d.IsDir() {
			return err
		}
		digest := "sha256:" + d.Name()
		if keep[digest] {
			return nil
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		info, err := os.Stat(p)
		if err != nil || !info.ModTime().Before(cutoff) {
			return nil
		}
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("sweep blob %s: %w", digest, err)
		}
		removed++
		bytes += info.Size()
		return nil
	})
	return removed, bytes, err
}

// RemoveTree removes a folder Unpack made, read-only as it is.
func RemoveTree(dir string) error { return removeTree(dir) }

// Collect is CollectContext without a context.
func (s *Store) Collect(root string, patterns []string) ([]store.Artifact, error) {
	return s.CollectContext(context.Background(), root, patterns)
}

// CollectContext stores the files named by patterns (paths or globs relative to root; a directory means every
// file under it) and returns them sorted by path. A pattern that matches nothing, a path that escapes root, or
// anything but a regular file or a directory (a FIFO, a device, a socket: ErrNotRegular) is an error; such a
// file is never opened. It stops with ctx's error as soon as ctx is done.
//
// A symlink found under a directory, or named, is kept as a symlink when what it points to is among the files
// kept (a file, or a folder holding one): node_modules/.bin/* and a pnpm tree stay as npm and pnpm made them.
// One that points elsewhere in root is kept as a copy of its file (a folder it points to is left out, so a loop
// cannot hang the step); one that points out of root is ErrEscape.
func (s *Store) CollectContext(ctx context.Context, root string, patterns []string) ([]store.Artifact, error) {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, fmt.Errorf("artifacts: %w", err)
	}
	seen := map[string]bool{}
	var out []store.Artifact
	var links []link
	add := func(rel string) error {
		if seen[rel] {
			return nil
		}
		seen[rel] = true
		a, err := s.collectFile(ctx, realRoot, rel)
		if err != nil {
			return err
		}
		out = append(out, a)
		return nil
	}
	// addLink notes a symlink at rel (checked to stay in root): whether it is kept as one is known once every
	// pattern has been collected.
	addLink := func(rel string) error {
		if seen[rel] {
			return nil
		}
		real, err := within(realRoot, filepath.Join(realRoot, rel))
		if err != nil {
			return fmt.Errorf("artifact %s: %w", filepath.ToSlash(rel), err)
		}
		fi, err := os.Stat(real)
		if err != nil {
			return fmt.Errorf("artifact %s: %w", filepath.ToSlash(rel), err)
		}
		seen[rel] = true
		target, _ := filepath.Rel(realRoot, real)
		links = append(links, link{rel: rel, target: target, dir: fi.IsDir()})
		return nil
	}
	for _, pat := range patterns {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("artifacts: %w", err)
		}
		if filepath.IsAbs(pat) || !filepath.IsLocal(filepath.FromSlash(pat)) {
			return nil, fmt.Errorf("artifact %s: %w", pat, ErrEscape)
		}
		// Glob below the root, so characters like '[' in the checkout's own path are not read as a pattern.
		matches, err := fs.Glob(os.DirFS(realRoot), filepath.ToSlash(filepath.Clean(pat)))
		if err != nil {
			return nil, fmt.Errorf("artifact %s: %w", pat, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("artifact %s: no such file after the step ran", pat)
		}
		for _, match := range matches {
			rel := filepath.FromSlash(match)
			m := filepath.Join(realRoot, rel)
			real, err := within(realRoot, m)
			if err != nil {
				return nil, fmt.Errorf("artifact %s: %w", filepath.ToSlash(rel), err)
			}
			info, err := os.Stat(real)
			if err != nil {
				return nil, fmt.Errorf("artifact %s: %w", filepath.ToSlash(rel), err)
			}
			if li, err := os.Lstat(m); err == nil && li.Mode()&fs.ModeSymlink != 0 {
				if err := addLink(rel); err != nil {
					return nil, err
				}
				continue
			}
			if !info.IsDir() {
				if err := add(rel); err != nil {
					return nil, err
				}
				continue
			}
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("artifacts: %w", err)
				}
				if d.IsDir() {
					return nil
				}
				r, _ := filepath.Rel(realRoot, p)
				if d.Type()&fs.ModeSymlink != 0 {
					return addLink(r) // symlinked directories are not followed, so a loop cannot hang the step
				}
				return add(r)
			})
			if err != nil {
				return nil, err
			}
		}
	}
	// A link to something kept stays a link; one to a file not kept is a copy of it, as before links were kept.
	kept := keptPaths(out)
	for _, l := range links {
		switch {
		case kept.has(l.target, l.dir):
			to, _ := filepath.Rel(filepath.Dir(l.rel), l.target)
			out = append(out, store.Artifact{Path: filepath.ToSlash(l.rel), Link: filepath.ToSlash(to)})
		case !l.dir:
			a, err := s.collectFile(ctx, realRoot, l.rel)
			if err != nil {
				return nil, err
			}
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// link is a symlink met while collecting: its path and the path it resolves to, both relative to the root.
type link struct {
	rel, target string
	dir         bool
}

// pathSet is the files of a release and every folder above them.
type pathSet struct{ files, dirs map[string]bool }

func keptPaths(files []store.Artifact) pathSet {
	ps := pathSet{files: map[string]bool{}, dirs: map[string]bool{}}
	for _, f := range files {
		p := filepath.FromSlash(f.Path)
		ps.files[p] = true
		for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
			ps.dirs[d] = true
		}
	}
	return ps
}

func (ps pathSet) has(p string, dir bool) bool {
	if dir {
		return ps.dirs[p]
	}
	return ps.files[p]
}

func (s *Store) collectFile(ctx context.Context, realRoot, rel string) (store.Artifact, error) {
	name := filepath.ToSlash(rel)
	real, err := within(realRoot, filepath.Join(realRoot, rel))
	if err != nil {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	// Look before opening: opening a FIFO waits for a writer that may never come, and a device may be endless.
	before, err := os.Stat(real)
	if err != nil {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	if !before.Mode().IsRegular() {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w (%s)", name, ErrNotRegular, kind(before.Mode()))
	}
	// O_NONBLOCK: a FIFO swapped in since the look above must not make the open wait either.
	f, err := os.OpenFile(real, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	if !info.Mode().IsRegular() || !os.SameFile(before, info) {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w (replaced while being kept)", name, ErrNotRegular)
	}
	digest, size, err := s.Put(ctxReader{ctx, f})
	if err != nil {
		return store.Artifact{}, fmt.Errorf("artifact %s: %w", name, err)
	}
	return store.Artifact{Path: name, Digest: digest, Size: size, Mode: uint32(info.Mode().Perm())}, nil
}

// kind names a file type for an error message.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "type " + m.Type().String()
}

// ctxReader stops reading once its context is done, so canceling a run stops the copy of a large artifact.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// within resolves symlinks in p and checks that the result stays under realRoot.
func within(realRoot, p string) (string, error) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", ErrEscape
	}
	return real, nil
}

// Manifest is the content of a release bundle.
type Manifest struct {
	Files []store.Artifact `json:"files"`
	// Pipeline is the digest of the .ferry.yaml the release was built with.
	Pipeline string `json:"pipeline"`
}

// PutBundle stores the pipeline file and a manifest of files, and returns the manifest's digest: the bundle
// digest. The same files and pipeline always give the same digest.
func (s *Store) PutBundle(files []store.Artifact, pipelineFile []byte) (string, error) {
	pd, _, err := s.Put(strings.NewReader(string(pipelineFile)))
	if err != nil {
		return "", fmt.Errorf("put bundle: %w", err)
	}
	m := Manifest{Files: append([]store.Artifact{}, files...), Pipeline: pd}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	for i := 1; i < len(m.Files); i++ {
		a, b := m.Files[i-1], m.Files[i]
		if a.Path == b.Path && (a.Digest != b.Digest || a.Mode != b.Mode || a.Link != b.Link) {
			return "", fmt.Errorf("put bundle: two steps kept different %s", m.Files[i].Path)
		}
	}
	m.Files = dedupe(m.Files)
	links := map[string]bool{}
	for _, f := range m.Files {
		if f.Link != "" {
			links[f.Path] = true
		}
	}
	for _, f := range m.Files {
		for d := path.Dir(f.Path); d != "."; d = path.Dir(d) {
			if links[d] {
				return "", fmt.Errorf("put bundle: %s is kept inside %s, which is kept as a symlink; keep the folder it points to instead", f.Path, d)
			}
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("put bundle: %w", err)
	}
	d, _, err := s.Put(strings.NewReader(string(data)))
	return d, err
}

func dedupe(files []store.Artifact) []store.Artifact {
	out := files[:0]
	for i, f := range files {
		if i > 0 && f.Path == files[i-1].Path {
			continue
		}
		out = append(out, f)
	}
	return out
}

// ReadManifest reads a bundle's manifest.
func (s *Store) ReadManifest(digest string) (*Manifest, error) {
	f, err := s.Open(digest)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer f.Close()
	var m Manifest
	if err := json.NewDecoder(f).Decode(&m); err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", digest, err)
	}
	return &m, nil
}

// Unpack writes the files of a bundle under dir with their modes and makes the tree read-only. It writes into
// a temporary folder beside dir and renames it, so dir is either absent or complete; a dir that exists is
// taken as unpacked already (bundles never change).
func (s *Store) Unpack(bundle, dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	m, err := s.ReadManifest(bundle)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o700); err != nil {
		return fmt.Errorf("unpack %s: %w", bundle, err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".unpack-*")
	if err != nil {
		return fmt.Errorf("unpack %s: %w", bundle, err)
	}
	defer removeTree(tmp)
	var links []store.Artifact
	for _, f := range m.Files {
		if !filepath.IsLocal(filepath.FromSlash(f.Path)) {
			return fmt.Errorf("unpack %s: %s: %w", bundle, f.Path, ErrEscape)
		}
		if f.Link != "" {
			links = append(links, f)
			continue
		}
		dst := filepath.Join(tmp, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return fmt.Errorf("unpack %s: %w", bundle, err)
		}
		if err := s.copyBlob(f.Digest, dst, fs.FileMode(f.Mode).Perm()); err != nil {
			return fmt.Errorf("unpack %s: %s: %w", bundle, f.Path, err)
		}
	}
	if err := makeLinks(tmp, links); err != nil {
		return fmt.Errorf("unpack %s: %w", bundle, err)
	}
	// Read-only from the inside out: files keep only their read and execute bits, folders too.
	err = filepath.WalkDir(tmp, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == tmp || d.Type()&fs.ModeSymlink != 0 {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, info.Mode().Perm()&0o500)
	})
	if err != nil {
		return fmt.Errorf("unpack %s: %w", bundle, err)
	}
	if err := os.Chmod(tmp, 0o500); err != nil {
		return fmt.Errorf("unpack %s: %w", bundle, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Chmod(tmp, 0o700)
		return fmt.Errorf("unpack %s: %w", bundle, err)
	}
	return nil
}

// makeLinks recreates the symlinks of a release under root, once its files are there. A link must point
// inside the release, to something the release has: one written to leave it ("../../etc"), or that leaves it
// through another link, or that points at nothing, is refused.
func makeLinks(root string, links []store.Artifact) error {
	for _, l := range links {
		rel := filepath.FromSlash(l.Path)
		to := filepath.FromSlash(l.Link)
		if filepath.IsAbs(to) || !filepath.IsLocal(filepath.Join(filepath.Dir(rel), to)) {
			return fmt.Errorf("%s links to %s: %w", l.Path, l.Link, ErrEscape)
		}
		for d := filepath.Dir(rel); d != "."; d = filepath.Dir(d) {
			if fi, err := os.Lstat(filepath.Join(root, d)); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
				return fmt.Errorf("%s is inside the symlink %s: %w", l.Path, filepath.ToSlash(d), ErrEscape)
			}
		}
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		if err := os.Symlink(to, dst); err != nil {
			return err
		}
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	for _, l := range links {
		if _, err := within(realRoot, filepath.Join(realRoot, filepath.FromSlash(l.Path))); errors.Is(err, ErrEscape) {
			return fmt.Errorf("%s links to %s: %w", l.Path, l.Link, ErrEscape)
		} else if err != nil {
			return fmt.Errorf("%s links to %s, which the release does not have", l.Path, l.Link)
		}
	}
	return nil
}

// removeTree removes a folder that Unpack may have made read-only.
func removeTree(dir string) error {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

func (s *Store) copyBlob(digest, dst string, mode fs.FileMode) error {
	src, err := s.Open(digest)
	if err != nil {
		return err
	}
	defer src.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, src); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
