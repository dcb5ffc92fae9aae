package rollout

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ferry-cd/ferry/internal/deploy"
	"github.com/ferry-cd/ferry/internal/store"
)

// refusalRetry is how long the controller waits before it asks the target again for an environment it
// refused, unless the environment's desired state changed.
const refusalRetry = 5 * time.Second

// refusal is the target's last refusal of an environment, and the desired state it refused.
type refusal struct {
	at   time.Time
	want string
}

// apply brings the target to the desired state the store describes, one environment at a time: the releases
// an environment lacks are prepared, its split is set when it differs, and the releases it no longer needs
// are stopped, in that order, so traffic has left a release before it stops. Environments the target runs
// that the store no longer names are taken down. An environment that cannot be applied (its listen address
// is another environment's, or the target refuses it) fails its rollout in flight at once and holds back no
// other environment.
func (c *Controller) apply(ctx context.Context) error {
	envs, err := c.claimedDesired(ctx)
	if err != nil {
		return err
	}
	if c.routed == nil {
		c.routed, c.refusedAt = map[store.EnvKey]string{}, map[store.EnvKey]refusal{}
	}
	applied := map[store.EnvKey]desiredEnv{}
	refused := map[store.EnvKey]string{}
	var errs []error
	for _, de := range envs {
		want := de.routeKey() + fmt.Sprint(de.releases)
		if r, ok := c.refusedAt[de.key]; ok && r.want == want && time.Since(r.at) < refusalRetry {
			continue
		}
		err := c.reconcile(ctx, de)
		if rf := deploy.AsRefused(err); rf != nil {
			refused[de.key] = rf.Reason
			c.refusedAt[de.key] = refusal{at: time.Now(), want: want}
			delete(c.routed, de.key)
			continue
		}
		delete(c.refusedAt, de.key)
		if err != nil {
			errs = append(errs, fmt.Errorf("apply %s: %w", de.key, err))
			continue
		}
		applied[de.key] = de
	}
	var running []deploy.EnvStatus
	if c.state != nil {
		running = c.state.Environments
	}
	for _, es := range running {
		if !c.named(envs, es.Key) {
			if err := c.takeDown(ctx, es); err != nil {
				errs = append(errs, fmt.Errorf("take down %s: %w", es.Key, err))
			}
		}
	}
	c.appliedEnvs = applied
	if len(refused) > 0 {
		errs = append(errs, c.refused(ctx, refused))
	}
	return errors.Join(errs...)
}

func (c *Controller) named(envs []desiredEnv, key store.EnvKey) bool {
	for _, de := range envs {
		if de.key == key {
			return true
		}
	}
	return false
}

// routeKey is what an environment is routed with: its split, and the release whose pipeline says where it
// listens.
func (d desiredEnv) routeKey() string {
	return fmt.Sprintf("%+v %d %s", d.split, d.specOf, d.listen())
}

// reconcile takes one environment from what the target last reported to what the store wants.
func (c *Controller) reconcile(ctx context.Context, de desiredEnv) error {
	cur := c.state.Env(de.key)
	env := de.target()
	for _, rel := range de.releases {
		if cur.Release(rel.ID) == nil {
			id, _ := strconv.ParseInt(rel.ID, 10, 64)
			secrets, err := c.secrets(ctx, de.key.Project, id, rel.Spec)
			if m := asMissing(err); m != nil {
				return &deploy.RefusedError{Env: de.key, Reason: m.Error()}
			} else if err != nil {
				return err
			}
			rel.Secrets = secrets
			if err := c.Target.Prepare(ctx, env, rel); err != nil {
				return err
			}
		}
	}
	if rk := de.routeKey(); cur == nil || cur.Split != de.split || c.routed[de.key] != rk {
		if err := c.Target.Route(ctx, env, de.split); err != nil {
			return err
		}
		c.routed[de.key] = rk
	}
	if cur == nil {
		return nil
	}
	for _, rs := range cur.Releases {
		if !de.has(rs.ID) {
			if err := c.Target.Stop(ctx, de.key, rs.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// takeDown stops every release of an environment the store no longer names (its project was removed, its
// pipeline dropped it): traffic off first, then the releases.
func (c *Controller) takeDown(ctx context.Context, es deploy.EnvStatus) error {
	delete(c.routed, es.Key)
	if es.Split != (deploy.Split{}) {
		if err := c.Target.Route(ctx, deploy.Environment{Key: es.Key}, deploy.Split{}); err != nil {
			return err
		}
	}
	for _, rs := range es.Releases {
		if err := c.Target.Stop(ctx, es.Key, rs.ID); err != nil {
			return err
		}
	}
	return nil
}
