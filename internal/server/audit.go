package server

import (
	"context"
	"net/http"
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

// callerName is the request's token name, for audit and overrides.
func callerName(r *http.Request) string {
	if t := caller(r.Context()); t != nil {
		return t.Name
	}
	return "unknown"
}

func (s *Server) listAudit(r *http.Request, _ none) ([]api.AuditEntry, error) {
	entries, err := s.store.ListAudit(r.Context(), r.URL.Query().Get("project"), queryLimit(r, 100))
	if err != nil {
		return nil, storeFailure(err, "audit")
	}
	// Entries written before redaction was done on write may hold a repository URL's credentials.
	for i := range entries {
		entries[i].Target, entries[i].Detail = source.Redact(entries[i].Target), source.Redact(entries[i].Detail)
	}
	return viewAll(entries, viewAuditEntry), nil
}
