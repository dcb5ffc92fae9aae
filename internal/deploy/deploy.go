// Package deploy is the seam between the rollout controller and the places releases run. Target is "where a
// release runs and how traffic reaches it"; each implementation lives in a sub-package (local/: processes on
// this machine behind ferry's proxy, through the data plane; kubernetes/ later: manifests applied to a cluster,
// traffic moved by HTTPRoute weights), and deploytest/ is the contract suite every implementation passes.
//
// The rollout controller, the server and the dashboard know this package, never an implementation; only
// internal/controlplane, which wires the parts, picks one. It must not import rollout, server, cli, ui or any
// implementation.
package deploy

import (
	"context"
	"errors"
	"time"

	"github.com/ferry-cd/ferry/internal/store"
)

// Target runs the releases of environments and moves their traffic.
//
// One Target serves every environment given to it, each keyed by its store.EnvKey. What runs lives in the
// target itself (the data plane's saved state, the cluster's objects), never in the Target value: a Target
// made after a control plane restart adopts what runs, and Status reports it at once. Every method is
// idempotent, so a caller that does not know whether a call took effect (it crashed, the call timed out)
// simply calls it again.
//
// Concurrency: one caller drives a given environment at a time (the rollout controller does, under its lock);
// Prepare, Route and Stop for different environments may run concurrently. Status and Figures may be called
// at any time, concurrently with anything.
//
// The lifecycle of a release in an environment:
//
//  1. Prepare makes it runnable beside whatever runs, with no traffic: the local target unpacks the bundle
//     and starts its instances; Kubernetes applies its manifests as a copy of the workload. Prepare returns
//     once the work is under way, not once the release is healthy.
//  2. Status reports it, and in time reports it healthy, or not healthy with a reason. The caller waits for
//     healthy before routing to it, and gives up on a crash loop (Restarts), a release the target marks
//     Failed, or its own timeout.
//  3. Route sets the environment's traffic split: all of it on a stable release, or a share on a canary. A
//     canary at weight 0 gets no user traffic but is reachable for previews and synthetic checks. A target
//     never sends traffic to a release that has no healthy instance: its share stays on stable.
//  4. Figures (and Status's Last10s) report the requests, errors and latency each release served.
//  5. Route again, as often as the strategy moves: each call replaces the split.
//  6. Stop takes a release out once no split names it: its instances drain, stop, and Status no longer lists
//     it. Stopping the last release of an environment ends the environment (the local target closes its
//     listener).
//
// Drift is anything that changed in what runs without the Target being asked: an instance killed behind
// ferry's back, an edited or scaled workload. Status reports it (EnvStatus.Drift); healing it is the target's
// own work where it can (the local target restarts instances) or the caller's by preparing and routing again.
//
// Errors: *RefusedError when the target cannot do what it was asked for that environment and trying again
// unchanged will not help (an address in use, a bundle that cannot be unpacked, manifests the API server
// rejects); the caller fails the environment's rollout in flight with its reason. Any other error is
// transient (the data plane or API server unreachable) and the caller tries again at its next step.
type Target interface {
	// Prepare makes rel runnable in env without traffic. Preparing a release already prepared changes
	// nothing: a release never changes. A target that lost what only Prepare gives (the local data plane
	// restarted and holds rel.Secrets in memory only) leaves the release out of Status until it is
	// prepared again, so the caller's reconcile gives it back.
	Prepare(ctx context.Context, env Environment, rel Release) error
	// Route sets env's traffic split. Every release split names must have been prepared in env. The
	// environment-level settings of env.Spec (the local listen address, say) are applied with it; a nil Spec
	// keeps them (an environment being taken down is routed with the zero Split and no Spec).
	Route(ctx context.Context, env Environment, split Split) error
	// Stop drains and stops a release of env. Stopping a release a split still names is an error; stopping
	// one that does not run is not.
	Stop(ctx context.Context, env store.EnvKey, release string) error
	// Status reports every environment the target runs, sorted by key. With nothing running (or, for the
	// local target, no data plane started yet) it is empty, not an error.
	Status(ctx context.Context) (*Status, error)
	// Figures returns what the target measured of a release's traffic over the last span. It returns
	// ErrNoFigures when the target does not measure traffic, or has not routed any to the release.
	Figures(ctx context.Context, env store.EnvKey, release string, span time.Duration) (Figures, error)
}

// ErrNoFigures is returned by Figures when there are no figures for the release.
var ErrNoFigures = errors.New("no traffic figures for that release")

// RefusedError says that a target cannot run an environment as asked; see Target.
type RefusedError struct {
	Env    store.EnvKey
	Reason string
}

func (e *RefusedError) Error() string { return e.Reason }

// AsRefused returns the *RefusedError in err's chain, or nil.
func AsRefused(err error) *RefusedError {
	var r *RefusedError
	if errors.As(err, &r) {
		return r
	}
	return nil
}
