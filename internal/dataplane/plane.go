package dataplane

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/ferry-cd/ferry/internal/edge/acme"
	"github.com/ferry-cd/ferry/internal/proxy"
	"github.com/ferry-cd/ferry/internal/sandbox"
)

// Plane converges the running environments to the desired state it was last given.
type Plane struct {
	// DataDir holds the saved desired state and the instances' logs.
	DataDir string
	Logger  *slog.Logger
	// StopGrace is how long an instance has between SIGTERM and SIGKILL; 10 s when zero.
	StopGrace time.Duration
	// Sandbox isolates every instance (see InstanceSpec); nil runs them unisolated.
	Sandbox *sandbox.Sandbox
	// CertDir holds the certificate files environments name, one folder per project; DATA/certs when empty.
	CertDir string
	// Certificates gives the certificates of environments whose tls is acme (an ACME manager's
	// GetCertificate); nil has them refuse TLS handshakes.
	Certificates proxy.CertificateFunc
	// Challenge answers ACME HTTP-01 challenges on the plain-HTTP listeners (tls.http); nil answers none.
	Challenge proxy.ChallengeFunc
	// Certs obtains and renews the certificates of environments that ask for ACME (certs.go); nil refuses them.
	Certs *acme.Manager
	// FiguresGrace is how long a stopped release's figures stay readable before they are freed; 2 min when
	// zero (footprint.go).
	FiguresGrace time.Duration

	mu      sync.Mutex
	desired Desired
	envs    map[string]*envRun
	sites   map[string]*siteRun // by listen address
}

type envRun struct {
	spec  Environment
	proxy *proxy.Proxy
	cert  *tls.Certificate // from the environment's certificate files, read at Apply
	sets  map[string]*Set
	kick  chan struct{}
	done  chan struct{}
	// stopped are releases that left the desired state, until their figures are freed (footprint.go).
	stopped map[string]time.Time
}

// siteRun is one listen address the plane serves, shared by the environments that name it.
type siteRun struct {
	site     *proxy.Site
	listener net.Listener
}

func (p *Plane) log() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (p *Plane) statePath() string { return filepath.Join(p.DataDir, "dataplane.json") }

// Restore applies the desired state saved by the last Apply, if any.
func (p *Plane) Restore() error {
	data, err := os.ReadFile(p.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var d Desired
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("read %s: %w", p.statePath(), err)
	}
	return p.Apply(d)
}

