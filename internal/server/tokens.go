package server

import (
	"net/http"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/store"
)

// requireAdmin answers 403 and false unless the caller's token is an admin token. Listing and revoking tokens
// is for admins only, even though a read token may otherwise GET everything: the list is a map of who can act.
func requireAdmin(w http.ResponseWriter, r *http.Request) bool {
	if t := caller(r.Context()); t == nil || t.Role != store.RoleAdmin {
		name := ""
		if t != nil {
			name = t.Name
		}
		writeError(w, http.StatusForbidden, "token %s is not an admin token: only admins list and revoke tokens", name)
		return false
	}
	return true
}

func (s *Server) handleListTokens(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, r) {
		return
	}
	list, err := s.store.ListTokens(r.Context())
	if err != nil {
		writeStoreError(w, err, "tokens")
		return
	}
	out := make([]api.TokenView, 0, len(list))
	for _, t := range list {
		v := api.TokenView{Name: t.Name, Role: t.Role, Project: t.Project, Env: t.Env}
		if !t.CreatedAt.IsZero() {
			v.CreatedAt = t.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, out)
}

// handleRevokeToken answers DELETE /api/v1/tokens/{name}. The last admin token cannot be revoked: nobody
// could then create another, short of editing the database.
func (s *Server) handleRevokeToken(w http.ResponseWriter, r *http.Request) {
	if !requireAdmin(w, r) {
		return
	}
	name := r.PathValue("name")
	list, err := s.store.ListTokens(r.Context())
	if err != nil {
		writeStoreError(w, err, "tokens")
		return
	}
	var target *store.Token
	admins := 0
	for _, t := range list {
		if t.Role == store.RoleAdmin {
			admins++
		}
		if t.Name == name {
			target = t
		}
	}
	switch {
	case target == nil:
		writeError(w, http.StatusNotFound, "token %s not found (ferry token list shows them)", name)
		return
	case target.Role == store.RoleAdmin && admins == 1:
		writeError(w, http.StatusConflict, "token %s is the last admin token: create another admin token first (ferry token create NAME)", name)
		return
	}
	if err := s.store.DeleteToken(r.Context(), name); err != nil {
		writeStoreError(w, err, "token "+name)
		return
	}
	s.log.Info("token revoked", "token", name, "role", target.Role)
	s.audit(r, "token.revoke", target.Project, name, "role "+target.Role)
	w.WriteHeader(http.StatusNoContent)
}
