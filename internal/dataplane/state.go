// Package dataplane owns the local target's process, the one that keeps releases serving while the control
// plane restarts: each environment's proxy listener, the instances of every release that runs (processes on
// this machine, instance.go), their health and restarts, and the per-version figures. The control plane tells
// it the desired state over a Unix socket; it converges to it and saves it, so its own restart converges back
// too. internal/deploy/local is the deploy.Target that drives it through Client; nothing else of the control
// plane should.
//
// It must not import the control plane (server, rollout, store, deploy).
package dataplane

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ferry-cd/ferry/internal/proxy"
)

// Desired is the whole desired state of the data plane, one entry per environment.
type Desired struct {
	Environments []Environment `json:"environments"`
}

// Environment is the desired state of one environment.
type Environment struct {
	// Name is the environment's key, typically "project/env".
	Name string `json:"name"`
	// Listen is the address the proxy serves for the environment.
	Listen string `json:"listen"`
	// Hosts are the host names the environment answers on Listen (lower case, "*." for one wildcard level);
	// environments share an address by naming different hosts. None takes the whole address.
	Hosts []string `json:"hosts,omitempty"`
	// TLS terminates TLS on Listen; nil serves plain HTTP.
	TLS *TLS `json:"tls,omitempty"`
	// H2C serves HTTP/2 with prior knowledge on a plain Listen.
	H2C bool `json:"h2c,omitempty"`
	// Releases are the releases that run, each with its instances. A release not named is drained and stopped.
	Releases []Release `json:"releases"`
	Route    Route     `json:"route"`
	// Proxy are the environment's limits, timeouts and trusted proxies; zero fields take the defaults.
	Proxy proxy.Options `json:"proxy,omitzero"`
	// Traffic is the operator's traffic mode (paused, stopped for maintenance); serving when zero. It is
	// saved with the rest, so it outlives a restart of either process.
	Traffic proxy.Traffic `json:"traffic,omitzero"`
}

// Release is one release running in an environment.
type Release struct {
	ID        string            `json:"id"`
	Dir       string            `json:"dir"` // the unpacked release
	Run       string            `json:"run"`
	Env       map[string]string `json:"env,omitempty"`
	Instances int               `json:"instances"`
	Health    Health            `json:"health"`
	// Secrets are variables given to the instances like Env, whose values the data plane keeps in memory
	// only: never in its saved state, never in an answer, never in a log. A desired state sent without them
	// for a release that runs keeps the ones it was given.
	Secrets map[string]string `json:"secrets,omitempty"`
	// SecretNames are the names of Secrets: what the saved state keeps of them. A release restored from the
	// saved state does not start until the control plane sends its secrets again (ReleaseState.WaitingFor).
	SecretNames []string `json:"secret_names,omitempty"`
}

// missingSecrets returns the names of r's secrets whose values the data plane does not hold.
func (r *Release) missingSecrets() []string {
	var out []string
	for _, n := range r.SecretNames {
		if _, ok := r.Secrets[n]; !ok {
			out = append(out, n)
		}
	}
	return out
}

// withoutSecretValues returns d with every secret's value taken out, its names kept: what may be written down
// or answered.
func (d Desired) withoutSecretValues() Desired {
	out := Desired{Environments: make([]Environment, len(d.Environments))}
	for i, e := range d.Environments {
		e.Releases = slices.Clone(e.Releases)
		for j := range e.Releases {
			e.Releases[j].Secrets = nil
		}
		out.Environments[i] = e
	}
	return out
}

// takeSecrets fills in the secrets of d's releases: the names of the values given, and, for a release sent
// without them, the values cur (the state the plane runs) holds for the same environment and release.
func (d *Desired) takeSecrets(cur Desired) {
	held := map[[2]string]map[string]string{}
	for _, e := range cur.Environments {
		for _, r := range e.Releases {
			if len(r.Secrets) > 0 {
				held[[2]string{e.Name, r.ID}] = r.Secrets
			}
		}
	}
	for i := range d.Environments {
		e := &d.Environments[i]
		e.Releases = slices.Clone(e.Releases)
		for j := range e.Releases {
			r := &e.Releases[j]
			if len(r.Secrets) > 0 {
				r.SecretNames = slices.Sorted(maps.Keys(r.Secrets))
				continue
			}
			if v, ok := held[[2]string{e.Name, r.ID}]; ok && len(r.SecretNames) > 0 {
				r.Secrets = v
			}
		}
	}
}

// Health says how instances are checked.
type Health struct {
	Path     string        `json:"path"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
}

// Route is where the proxy sends requests: the stable release, and during a rollout a canary with a weight.
type Route struct {
	Stable       string `json:"stable"`
	Canary       string `json:"canary,omitempty"`
	CanaryWeight int    `json:"canary_weight,omitempty"` // 0..100
}

// Validate checks a desired state before anything acts on it: every environment, and that no two share a name
// or a host on a listen address (see Clash).
func (d *Desired) Validate() error {
	names := map[string]bool{}
	for i, e := range d.Environments {
		if err := e.Validate(); err != nil {
			return err
		}
		if names[e.Name] {
			return fmt.Errorf("environment %s appears twice", e.Name)
		}
		names[e.Name] = true
		for j := range d.Environments[:i] {
			if why := Clash(&d.Environments[j], &d.Environments[i]); why != "" {
				return fmt.Errorf("environment %s: %s", e.Name, why)
			}
		}
	}
	return nil
}

// Validate checks one environment's desired state.
func (e *Environment) Validate() error {
	if e.Name == "" {
		return fmt.Errorf("an environment has no name")
	}
	host, port, err := net.SplitHostPort(e.Listen)
	if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 1 || p > 65535 || host == "" {
		return fmt.Errorf("environment %s: listen %q is not host:port", e.Name, e.Listen)
	}
	ids := map[string]bool{}
	for _, r := range e.Releases {
		if r.ID == "" || r.Dir == "" || r.Run == "" || r.Instances < 1 {
			return fmt.Errorf("environment %s: release %q needs an id, a dir, a run command and at least one instance", e.Name, r.ID)
		}
		if ids[r.ID] {
			return fmt.Errorf("environment %s: release %s appears twice", e.Name, r.ID)
		}
		ids[r.ID] = true
	}
	if e.Route.Stable != "" && !ids[e.Route.Stable] {
		return fmt.Errorf("environment %s: route names stable release %s, which does not run", e.Name, e.Route.Stable)
	}
	if e.Route.Canary != "" && !ids[e.Route.Canary] {
		return fmt.Errorf("environment %s: route names canary release %s, which does not run", e.Name, e.Route.Canary)
	}
	if e.Route.CanaryWeight < 0 || e.Route.CanaryWeight > 100 {
		return fmt.Errorf("environment %s: canary weight %d is not 0..100", e.Name, e.Route.CanaryWeight)
	}
	if err := validTraffic(e.Traffic); err != nil {
		return fmt.Errorf("environment %s: %w", e.Name, err)
	}
	return e.validateEdge()
}

// PartialError lists the environments of a desired state that could not be applied, each with why. The other
// environments were applied: one environment's bad state or taken address never holds the others back. An
// environment refused keeps running as it was, or does not start when it is new.
type PartialError struct {
	Envs map[string]string `json:"envs"`
}

func (e *PartialError) Error() string {
	names := make([]string, 0, len(e.Envs))
	for n := range e.Envs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Envs[n])
	}
	return b.String()
}
