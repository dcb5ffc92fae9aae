package pipeline

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.yaml.in/yaml/v3"
)

var (
	environmentKeys = []string{"name", "after", "production", "target", "service", "kubernetes", "strategy", "analysis",
		"bake"}
	serviceKeys    = []string{"run", "listen", "instances", "env", "secrets", "health", "hosts", "tls", "h2c", "proxy"}
	healthKeys     = []string{"path", "interval", "timeout"}
	canaryKeys     = []string{"steps"}
	canaryStepKeys = []string{"weight", "pause"}
)

const (
	// maxEnvironments bounds the environments of a pipeline, and so the work of the checks across them.
	maxEnvironments = 100
	// maxInstances bounds the instances of a service: the local target runs them all on this machine.
	maxInstances = 64

	defaultHealthPath     = "/healthz"
	defaultHealthInterval = time.Second
	defaultHealthTimeout  = 2 * time.Second

	// exampleSteps are canary steps for the hints.
	exampleSteps = "[{weight: 10, pause: 30s}, {weight: 50, pause: 30s}]"
)

// serviceEnv are the variables ferry sets for each instance of a service, beyond the FERRY_ ones.
var serviceEnv = map[string]string{"PORT": "ferry sets it to each instance's own port"}

// environments reads the environments, then checks what joins them: the order their "after" keys give, and
// their listen addresses, which must not clash.
func (p *parser) environments(n *yaml.Node) []Environment {
	items, _ := p.Sequence(n, `"environments"`)
	tooMany := len(items) > maxEnvironments
	if tooMany {
		p.errorf(resolve(n), `"environments" has %d entries; a pipeline has at most %d`, len(items), maxEnvironments)
	}
	var envs []Environment
	var places []place
	first := map[string]*yaml.Node{}
	for _, item := range items {
		n := resolve(item)
		m := p.mapping(n, "environment", environmentKeys)
		if m == nil {
			continue
		}
		e, at := p.environment(n, m)
		p.unique(first, e.Name, nameNode(item, m), "environment name")
		envs = append(envs, e)
		places = append(places, at)
	}
	if !tooMany {
		p.order(envs, places)
		p.addresses(places)
	}
	return envs
}

// place holds what the checks across environments need of one: the nodes they report at (nil when the key
// is absent or invalid) and the parsed listen address.
type place struct {
	after *yaml.Node
	sockets
}

// sockets are the addresses an environment's service binds: its listen address and, with tls, its plain-HTTP
// one. Nodes are nil when the key is absent or invalid.
type sockets struct {
	listen, http   *yaml.Node
	addr, httpAddr address
	hosts          []string
	tls            bool
}

