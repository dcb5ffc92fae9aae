package pipeline

import "go.yaml.in/yaml/v3"

// TLS is a service's `tls`. Engineer C's branch parses this map (cert, key, http, redirect, hsts); this branch
// reads only its "acme" key. At merge, C's TLS keeps its fields and gains ACME, and C's tls parser calls
// p.acme for the "acme" key; this file goes.
type TLS struct {
	// ACME, when set, has the hosts' certificates obtained from an ACME CA.
	ACME *ACME
}

var tlsKeys = []string{"acme"}

// tls reads a service's "tls" mapping.
func (p *parser) tls(n *yaml.Node) TLS {
	var t TLS
	m := p.section(n, "tls", tlsKeys)
	if f, ok := m["acme"]; ok {
		t.ACME = p.acme(f.Val)
	}
	return t
}