// Apply makes d the desired state: it is checked, saved, then acted on. Environments and releases that d no
// longer names are drained and stopped. Apply returns once listeners are bound and instances started; routes
// follow the instances' health from then on.
//
// Each environment is applied on its own. One that is invalid, that takes a host (or a whole listen address)
// another environment has, whose certificate files cannot be read, or whose address cannot be bound, is
// refused and stays as it was (or is not started); the others are applied, and Apply returns a
// *PartialError naming the refused ones. Environments that run claim their addresses before new ones do.
func (p *Plane) Apply(d Desired) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.envs == nil {
		p.envs, p.sites = map[string]*envRun{}, map[string]*siteRun{}
	}
	d.takeSecrets(p.desired)
	refused := map[string]string{}
	names := map[string]bool{}
	var cands []Environment
	for _, e := range d.Environments {
		if err := e.Validate(); err != nil {
			refused[e.Name] = err.Error()
			continue
		}
		if names[e.Name] {
			refused[e.Name] = fmt.Sprintf("environment %s appears twice", e.Name)
			continue
		}
		names[e.Name] = true
		cands = append(cands, e)
	}
	slices.SortStableFunc(cands, func(a, b Environment) int {
		_, ra := p.envs[a.Name]
		_, rb := p.envs[b.Name]
		switch {
		case ra && !rb:
			return -1
		case rb && !ra:
			return 1
		}
		return 0
	})
	// Claim, read certificates and bind new addresses, one environment at a time: an environment that cannot
	// be served changes nothing, and one that runs keeps what it had.
	var applied Desired
	certs := map[string]*tls.Certificate{}
	fresh := map[string]net.Listener{}
	claim := func(e Environment) string {
		for i := range applied.Environments {
			if why := Clash(&applied.Environments[i], &e); why != "" {
				return fmt.Sprintf("environment %s: %s", e.Name, why)
			}
		}
		cert, err := p.loadCertificate(&e)
		if err != nil {
			return err.Error()
		}
		var bound []string
		for _, s := range e.sockets() {
			if p.sites[s.addr] != nil || fresh[s.addr] != nil {
				continue
			}
			l, err := net.Listen("tcp", s.addr)
			if err != nil {
				for _, a := range bound {
					fresh[a].Close()
					delete(fresh, a)
				}
				return fmt.Sprintf("environment %s: %v", e.Name, err)
			}
			fresh[s.addr] = l
			bound = append(bound, s.addr)
		}
		if err := p.manageCertificates(&e); err != nil {
			for _, a := range bound {
				fresh[a].Close()
				delete(fresh, a)
			}
			return err.Error()
		}
		certs[e.Name] = cert
		applied.Environments = append(applied.Environments, e)
		return ""
	}
	for _, e := range cands {
		why := claim(e)
		if why == "" {
			continue
		}
		refused[e.Name] = why
		// A refused environment that runs keeps its state, so it is neither stopped nor forgotten at a restart.
		if cur, running := p.envs[e.Name]; running {
			certs[e.Name] = cur.cert
			applied.Environments = append(applied.Environments, cur.spec)
		}
	}
	for name := range refused {
		if cur, running := p.envs[name]; running && !names[name] {
			certs[name] = cur.cert
			applied.Environments = append(applied.Environments, cur.spec)
		}
	}
	if err := p.save(applied); err != nil {
		for _, l := range fresh {
			l.Close()
		}
		return err
	}
	p.desired = applied
	keep := map[string]bool{}
	for _, e := range applied.Environments {
		keep[e.Name] = true
		run, ok := p.envs[e.Name]
		if !ok {
			run = &envRun{proxy: &proxy.Proxy{Name: e.Name, Logger: p.Logger}, sets: map[string]*Set{},
				kick: make(chan struct{}, 1), done: make(chan struct{})}
			p.envs[e.Name] = run
			go p.follow(run)
		}
		run.spec, run.cert = e, certs[e.Name]
		run.proxy.SetOptions(e.Proxy)
		run.proxy.SetTraffic(e.Traffic)
		p.converge(run)
	}
	var gone []*envRun
	for name, run := range p.envs {
		if !keep[name] {
			if p.Certs != nil {
				p.Certs.Unmanage(name)
			}
			delete(p.envs, name)
			gone = append(gone, run)
		}
	}
	p.serveSites(fresh)
	for _, run := range gone {
		close(run.done)
		go p.stopSets(run.proxy, run.sets)
	}
	if len(refused) > 0 {
		for name, why := range refused {
			p.log().Warn("environment refused", "env", name, "reason", why)
		}
		return &PartialError{Envs: refused}
	}
	return nil
}

// serveSites gives every address its hosts from the environments that run: new addresses start serving on
// their fresh listeners, and addresses no environment names any longer close. p.mu is held.
func (p *Plane) serveSites(fresh map[string]net.Listener) {
	hosts, secure := p.siteHosts()
	for addr, hs := range hosts {
		sr := p.sites[addr]
		if sr == nil {
			l := fresh[addr]
			if l == nil {
				continue // not bound: its environments were refused
			}
			delete(fresh, addr)
			sr = &siteRun{site: &proxy.Site{}, listener: l}
			p.sites[addr] = sr
			if err := sr.site.Set(secure[addr], hs); err != nil {
				p.log().Error("site", "addr", addr, "err", err)
			}
			go sr.site.Serve(l)
			continue
		}
		if err := sr.site.Set(secure[addr], hs); err != nil {
			p.log().Error("site", "addr", addr, "err", err)
		}
	}
	for addr, sr := range p.sites {
		if _, ok := hosts[addr]; !ok {
			sr.listener.Close()
			delete(p.sites, addr)
		}
	}
	for _, l := range fresh {
		l.Close()
	}
}

// save writes d, less the values of its secrets, where Restore reads it.
func (p *Plane) save(d Desired) error {
	data, err := json.MarshalIndent(d.withoutSecretValues(), "", "  ")
	if err != nil {
		return err
	}
	tmp := p.statePath() + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("save desired state: %w", err)
	}
	if err := os.Rename(tmp, p.statePath()); err != nil {
		return fmt.Errorf("save desired state: %w", err)
	}
	return nil
}

