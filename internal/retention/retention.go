// Package retention removes what ferry no longer needs from the data folder: the unpacked releases, the
// blobs and the instances' logs of releases no longer kept, and the blobs of runs that never made a release
// (failed, canceled). It is a mark and sweep over what the store references: whatever a kept release, a
// rollout in flight or a run in flight uses is never removed.
//
// It must not import server, cli, ui, rollout or dataplane: the control plane gives it the target's view.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/store"
)

// DefaultKeep is how many of the newest releases each environment (and each project) keeps by default.
const DefaultKeep = 5

// Sweeper removes what no kept release needs. Create it with its fields set.
type Sweeper struct {
	Store     store.Store
	Artifacts *artifact.Store
	// Keep is how many releases are kept beyond the live and the previous one: the newest Keep releases of
	// each project, and the newest Keep that went live in each environment. Less than 1 keeps everything.
	Keep int
	// ReleaseDir is where the target unpacked a release of a project (the local target's releases/P/ID);
	// nil when releases are not unpacked on this machine.
	ReleaseDir func(project, release string) string
	// InstanceLogs returns the log files of a release's instances in an environment; nil when there are none.
	InstanceLogs func(env store.EnvKey, release string) []string
	// Running returns the releases the target runs now, as "project/ID": they are kept whatever the store says.
	Running func(ctx context.Context) (map[string]bool, error)
	Logger  *slog.Logger
}

// Report is what one sweep removed.
type Report struct {
	Kept         int   // releases kept
	Releases     int   // unpacked releases removed
	Blobs        int   // blobs removed
	BlobBytes    int64 // their size
	InstanceLogs int   // instance log files removed
}

// Sweep marks what is kept and removes the rest. An error leaves what it could not judge in place.
func (s *Sweeper) Sweep(ctx context.Context) (Report, error) {
	var rep Report
	if s.Keep < 1 {
		return rep, nil
	}
	// The cutoff is taken before anything is read: a run that starts later stores or reuses its blobs after
	// it, and one running now did so after it started.
	cutoff := time.Now()
	running, err := s.Store.RunsInState(ctx, store.RunRunning)
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	for _, r := range running {
		if !r.StartedAt.IsZero() && r.StartedAt.Before(cutoff) {
			cutoff = r.StartedAt
		}
	}
	kept, envs, err := s.mark(ctx)
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	rep.Kept = len(kept)
	blobs := map[string]bool{}
	for _, rel := range kept {
		if err := s.markBundle(rel.Bundle, blobs); err != nil {
			// A kept release whose bundle cannot be read: sweeping could remove what it needs.
			return rep, fmt.Errorf("retention: release %d: %w", rel.ID, err)
		}
		// Its rendered Kubernetes manifests, applied from these blobs every time.
		for _, digest := range rel.Manifests {
			blobs[digest] = true
		}
	}
	rep.Releases, rep.InstanceLogs = s.sweepReleases(ctx, kept, envs)
	rep.Blobs, rep.BlobBytes, err = s.Artifacts.Sweep(blobs, cutoff)
	if err != nil {
		return rep, fmt.Errorf("retention: %w", err)
	}
	if rep.Releases+rep.Blobs+rep.InstanceLogs > 0 {
		s.log().Info("retention", "kept_releases", rep.Kept, "removed_releases", rep.Releases, "removed_blobs", rep.Blobs,
			"removed_bytes", rep.BlobBytes, "removed_instance_logs", rep.InstanceLogs)
	}
	return rep, nil
}

func (s *Sweeper) log() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// key names a release of a project as Running does.
func key(project string, id int64) string { return project + "/" + strconv.FormatInt(id, 10) }

