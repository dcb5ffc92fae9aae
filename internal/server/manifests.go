package server

import (
	"fmt"
	"io"
	"net/http"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

// maxManifestsBytes bounds the manifests of one environment the API returns.
const maxManifestsBytes = 8 << 20

func (s *Server) getReleaseManifests(r *http.Request, _ none) (*api.ReleaseManifests, error) {
	rel, err := s.releaseByID(r)
	if err != nil {
		return nil, err
	}
	return s.manifests(rel)
}

// getProjectReleaseManifests answers the manifests of a release of the project by its version ("7", "v7").
func (s *Server) getProjectReleaseManifests(r *http.Request, project string, _ none) (*api.ReleaseManifests, error) {
	rel, err := s.releaseByVersion(r.Context(), project, r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	return s.manifests(rel)
}

func (s *Server) manifests(rel *store.Release) (*api.ReleaseManifests, error) {
	id := rel.ID
	out := &api.ReleaseManifests{Release: rel.ID, Version: rel.Version, Images: rel.Images, Environments: map[string]string{}}
	if out.Images == nil {
		out.Images = []string{}
	}
	for env, digest := range rel.Manifests {
		f, err := s.artifacts.Open(digest)
		if err != nil {
			return nil, fmt.Errorf("manifests of release %d for %s: %w", id, env, err)
		}
		data, err := io.ReadAll(io.LimitReader(f, maxManifestsBytes))
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("manifests of release %d for %s: %w", id, env, err)
		}
		out.Environments[env] = string(data)
	}
	return out, nil
}
