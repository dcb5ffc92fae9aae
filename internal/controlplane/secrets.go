package controlplane

import (
	"context"
	"fmt"

	"github.com/ferry-cd/ferry/internal/secret"
	"github.com/ferry-cd/ferry/internal/server"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

// projectSecrets opens a project's sealed secrets for the parts that read them: the git mirror (the
// repository's credentials), a run's steps (the secrets their pipeline names) and forge statuses (the forge
// token). Who may read which is decided here: no step reads the repository's own.
type projectSecrets struct {
	store  store.Store
	sealer *secret.Sealer
}

// reservedSecret reports whether name is a secret only the server reads.
func reservedSecret(name string) bool {
	return name == server.RepoTokenSecret || name == server.RepoUserSecret
}

// repoCredentials opens the project's repository secrets; zero Credentials when it has none.
func (ps projectSecrets) repoCredentials(ctx context.Context, project string) (source.Credentials, error) {
	sealed, err := ps.store.SecretValues(ctx, project, []string{server.RepoTokenSecret, server.RepoUserSecret})
	if err != nil || sealed[server.RepoTokenSecret] == nil {
		return source.Credentials{}, err
	}
	var c source.Credentials
	for name, dst := range map[string]*string{server.RepoTokenSecret: &c.Password, server.RepoUserSecret: &c.Username} {
		if sealed[name] == nil {
			continue
		}
		plain, err := ps.sealer.Open(project, name, sealed[name])
		if err != nil {
			return source.Credentials{}, fmt.Errorf("open %s: %w", name, err)
		}
		*dst = string(plain)
	}
	return c, nil
}

// forSteps opens the project secrets a run's steps ask for; the repository's own are not theirs to read.
func (ps projectSecrets) forSteps(ctx context.Context, project string, names []string) (map[string]string, error) {
	for _, n := range names {
		if reservedSecret(n) {
			return nil, fmt.Errorf("secret %s is for fetching the repository: no step can read it", n)
		}
	}
	return ps.open(ctx, project, names)
}

// open opens the named secrets the project has.
func (ps projectSecrets) open(ctx context.Context, project string, names []string) (map[string]string, error) {
	sealed, err := ps.store.SecretValues(ctx, project, names)
	if err != nil {
		return nil, fmt.Errorf("read secrets: %w", err)
	}
	out := make(map[string]string, len(sealed))
	for name, v := range sealed {
		plain, err := ps.sealer.Open(project, name, v)
		if err != nil {
			return nil, err
		}
		out[name] = string(plain)
	}
	return out, nil
}

// forService opens the project secrets a release's service names, for its instances; names the project has
// no secret for are left out (the rollout controller says which are missing). The repository's own are not
// the app's to read.
func (ps projectSecrets) forService(ctx context.Context, project string, names []string) (map[string]string, error) {
	for _, n := range names {
		if reservedSecret(n) {
			return nil, fmt.Errorf("secret %s is for fetching the repository: no service can read it", n)
		}
	}
	return ps.open(ctx, project, names)
}

// forgeToken opens the project's forge token for commit statuses; ok is false when it has none.
func (ps projectSecrets) forgeToken(ctx context.Context, project string) (token []byte, ok bool, err error) {
	sealed, err := ps.store.SecretValues(ctx, project, []string{StatusTokenSecret})
	if err != nil || sealed[StatusTokenSecret] == nil {
		return nil, false, err
	}
	token, err = ps.sealer.Open(project, StatusTokenSecret, sealed[StatusTokenSecret])
	return token, err == nil, err
}