// environment reads the fields m of the environment mapping n.
func (p *parser) environment(n *yaml.Node, m map[string]field) (Environment, place) {
	e := Environment{Name: p.name(m, n, "environment", "production"), Pos: pos(n)}
	var at place
	if f, ok := m["after"]; ok {
		if s, ok := p.text(f.Val, `"after"`); ok && s == "" {
			p.errorf(resolve(f.Val), `"after" is empty; name the environment this one follows, or remove it`)
		} else if ok {
			e.After, at.after = s, resolve(f.Val)
		}
	}
	if f, ok := m["production"]; ok {
		e.Production, _ = p.boolean(f.Val, `"production"`)
	}
	target, known := p.target(m)
	e.Target = target
	if !known {
		e.Target = TargetLocal
	}
	if f, ok := m["strategy"]; ok {
		e.Strategy = p.strategy(f.Val)
	}
	svc, hasService := m["service"]
	kube, hasKubernetes := m["kubernetes"]
	switch {
	case target == TargetKubernetes:
		if hasService {
			hint := ""
			if v := resolve(svc.Val); v.Kind == yaml.ScalarNode && strings.Contains(v.Value, "/") {
				hint = fmt.Sprintf(` (the Service in front of the workload goes in "kubernetes", like service: %s)`, v.Value)
			}
			p.errorf(svc.Key, `"service" is the app the local target runs, and %s has target kubernetes, where the `+
				`manifests say what runs; remove "service"%s`, label("environment", e.Name), hint)
		}
		if !hasKubernetes {
			p.errorf(n, `%s has target kubernetes but no "kubernetes"; add where the release goes, like `+
				`kubernetes: {namespace: shop, manifests: deploy/k8s, workload: deployment/shop}`, label("environment", e.Name))
		} else {
			e.Kubernetes = p.kubernetes(kube.Val, e.Name, e.Strategy)
		}
	case hasKubernetes && known:
		by := ""
		if _, set := m["target"]; !set {
			by = " (the default)"
		}
		p.errorf(kube.Key, `%s has "kubernetes" but target local%s; add target: kubernetes, or remove "kubernetes"`,
			label("environment", e.Name), by)
		if hasService {
			e.Service, at.sockets = p.service(svc.Val)
		}
	case !known:
		// Which block is missing depends on the target, which is misspelt: report what is in the blocks there.
		if hasKubernetes {
			p.kubernetes(kube.Val, e.Name, e.Strategy)
		}
		if hasService {
			e.Service, at.sockets = p.service(svc.Val)
		}
	case !hasService:
		p.errorf(n, `%s has no "service"; add the app to run, like service: {run: ./dist/app, listen: 127.0.0.1:9000}`,
			label("environment", e.Name))
	default:
		e.Service, at.sockets = p.service(svc.Val)
	}
	e.Analysis = p.analysis(m, target, e.Kubernetes)
	if f, ok := m["bake"]; ok {
		e.Bake, _ = p.duration(f.Val, `"bake"`, 0)
	}
	return e, at
}

// target reads the target of the environment fields m: TargetLocal when there is none. known is false when
// the target is invalid (and reported): then neither "service" nor "kubernetes" is asked for.
func (p *parser) target(m map[string]field) (target string, known bool) {
	f, ok := m["target"]
	if !ok {
		return TargetLocal, true
	}
	i, ok := p.choice(f.Val, `"target"`, targetNames)
	if !ok {
		return "", false
	}
	return targetNames[i], true
}

// service reads the service of an environment, and the sockets it binds for the checks across environments.
func (p *parser) service(n *yaml.Node) (s Service, at sockets) {
	s = Service{
		Instances: 1,
		Health:    Health{Path: defaultHealthPath, Interval: defaultHealthInterval, Timeout: defaultHealthTimeout},
	}
	m := p.section(n, "service", serviceKeys)
	if m == nil {
		return s, at
	}
	n = resolve(n)
	if f, ok := m["run"]; !ok {
		p.errorf(n, `service has no "run"; add the command that starts the app, like run: ./dist/app`)
	} else if run, ok := p.text(f.Val, `"run"`); ok && strings.TrimSpace(run) == "" {
		p.errorf(resolve(f.Val), `"run" is empty; give the command that starts the app, like ./dist/app`)
	} else {
		s.Run = run
	}
	if f, ok := m["listen"]; !ok {
		p.errorf(n, `service has no "listen"; add the address ferry's proxy serves, like listen: 127.0.0.1:9000`)
	} else if a, ok := p.listen(f.Val); ok {
		s.Listen, at.listen, at.addr = resolve(f.Val).Value, resolve(f.Val), a
		s.At.Listen = pos(at.listen)
	}
	if f, ok := m["hosts"]; ok {
		s.Hosts, s.At.Hosts = p.hosts(f.Val)
		at.hosts = s.Hosts
	}
	if f, ok := m["tls"]; ok {
		s.TLS, at.http, at.httpAddr = p.tls(f.Val)
		at.tls = s.TLS != nil
		if at.http != nil {
			s.At.HTTP = pos(at.http)
		}
		if s.TLS != nil && s.TLS.ACME != nil {
			p.acmeHosts(s.TLS.ACME, s.Hosts, s.At.Hosts)
		}
	}
	if f, ok := m["h2c"]; ok {
		s.H2C, _ = p.boolean(f.Val, `"h2c"`)
		if s.H2C && s.TLS != nil {
			p.errorf(f.Key, `"h2c" is HTTP/2 without TLS, and this service has tls, where HTTP/2 is on already; remove "h2c"`)
		}
	}
	if f, ok := m["instances"]; ok {
		s.Instances, _ = p.integer(f.Val, `"instances"`, 1, maxInstances)
	}
	if f, ok := m["env"]; ok {
		s.Env = p.env(f.Val, serviceEnv)
	}
	if f, ok := m["secrets"]; ok {
		s.Secrets = p.serviceSecrets(f.Val, s.Env)
	}
	if f, ok := m["health"]; ok {
		s.Health = p.health(f.Val, s.Health)
	}
	if f, ok := m["proxy"]; ok {
		s.Proxy = p.proxySettings(f.Val)
	}
	return s, at
}

