package pipeline

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// The targets an environment may name.
const (
	// TargetLocal runs the release as processes on the machine of ferry serve, behind ferry's own proxy. It
	// is the default.
	TargetLocal = "local"
	// TargetKubernetes applies the release's manifests to a cluster and moves traffic there.
	TargetKubernetes = "kubernetes"
)

var targetNames = []string{TargetLocal, TargetKubernetes}

// The kinds of object a kubernetes block names, as written in the file (kind/name, the way kubectl
// writes them).
const (
	KindDeployment = "deployment"
	KindService    = "service"
	KindHTTPRoute  = "httproute"
)

var kubernetesKeys = []string{"context", "namespace", "manifests", "workload", "service", "route", "port", "heal"}

// KubernetesTarget is where in a cluster an environment's releases run and which objects the strategy moves.
// It is set when the environment's Target is TargetKubernetes, and nil otherwise.
type KubernetesTarget struct {
	// Context is a context of the kubeconfig given to ferry serve; "" is the kubeconfig's current context,
	// or the cluster ferry runs in.
	Context string
	// Namespace holds every object ferry applies for the environment. It is a DNS label.
	Namespace string
	// Manifests is a path inside the checkout, slash-separated and cleaned ("deploy/k8s"): a YAML file, a
	// folder of YAML files, or a folder with a kustomization.yaml. It is never absolute and has no "..".
	Manifests string
	// Workload is the Deployment whose versions the strategy moves; its Kind is KindDeployment.
	Workload ObjectRef
	// Service is the Service in front of the workload: the one whose selector blue_green switches, and the
	// backend of Route. Its Kind is KindService; it is zero when the file names none, which only direct and
	// a canary without a route allow.
	Service ObjectRef
	// Route is the Gateway API HTTPRoute whose backend weights carry a canary; zero without one, and then a
	// canary moves by the ratio of replicas. Its Kind is KindHTTPRoute. It is only set with Service.
	Route ObjectRef
	// Port is the port of Service that HTTP checks and the canary's route backend use; zero when the file
	// sets none: then the Service's only port.
	Port ServicePort
	// Heal re-applies the live release when the cluster drifts from it. True by default.
	Heal bool
}

// ObjectRef names one object of the environment's namespace, written kind/name in the file.
type ObjectRef struct {
	Kind string
	Name string
}

// String returns the reference as written in the file, "deployment/shop", or "" for the zero ObjectRef.
func (r ObjectRef) String() string {
	if r == (ObjectRef{}) {
		return ""
	}
	return r.Kind + "/" + r.Name
}

// ServicePort is a port of a Service, by number or by name; the zero ServicePort is none.
type ServicePort struct {
	Number int
	Name   string
}

// String returns the port as written in the file, or "" for none.
func (p ServicePort) String() string {
	if p.Name != "" {
		return p.Name
	}
	if p.Number == 0 {
		return ""
	}
	return fmt.Sprint(p.Number)
}

var (
	// dnsLabel is RFC 1123's label, the rule for namespaces (and Service names with dns1035Label).
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	// dns1035Label is the rule for Service names: a label that starts with a letter.
	dns1035Label = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)
	// dnsSubdomain is RFC 1123's subdomain, the rule for the names of most objects (Deployments, HTTPRoutes).
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// portName is the IANA service name rule Kubernetes applies to named ports.
	portName = regexp.MustCompile(`^[a-z0-9]([a-z0-9]|-[a-z0-9])*$`)
)

const (
	maxLabel     = 63
	maxSubdomain = 253
	maxPortName  = 15
)

// kindSpellings maps the other ways kubectl users write a kind (lower-cased) to the one the file takes.
var kindSpellings = map[string]string{
	"deploy":                               KindDeployment,
	"deployments":                          KindDeployment,
	"deployment.apps":                      KindDeployment,
	"deployments.apps":                     KindDeployment,
	"svc":                                  KindService,
	"services":                             KindService,
	"httproutes":                           KindHTTPRoute,
	"httproute.gateway.networking.k8s.io":  KindHTTPRoute,
	"httproutes.gateway.networking.k8s.io": KindHTTPRoute,
}

// objectRule is what a kubernetes key that names an object takes.
type objectRule struct {
	key     string // the key in the file: workload, service, route
	kind    string
	example string // a whole reference for the hints
	what    string // what the object is, for "names a statefulset; X is ..."
}

