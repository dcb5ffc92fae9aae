package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

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

// FlagView is one flag of an environment as `ferry flags` shows it: what Git declares and what is live.
type FlagView struct {
	Key      string        `json:"key"`
	Type     string        `json:"type"`
	Variants []VariantView `json:"variants"`
	Default  string        `json:"default"`
	Disabled bool          `json:"disabled,omitempty"`
	// Git is the variant the release's file serves to everyone, or "" when rules decide per subject.
	Git string `json:"git,omitempty"`
	// Override is the runtime override, and Drift says it differs from what Git says.
	Override *store.FlagOverride `json:"override,omitempty"`
	Drift    bool                `json:"drift"`
	// Progressive is the flag's progressive rollout as declared, and Rollout its latest run.
	Progressive string             `json:"progressive,omitempty"`
	Rollout     *store.FlagRollout `json:"rollout,omitempty"`
	// Events are Rollout's transitions, oldest first.
	Events []store.FlagRolloutEvent `json:"events,omitempty"`
}

// VariantView is a variant and its value.
type VariantView struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// FlagsView answers GET /api/v1/projects/{name}/environments/{env}/flags.
type FlagsView struct {
	Project   string     `json:"project"`
	Env       string     `json:"env"`
	ReleaseID int64      `json:"release_id"`
	Flags     []FlagView `json:"flags"`
}

func viewFlags(project, env string, l *flagruntime.LiveFlags) FlagsView {
	v := FlagsView{Project: project, Env: env, ReleaseID: l.Release, Flags: []FlagView{}}
	for _, key := range l.Set.Keys() {
		f, _ := l.Set.Flag(key)
		fv := FlagView{Key: key, Type: f.Type().String(), Default: f.Default(), Disabled: f.Disabled(), Git: flagruntime.GitVariant(l.Set, key)}
		for _, name := range f.Variants() {
			val, _ := f.Value(name)
			fv.Variants = append(fv.Variants, VariantView{Name: name, Value: val})
		}
		for _, o := range l.Overrides {
			if o.Flag == key {
				fv.Override = &o
				fv.Drift = fv.Git != o.Variant
			}
		}
		if p, ok := f.Progressive(); ok {
			fv.Progressive = flagruntime.ProgressiveSpec(p)
			if fr := l.FlagRollouts[key]; fr != nil && fr.Spec == fv.Progressive {
				fv.Rollout = fr
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
		if f.Rollout != nil {
			if v.Flags[i].Events, err = s.store.FlagRolloutEvents(r.Context(), f.Rollout.ID); err != nil {
				writeStoreError(w, err, "flag rollout events")
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, v)
}

// OverrideRequest is the body of PUT .../flags/{flag}/override.
type OverrideRequest struct {
	Variant string `json:"variant"`
}

func (s *Server) handleSetOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	env, key := r.PathValue("env"), r.PathValue("flag")
	var req OverrideRequest
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
	s.audit(r, "flag.override", name, env+"/"+key, "variant "+req.Variant)
	writeJSON(w, http.StatusOK, o)
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
	s.audit(r, "flag.clear", name, env+"/"+key, "")
	w.WriteHeader(http.StatusNoContent)
}

// callerName is the request's token name, for audit and overrides.
func callerName(r *http.Request) string {
	if t := caller(r.Context()); t != nil {
		return t.Name
	}
	return "unknown"
}
