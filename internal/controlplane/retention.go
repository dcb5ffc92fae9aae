package controlplane

import (
	"context"
	"path/filepath"
	"time"

	"github.com/ferry-cd/ferry/internal/dataplane"
	"github.com/ferry-cd/ferry/internal/retention"
	"github.com/ferry-cd/ferry/internal/store"
)

// retentionEvery is how often the data folder is swept besides after each run and rollout ends.
const retentionEvery = 10 * time.Minute

// retainer sweeps the data folder (internal/retention) when asked and every retentionEvery, one sweep at a
// time; asks during a sweep make one more.
type retainer struct {
	sweeper *retention.Sweeper
	kick    chan struct{}
}

func newRetainer(cp *ControlPlane, keep int) *retainer {
	dataDir := cp.cfg.DataDir
	return &retainer{kick: make(chan struct{}, 1), sweeper: &retention.Sweeper{
		Store: cp.store, Artifacts: cp.local.Artifacts, Keep: keep, Logger: cp.log,
		ReleaseDir: cp.local.ReleaseDir,
		InstanceLogs: func(env store.EnvKey, release string) []string {
			logs, _ := filepath.Glob(dataplane.InstanceLogPrefix(dataDir, env.String(), release) + "-*.log")
			return logs
		},
		Running: func(ctx context.Context) (map[string]bool, error) {
			st, err := cp.target.Status(ctx)
			if err != nil {
				return nil, err
			}
			out := map[string]bool{}
			for _, e := range st.Environments {
				for _, r := range e.Releases {
					out[e.Key.Project+"/"+r.ID] = true
				}
			}
			return out, nil
		},
	}}
}

// Wake asks for a sweep soon.
func (r *retainer) Wake() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Run sweeps at start, when woken and every retentionEvery, until ctx is done.
func (r *retainer) Run(ctx context.Context) {
	t := time.NewTicker(retentionEvery)
	defer t.Stop()
	for {
		if _, err := r.sweeper.Sweep(ctx); err != nil && ctx.Err() == nil {
			r.sweeper.Logger.Warn("retention", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-t.C:
		}
	}
}
