package server

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/source"
	"github.com/ferry-cd/ferry/internal/store"
)

type tokenKey struct{}

// caller returns the token of an authenticated request.
func caller(ctx context.Context) *store.Token {
	t, _ := ctx.Value(tokenKey{}).(*store.Token)
	return t
}

// audit records a human action of the request's caller. A failure to record is logged; the action stands.
func (s *Server) audit(r *http.Request, action, project, target, detail string) {
	actor := "unknown"
	if t := caller(r.Context()); t != nil {
		actor = t.Name
	}
	e := &store.AuditEntry{Time: time.Now().UTC(), Actor: actor, Action: action, Project: project,
		Target: source.Redact(target), Detail: source.Redact(detail)}
	if err := s.store.AddAudit(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("record audit entry", "action", action, "err", err)
	}
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	entries, err := s.store.ListAudit(r.Context(), r.URL.Query().Get("project"), limit)
	if err != nil {
		writeStoreError(w, err, "audit")
		return
	}
	// Entries written before redaction was done on write may hold a repository URL's credentials.
	for i := range entries {
		entries[i].Target, entries[i].Detail = source.Redact(entries[i].Target), source.Redact(entries[i].Detail)
	}
	writeJSON(w, http.StatusOK, viewAll(entries, viewAuditEntry))
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req api.TokenRequest
	if !decodeBody(w, r, &req) {
		return
	}
	if !tokenNameRE.MatchString(req.Name) {
		writeError(w, http.StatusBadRequest, "invalid token name %q: letters, digits, '.', '_', '-', '@'", req.Name)
		return
	}
	if req.Role == "" {
		req.Role = store.RoleAdmin
	}
	switch req.Role {
	case store.RoleAdmin, store.RoleRead:
		if req.Project != "" || req.Env != "" {
			writeError(w, http.StatusBadRequest, "a %s token reads every project: project and env are for flags tokens", req.Role)
			return
		}
	case store.RoleFlags:
		if !nameRE.MatchString(req.Env) {
			writeError(w, http.StatusBadRequest, "invalid env %q: a flags token reads one environment, named as in .ferry.yaml", req.Env)
			return
		}
		if _, err := s.store.GetProject(r.Context(), req.Project); err != nil {
			writeStoreError(w, err, "project "+req.Project)
			return
		}
	default:
		writeError(w, http.StatusBadRequest, "invalid role %q: admin, read or flags", req.Role)
		return
	}
	tok := newToken()
	t := &store.Token{Name: req.Name, Hash: hashToken(tok), Role: req.Role, Project: req.Project, Env: req.Env}
	if err := s.store.CreateToken(r.Context(), t); err != nil {
		if errors.Is(err, store.ErrExists) {
			writeError(w, http.StatusConflict, "token %s already exists: pick another name, or revoke it first (ferry token revoke %s)", req.Name, req.Name)
			return
		}
		writeStoreError(w, err, "token")
		return
	}
	detail := "role " + req.Role
	if req.Role == store.RoleFlags {
		detail += " for " + store.EnvKey{Project: req.Project, Env: req.Env}.String()
	}
	s.audit(r, "token.create", req.Project, req.Name, detail)
	writeJSON(w, http.StatusCreated, api.TokenCreated{Token: tok, Name: req.Name, Role: req.Role, Project: req.Project, Env: req.Env})
}

// handleWhoami answers GET /api/v1/whoami with the caller's token name and role, so a client (the dashboard)
// can offer only what the role allows.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	t := caller(r.Context())
	writeJSON(w, http.StatusOK, api.Whoami{Name: t.Name, Role: t.Role})
}
