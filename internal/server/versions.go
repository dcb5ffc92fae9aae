package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

// Users see one number for a release: its version within its project (v7). The store keys releases by a
// global ID, which the API keeps beside the version for machines; every view that names a release gets its
// version here, and every release a user types is read as a version of the project in the path.

// versions translates release IDs into versions, reading each release once per answer.
type versions struct {
	ctx context.Context
	st  store.Store
	m   map[int64]int64
}

func (s *Server) versions(ctx context.Context) *versions {
	return &versions{ctx: ctx, st: s.store, m: map[int64]int64{}}
}

// of is the version of release id: 0 for no release (id 0), or for one the store cannot read.
func (v *versions) of(id int64) int64 {
	if id == 0 {
		return 0
	}
	if ver, ok := v.m[id]; ok {
		return ver
	}
	var ver int64
	if rel, err := v.st.GetRelease(v.ctx, id); err == nil {
		ver = rel.Version
	}
	v.m[id] = ver
	return ver
}

// ofName is of for a release as targets name it: its ID in decimal.
func (v *versions) ofName(name string) int64 {
	id, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return 0
	}
	return v.of(id)
}

func (v *versions) rollout(r *api.Rollout) *api.Rollout {
	if r != nil {
		r.ReleaseVersion, r.FromReleaseVersion = v.of(r.ReleaseID), v.of(r.FromReleaseID)
	}
	return r
}

func (v *versions) run(r *api.Run) *api.Run {
	if r != nil {
		r.ReleaseVersion = v.of(r.ReleaseID)
	}
	return r
}

// each applies f to every element of a list, for viewAll's answers.
func each[T any](list []T, f func(T) T) []T {
	for i := range list {
		list[i] = f(list[i])
	}
	return list
}

// releaseByVersion returns the release of project a user named by its version ("7" or "v7"): a 400 for
// something else, a 404 naming the project's newest versions for one it does not have.
func (s *Server) releaseByVersion(ctx context.Context, project, typed string) (*store.Release, error) {
	version, err := api.ParseVersion(typed)
	if err != nil {
		return nil, fail(http.StatusBadRequest, "%v", err)
	}
	rel, err := s.store.ReleaseByVersion(ctx, project, version)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail(http.StatusNotFound, "project %s has no release %s (%s)", project, api.VersionText(version),
			s.newestVersions(ctx, project))
	}
	if err != nil {
		return nil, storeFailure(err, "release "+api.VersionText(version))
	}
	return rel, nil
}

// newestVersions says which versions a project has, for an error naming one it has not.
func (s *Server) newestVersions(ctx context.Context, project string) string {
	rels, err := s.store.ListReleases(ctx, project, 5)
	if err != nil || len(rels) == 0 {
		return "it has no release yet"
	}
	names := make([]string, len(rels))
	for i, r := range rels {
		names[i] = api.VersionText(r.Version)
	}
	if rels[len(rels)-1].Version > 1 {
		names = append(names, "...")
	}
	return fmt.Sprintf("its newest: %s", strings.Join(names, ", "))
}
