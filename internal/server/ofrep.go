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

// flagTokens remembers recently seen flags tokens, so OFREP evaluations do not each read the store, and the
// origins that flags tokens allow, so preflights do not either.
type flagTokens struct {
	mu     sync.Mutex
	tokens map[string]cachedToken

	// origins holds every origin some flags token allows ("*" for any), read at most every few seconds;
	// originsAt is when, zero to read again.
	origins   map[string]bool
	originsAt time.Time
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
	c.tokens[hash] = cachedToken{t: t, expires: time.Now().Add(flagTokensTTL)}
	c.mu.Unlock()
	return t, nil
}

// flagTokensTTL is how long a token or the origins read from the store are used before reading again: a
// revoked token or origin stops working within it on every server sharing the store.
const flagTokensTTL = 5 * time.Second

// flagOrigins reports whether some flags token allows pages from origin to call OFREP.
func (s *Server) flagOrigins(ctx context.Context, origin string) (bool, error) {
	c := &s.flagTokens
	c.mu.Lock()
	origins, fresh := c.origins, time.Since(c.originsAt) < flagTokensTTL
	c.mu.Unlock()
	if !fresh {
		list, err := s.store.ListTokens(ctx)
		if err != nil {
			return false, err
		}
		origins = map[string]bool{}
		for _, t := range list {
			if t.Role == store.RoleFlags {
				for _, o := range t.Origins {
					origins[o] = true
				}
			}
		}
		c.mu.Lock()
		c.origins, c.originsAt = origins, time.Now()
		c.mu.Unlock()
	}
	return origins["*"] || origins[normalOrigin(origin)], nil
}

// forgetFlagTokens makes the next OFREP request read tokens and origins from the store again, after this
// server created or revoked one.
func (s *Server) forgetFlagTokens() {
	c := &s.flagTokens
	c.mu.Lock()
	c.tokens, c.origins, c.originsAt = nil, nil, time.Time{}
	c.mu.Unlock()
}

// ofrepSource is the OFREP handler's source: a flags token names the project and environment it reads, and
// the web origins whose pages may use it.
type ofrepSource struct{ s *Server }

var _ ofrep.Origins = ofrepSource{}

// Flags authenticates the flags token of r, sent as "Authorization: Bearer TOKEN" or, as OFREP also allows,
// "X-API-Key: TOKEN", and returns the live flags of its environment. A request from a web page on another
// origin must come from one the token allows.
func (o ofrepSource) Flags(r *http.Request) (*flags.Set, *flags.State, string, error) {
	s := o.s
	tok, ok := bearer(r)
	if !ok {
		tok = r.Header.Get("X-API-Key")
	}
	if tok == "" {
		return nil, nil, "", &ofrep.StatusError{Status: http.StatusUnauthorized,
			Message: "missing token: send a flags token as Authorization: Bearer TOKEN or X-API-Key: TOKEN (ferry token create NAME --flags PROJECT/ENV)"}
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
	if origin := r.Header.Get("Origin"); origin != "" && !ofrep.SameOrigin(r, origin) && !allowsOrigin(t.Origins, origin) {
		return nil, nil, "", &ofrep.StatusError{Status: http.StatusForbidden,
			Message: fmt.Sprintf("token %s may not be used by pages from %s: create a flags token for them with --allow-origin %s", t.Name, origin, origin)}
	}
	l, err := s.flags.Live(r.Context(), t.Project, t.Env)
	if err != nil {
		return nil, nil, "", err
	}
	return l.Set, l.State, l.Version, nil
}

// AllowsOrigin reports whether some flags token lets pages from origin call OFREP: a preflight names no
// token, so the one the page will send decides in Flags.
func (o ofrepSource) AllowsOrigin(r *http.Request, origin string) bool {
	allowed, err := o.s.flagOrigins(r.Context(), origin)
	if err != nil {
		o.s.log.Warn("ofrep: origins of flags tokens", "error", err)
	}
	return allowed
}
