package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/api"
	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/ofrep"
	"github.com/ferry-cd/ferry/internal/store"
)

// An environment serves the flags of its live release, with the overrides and progressive rollouts of the
// store on top. Evaluations read a cached copy that is reloaded at most a second after a change made by
// another process, and at once after a change made through this server.
const flagRefresh = time.Second

// liveFlags is what an environment serves.
type liveFlags struct {
	release int64
	set     *flags.Set // an empty set without flags
	state   *flags.State
	// overrides and rollouts are the store's records behind state; rollouts holds the latest one per flag.
	overrides []store.FlagOverride
	rollouts  map[string]*store.FlagRollout
	version   string
	loaded    time.Time
}

// flagCache keeps each environment's liveFlags, each release's parsed flags and recently seen flags tokens.
type flagCache struct {
	mu   sync.Mutex
	envs map[string]*liveFlags
	// gens counts each environment's invalidations, so a load that read the store before one is not cached.
	gens map[string]uint64
	// loading marks the environments one request is reloading; the others serve the stale copy meanwhile.
	loading map[string]bool
	sets    map[int64]*flags.Set
	tokens  map[string]cachedToken
}

type cachedToken struct {
	t       *store.Token
	expires time.Time
}

var emptyFlags = func() *flags.Set {
	s, err := flags.Parse("", []byte("flags: {}\n"))
	if err != nil {
		panic(err)
	}
	return s
}()

// liveFlags returns the environment's flags as they are served now.
func (s *Server) liveFlags(ctx context.Context, project, env string) (*liveFlags, error) {
	key := project + "/" + env
	c := &s.flagCache
	c.mu.Lock()
	stale, ok := c.envs[key]
	if ok && (time.Since(stale.loaded) < flagRefresh || c.loading[key]) {
		c.mu.Unlock()
		return stale, nil
	}
	if c.loading == nil {
		c.loading = map[string]bool{}
	}
	c.loading[key] = true
	gen := c.gens[key]
	c.mu.Unlock()
	l, err := s.loadFlags(ctx, project, env)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.loading, key)
	if err != nil {
		return nil, err
	}
	if c.envs == nil {
		c.envs = map[string]*liveFlags{}
	}
	if c.gens[key] == gen {
		c.envs[key] = l
	}
	return l, nil
}

// invalidateFlags makes the next evaluation in the environment read the store.
func (s *Server) invalidateFlags(project, env string) {
	c := &s.flagCache
	c.mu.Lock()
	if c.gens == nil {
		c.gens = map[string]uint64{}
	}
	c.gens[project+"/"+env]++
	delete(c.envs, project+"/"+env)
	c.mu.Unlock()
}

func (s *Server) loadFlags(ctx context.Context, project, env string) (*liveFlags, error) {
	l := &liveFlags{set: emptyFlags, state: &flags.State{Overrides: map[string]string{}, Progress: map[string]int{}},
		rollouts: map[string]*store.FlagRollout{}, loaded: time.Now()}
	e, err := s.store.GetEnvironment(ctx, project, env)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		l.release = e.LiveReleaseID
	}
	if l.release != 0 {
		set, err := s.releaseFlags(ctx, l.release)
		if err != nil {
			return nil, err
		}
		if set != nil {
			l.set = set
		}
	}
	if l.overrides, err = s.store.FlagOverrides(ctx, project, env); err != nil {
		return nil, err
	}
	for _, o := range l.overrides {
		l.state.Overrides[o.Flag] = o.Variant
	}
	rs, err := s.store.LatestFlagRollouts(ctx, project, env)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		l.rollouts[r.Flag] = r
	}
	for key, r := range l.rollouts {
		if f, ok := l.set.Flag(key); ok && (r.State == store.FlagProgressing || r.State == store.FlagSucceeded) {
			if p, ok := f.Progressive(); ok && progressiveSpec(p) == r.Spec {
				l.state.Progress[key] = r.Share
			}
		}
	}
	// The version names what evaluations depend on: the release, the overrides and the shares.
	h := sha256.New()
	fmt.Fprintf(h, "release %d\n", l.release)
	for _, o := range l.overrides {
		fmt.Fprintf(h, "override %s %s\n", o.Flag, o.Variant)
	}
	keys := make([]string, 0, len(l.state.Progress))
	for k := range l.state.Progress {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "progress %s %d\n", k, l.state.Progress[k])
	}
	l.version = hex.EncodeToString(h.Sum(nil)[:12])
	return l, nil
}

