package server

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"time"

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
	e := &store.AuditEntry{Time: time.Now().UTC(), Actor: actor, Action: action, Project: project, Target: target, Detail: detail}
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
	writeJSON(w, http.StatusOK, entries)
}

// TokenRequest is the body of POST /api/v1/tokens.
type TokenRequest struct {
	Name string `json:"name"`
	Role string `json:"role"` // admin or read
}

// TokenCreated answers POST /api/v1/tokens; the token is shown this once.
type TokenCreated struct {
	Token string `json:"token"`
	Name  string `json:"name"`
	Role  string `json:"role"`
}

var tokenNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@-]{0,62}$`)

func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req TokenRequest
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
	if req.Role != store.RoleAdmin && req.Role != store.RoleRead {
		writeError(w, http.StatusBadRequest, "invalid role %q: admin or read", req.Role)
		return
	}
	tok := newToken()
	if err := s.store.CreateToken(r.Context(), &store.Token{Name: req.Name, Hash: hashToken(tok), Role: req.Role}); err != nil {
		writeStoreError(w, err, "token")
		return
	}
	s.audit(r, "token.create", "", req.Name, "role "+req.Role)
	writeJSON(w, http.StatusCreated, TokenCreated{Token: tok, Name: req.Name, Role: req.Role})
}

// handleWhoami answers GET /api/v1/whoami with the caller's token name and role, so a client (the dashboard)
// can offer only what the role allows.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) {
	t := caller(r.Context())
	writeJSON(w, http.StatusOK, map[string]string{"name": t.Name, "role": t.Role})
}
