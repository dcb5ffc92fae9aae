package server

import (
	"errors"
	"fmt"
	"io/fs"
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
	rel, err := s.releaseByID(r)
	if err != nil {
		return nil, err
	}
	return s.releaseView(rel)
}

// releaseByID reads the release the path's {id} names: its global id, for programs.
func (s *Server) releaseByID(r *http.Request) (*store.Release, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	rel, err := s.store.GetRelease(r.Context(), id)
	if err != nil {
		return nil, storeFailure(err, fmt.Sprintf("release id %d", id))
	}
	return rel, nil
}

// getProjectRelease answers a release of the project by the version users see ("7" or "v7").
func (s *Server) getProjectRelease(r *http.Request, project string, _ none) (*api.ReleaseView, error) {
	rel, err := s.releaseByVersion(r.Context(), project, r.PathValue("version"))
	if err != nil {
		return nil, err
	}
	return s.releaseView(rel)
}

func (s *Server) releaseView(rel *store.Release) (*api.ReleaseView, error) {
	m, err := s.artifacts.ReadManifest(rel.Bundle)
	if errors.Is(err, fs.ErrNotExist) {
		// Retention removed the bundle of an old release; its record is still worth answering.
		return &api.ReleaseView{Release: viewRelease(rel), Files: []api.Artifact{}, Pruned: true}, nil
	}
	if err != nil {
		return nil, err
	}
	return &api.ReleaseView{Release: viewRelease(rel), Files: viewAll(m.Files, viewArtifact)}, nil
}
