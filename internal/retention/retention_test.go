package retention

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/store"
	"github.com/ferry-cd/ferry/internal/store/sqlite"
)

// fixture is a data folder with a store, blobs, unpacked releases and instance logs, as the control plane
// and the local target leave them.
type fixture struct {
	t    *testing.T
	dir  string
	db   *sqlite.DB
	arts *artifact.Store
	runs int64
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	db, err := sqlite.Open(filepath.Join(dir, "ferry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.CreateProject(context.Background(), &store.Project{Name: "shop", Repo: "https://example.com/shop.git", Branch: "main"}); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, dir: dir, db: db, arts: &artifact.Store{Dir: filepath.Join(dir, "blobs")}}
}

func (f *fixture) releaseDir(project, id string) string {
	return filepath.Join(f.dir, "releases", project, id)
}

func (f *fixture) logs(env store.EnvKey, id string) []string {
	out, _ := filepath.Glob(filepath.Join(f.dir, "instances", env.Project+"_"+env.Env, id) + "-*.log")
	return out
}

// release makes a passed run's release whose one file is content, unpacked, with an instance log.
func (f *fixture) release(content string) *store.Release {
	f.t.Helper()
	ctx := context.Background()
	ws := f.t.TempDir()
	os.WriteFile(filepath.Join(ws, "app"), []byte(content), 0o755)
	files, err := f.arts.Collect(ws, []string{"app"})
	if err != nil {
		f.t.Fatal(err)
	}
	bundle, err := f.arts.PutBundle(files, []byte("version: 1\n# "+content+"\n"))
	if err != nil {
		f.t.Fatal(err)
	}
	run := &store.Run{Project: "shop", Branch: "main", Commit: fmt.Sprintf("%040d", f.runs), State: store.RunPassed}
	f.runs++
	if err := f.db.CreateRun(ctx, run); err != nil {
		f.t.Fatal(err)
	}
	// A kubernetes environment's rendered manifests, a blob of their own beside the bundle.
	manifests, _, err := f.arts.Put(strings.NewReader("manifests of " + content))
	if err != nil {
		f.t.Fatal(err)
	}
	rel := &store.Release{Project: "shop", RunID: run.ID, Commit: run.Commit, Bundle: bundle, Pipeline: "version: 1\n",
		Manifests: map[string]string{"production": manifests}}
	if err := f.db.CreateRelease(ctx, rel); err != nil {
		f.t.Fatal(err)
	}
	id := fmt.Sprint(rel.ID)
	if err := f.arts.Unpack(bundle, f.releaseDir("shop", id)); err != nil {
		f.t.Fatal(err)
	}
	logDir := filepath.Join(f.dir, "instances", "shop_production")
	os.MkdirAll(logDir, 0o700)
	os.WriteFile(filepath.Join(logDir, id+"-0.log"), []byte("listening\n"), 0o600)
	return rel
}

// live records a succeeded rollout of rel in production, now its live release.
func (f *fixture) live(rel *store.Release, previous int64) {
	f.t.Helper()
	ctx := context.Background()
	r := &store.Rollout{Project: "shop", Env: "production", ReleaseID: rel.ID, FromReleaseID: previous, Strategy: "direct", State: store.RolloutSucceeded}
	if err := f.db.CreateRollout(ctx, r); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.PutEnvironment(ctx, &store.Environment{Project: "shop", Name: "production", LiveReleaseID: rel.ID, PreviousReleaseID: previous}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) sweeper(keep int, running map[string]bool) *Sweeper {
	return &Sweeper{Store: f.db, Artifacts: f.arts, Keep: keep, ReleaseDir: f.releaseDir, InstanceLogs: f.logs,
		Running: func(context.Context) (map[string]bool, error) { return running, nil }}
}

func exists(p string) bool { _, err := os.Lstat(p); return err == nil }

func (f *fixture) blobOf(content string) string {
	p, _ := f.arts.Path(digestOf(content))
	return p
}

// TestSweepKeepsWhatIsUsedAndRemovesTheRest: ten releases deployed one after another, a failed run's blob, a
// rollout in flight and a release the target runs: with keep 2, the live, the previous, the newest two, the
// one in flight and the one running keep their folders, blobs and logs; the rest lose them.
func TestSweepKeepsWhatIsUsedAndRemovesTheRest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var rels []*store.Release
	var prev int64
	for i := range 10 {
		rel := f.release(fmt.Sprintf("binary %d", i))
		rels = append(rels, rel)
		if i < 8 { // 9 and 10 are newer than live: not deployed (yet)
			f.live(rel, prev)
			prev = rel.ID
		}
	}
	// Release 3 is being rolled back to (in flight); release 2 still runs in the target (draining).
	if err := f.db.CreateRollout(ctx, &store.Rollout{Project: "shop", Env: "production", ReleaseID: rels[2].ID,
		FromReleaseID: rels[7].ID, Strategy: store.StrategyRollback, State: store.RolloutProgressing}); err != nil {
		t.Fatal(err)
	}
	running := map[string]bool{fmt.Sprintf("shop/%d", rels[1].ID): true}
	// A failed run stored a blob long ago, and a run in flight stored one now.
	failed, _, _ := f.arts.Put(strings.NewReader("failed run's binary"))
	failedPath, _ := f.arts.Path(failed)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(failedPath, old, old)
	for _, r := range rels { // every release's blobs are old too
		m, _ := f.arts.ReadManifest(r.Bundle)
		for _, d := range append([]string{r.Bundle, m.Pipeline, r.Manifests["production"]}, m.Files[0].Digest) {
			p, _ := f.arts.Path(d)
			os.Chtimes(p, old, old)
		}
	}
	inflight := &store.Run{Project: "shop", Branch: "main", Commit: strings.Repeat("f", 40), State: store.RunRunning, StartedAt: time.Now().Add(-time.Minute)}
	if err := f.db.CreateRun(ctx, inflight); err != nil {
		t.Fatal(err)
	}
	if err := f.db.UpdateRun(ctx, inflight); err != nil {
		t.Fatal(err)
	}
	fresh, _, _ := f.arts.Put(strings.NewReader("a running run's binary"))
	freshPath, _ := f.arts.Path(fresh)

	rep, err := f.sweeper(2, running).Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Kept, by index: 9 and 8 (the project's newest two), 7 (live) and 6 (previous; also the newest two that
	// went live), 2 (in flight) and 1 (running).
	keep := map[int]bool{9: true, 8: true, 7: true, 6: true, 2: true, 1: true}
	for i, rel := range rels {
		id := fmt.Sprint(rel.ID)
		content := fmt.Sprintf("binary %d", i)
		if got := exists(f.releaseDir("shop", id)); got != keep[i] {
			t.Errorf("release %d (index %d): unpacked folder kept = %v, want %v", rel.ID, i, got, keep[i])
		}
		if got := exists(f.blobOf(content)); got != keep[i] {
			t.Errorf("release %d: its file's blob kept = %v, want %v", rel.ID, got, keep[i])
		}
		if got := exists(mustPath(t, f.arts, rel.Bundle)); got != keep[i] {
			t.Errorf("release %d: its bundle kept = %v, want %v", rel.ID, got, keep[i])
		}
		if got := exists(f.blobOf("manifests of " + content)); got != keep[i] {
			t.Errorf("release %d: its rendered manifests kept = %v, want %v", rel.ID, got, keep[i])
		}
		if got := len(f.logs(store.EnvKey{Project: "shop", Env: "production"}, id)) > 0; got != keep[i] {
			t.Errorf("release %d: instance logs kept = %v, want %v", rel.ID, got, keep[i])
		}
	}
	if exists(failedPath) {
		t.Error("the failed run's blob is still there")
	}
	if !exists(freshPath) {
		t.Error("the blob of the run in flight was removed")
	}
	if rep.Kept != 6 || rep.Releases != 4 || rep.InstanceLogs != 4 {
		t.Errorf("report %+v", rep)
	}

	// A second sweep finds nothing more to remove.
	if rep, err := f.sweeper(2, running).Sweep(ctx); err != nil || rep.Releases+rep.Blobs+rep.InstanceLogs != 0 {
		t.Errorf("second sweep: %+v, %v", rep, err)
	}
}

// TestPutReusingABlobProtectsItFromTheSweep: a run that stores content a swept release had, after the sweep's
// cutoff, keeps the blob.
func TestPutReusingABlobProtectsItFromTheSweep(t *testing.T) {
	arts := &artifact.Store{Dir: t.TempDir()}
	d, _, _ := arts.Put(strings.NewReader("same bytes"))
	p, _ := arts.Path(d)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	cutoff := time.Now().Add(-time.Minute)
	if _, _, err := arts.Put(strings.NewReader("same bytes")); err != nil {
		t.Fatal(err)
	}
	if n, _, err := arts.Sweep(nil, cutoff); err != nil || n != 0 || !exists(p) {
		t.Errorf("Sweep removed %d blobs (%v); the reused blob exists: %v", n, err, exists(p))
	}
}

func mustPath(t *testing.T, s *artifact.Store, d string) string {
	p, err := s.Path(d)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func digestOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}
