package flagruntime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/flags"
	"github.com/ferry-cd/ferry/internal/store"
)

// An environment serves the flags of its live release, with the overrides and flag rollouts of the store on
// top. Evaluations read a cached copy that is reloaded at most a second after a change made by another
// process, and at once after a change made through this runtime.
const refresh = time.Second

// LiveFlags is what an environment serves.
type LiveFlags struct {
	// Release is the environment's live release; 0 when it has none. ReleaseVersion is its version within the
	// project, the number users see (v7).
	Release        int64
	ReleaseVersion int64
	// Set is the live release's flags: an empty set without flags, never nil.
	Set   *flags.Set
	State *flags.State
	// Overrides and FlagRollouts are the store's records behind State; FlagRollouts holds the latest flag
	// rollout of each flag, by flag key.
	Overrides    []store.FlagOverride
	FlagRollouts map[string]*store.FlagRollout
	// Version names what evaluations depend on (the release, the overrides and the shares), for OFREP's ETag.
	Version string
	loaded  time.Time
}

// cache keeps each environment's LiveFlags and each release's parsed flags.
type cache struct {
	mu   sync.Mutex
	envs map[store.EnvKey]*LiveFlags
	// gens counts each environment's invalidations, so a load that read the store before one is not cached.
	gens map[store.EnvKey]uint64
	// loading marks the environments one caller is reloading; the others get the stale copy meanwhile.
	loading map[store.EnvKey]bool
	sets    map[int64]*flags.Set
	// versions are the releases' versions, read with their flags.
	versions map[int64]int64
}

var emptyFlags = func() *flags.Set {
	s, err := flags.Parse("", []byte("flags: {}\n"))
	if err != nil {
		panic(err)
	}
	return s
}()

// Live returns the environment's flags as they are served now: the cached copy while it is fresh.
func (r *Runtime) Live(ctx context.Context, project, env string) (*LiveFlags, error) {
	key := store.EnvKey{Project: project, Env: env}
	c := &r.cache
	c.mu.Lock()
	stale, ok := c.envs[key]
	if ok && (r.since(stale.loaded) < refresh || c.loading[key]) {
		c.mu.Unlock()
		return stale, nil
	}
	if c.loading == nil {
		c.loading = map[store.EnvKey]bool{}
	}
	c.loading[key] = true
	gen := c.gens[key]
	c.mu.Unlock()
	l, err := r.Load(ctx, project, env)
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.loading, key)
	if err != nil {
		return nil, err
	}
	if c.envs == nil {
		c.envs = map[store.EnvKey]*LiveFlags{}
	}
	if c.gens[key] == gen {
		c.envs[key] = l
	}
	return l, nil
}

// Invalidate makes the next evaluation in the environment read the store. The release rollout controller
// calls it when the environment's live release changed.
func (r *Runtime) Invalidate(project, env string) {
	key := store.EnvKey{Project: project, Env: env}
	c := &r.cache
	c.mu.Lock()
	if c.gens == nil {
		c.gens = map[store.EnvKey]uint64{}
	}
	c.gens[key]++
	delete(c.envs, key)
	c.mu.Unlock()
}

// Load reads the environment's flags from the store, bypassing the cache (which it does not fill).
func (r *Runtime) Load(ctx context.Context, project, env string) (*LiveFlags, error) {
	l := &LiveFlags{Set: emptyFlags, State: &flags.State{Overrides: map[string]string{}, Progress: map[string]int{}},
		FlagRollouts: map[string]*store.FlagRollout{}, loaded: r.now()}
	e, err := r.Store.GetEnvironment(ctx, project, env)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		l.Release = e.LiveReleaseID
	}
	if l.Release != 0 {
		set, version, err := r.releaseFlags(ctx, l.Release)
		if err != nil {
			return nil, err
		}
		l.ReleaseVersion = version
		if set != nil {
			l.Set = set
		}
	}
	if l.Overrides, err = r.Store.FlagOverrides(ctx, project, env); err != nil {
		return nil, err
	}
	for _, o := range l.Overrides {
		l.State.Overrides[o.Flag] = o.Variant
	}
	rs, err := r.Store.LatestFlagRollouts(ctx, project, env)
	if err != nil {
		return nil, err
	}
	for _, fr := range rs {
		l.FlagRollouts[fr.Flag] = fr
	}
	for key, fr := range l.FlagRollouts {
		if f, ok := l.Set.Flag(key); ok && (fr.State == store.FlagProgressing || fr.State == store.FlagSucceeded) {
			if p, ok := f.Progressive(); ok && ProgressiveSpec(p) == fr.Spec {
				l.State.Progress[key] = fr.Share
			}
		}
	}
	// The version names what evaluations depend on: the release, the overrides and the shares.
	h := sha256.New()
	fmt.Fprintf(h, "release %d\n", l.Release)
	for _, o := range l.Overrides {
		fmt.Fprintf(h, "override %s %s\n", o.Flag, o.Variant)
	}
	keys := make([]string, 0, len(l.State.Progress))
	for k := range l.State.Progress {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "progress %s %d\n", k, l.State.Progress[k])
	}
	l.Version = hex.EncodeToString(h.Sum(nil)[:12])
	return l, nil
}

// releaseFlags returns a release's flags, parsed once; nil when it has none. Releases never change, so the
// parsed copy is kept for good.
func (r *Runtime) releaseFlags(ctx context.Context, id int64) (*flags.Set, int64, error) {
	c := &r.cache
	c.mu.Lock()
	set, ok := c.sets[id]
	version := c.versions[id]
	c.mu.Unlock()
	if ok {
		return set, version, nil
	}
	rel, err := r.Store.GetRelease(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if rel.Flags != "" {
		set = new(flags.Set)
		if err := json.Unmarshal([]byte(rel.Flags), set); err != nil {
			return nil, 0, fmt.Errorf("flags of release v%d: %w", rel.Version, err)
		}
	}
	c.mu.Lock()
	if c.sets == nil {
		c.sets, c.versions = map[int64]*flags.Set{}, map[int64]int64{}
	}
	c.sets[id], c.versions[id] = set, rel.Version
	c.mu.Unlock()
	return set, rel.Version, nil
}
