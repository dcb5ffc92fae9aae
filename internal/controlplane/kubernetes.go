package controlplane

import (
	"context"
	"fmt"
	"io"
	"strconv"

	"github.com/ferry-cd/ferry/internal/artifact"
	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/deploy/kubernetes"
	"github.com/ferry-cd/ferry/internal/store"
)

// maxManifests bounds the rendered manifests of a release read back from the artifact store.
const maxManifests = 8 << 20

// releaseContents is the Kubernetes target with what the rollout controller does not carry filled in: a
// release's rendered manifests for the environment and its images, as the run stored them with it.
type releaseContents struct {
	*kubernetes.Target
	store     store.Store
	artifacts *artifact.Store
}

func (r releaseContents) Prepare(ctx context.Context, env deploy.Environment, rel deploy.Release) error {
	if len(rel.Manifests) == 0 {
		id, err := strconv.ParseInt(rel.ID, 10, 64)
		if err != nil {
			return &deploy.RefusedError{Env: env.Key, Reason: fmt.Sprintf("release %q is not a release id", rel.ID)}
		}
		sr, err := r.store.GetRelease(ctx, id)
		if err != nil {
			return fmt.Errorf("prepare release %s in %s: %w", rel.ID, env.Key, err)
		}
		digest := sr.Manifests[env.Key.Env]
		if digest == "" {
			return &deploy.RefusedError{Env: env.Key, Reason: fmt.Sprintf("release v%d has no rendered manifests "+
				"for environment %s: its run rendered none (was it built before the environment had target kubernetes?)", sr.Version, env.Key.Env)}
		}
		data, err := readBlob(r.artifacts, digest)
		if err != nil {
			return fmt.Errorf("prepare release %s in %s: manifests: %w", rel.ID, env.Key, err)
		}
		rel.Manifests, rel.Images = data, sr.Images
	}
	return r.Target.Prepare(ctx, env, rel)
}

func readBlob(a *artifact.Store, digest string) ([]byte, error) {
	f, err := a.Open(digest)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifests+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxManifests {
		return nil, fmt.Errorf("blob %s is larger than %d bytes", digest, maxManifests)
	}
	return data, nil
}