// serviceSecrets reads the names of the project secrets given to a service's instances: names as for a
// step's secrets, and none that the service's env or ferry already sets, so an instance never gets two values
// for one variable.
func (p *parser) serviceSecrets(n *yaml.Node, env map[string]string) []string {
	return p.secretNames(n, func(name string, at *yaml.Node) bool {
		if by, taken := serviceEnv[name]; taken {
			p.errorf(at, "secret name %q is reserved: %s; rename the secret", name, by)
			return true
		}
		if _, set := env[name]; set {
			p.errorf(at, "secret %s is also set in the service's env; keep one of them", name)
			return true
		}
		return false
	})
}

// address is a parsed listen address. Host is the zero Addr for "localhost".
type address struct {
	host netip.Addr
	port uint16
}

// overlaps says whether a and b would take the same socket: the same port on the same host, on every host
// (0.0.0.0, [::]), or on localhost and the loopback address it resolves to.
func (a address) overlaps(b address) bool {
	loopback := func(x address) bool {
		return x.host == netip.AddrFrom4([4]byte{127, 0, 0, 1}) || x.host == netip.IPv6Loopback()
	}
	switch {
	case a.port != b.port:
		return false
	case a.host == b.host || a.host.IsUnspecified() || b.host.IsUnspecified():
		return true
	case !a.host.IsValid():
		return loopback(b)
	case !b.host.IsValid():
		return loopback(a)
	}
	return false
}

// listen reads a host:port whose host is an IP literal or localhost: ferry must not resolve names to know
// which socket it binds.
func (p *parser) listen(n *yaml.Node) (address, bool) { return p.listenAs(n, `"listen"`) }

// listenAs reads a listen address like "listen", naming the key what in messages.
func (p *parser) listenAs(n *yaml.Node, what string) (address, bool) {
	s, ok := p.text(n, what)
	n = resolve(n)
	if !ok {
		return address{}, false
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		p.errorf(n, `%s %q has no port; write host:port, like 127.0.0.1:9000`, what, s)
		return address{}, false
	}
	host, portText := s[:i], s[i+1:]
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		p.errorf(n, `%s port %q must be a number from 1 to 65535`, what, portText)
		return address{}, false
	}
	a := address{port: uint16(port)}
	if host == "localhost" {
		return a, true
	}
	bracketed := strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]")
	ip, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	switch {
	case host == "":
		p.errorf(n, `%s %q has no host; write 127.0.0.1%s for this machine only, or 0.0.0.0%s for every interface`, what,
			s, s, s)
	case err != nil:
		p.errorf(n, `%s host %q must be an IP address or localhost`, what, host)
	case ip.Is6() && !bracketed:
		p.errorf(n, `%s IPv6 address %q must be in brackets, like [%s]:%d`, what, host, host, port)
	case ip.Is4() && bracketed:
		p.errorf(n, `%s IPv4 address %q must not be in brackets`, what, host)
	default:
		a.host = ip.Unmap()
		return a, true
	}
	return address{}, false
}

// health reads the health probe of a service over the defaults in h.
func (p *parser) health(n *yaml.Node, h Health) Health {
	m := p.section(n, "health", healthKeys)
	if f, ok := m["path"]; ok {
		if s, ok := p.urlPath(f.Val, defaultHealthPath); ok {
			h.Path = s
		}
	}
	if f, ok := m["interval"]; ok {
		h.Interval, _ = p.duration(f.Val, `"interval"`, positive)
	}
	if f, ok := m["timeout"]; ok {
		h.Timeout, _ = p.duration(f.Val, `"timeout"`, positive)
	}
	return h
}

