package server

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/source"
)

// The project secrets that authenticate the git mirror to a private repository over HTTPS. They are for
// fetching only: no step can ask for them.
const (
	RepoTokenSecret = "FERRY_REPO_TOKEN"
	RepoUserSecret  = "FERRY_REPO_USER" // optional; source.DefaultRepoUser when unset
)

// reservedSecret reports whether name is a secret only the server reads.
func reservedSecret(name string) bool { return name == RepoTokenSecret || name == RepoUserSecret }

// repoCredentials opens the project's repository secrets; zero Credentials when it has none.
func (s *Server) repoCredentials(ctx context.Context, project string) (source.Credentials, error) {
	sealed, err := s.store.SecretValues(ctx, project, []string{RepoTokenSecret, RepoUserSecret})
	if err != nil || sealed[RepoTokenSecret] == nil {
		return source.Credentials{}, err
	}
	var c source.Credentials
	for name, dst := range map[string]*string{RepoTokenSecret: &c.Password, RepoUserSecret: &c.Username} {
		if sealed[name] == nil {
			continue
		}
		plain, err := s.sealer.Open(project, name, sealed[name])
		if err != nil {
			return source.Credentials{}, fmt.Errorf("open %s: %w", name, err)
		}
		*dst = string(plain)
	}
	return c, nil
}

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
