package server

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)

func (s *Server) createToken(r *http.Request, req api.TokenRequest) (*api.TokenCreated, error) {
	if !tokenNameRE.MatchString(req.Name) {
		return nil, fail(http.StatusBadRequest, "invalid token name %q: letters, digits, '.', '_', '-', '@'", req.Name)
	}
	if req.Role == "" {
		req.Role = store.RoleAdmin
	}
	var origins []string
	var warning string
	switch req.Role {
	case store.RoleAdmin, store.RoleRead:
		if req.Project != "" || req.Env != "" {
			return nil, fail(http.StatusBadRequest, "a %s token reads every project: project and env are for flags tokens", req.Role)
		}
		if len(req.Origins) > 0 {
			return nil, fail(http.StatusBadRequest, "a %s token is not for web pages: origins are for flags tokens", req.Role)
		}
	case store.RoleFlags:
		if !nameRE.MatchString(req.Env) {
			return nil, fail(http.StatusBadRequest, "invalid env %q: a flags token reads one environment, named as in .ferry.yaml", req.Env)
		}
		if _, err := s.store.GetProject(r.Context(), req.Project); err != nil {
			return nil, storeFailure(err, "project "+req.Project)
		}
		var err error
		if warning, err = s.flagsEnvExists(r.Context(), req.Project, req.Env); err != nil {
			return nil, err
		}
		if origins, err = tokenOrigins(req.Origins); err != nil {
			return nil, err
		}
	default:
		return nil, fail(http.StatusBadRequest, "invalid role %q: admin, read or flags", req.Role)
	}
	tok := newToken()
	t := &store.Token{Name: req.Name, Hash: hashToken(tok), Role: req.Role, Project: req.Project, Env: req.Env, Origins: origins}
	if err := s.store.CreateToken(r.Context(), t); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, fail(http.StatusConflict, "token %s already exists: pick another name, or revoke it first (ferry token revoke %s)", req.Name, req.Name)
		}
		return nil, storeFailure(err, "token")
	}
	s.forgetFlagTokens()
	detail := "role " + req.Role
	if req.Role == store.RoleFlags {
		detail += " for " + store.EnvKey{Project: req.Project, Env: req.Env}.String()
	}
	if len(origins) > 0 {
		detail += ", origins " + strings.Join(origins, " ")
	}
	s.audit(r, "token.create", req.Project, req.Name, detail)
	return &api.TokenCreated{Token: tok, Name: req.Name, Role: req.Role, Project: req.Project, Env: req.Env, Origins: origins, Warning: warning}, nil
}

// whoami answers the caller's token name and role, so a client (the dashboard) can offer only what the role
// allows.
func whoami(r *http.Request, _ none) (*api.Whoami, error) {
	t := caller(r.Context())
	return &api.Whoami{Name: t.Name, Role: t.Role}, nil
}

// requireAdmin answers 403 unless the caller's token is an admin token. Listing and revoking tokens is for
// admins only, even though a read token may otherwise GET everything: the list is a map of who can act.
func requireAdmin(r *http.Request) error {
	if t := caller(r.Context()); t == nil || t.Role != store.RoleAdmin {
		name := ""
		if t != nil {
			name = t.Name
		}
		return fail(http.StatusForbidden, "token %s is not an admin token: only admins list and revoke tokens", name)
	}
	return nil
}

func (s *Server) listTokens(r *http.Request, _ none) ([]api.TokenView, error) {
	if err := requireAdmin(r); err != nil {
		return nil, err
	}
	list, err := s.store.ListTokens(r.Context())
	if err != nil {
		return nil, storeFailure(err, "tokens")
	}
	out := make([]api.TokenView, 0, len(list))
	for _, t := range list {
		v := api.TokenView{Name: t.Name, Role: t.Role, Project: t.Project, Env: t.Env, Origins: t.Origins}
		if !t.CreatedAt.IsZero() {
			v.CreatedAt = t.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		out = append(out, v)
	}
	return out, nil
}

// revokeToken revokes the token named in the path. The last admin token cannot be revoked: nobody could then
// create another, short of editing the database.
func (s *Server) revokeToken(r *http.Request, _ none) (none, error) {
	if err := requireAdmin(r); err != nil {
		return none{}, err
	}
	name := r.PathValue("name")
	list, err := s.store.ListTokens(r.Context())
	if err != nil {
		return none{}, storeFailure(err, "tokens")
	}
	var revoked *store.Token
	admins := 0
	for _, t := range list {
		if t.Role == store.RoleAdmin {
			admins++
		}
		if t.Name == name {
			revoked = t
		}
	}
	switch {
	case revoked == nil:
		return none{}, fail(http.StatusNotFound, "token %s not found (ferry token list shows them)", name)
	case revoked.Role == store.RoleAdmin && admins == 1:
		return none{}, fail(http.StatusConflict, "token %s is the last admin token: create another admin token first (ferry token create NAME)", name)
	}
	if err := s.store.DeleteToken(r.Context(), name); err != nil {
		return none{}, storeFailure(err, "token "+name)
	}
	s.forgetFlagTokens()
	s.log.Info("token revoked", "token", name, "role", revoked.Role)
	s.audit(r, "token.revoke", revoked.Project, name, "role "+revoked.Role)
	return none{}, nil
}