// urlPath reads the path part of a URL ferry requests from an instance; example is one for the hints.
func (p *parser) urlPath(n *yaml.Node, example string) (string, bool) {
	s, ok := p.text(n, `"path"`)
	n = resolve(n)
	switch {
	case !ok:
	case s == "":
		p.errorf(n, `"path" is empty; give the path to request, like %s`, example)
	case !strings.HasPrefix(s, "/"):
		p.errorf(n, `"path" must start with "/", like %s, not %q`, example, s)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		p.errorf(n, `"path" %q has spaces or control characters; encode them, like %%20 for a space`, s)
	default:
		return s, true
	}
	return "", false
}

// strategy reads either a name (`strategy: blue_green`) or a mapping from a name to its settings
// (`strategy: {canary: {steps: [...]}}`); only canary has settings, and needs them.
func (p *parser) strategy(n *yaml.Node) Strategy {
	n = resolve(n)
	switch {
	case isNull(n):
		return Strategy{}
	case n.Kind != yaml.MappingNode:
		k, ok := p.choice(n, `"strategy"`, strategyNames)
		if ok && StrategyKind(k) == Canary {
			p.errorf(n, "strategy canary needs steps; write it as canary: {steps: %s}", exampleSteps)
		}
		return Strategy{Kind: StrategyKind(k)}
	}
	m := p.section(n, "strategy", strategyNames)
	kinds := present(m, strategyNames)
	switch {
	case len(kinds) > 1:
		p.errorf(kinds[1].Key, "strategy has both %q and %q; choose one", kinds[0].Key.Value, kinds[1].Key.Value)
		return Strategy{}
	case len(kinds) == 0:
		if len(m) == 0 && len(n.Content) == 0 {
			p.errorf(n, `"strategy" is empty; write direct, blue_green or canary: {steps: [...]}`)
		}
		return Strategy{}
	}
	k := StrategyKind(slices.Index(strategyNames, kinds[0].Key.Value))
	v := resolve(kinds[0].Val)
	if k != Canary {
		if !isNull(v) && (v.Kind != yaml.MappingNode || len(v.Content) > 0) {
			p.errorf(v, "strategy %s takes no settings; write strategy: %s", k, k)
		}
		return Strategy{Kind: k}
	}
	s := Strategy{Kind: Canary}
	cm := p.section(v, "canary", canaryKeys)
	if cm == nil {
		return s
	}
	if f, ok := cm["steps"]; !ok {
		p.errorf(v, `strategy canary has no "steps"; add a list like %s`, exampleSteps)
	} else {
		s.Steps = p.canarySteps(f.Val)
	}
	return s
}

func (p *parser) canarySteps(n *yaml.Node) []CanaryStep {
	items, ok := p.Sequence(n, `"steps"`)
	if ok && len(items) == 0 {
		p.errorf(resolve(n), `canary "steps" is empty; add at least one, like {weight: 10, pause: 30s}`)
	}
	var steps []CanaryStep
	prev := 0
	for _, item := range items {
		n := resolve(item)
		m := p.mapping(n, "canary step", canaryStepKeys)
		if m == nil {
			continue
		}
		var s CanaryStep
		if f, ok := m["weight"]; !ok {
			p.errorf(n, `canary step has no "weight"; add the percentage of traffic it sends to the new release, `+
				`like weight: 10`)
		} else if w, ok := p.integer(f.Val, `"weight"`, 1, 100); ok {
			if w <= prev {
				p.errorf(resolve(f.Val), "canary weight %d is not more than the step before (%d); weights must increase", w, prev)
			}
			s.Weight, prev = w, max(w, prev)
		}
		if f, ok := m["pause"]; ok {
			s.Pause, _ = p.duration(f.Val, `"pause"`, 0)
		}
		steps = append(steps, s)
	}
	return steps
}