// mark returns every release kept, by key, and the environments of every project.
func (s *Sweeper) mark(ctx context.Context) (map[string]*store.Release, []*store.Environment, error) {
	keep := map[string]bool{}
	if s.Running != nil {
		run, err := s.Running(ctx)
		if err != nil {
			return nil, nil, err
		}
		for k := range run {
			keep[k] = true
		}
	}
	inflight, err := s.Store.RolloutsInState(ctx, store.RolloutPending, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range inflight {
		keep[key(r.Project, r.ReleaseID)] = true
		if r.FromReleaseID != 0 {
			keep[key(r.Project, r.FromReleaseID)] = true
		}
	}
	projects, err := s.Store.ListProjects(ctx)
	if err != nil {
		return nil, nil, err
	}
	kept := map[string]*store.Release{}
	var allEnvs []*store.Environment
	for _, p := range projects {
		newest, err := s.Store.ListReleases(ctx, p.Name, s.Keep)
		if err != nil {
			return nil, nil, err
		}
		for _, rel := range newest {
			keep[key(p.Name, rel.ID)] = true
		}
		envs, err := s.Store.ListEnvironments(ctx, p.Name)
		if err != nil {
			return nil, nil, err
		}
		allEnvs = append(allEnvs, envs...)
		for _, e := range envs {
			for _, id := range []int64{e.LiveReleaseID, e.PreviousReleaseID} {
				if id != 0 {
					keep[key(p.Name, id)] = true
				}
			}
			rollouts, err := s.Store.ListRollouts(ctx, p.Name, e.Name, 0)
			if err != nil {
				return nil, nil, err
			}
			// The newest Keep releases that went live here (a rollback counts for the release it went back to).
			seen := map[int64]bool{}
			for _, r := range rollouts {
				if len(seen) >= s.Keep {
					break
				}
				if r.State == store.RolloutSucceeded && !seen[r.ReleaseID] {
					seen[r.ReleaseID] = true
					keep[key(p.Name, r.ReleaseID)] = true
				}
			}
		}
		// The store's records of the kept releases, for their bundles.
		all, err := s.Store.ListReleases(ctx, p.Name, 0)
		if err != nil {
			return nil, nil, err
		}
		for _, rel := range all {
			if keep[key(p.Name, rel.ID)] {
				kept[key(p.Name, rel.ID)] = rel
			}
		}
	}
	return kept, allEnvs, nil
}

// markBundle adds a bundle's blobs to blobs: the manifest, the pipeline file and every file.
func (s *Sweeper) markBundle(bundle string, blobs map[string]bool) error {
	if bundle == "" {
		return nil
	}
	m, err := s.Artifacts.ReadManifest(bundle)
	if err != nil {
		return err
	}
	blobs[bundle] = true
	if m.Pipeline != "" {
		blobs[m.Pipeline] = true
	}
	for _, f := range m.Files {
		if f.Digest != "" {
			blobs[f.Digest] = true
		}
	}
	return nil
}

// sweepReleases removes the unpacked folders and instance logs of the releases not kept.
func (s *Sweeper) sweepReleases(ctx context.Context, kept map[string]*store.Release, envs []*store.Environment) (folders, logs int) {
	projects, err := s.Store.ListProjects(ctx)
	if err != nil {
		return 0, 0
	}
	for _, p := range projects {
		all, err := s.Store.ListReleases(ctx, p.Name, 0)
		if err != nil {
			continue
		}
		for _, rel := range all {
			if kept[key(p.Name, rel.ID)] != nil {
				continue
			}
			id := strconv.FormatInt(rel.ID, 10)
			if s.ReleaseDir != nil {
				dir := s.ReleaseDir(p.Name, id)
				if _, err := os.Lstat(dir); err == nil {
					if err := artifact.RemoveTree(dir); err != nil {
						s.log().Warn("retention: remove release", "project", p.Name, "release", rel.Version, "release_id", rel.ID, "err", err)
					} else {
						folders++
					}
				}
			}
			if s.InstanceLogs == nil {
				continue
			}
			for _, e := range envs {
				if e.Project != p.Name {
					continue
				}
				for _, f := range s.InstanceLogs(e.Key(), id) {
					if err := os.Remove(f); err == nil {
						logs++
					} else if !errors.Is(err, os.ErrNotExist) {
						s.log().Warn("retention: remove instance log", "file", filepath.Base(f), "err", err)
					}
				}
			}
		}
	}
	return folders, logs
}