// releaseFlags returns a release's flags, parsed once; nil when it has none.
func (s *Server) releaseFlags(ctx context.Context, id int64) (*flags.Set, error) {
	c := &s.flagCache
	c.mu.Lock()
	set, ok := c.sets[id]
	c.mu.Unlock()
	if ok {
		return set, nil
	}
	rel, err := s.store.GetRelease(ctx, id)
	if err != nil {
		return nil, err
	}
	if rel.Flags != "" {
		set = new(flags.Set)
		if err := json.Unmarshal([]byte(rel.Flags), set); err != nil {
			return nil, fmt.Errorf("flags of release %d: %w", id, err)
		}
	}
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[int64]*flags.Set{}
	}
	c.sets[id] = set
	c.mu.Unlock()
	return set, nil
}

// flagToken returns the token whose value is tok, remembering it for a few seconds so evaluations do not
// each read the store; nil when there is none.
func (s *Server) flagToken(ctx context.Context, tok string) (*store.Token, error) {
	hash := hashToken(tok)
	c := &s.flagCache
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
	l, err := s.liveFlags(r.Context(), t.Project, t.Env)
	if err != nil {
		return nil, nil, "", err
	}
	return l.set, l.state, l.version, nil
}

func viewFlags(project, env string, l *liveFlags) api.FlagsView {
	v := api.FlagsView{Project: project, Env: env, ReleaseID: l.release, Flags: []api.FlagView{}}
	for _, key := range l.set.Keys() {
		f, _ := l.set.Flag(key)
		fv := api.FlagView{Key: key, Type: f.Type().String(), Default: f.Default(), Disabled: f.Disabled(), Git: gitVariant(l.set, key)}
		for _, name := range f.Variants() {
			val, _ := f.Value(name)
			fv.Variants = append(fv.Variants, api.VariantView{Name: name, Value: val})
		}
		for _, o := range l.overrides {
			if o.Flag == key {
				fv.Override = viewFlagOverride(&o)
				fv.Drift = fv.Git != o.Variant
			}
		}
		if p, ok := f.Progressive(); ok {
			fv.Progressive = progressiveSpec(p)
			if r := l.rollouts[key]; r != nil && r.Spec == fv.Progressive {
				fv.Rollout = viewFlagRollout(r)
			}
		}
		v.Flags = append(v.Flags, fv)
	}
	return v
}

// gitVariant is the variant the file serves everyone, or "" when rules or a progressive rollout decide.
func gitVariant(set *flags.Set, key string) string {
	res := set.Evaluate(key, nil, nil)
	if res.ErrorCode == "" && (res.Reason == flags.Static || res.Reason == flags.Disabled) {
		return res.Variant
	}
	return ""
}

// progressiveSpec writes a progressive rollout as the file declares it: "on 1%,10%,50%,100% every 10m".
func progressiveSpec(p flags.Progressive) string {
	steps := make([]string, len(p.Steps))
	for i, bp := range p.Steps {
		steps[i] = percent(bp)
	}
	return fmt.Sprintf("%s %s every %s", p.Variant, strings.Join(steps, ","), p.Interval)
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
	l, err := s.loadFlags(r.Context(), name, env)
	if err != nil {
		writeStoreError(w, err, "flags")
		return
	}
	v := viewFlags(name, env, l)
	for i, f := range v.Flags {
		if f.Rollout != nil {
			evs, err := s.store.FlagRolloutEvents(r.Context(), f.Rollout.ID)
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
	l, err := s.loadFlags(r.Context(), name, env)
	if err != nil {
		writeStoreError(w, err, "flags")
		return
	}
	if _, ok := l.set.Flag(key); !ok {
		writeError(w, http.StatusNotFound, "flag %s is not live in %s/%s (live release %d)", key, name, env, l.release)
		return
	}
	if err := l.set.CheckOverride(key, req.Variant); err != nil {
		writeError(w, http.StatusBadRequest, "%v", err)
		return
	}
	o := &store.FlagOverride{Project: name, Env: env, Flag: key, Variant: req.Variant, Actor: callerName(r)}
	if err := s.store.SetFlagOverride(r.Context(), o); err != nil {
		writeStoreError(w, err, "override")
		return
	}
	s.invalidateFlags(name, env)
	s.audit(r, "flag.override", name, env+"/"+key, "variant "+req.Variant)
	writeJSON(w, http.StatusOK, viewFlagOverride(o))
}

func (s *Server) handleClearOverride(w http.ResponseWriter, r *http.Request) {
	name, ok := s.requireProject(w, r)
	if !ok {
		return
	}
	env, key := r.PathValue("env"), r.PathValue("flag")
	if err := s.store.DeleteFlagOverride(r.Context(), name, env, key); err != nil {
		writeStoreError(w, err, "override of flag "+key)
		return
	}
	s.invalidateFlags(name, env)
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