// order checks that each "after" names another environment and that following them never comes back.
func (p *parser) order(envs []Environment, places []place) {
	index := map[string]int{} // the first environment of each name
	var names []string
	for i, e := range envs {
		if _, dup := index[e.Name]; e.Name != "" && !dup {
			index[e.Name] = i
			names = append(names, e.Name)
		}
	}
	// next is the environment that i comes after, or -1.
	next := make([]int, len(envs))
	for i, e := range envs {
		next[i] = -1
		if e.After == "" {
			continue
		}
		j, ok := index[e.After]
		switch {
		case !ok:
			others := slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == e.Name })
			hint := ""
			if best := closest(e.After, others); best != "" {
				hint = fmt.Sprintf(" (did you mean %q?)", best)
			} else if len(others) > 0 {
				hint = fmt.Sprintf(" (environments: %s)", strings.Join(others, ", "))
			}
			p.errorf(places[i].after, `"after" names no environment: %q%s`, e.After, hint)
		case e.After == e.Name:
			p.errorf(places[i].after, `environment %q cannot come after itself; name the one it follows, or remove "after"`,
				e.Name)
		default:
			next[i] = j
		}
	}
	// Each environment has at most one "after": walking from each one either ends or enters a cycle.
	walk := make([]int, len(envs)) // the walk that first reached each environment, from 1
	for start := range envs {
		var path []int
		i := start
		for i >= 0 && walk[i] == 0 {
			walk[i] = start + 1
			path = append(path, i)
			i = next[i]
		}
		if i < 0 || walk[i] != start+1 {
			continue
		}
		cycle := path[slices.Index(path, i):]
		at := slices.Min(cycle) // reported once, at the first in the file
		seq := []string{envs[at].Name}
		for j := next[at]; j != at; j = next[j] {
			seq = append(seq, envs[j].Name)
		}
		seq = append(seq, envs[at].Name)
		slices.Reverse(seq) // in the order releases would flow
		p.errorf(places[at].after, `environments follow each other in a cycle: %s; `+
			`remove "after" from the one that should go first`, strings.Join(seq, " → "))
	}
}

// addresses checks that no two environments take the same socket, unless they share it by host name (see
// claimOverlap); an environment's plain-HTTP address (tls.http) counts as a socket of its own.
func (p *parser) addresses(places []place) {
	type socket struct {
		node  *yaml.Node
		addr  address
		hosts []string
		tls   bool
	}
	socketsOf := func(pl place) []socket {
		var out []socket
		if pl.listen != nil {
			out = append(out, socket{pl.listen, pl.addr, pl.hosts, pl.tls})
		}
		if pl.http != nil {
			out = append(out, socket{pl.http, pl.httpAddr, pl.hosts, false})
		}
		return out
	}
	for i, b := range places {
		own := socketsOf(b)
		if len(own) == 2 && own[0].addr.overlaps(own[1].addr) {
			p.errorf(own[1].node, `"http" %q is the service's own listen address; give the plain-HTTP listener another port`,
				own[1].node.Value)
		}
	next:
		for _, bs := range own {
			for _, a := range places[:i] {
				for _, as := range socketsOf(a) {
					// An alias that repeats a whole environment repeats its listen node: that is reported as a
					// duplicate name.
					if as.node == bs.node || !as.addr.overlaps(bs.addr) {
						continue
					}
					why := claimOverlap(as.hosts, bs.hosts, as.tls, bs.tls)
					switch {
					case why == "":
						continue
					case len(as.hosts) == 0 && len(bs.hosts) == 0 && as.node.Value == bs.node.Value:
						p.errorf(bs.node, `duplicate listen address %q (first at line %d); give each environment its own`, bs.node.Value, as.node.Line)
					case len(as.hosts) == 0 && len(bs.hosts) == 0:
						p.errorf(bs.node, `listen address %q overlaps %q (line %d); give each environment its own port`, bs.node.Value, as.node.Value, as.node.Line)
					default:
						p.errorf(bs.node, `address %q is shared with the environment at line %d, and %s; `+
							`give each environment its own hosts`, bs.node.Value, as.node.Line, why)
					}
					continue next
				}
			}
		}
	}
}