var (
	workloadRule = objectRule{"workload", KindDeployment, "deployment/shop", "the workload is a Deployment"}
	serviceRule  = objectRule{"service", KindService, "service/shop", "the service is a Service"}
	routeRule    = objectRule{"route", KindHTTPRoute, "httproute/shop", "the route is a Gateway API HTTPRoute"}
)

// kubernetes reads the kubernetes block n of an environment called name, whose strategy is s.
func (p *parser) kubernetes(n *yaml.Node, name string, s Strategy) *KubernetesTarget {
	k := &KubernetesTarget{Heal: true}
	m := p.section(n, "kubernetes", kubernetesKeys)
	if m == nil {
		return k
	}
	n = resolve(n)
	if f, ok := m["context"]; ok {
		k.Context = p.kubeContext(f.Val)
	}
	if f, ok := m["namespace"]; !ok {
		p.errorf(n, `kubernetes has no "namespace"; add the namespace the release goes to, like namespace: shop`)
	} else {
		k.Namespace = p.namespace(f.Val)
	}
	if f, ok := m["manifests"]; !ok {
		p.errorf(n, `kubernetes has no "manifests"; add the folder of the manifests in the repository, like manifests: deploy/k8s`)
	} else {
		k.Manifests = p.manifests(f.Val)
	}
	if f, ok := m["workload"]; !ok {
		p.errorf(n, `kubernetes has no "workload"; add the Deployment whose versions the strategy moves, like workload: deployment/shop`)
	} else {
		k.Workload = p.object(f.Val, workloadRule)
	}
	svc, hasService := m["service"]
	if hasService {
		k.Service = p.object(svc.Val, serviceRule)
	}
	route, hasRoute := m["route"]
	if hasRoute {
		k.Route = p.object(route.Val, routeRule)
	}
	switch {
	case hasService:
	case s.Kind == BlueGreen:
		p.errorf(n, `kubernetes has no "service"; strategy blue_green switches the selector of the Service in front of `+
			`the workload: add it, like service: service/shop`)
	case hasRoute:
		p.errorf(resolve(route.Val), `"route" needs "service": the Service the route sends traffic to, which ferry copies `+
			`for the canary; add it, like service: service/shop`)
	}
	if f, ok := m["port"]; ok {
		if !hasService {
			p.errorf(f.Key, `"port" is a port of "service", and %s names no service; add service, or remove "port"`,
				label("environment", name))
		} else {
			k.Port = p.servicePort(f.Val)
		}
	}
	if f, ok := m["heal"]; ok {
		if b, ok := p.boolean(f.Val, `"heal"`); ok {
			k.Heal = b
		}
	}
	return k
}

// kubeContext reads the name of a kubeconfig context. Kubernetes puts no rule on them (cloud providers use
// "arn:aws:eks:...:cluster/prod" and "gke_project_zone_name"), so only what cannot be one is refused.
func (p *parser) kubeContext(n *yaml.Node) string {
	s, ok := p.text(n, `"context"`)
	n = resolve(n)
	switch {
	case !ok:
	case s == "":
		p.errorf(n, `"context" is empty; name a context of ferry serve's kubeconfig, or remove it to use the current one`)
	case strings.TrimSpace(s) != s || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }):
		p.errorf(n, `"context" %q has spaces around it or control characters; write the name as kubectl config get-contexts shows it`, s)
	default:
		return s
	}
	return ""
}

// namespace reads a namespace name, a DNS label.
func (p *parser) namespace(n *yaml.Node) string {
	s, ok := p.text(n, `"namespace"`)
	n = resolve(n)
	switch {
	case !ok:
	case s == "":
		p.errorf(n, `"namespace" is empty; name the namespace the release goes to, like shop`)
	case len(s) > maxLabel || !dnsLabel.MatchString(s):
		p.errorf(n, `invalid "namespace" %q: use at most %d lower-case letters, digits and "-", starting and ending with a `+
			`letter or digit%s`, s, maxLabel, lowerHint(s, func(l string) bool { return len(l) <= maxLabel && dnsLabel.MatchString(l) }))
	default:
		return s
	}
	return ""
}

