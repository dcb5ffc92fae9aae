package pipeline

import (
	"net/url"
	"strings"

	"go.yaml.in/yaml/v3"
)

// gatewayURL reads the "url" of an http check: where users reach a kubernetes environment through its
// Gateway. A commit writes it and ferry serve sends requests there, so it is held to the least a check
// needs: http or https, a host (and port), and nothing else. No user or password (ferry would send them as
// credentials it was handed by a commit), and no path, query or fragment (the check's "path" says what is
// requested, so a url names an address, not a resource). Which hosts it may reach is ferry serve's
// --allow-check-host, checked when it dials.
func (p *parser) gatewayURL(n *yaml.Node) string {
	s, ok := p.text(n, `"url"`)
	if !ok {
		return ""
	}
	n = resolve(n)
	const like = "like url: https://shop.example.com"
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Scheme == "" || u.Opaque != "":
		p.errorf(n, `invalid "url" %q: give the address users reach through the Gateway, %s`, s, like)
	case u.Scheme != "http" && u.Scheme != "https":
		p.errorf(n, `"url" %q is not http or https; give the address users reach through the Gateway, %s`, s, like)
	case u.User != nil:
		p.errorf(n, `"url" %q has a user; checks send no credentials, so remove "%s@"`, s, u.User.String())
	case u.Hostname() == "":
		p.errorf(n, `"url" %q has no host; %s`, s, like)
	case u.Path != "" && u.Path != "/", u.RawQuery != "", u.ForceQuery, u.Fragment != "", strings.Contains(s, "#"):
		p.errorf(n, `"url" %q has more than a scheme and host; put the path in "path", like url: %s://%s and path: /checkout`,
			s, u.Scheme, u.Host)
	default:
		return u.Scheme + "://" + u.Host
	}
	return ""
}

// checkURL says where an http check can go: on target kubernetes through the Gateway of the environment's
// route, named by "url" (ferry serve runs outside the cluster and reaches no Service); on the local target
// to the environment's listen address, so there "url" is refused. kube is the environment's kubernetes
// block, nil when it could not be read (then what it lacks was reported already).
func (p *parser) checkURL(f field, target string, kube *KubernetesTarget) {
	n := resolve(f.Val)
	if n.Kind != yaml.MappingNode {
		return // reported by httpCheck
	}
	var urlKey *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "url" {
			urlKey = n.Content[i]
		}
	}
	hasURL := urlKey != nil
	switch {
	case target == TargetLocal && hasURL:
		p.errorf(urlKey, `"url" is for target kubernetes, where checks go through the Gateway; on the local `+
			`target a check goes to the environment's listen address: remove "url"`)
	case target != TargetKubernetes || kube == nil:
	case kube.Route.Name == "":
		p.errorf(f.Key, `http checks on target kubernetes go through the Gateway of the environment's "route", and this `+
			`environment has none; add route: httproute/NAME, or measure the release with a prometheus check, like `+
			`prometheus: {url: ..., query: '...{version="{{ .Version }}"}...', max: 0.01}`)
	case !hasURL:
		p.errorf(f.Key, `http check has no "url"; on target kubernetes it goes through the Gateway: add the address `+
			`users reach, like url: https://shop.example.com`)
	}
}
