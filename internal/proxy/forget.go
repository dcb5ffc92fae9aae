package proxy

// What the proxy keeps per release and per instance address is freed here, so a data plane that outlives
// thousands of deploys stays as small as the releases it serves (docs/edge.md, "Memory over time").

// Footprint counts what the proxy holds: figures windows (one per release, about 84 KB each) and backends
// (one per instance address, each with its pool of idle connections).
type Footprint struct {
	Windows  int `json:"windows"`
	Backends int `json:"backends"`
}

// Footprint returns what the proxy holds now.
func (p *Proxy) Footprint() Footprint {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Footprint{Windows: len(p.stats), Backends: len(p.backends)}
}

// Windows names the releases the proxy keeps figures windows for.
func (p *Proxy) Windows() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.stats))
	for r := range p.stats {
		out = append(out, r)
	}
	return out
}

// Forget drops a release's figures window. A release the current route still names keeps its window and
// Forget reports false. The caller decides when a release's figures are no longer read (the data plane waits
// a grace after the release stopped, since the rollout's analysis reads them right after).
func (p *Proxy) Forget(release string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if cur := p.cur.Load(); cur != nil {
		for _, tg := range []*target{cur.stable, cur.canary} {
			if tg != nil && tg.release == release {
				return false
			}
		}
	}
	delete(p.stats, release)
	return true
}

// Prune closes and forgets the backends that the current route does not use and that have no request in
// flight: instances that stopped, or restarted on a fresh port. A backend named again later is made anew.
// It returns how many it dropped.
func (p *Proxy) Prune() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	used := map[*backend]bool{}
	if cur := p.cur.Load(); cur != nil {
		for _, tg := range []*target{cur.stable, cur.canary} {
			if tg != nil {
				for _, b := range tg.backends {
					used[b] = true
				}
			}
		}
	}
	n := 0
	for addr, b := range p.backends {
		if used[b] || b.inflight.Load() > 0 {
			continue
		}
		b.pool.close()
		delete(p.backends, addr)
		n++
	}
	return n
}
