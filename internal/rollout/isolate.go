package rollout

import (
	"context"
	"fmt"
	"sort"

	"github.com/ferry-cd/ferry/internal/hostname"
	"github.com/ferry-cd/ferry/internal/pipeline"
	"github.com/ferry-cd/ferry/internal/store"
)

// claimedDesired is the desired state with every listen address claimed by one environment only. When two
// environments (of one project or of two) want the same address, the one that serves it keeps it; else one
// without a rollout in flight; else the one whose rollout came first. Each other one's rollout in flight fails
// at once, naming the project and environment that hold the address, and the state is computed again without
// it; an environment with nothing in flight that cannot have its address is left out.
func (c *Controller) claimedDesired(ctx context.Context) ([]desiredEnv, error) {
	for {
		d, err := c.desired(ctx)
		if err != nil {
			return nil, err
		}
		inflight, err := c.inFlightByEnv(ctx)
		if err != nil {
			return nil, err
		}
		lost := c.listenConflicts(d, inflight)
		if len(lost) == 0 {
			return d, nil
		}
		failed := false
		for key, why := range lost {
			if r := inflight[key]; r != nil {
				if err := c.rollback(ctx, r, store.RolloutFailed, why); err != nil {
					return nil, err
				}
				failed = true
			}
		}
		if failed {
			continue // each pass ends a rollout, so this ends
		}
		kept := d[:0]
		for _, e := range d {
			if why, ok := lost[e.key]; ok {
				c.warnOnce(e.key, why)
				continue
			}
			kept = append(kept, e)
		}
		return kept, nil
	}
}

// inFlightByEnv returns the progressing or paused rollout of each environment.
func (c *Controller) inFlightByEnv(ctx context.Context) (map[store.EnvKey]*store.Rollout, error) {
	active, err := c.Store.RolloutsInState(ctx, store.RolloutProgressing, store.RolloutPaused)
	if err != nil {
		return nil, err
	}
	out := map[store.EnvKey]*store.Rollout{}
	for _, r := range active {
		out[r.Key()] = r
	}
	return out, nil
}

// listenConflicts returns, for each environment of d that cannot have its listen address, why.
func (c *Controller) listenConflicts(d []desiredEnv, inflight map[store.EnvKey]*store.Rollout) map[store.EnvKey]string {
	serving := map[string]store.EnvKey{} // listen address → environment the target serves on it
	if c.state != nil {
		for _, e := range c.state.Environments {
			serving[e.Address] = e.Key
		}
	}
	byListen := map[string][]store.EnvKey{}
	specs := map[store.EnvKey]*pipeline.Environment{}
	for _, e := range d {
		if e.listen() == "" {
			continue // an environment that claims no address (a cluster's) conflicts with none
		}
		byListen[e.listen()] = append(byListen[e.listen()], e.key)
		specs[e.key] = e.spec
	}
	lost := map[store.EnvKey]string{}
	for addr, names := range byListen {
		if len(names) < 2 {
			continue
		}
		rank := func(name store.EnvKey) (int, int64) {
			switch r := inflight[name]; {
			case serving[addr] == name:
				return 0, 0
			case r == nil:
				return 1, 0
			default:
				return 2, r.ID
			}
		}
		sort.Slice(names, func(i, j int) bool {
			ci, ii := rank(names[i])
			cj, ij := rank(names[j])
			if ci != cj {
				return ci < cj
			}
			if ii != ij {
				return ii < ij
			}
			return names[i].String() < names[j].String()
		})
		// Environments that name different hosts share the address; the others lose it to the first that has it.
		var holders []store.EnvKey
	next:
		for _, name := range names {
			for _, h := range holders {
				if sharesNot(specs[h], specs[name]) {
					lost[name] = fmt.Sprintf("listen address %s is taken by project %s (environment %s)", addr, h.Project, h.Env)
					continue next
				}
			}
			holders = append(holders, name)
		}
	}
	return lost
}

// sharesNot reports whether two environments listening on one address cannot share it: one of them names no
// hosts, a host of one matches a host of the other, or one serves TLS and the other does not.
func sharesNot(a, b *pipeline.Environment) bool {
	if _, _, overlap := hostname.FirstOverlap(a.Service.Hosts, b.Service.Hosts); overlap {
		return true
	}
	return (a.Service.TLS == nil) != (b.Service.TLS == nil)
}

// refused fails the rollout in flight of each environment the target refused: it cannot go on, and waiting
// would only hold its release back. Environments with nothing in flight are logged.
func (c *Controller) refused(ctx context.Context, envs map[store.EnvKey]string) error {
	inflight, err := c.inFlightByEnv(ctx)
	if err != nil {
		return err
	}
	for key, why := range envs {
		r := inflight[key]
		if r == nil {
			c.warnOnce(key, why)
			continue
		}
		if err := c.rollback(ctx, r, store.RolloutFailed, "the target refused the environment: "+why); err != nil {
			return err
		}
	}
	return nil
}

// warnOnce logs why an environment cannot be applied, once for each new reason: the controller tries again
// every few seconds.
func (c *Controller) warnOnce(env store.EnvKey, why string) {
	if c.lastRefusal == nil {
		c.lastRefusal = map[store.EnvKey]string{}
	}
	if c.lastRefusal[env] == why {
		return
	}
	c.lastRefusal[env] = why
	c.log().Warn("environment not applied", "env", env.String(), "reason", why)
}
