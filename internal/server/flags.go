package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/flagruntime"
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
	l, err := s.flagRuntime.Live(r.Context(), t.Project, t.Env)
	if err != nil {
		return nil, nil, "", err
	}
	return l.Set, l.State, l.Version, nil
}

func viewFlags(project, env string, l *flagruntime.LiveFlags) api.FlagsView {
	v := api.FlagsView{Project: project, Env: env, ReleaseID: l.Release, Flags: []api.FlagView{}}
	for _, key := range l.Set.Keys() {
		f, _ := l.Set.Flag(key)
		fv := api.FlagView{Key: key, Type: f.Type().String(), Default: f.Default(), Disabled: f.Disabled(), Git: flagruntime.GitVariant(l.Set, key)}
		for _, name := range f.Variants() {
			val, _ := f.Value(name)
			fv.Variants = append(fv.Variants, api.VariantView{Name: name, Value: val})
		}
		for _, o := range l.Overrides {
			if o.Flag == key {
				fv.Override = viewFlagOverride(&o)
				fv.Drift = fv.Git != o.Variant
			}
		}
		if p, ok := f.Progressive(); ok {
			fv.Progressive = flagruntime.ProgressiveSpec(p)
			if fr := l.FlagRollouts[key]; fr != nil && fr.Spec == fv.Progressive {
				fv.FlagRollout = viewFlagRollout(fr)
			}
		}
		v.Flags = append(v.Flags, fv)
	}
	return v
}

func (s *Server) flagRoutes(api *http.ServeMux) {
	api.HandleFunc("GET /api/v1/projects/{name}/environments/{env}/flags", s.handleListFlags)
	api.HandleFunc("PUT /api/v1/projects/{name}/environments/{env}/flags/{flag}/override", s.handleSetOverride)
	api.HandleFunc("DELETE /api/v1/projects/{name}/environments/{env}/flags/{flag}/override", s.handleClearOverride)
}

func (s *Server) handleListFlags(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	env := r.PathValue("env")
	l, err := s.flagRuntime.Load(r.Context(), name, env)
	if err != nil {
		writeStoreError(w, err, "flags")
		return
	}
	v := viewFlags(name, env, l)
	for i, f := range v.Flags {
		if f.FlagRollout != nil {
			evs, err := s.store.FlagRolloutEvents(r.Context(), f.FlagRollout.ID)
			if err != nil {
				writeStoreError(w, err, "flag rollout events")
				return
			}
			v.Flags[i].Events = viewAll(evs, viewFlagRolloutEvent)
		}
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleSetOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	env, key := r.PathValue("env"), r.PathValue("flag")
	var req api.OverrideRequest
	if !decodeBody(w, r, &req) {
		return
	}
	l, err := s.flagRuntime.Load(r.Context(), name, env)
	if err != nil {
		writeStoreError(w, err, "flags")
		return
	}
	if err := l.CheckOverride(name, env, key, req.Variant); err != nil {
		status := http.StatusBadRequest
		if _, ok := errors.AsType[*flagruntime.NotLiveError](err); ok {
			status = http.StatusNotFound
		}
		writeError(w, status, "%v", err)
		return
	}
	o := &store.FlagOverride{Project: name, Env: env, Flag: key, Variant: req.Variant, Actor: callerName(r)}
	if err := s.flagRuntime.SetOverride(r.Context(), o); err != nil {
		writeStoreError(w, err, "override")
		return
	}
	s.audit(r, "flag.override", name, flagruntime.AuditTarget(env, key), "variant "+req.Variant)
	writeJSON(w, http.StatusOK, viewFlagOverride(o))
}

func (s *Server) handleClearOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	env, key := r.PathValue("env"), r.PathValue("flag")
	if err := s.flagRuntime.ClearOverride(r.Context(), name, env, key); err != nil {
		writeStoreError(w, err, "override of flag "+key)
		return
	}
	s.audit(r, "flag.clear", name, flagruntime.AuditTarget(env, key), "")
	w.WriteHeader(http.StatusNoContent)
}

// callerName is the request's token name, for audit and overrides.
func callerName(r *http.Request) string {
	if t := caller(r.Context()); t != nil {
		return t.Name
	}
	return "unknown"
}