// lowerHint suggests the lower-case spelling of s when that one is valid.
func lowerHint(s string, valid func(string) bool) string {
	if l := strings.ToLower(s); l != s && valid(l) {
		return fmt.Sprintf(" (did you mean %q?)", l)
	}
	return ""
}

// manifests reads the path of the manifests: inside the checkout, as artifacts are.
func (p *parser) manifests(n *yaml.Node) string {
	s, ok := p.text(n, `"manifests"`)
	n = resolve(n)
	switch {
	case !ok:
	case strings.TrimSpace(s) == "":
		p.errorf(n, `"manifests" is empty; give the folder of the manifests in the repository, like deploy/k8s`)
	case strings.Contains(s, `\`):
		p.errorf(n, `"manifests" %q has a "\"; separate folders with "/", like deploy/k8s`, s)
	case path.IsAbs(s):
		p.errorf(n, `"manifests" %q is an absolute path; give a path inside the repository, like deploy/k8s`, s)
	case escapes(s):
		p.errorf(n, `"manifests" %q has a ".." element; give a path inside the repository, like deploy/k8s`, s)
	case strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) }):
		p.errorf(n, `"manifests" %q has control characters; give a path inside the repository, like deploy/k8s`, s)
	default:
		return path.Clean(s)
	}
	return ""
}

// object reads a kind/name reference to one object, of the kind r says.
func (p *parser) object(n *yaml.Node, r objectRule) ObjectRef {
	s, ok := p.text(n, fmt.Sprintf("%q", r.key))
	n = resolve(n)
	if !ok {
		return ObjectRef{}
	}
	kind, name, found := strings.Cut(s, "/")
	switch {
	case s == "":
		p.errorf(n, `%q is empty; write kind/name, like %s`, r.key, r.example)
	case !found:
		p.errorf(n, `%q %q has no kind; write %s/%s`, r.key, s, r.kind, s)
	case kind != r.kind && (strings.ToLower(kind) == r.kind || kindSpellings[strings.ToLower(kind)] == r.kind):
		p.errorf(n, `%q %q: write the kind as %s, like %s/%s`, r.key, s, r.kind, r.kind, name)
	case kind != r.kind:
		p.errorf(n, `%q %q names a %s; %s: write %s/NAME`, r.key, s, kind, r.what, r.kind)
	case name == "":
		p.errorf(n, `%q %q has no name; write %s`, r.key, s, r.example)
	default:
		if p.objectName(n, r, name) {
			return ObjectRef{Kind: kind, Name: name}
		}
	}
	return ObjectRef{}
}

// objectName reports name unless it follows the rule Kubernetes has for the names of objects of r's kind.
func (p *parser) objectName(n *yaml.Node, r objectRule, name string) bool {
	if r.kind == KindService {
		valid := func(s string) bool { return len(s) <= maxLabel && dns1035Label.MatchString(s) }
		if !valid(name) {
			p.errorf(n, `invalid %s name %q: use at most %d lower-case letters, digits and "-", starting with a letter `+
				`and ending with a letter or digit%s`, r.kind, name, maxLabel, lowerHint(name, valid))
		}
		return valid(name)
	}
	valid := func(s string) bool { return len(s) <= maxSubdomain && dnsSubdomain.MatchString(s) }
	if !valid(name) {
		p.errorf(n, `invalid %s name %q: use at most %d lower-case letters, digits, "-" and ".", each part between dots `+
			`starting and ending with a letter or digit%s`, r.kind, name, maxSubdomain, lowerHint(name, valid))
	}
	return valid(name)
}

// servicePort reads a port of a Service: a number from 1 to 65535, or the name of one of its ports.
func (p *parser) servicePort(n *yaml.Node) ServicePort {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int" {
		i, _ := p.integer(n, `"port"`, 1, 65535)
		return ServicePort{Number: i}
	}
	s, ok := p.text(n, `"port"`)
	switch {
	case !ok:
	case s == "":
		p.errorf(n, `"port" is empty; give the Service's port by number or name, like 8080 or http`)
	case len(s) > maxPortName || !portName.MatchString(s) || !strings.ContainsFunc(s, unicode.IsLetter):
		p.errorf(n, `"port" %q is neither a number from 1 to 65535 nor a port name (at most %d lower-case letters, `+
			`digits and single "-", with a letter, like http)`, s, maxPortName)
	default:
		return ServicePort{Name: s}
	}
	return ServicePort{}
}