// converge starts the releases run lacks, routes, and drains the releases it no longer needs. p.mu is held.
func (p *Plane) converge(run *envRun) {
	want := map[string]bool{}
	for _, r := range run.spec.Releases {
		want[r.ID] = true
		if _, ok := run.sets[r.ID]; ok {
			continue // a release never changes; its instances keep running
		}
		if missing := r.missingSecrets(); len(missing) > 0 {
			// Restored without its secrets: it starts when the control plane sends them again.
			p.log().Warn("release waits for its secrets", "env", run.spec.Name, "release_id", r.ID, "secrets", missing)
			continue
		}
		env := maps.Clone(r.Env)
		if len(r.Secrets) > 0 {
			env = map[string]string{}
			maps.Copy(env, r.Env)
			maps.Copy(env, r.Secrets) // the file refuses a name in both
		}
		spec := InstanceSpec{Dir: r.Dir, Run: r.Run, Env: env, HealthPath: r.Health.Path,
			HealthInterval: r.Health.Interval, HealthTimeout: r.Health.Timeout, Sandbox: p.Sandbox}
		logs := InstanceLogPrefix(p.DataDir, run.spec.Name, r.ID)
		os.MkdirAll(filepath.Dir(logs), 0o700)
		run.sets[r.ID] = StartSet(r.ID, spec, r.Instances, logs)
		p.log().Info("release started", "env", run.spec.Name, "release_id", r.ID, "instances", r.Instances)
	}
	gone := map[string]*Set{}
	for id, s := range run.sets {
		if !want[id] {
			gone[id] = s
			delete(run.sets, id)
			run.released(id, time.Now())
		}
	}
	p.route(run)
	if len(gone) > 0 {
		go p.stopSets(run.proxy, gone)
	}
	select {
	case run.kick <- struct{}{}:
	default:
	}
}

// route sets the proxy's route from the desired route and the healthy instances. p.mu is held.
func (p *Plane) route(run *envRun) {
	r := run.spec.Route
	if r.Stable == "" {
		return
	}
	route := proxy.Route{Stable: proxy.Version{Role: proxy.Stable, Release: r.Stable, Weight: 100 - r.CanaryWeight}}
	if s := run.sets[r.Stable]; s != nil {
		route.Stable.Upstreams = s.Upstreams()
	}
	if r.Canary != "" {
		c := &proxy.Version{Role: proxy.Canary, Release: r.Canary, Weight: r.CanaryWeight}
		if s := run.sets[r.Canary]; s != nil {
			c.Upstreams = s.Upstreams()
		}
		// A canary with no healthy instance gets no traffic: its share stays on stable.
		if len(c.Upstreams) > 0 || len(route.Stable.Upstreams) == 0 {
			route.Canary = c
		} else {
			route.Stable.Weight = 100
		}
	}
	run.proxy.SetRoute(route)
}

// follow re-routes an environment whenever one of its instances changes state, so a restarted instance
// takes traffic again and a dead one stops getting it.
func (p *Plane) follow(run *envRun) {
	for {
		p.mu.Lock()
		var changes []<-chan struct{}
		for _, s := range run.sets {
			changes = append(changes, s.Changed())
		}
		p.route(run)
		p.sweep(run, time.Now())
		p.mu.Unlock()
		wake := make(chan struct{})
		stop := make(chan struct{})
		for _, ch := range changes {
			go func() {
				select {
				case <-ch:
					select {
					case wake <- struct{}{}:
					default:
					}
				case <-stop:
				}
			}()
		}
		select {
		case <-wake:
		case <-run.kick:
		case <-run.done:
			close(stop)
			return
		case <-time.After(time.Second):
		}
		close(stop)
	}
}

// stopSets drains the sets' instances from the proxy and stops them.
func (p *Plane) stopSets(px *proxy.Proxy, sets map[string]*Set) {
	for id, s := range sets {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var ups []string
		for _, st := range s.Statuses() {
			if st.Port != 0 {
				ups = append(ups, fmt.Sprintf("127.0.0.1:%d", st.Port))
			}
		}
		px.Drain(ctx, ups)
		cancel()
		s.Stop(p.stopGrace())
		p.log().Info("release stopped", "env", px.Name, "release_id", id)
	}
}

func (p *Plane) stopGrace() time.Duration {
	if p.StopGrace > 0 {
		return p.StopGrace
	}
	return 10 * time.Second
}

// Close stops serving and stops every instance. The saved desired state stays, for the next Restore.
func (p *Plane) Close() {
	p.mu.Lock()
	envs := p.envs
	p.envs = nil
	for _, sr := range p.sites {
		sr.listener.Close()
	}
	p.sites = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, run := range envs {
		close(run.done)
		wg.Add(1)
		go func() { defer wg.Done(); p.stopSets(run.proxy, run.sets) }()
	}
	wg.Wait()
}

func safeName(s string) string {
	out := []byte(s)
	for i, c := range out {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			out[i] = '_'
		}
	}
	return string(out)
}
