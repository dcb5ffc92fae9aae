package server

import (
	"fmt"
	"net/http"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

func (s *Server) listReleases(r *http.Request, project string, _ none) ([]*api.Release, error) {
	rels, err := s.store.ListReleases(r.Context(), project, 50)
	if err != nil {
		return nil, storeFailure(err, "releases")
	}
	if rels == nil {
		rels = []*store.Release{}
	}
	return viewAll(rels, viewRelease), nil
}

func (s *Server) getRelease(r *http.Request, _ none) (*api.ReleaseView, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rel, err := s.store.GetRelease(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, fmt.Sprintf("release %d", id))
	}
	m, err := s.artifacts.ReadManifest(rel.Bundle)
	if err != nil {
		return nil, err
	}
	return &api.ReleaseView{Release: viewRelease(rel), Files: viewAll(m.Files, viewArtifact)}, nil
}
