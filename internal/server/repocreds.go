package server

import (
	"context"

	"github.com/ferry-cd/ferry/internal/source"
)

// The project secrets that authenticate the git mirror to a private repository over HTTPS. They are for
// fetching only: no step can ask for them (internal/controlplane opens them for the mirror alone).
const (
	RepoTokenSecret = "FERRY_REPO_TOKEN"
	RepoUserSecret  = "FERRY_REPO_USER" // optional; source.DefaultRepoUser when unset
)

// moveCredentials stores the credentials a repository URL held as the project's repository secrets, so that
// the URL is stored and shown without them.
func (s *Server) moveCredentials(ctx context.Context, project string, c source.Credentials) error {
	if c.Password == "" {
		// https://TOKEN@host/...: a token alone is written where the user name goes.
		c.Password, c.Username = c.Username, ""
	}
	if c.Password == "" {
		return nil
	}
	if err := s.store.SetSecret(ctx, project, RepoTokenSecret, s.sealer.Seal(project, RepoTokenSecret, []byte(c.Password))); err != nil {
		return err
	}
	if c.Username != "" {
		return s.store.SetSecret(ctx, project, RepoUserSecret, s.sealer.Seal(project, RepoUserSecret, []byte(c.Username)))
	}
	return nil
}
