package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/ofrep"
	"github.com/ferry-cd/ferry/internal/store"
)

// flagTokens remembers recently seen flags tokens, so OFREP evaluations do not each read the store.
type flagTokens struct {
	mu     sync.Mutex
	tokens map[string]cachedToken
}

type cachedToken struct {
	t       *store.Token
	expires time.Time
}

// flagToken returns the token whose value is tok, remembering it for a few seconds so evaluations do not
// each read the store; nil when there is none.
func (s *Server) flagToken(ctx context.Context, tok string) (*store.Token, error) {
	hash := hashToken(tok)
	c := &s.flagTokens
	c.mu.Lock()
	ct, ok := c.tokens[hash]
	c.mu.Unlock()
	if ok && time.Now().Before(ct.expires) {
		return ct.t, nil
	}
	t, err := s.store.TokenByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		t, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.tokens == nil || len(c.tokens) > 10_000 {
		c.tokens = map[string]cachedToken{}
	}
	c.tokens[hash] = cachedToken{t: t, expires: time.Now().Add(5 * time.Second)}
	c.mu.Unlock()
	return t, nil
}

// ofrepFlags is the OFREP handler's source: a flags token names the project and environment it reads.
func (s *Server) ofrepFlags(r *http.Request) (*flags.Set, *flags.State, string, error) {
	tok, ok := bearer(r)
	if !ok {
		return nil, nil, "", &ofrep.StatusError{Status: http.StatusUnauthorized,
			Message: "missing bearer token: give a flags token (ferry token create NAME --flags PROJECT/ENV)"}
	}
	t, err := s.flagToken(r.Context(), tok)
	if err != nil {
		return nil, nil, "", err
	}
	if t == nil {
		return nil, nil, "", &ofrep.StatusError{Status: http.StatusUnauthorized, Message: "invalid token"}
	}
	if t.Role != store.RoleFlags {
		return nil, nil, "", &ofrep.StatusError{Status: http.StatusForbidden,
			Message: fmt.Sprintf("token %s is not a flags token: flags are read with a token scoped to one environment (ferry token create NAME --flags PROJECT/ENV)", t.Name)}
	}
	l, err := s.flags.Live(r.Context(), t.Project, t.Env)
	if err != nil {
		return nil, nil, "", err
	}
	return l.Set, l.State, l.Version, nil
}
