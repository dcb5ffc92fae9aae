package server

import (
	"fmt"
	"io"
	"net/http"

	"github.com/ferry-cd/ferry/internal/api"
)

// maxManifestsBytes bounds the manifests of one environment the API returns.
const maxManifestsBytes = 8 << 20

func (s *Server) getReleaseManifests(r *http.Request, _ none) (*api.ReleaseManifests, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rel, err := s.store.GetRelease(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, fmt.Sprintf("release %d", id))
	}
	out := &api.ReleaseManifests{Release: rel.ID, Images: rel.Images, Environments: map[string]string{}}
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
