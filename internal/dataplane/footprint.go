package dataplane

import (
	"sort"
	"time"
)

// defaultFiguresGrace is how long a stopped release's figures stay readable: a figures window remembers two
// minutes, and the rollout's analysis reads a release's figures right after the route stops naming it (the
// final verdict of a rolled-back canary, the last sample of a chart). After that its window and its
// instances' connection pools are freed, so the data plane's memory does not grow with every deploy.
const defaultFiguresGrace = 2 * time.Minute

func (p *Plane) figuresGrace() time.Duration {
	if p.FiguresGrace > 0 {
		return p.FiguresGrace
	}
	return defaultFiguresGrace
}

// released notes that a release left an environment's desired state. p.mu is held.
func (run *envRun) released(id string, now time.Time) {
	if run.stopped == nil {
		run.stopped = map[string]time.Time{}
	}
	run.stopped[id] = now
}

// sweep frees what the environment's proxy holds for releases that stopped more than grace ago and that the
// route does not name again, and the connection pools of instances the route no longer uses. p.mu is held.
func (p *Plane) sweep(run *envRun, now time.Time) {
	// A window of a release the desired state does not name, and that never ran here (it was routed while
	// it waited for its secrets, say), starts its grace now.
	named := map[string]bool{}
	for _, r := range run.spec.Releases {
		named[r.ID] = true
	}
	for _, id := range run.proxy.Windows() {
		if _, waiting := run.stopped[id]; !waiting && !named[id] {
			run.released(id, now)
		}
	}
	for id, at := range run.stopped {
		if _, back := run.sets[id]; back {
			delete(run.stopped, id) // deployed again: its figures go on
			continue
		}
		if now.Sub(at) < p.figuresGrace() {
			continue
		}
		if run.proxy.Forget(id) {
			delete(run.stopped, id)
		}
	}
	run.proxy.Prune()
}

// EnvFootprint is what the data plane holds for one environment: the releases it runs, the figures windows
// and instance backends of its proxy, and the stopped releases whose figures it still keeps.
type EnvFootprint struct {
	Name     string `json:"name"`
	Releases int    `json:"releases"`
	Windows  int    `json:"windows"`
	Backends int    `json:"backends"`
	Stopped  int    `json:"stopped"`
}

// Footprint returns what the data plane holds per environment, for tests and the soak bench: every count
// returns to the live releases' once the grace passed, however many releases were deployed.
func (p *Plane) Footprint() []EnvFootprint {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []EnvFootprint
	for name, run := range p.envs {
		f := run.proxy.Footprint()
		out = append(out, EnvFootprint{Name: name, Releases: len(run.sets), Windows: f.Windows, Backends: f.Backends, Stopped: len(run.stopped)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
